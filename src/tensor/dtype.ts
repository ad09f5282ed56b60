// Data types: the four dtypes nabla stores, their TypedArray storage and PyTorch's promotion rules.

export type DType = 'float32' | 'float64' | 'int32' | 'bool';

/** The storage behind a tensor on a CPU backend. bool is stored as one byte per element (0 or 1). */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float64';
}

export function itemSize(d: DType): number {
  return d === 'float64' ? 8 : d === 'bool' ? 1 : 4;
}

/** Storage of at least this many bytes is passed to the large-allocation hook. */
export const LARGE_ALLOCATION_BYTES = 4 << 20;
let onLargeAllocation: ((a: TypedArray) => void) | undefined;

/**
 * Sets a function called with every fresh allocation of LARGE_ALLOCATION_BYTES or more, before
 * anything writes it. The native backend uses it to ask for huge pages (model weights and large
 * activations then stream faster); it must not change the contents.
 */
export function setLargeAllocationHook(fn: ((a: TypedArray) => void) | undefined): void {
  onLargeAllocation = fn;
}

let f32Allocator: ((n: number) => Float32Array | undefined) | undefined;

/**
 * Sets where float32 storage comes from while a backend is active: the WASM backend keeps it in its
 * linear memory so kernels take it without a copy. The function returns zeroed storage, or undefined
 * for the JS heap.
 */
export function setFloat32Allocator(fn: ((n: number) => Float32Array | undefined) | undefined): void {
  f32Allocator = fn;
}

/** Allocates zeroed storage of `n` elements. */
export function allocate(d: DType, n: number): TypedArray {
  let a: TypedArray;
  switch (d) {
    case 'float32':
      a = f32Allocator?.(n) ?? new Float32Array(n);
      break;
    case 'float64':
      a = new Float64Array(n);
      break;
    case 'int32':
      a = new Int32Array(n);
      break;
    case 'bool':
      a = new Uint8Array(n);
      break;
  }
  if (onLargeAllocation && a.byteLength >= LARGE_ALLOCATION_BYTES) onLargeAllocation(a);
  return a;
}

export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  return 'bool';
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** torch.promote_types restricted to our dtypes: bool < int32 < float32 < float64. */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * Result dtype of `tensor (op) scalar`, as PyTorch does it: a scalar never widens a tensor of the
 * same category, but a float scalar turns an integer or bool tensor into the default float dtype
 * and an integer scalar turns a bool tensor into an integer one.
 */
export function promoteWithScalar(t: DType, s: number | boolean): DType {
  if (typeof s === 'boolean') return t;
  if (isFloating(t)) return t;
  if (!Number.isInteger(s)) return 'float32';
  return t === 'bool' ? 'int32' : t;
}

/** Converts a JS value to what storage of dtype `d` holds (bool → 0/1, int32 → truncation). */
export function castScalar(v: number | boolean, d: DType): number {
  const x = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  if (d === 'bool') return x !== 0 ? 1 : 0;
  if (d === 'int32') return x | 0;
  return x;
}
