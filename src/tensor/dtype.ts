// Data types: the dtypes nabla stores, their TypedArray storage, PyTorch's promotion rules and the
// dtype each one is computed in.
//
// Kernel dtypes (float32, float64, int32, bool) are what every backend's kernels read and write.
// The storage dtypes (float16, bfloat16, int8, uint8, int64) are held exactly as PyTorch holds them
// and computed by widening: an op casts its inputs to the compute dtype (computeDtype), runs the
// kernel and casts the result back, as PyTorch's CPU kernels do for half types (each op rounds once).
// - float16, bfloat16: Uint16Array of IEEE half / bfloat16 bit patterns; computed in float32.
// - int8, uint8: Int8Array, Uint8Array; computed in int32, and the cast back wraps modulo 2^8, which
//   is exactly PyTorch's overflow of int8/uint8 add, sub, mul and neg (modular arithmetic commutes
//   with the narrowing).
// - int64: a documented exact narrowing. The storage is a Float64Array of integers and every value
//   is kept within ±(2^53 - 1) (Number.MAX_SAFE_INTEGER): inside that range a double holds an int64
//   exactly, ops compute in float64 exactly, and item()/tolist() return plain numbers. A value
//   outside it (a checkpoint's int64, a cast, an op's result) is refused with an error that names
//   it, never rounded. NOTE: BigInt64Array storage would hold all 64 bits but every kernel reads
//   numbers; BigInt arithmetic would need its own path for each op and item() would return bigint.
//   Indices, counts, ids and step numbers, what int64 tensors hold in practice, fit in 2^53.
// - bool: Uint8Array of 0/1, shared with uint8 (the tensor's dtype tells them apart).

import { floatBitsToBf16, floatBitsToHalf, halfToFloatBits } from './half.js';

export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool';

/** The storage behind a tensor on a CPU backend (see the header for each dtype's). */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array | Uint16Array;

export const DTYPES: readonly DType[] = [
  'float32',
  'float64',
  'float16',
  'bfloat16',
  'int8',
  'uint8',
  'int32',
  'int64',
  'bool',
];

/** The dtypes kernels read and write; every other dtype is computed by widening (computeDtype). */
export const KERNEL_DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

/** True for the integer dtypes (not bool). */
export function isIntegral(d: DType): boolean {
  return d === 'int8' || d === 'uint8' || d === 'int32' || d === 'int64';
}

export function isKernelDtype(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'int32' || d === 'bool';
}

/** The kernel dtype an op computes `d` in: float32 for the half types, int32 for int8/uint8, float64 for int64. */
export function computeDtype(d: DType): DType {
  switch (d) {
    case 'float16':
    case 'bfloat16':
      return 'float32';
    case 'int8':
    case 'uint8':
      return 'int32';
    case 'int64':
      return 'float64';
    default:
      return d;
  }
}

/** Bytes per element as PyTorch stores it (int64: 8, as in checkpoints; nabla's storage is a Float64Array too). */
export function itemSize(d: DType): number {
  switch (d) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'bfloat16':
      return 2;
    default:
      return 1;
  }
}

type ArrayCtor = new (n: number) => TypedArray;
const STORAGE: Record<DType, ArrayCtor> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int32: Int32Array,
  int64: Float64Array,
  bool: Uint8Array,
};

/** The TypedArray class that stores dtype `d`. */
export function storageClass(d: DType): abstract new (...args: never[]) => TypedArray {
  return STORAGE[d];
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
  const Ctor = STORAGE[d];
  if (Ctor === undefined) throw new Error(`allocate: unknown dtype ${JSON.stringify(d)}`);
  const a = (d === 'float32' ? f32Allocator?.(n) : undefined) ?? new Ctor(n);
  if (onLargeAllocation && a.byteLength >= LARGE_ALLOCATION_BYTES) onLargeAllocation(a);
  return a;
}

/**
 * The dtype an array stores when nothing else says: Uint8Array is bool, Uint16Array float16 and
 * Float64Array float64 (kernels use it to allocate an output of their input's storage class).
 */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint16Array) return 'float16';
  return 'bool';
}

// ---- type promotion (torch.promote_types) ----

/** 0 bool, 1 integers, 2 floating point. */
export function category(d: DType): 0 | 1 | 2 {
  return d === 'bool' ? 0 : isFloating(d) ? 2 : 1;
}

/**
 * torch.promote_types: bool < integers < floating point; within a category the wider dtype wins.
 * Two differences from PyTorch, since nabla has no int16: int8 with uint8 gives int32 (torch: int16),
 * and float16 with bfloat16 gives float32 (as torch).
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  const ca = category(a),
    cb = category(b);
  if (ca !== cb) return ca > cb ? a : b;
  const sa = itemSize(a),
    sb = itemSize(b);
  if (sa !== sb) return sa > sb ? a : b;
  // same size, different dtypes: int8/uint8 (torch: int16) or float16/bfloat16
  return ca === 1 ? 'int32' : 'float32';
}

/**
 * Result dtype of `tensor (op) scalar`, as PyTorch does it: a scalar never widens a tensor of the
 * same category, but a float scalar turns an integer or bool tensor into the default float dtype
 * and an integer scalar turns a bool tensor into the default integer dtype (int32 in nabla, int64 in torch).
 */
export function promoteWithScalar(t: DType, s: number | boolean): DType {
  if (typeof s === 'boolean') return t;
  if (isFloating(t)) return t;
  if (!Number.isInteger(s)) return 'float32';
  return t === 'bool' ? 'int32' : t;
}

// ---- element conversion: PyTorch's casts, one value at a time ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const INT32_MIN = -2147483648;

/** float -> int32 as PyTorch on x86 (cvttss2si): truncation, and INT_MIN for NaN, inf and out-of-range values. */
function floatToInt32(v: number): number {
  return v > -2147483649 && v < 2147483648 ? Math.trunc(v) | 0 : INT32_MIN;
}

/**
 * float -> uint8 as PyTorch on x86: through int64 (cvttsd2si), so the low 8 bits of the truncated
 * value, and 0 (INT64_MIN's low byte) for NaN, inf and values beyond int64. Returned as a number the
 * 8-bit store wraps exactly. (int8 goes through int32 instead: floatToInt32, then its low byte.)
 */
function floatToByte(v: number): number {
  const t = Math.trunc(v);
  if (!(Math.abs(t) < 2 ** 63)) return 0;
  // NOTE: exact for any double: t / 256 and the product are exact, so is the difference
  return t - Math.floor(t / 256) * 256;
}

/** Half bits of v: rounded to float32 first (as torch's c10::Half(float)), then to nearest even. NaN -> sign | 0x7e00. */
export function toHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if (v !== v) return ((x >>> 16) & 0x8000) | 0x7e00;
  return floatBitsToHalf(x);
}

/** bfloat16 bits of v: rounded to float32 first, then to nearest even (c10::BFloat16). NaN -> 0x7fc0. */
export function toBf16Bits(v: number): number {
  if (v !== v) return 0x7fc0;
  f32[0] = v;
  return floatBitsToBf16(u32[0]);
}

export function halfBitsToNumber(h: number): number {
  u32[0] = halfToFloatBits(h);
  return f32[0];
}

export function bf16BitsToNumber(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

/** The number an element of storage holds (decodes the half types' bits; everything else is itself). */
export function decodeElement(raw: number, d: DType): number {
  if (d === 'float16') return halfBitsToNumber(raw);
  if (d === 'bfloat16') return bf16BitsToNumber(raw);
  return raw;
}

function int64Error(v: number | bigint, what: string): Error {
  return new Error(
    `${what}: ${v} does not fit in nabla's int64, which holds integers of at most 2^53 - 1 in magnitude ` +
      '(Number.MAX_SAFE_INTEGER) exactly; see tensor/dtype.ts',
  );
}

/**
 * What storage of dtype `d` holds for the value v, as PyTorch converts it: float -> integer truncates
 * toward zero (x86's rules beyond the range: floatToInt32, floatToByte), integer ->
 * narrower integer wraps, bool is v != 0 (NaN is true), float16/bfloat16 round to nearest even.
 * `fromInt` says v comes from an integer dtype (wrapping instead of x86's INT_MIN). int64 refuses a value
 * it cannot hold exactly (see the header).
 */
export function castScalar(v: number | boolean, d: DType, fromInt = false): number {
  const x = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  switch (d) {
    case 'float32':
    case 'float64':
      return x;
    case 'float16':
      return toHalfBits(x);
    case 'bfloat16':
      return toBf16Bits(x);
    case 'bool':
      return x !== 0 ? 1 : 0;
    case 'int64': {
      const t = Math.trunc(x);
      if (!(Math.abs(t) <= Number.MAX_SAFE_INTEGER)) throw int64Error(x, 'int64');
      return t === 0 ? 0 : t;
    }
    case 'int32':
      return fromInt ? x | 0 : floatToInt32(x);
    case 'int8':
      return ((fromInt ? x | 0 : floatToInt32(x)) << 24) >> 24;
    case 'uint8':
      return (fromInt ? x | 0 : floatToByte(x)) & 0xff;
  }
}

/**
 * Converts contiguous storage `src` of dtype `from` into fresh storage of dtype `to`, element by
 * element with castScalar's rules. Bit patterns move unchanged between same-storage dtypes. `op`
 * names the operation in the error for a value int64 cannot hold.
 */
export function convertArray(src: TypedArray, from: DType, to: DType, op = 'to(int64)'): TypedArray {
  const n = src.length;
  if (from === to) return (src as Float32Array).slice();
  // the half types go through their float32 values (exact), then the rules below
  if (from === 'float16' || from === 'bfloat16') {
    const f = new Float32Array(n);
    const o = new Uint32Array(f.buffer),
      h = src as Uint16Array;
    if (from === 'bfloat16') for (let i = 0; i < n; i++) o[i] = h[i] << 16;
    else for (let i = 0; i < n; i++) o[i] = halfToFloatBits(h[i]);
    return to === 'float32' ? f : convertArray(f, 'float32', to, op);
  }
  const out = allocate(to, n);
  if (to === 'float16' || to === 'bfloat16') {
    // NOTE: rounded to float32 first, as c10::Half(float) / c10::BFloat16(float) (a double rounds twice)
    const f = src instanceof Float32Array ? src : Float32Array.from(src as Float64Array);
    const u = new Uint32Array(f.buffer, f.byteOffset, n),
      h = out as Uint16Array;
    if (to === 'bfloat16')
      for (let i = 0; i < n; i++) h[i] = (u[i] & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : floatBitsToBf16(u[i]);
    else
      for (let i = 0; i < n; i++) {
        const x = u[i];
        h[i] = (x & 0x7fffffff) > 0x7f800000 ? ((x >>> 16) & 0x8000) | 0x7e00 : floatBitsToHalf(x);
      }
    return out;
  }
  // integer values, and float -> float, convert exactly (or round) through the storage's own store
  if (to === 'float32' || to === 'float64' || (!isFloating(from) && to !== 'int64' && to !== 'bool')) {
    if (isFloating(to) || to === 'int32' || from === 'bool') out.set(src as never);
    else for (let i = 0; i < n; i++) out[i] = src[i] | 0; // int -> int8/uint8: the store wraps
    return out;
  }
  if (to === 'int64') {
    for (let i = 0; i < n; i++) {
      const t = Math.trunc(src[i]);
      if (!(Math.abs(t) <= Number.MAX_SAFE_INTEGER)) throw int64Error(src[i], `${op}: element ${i}`);
      out[i] = t === 0 ? 0 : t;
    }
    return out;
  }
  if (to === 'bool') for (let i = 0; i < n; i++) out[i] = src[i] !== 0 ? 1 : 0;
  else if (to === 'uint8') for (let i = 0; i < n; i++) out[i] = floatToByte(src[i]);
  else for (let i = 0; i < n; i++) out[i] = floatToInt32(src[i]); // int32, int8 (its low byte)
  return out;
}
