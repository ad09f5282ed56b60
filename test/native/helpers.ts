// Shared pieces of the native parity tests: the addon (or a visible skip reason), the JS oracle,
// seeded inputs with special values, the layouts every kernel is exercised on, and allclose.
//
// Tolerances (documented once, used by every test): a result r matches the JS reference e when both
// are NaN, or equal, or |r - e| <= atol + rtol * |e|. Per kernel:
//   matmul, conv:   |r - e| <= 1e-5 * (|A| @ |B|)_ij + 1e-30  (float32 blocked dot products vs double)
//   unary:          rtol 4e-7 for the approximated functions (measured max 2e-7, i.e. 1-2 ulp),
//                   + atol 1e-7 for gelu/gelu_tanh (the float64 reference cancels for x < -6),
//                   rtol 2.4e-7 for rsqrt (two roundings), exact for the rest
//   binary:         exact (one IEEE operation), pow rtol 1e-6
//   reduce:         rtol 1e-6 (double accumulation on both sides; prod rtol 1e-5)
//   softmax:        rtol 2e-6, atol 1e-7
import { jsBackend } from '../../src/backend/js/index.js';
import { loadNativeBackend, type NativeBackend } from '../../src/backend/native/index.js';
import { loadWasmSync } from '../../src/backend/wasm/index.js';
import { Layout, contiguousStrides, numel } from '../../src/tensor/layout.js';

/** NABLA_PARITY_BACKEND=wasm runs these tests on the same kernels compiled to WebAssembly (test/wasm). */
export const onWasm = process.env.NABLA_PARITY_BACKEND === 'wasm';
const loaded = onWasm ? loadWasmSync() : loadNativeBackend();
export const native: NativeBackend | null = loaded.backend;
/** Pass as the test option `skip`: false when the addon is there, else the reason shown in the report. */
export const skip: string | false = native
  ? false
  : `${onWasm ? 'WASM backend' : 'native addon'} not available: ${loaded.reason}`;
export const js = jsBackend;
/** The ISA paths a test loops over: on WASM there is one (setIsa clamps every name to it), run once. */
export function paths<T extends string>(isas: readonly T[]): readonly T[] {
  return onWasm ? isas.slice(0, 1) : isas;
}
/** `skip` for a test of what only the x86 addon does (huge pages, the SIMD paths' Winograd cache). */
export const skipOnWasm = (what: string): string | false => skip || (onWasm && `not on the WASM backend: ${what}`);

export const SIZES = [1, 3, 17, 33, 127];

/** Mulberry32: small seeded generator so failures reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SPECIALS = [1e4, -1e4, 0, NaN];

/** Values uniform in [-scale, scale]; with `specials`, about one in 16 is ±1e4, 0 or NaN. */
export function fill(n: number, r: () => number, scale = 3, specials = false): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = specials && r() < 1 / 16 ? SPECIALS[Math.floor(r() * SPECIALS.length)] : (2 * r() - 1) * scale;
  }
  return x;
}

export type LayoutKind = 'contiguous' | 'offset' | 'transposed' | 'strided' | 'broadcast';
export const KINDS: LayoutKind[] = ['contiguous', 'offset', 'transposed', 'strided', 'broadcast'];

/**
 * Storage plus a layout of `shape` of the given kind: contiguous; contiguous after an offset of 5;
 * dims reversed (a transposed view of a contiguous buffer); every other element of a buffer twice
 * as long in the last dim, with an offset; or dim 0 broadcast (stride 0).
 */
export function input(
  shape: number[],
  kind: LayoutKind,
  r: () => number,
  fillFn = (n: number) => fill(n, r),
): { data: Float32Array; layout: Layout } {
  const n = numel(shape);
  switch (kind) {
    case 'contiguous':
      return { data: fillFn(n), layout: Layout.contiguous(shape) };
    case 'offset':
      return { data: fillFn(n + 5), layout: Layout.contiguous(shape, 5) };
    case 'transposed': {
      const rev = [...shape].reverse();
      const st = contiguousStrides(rev).reverse();
      return { data: fillFn(n), layout: new Layout(shape, st) };
    }
    case 'strided': {
      const phys = [...shape];
      if (phys.length) phys[phys.length - 1] *= 2;
      const st = contiguousStrides(phys);
      if (st.length) st[st.length - 1] = 2;
      return { data: fillFn(numel(phys) + 3), layout: new Layout(shape, st, 3) };
    }
    case 'broadcast': {
      const st = contiguousStrides(shape.slice(1));
      return { data: fillFn(Math.max(1, numel(shape.slice(1)))), layout: new Layout(shape, [0, ...st]) };
    }
  }
}

/** Asserts |got - want| <= atol + rtol*|want| elementwise (NaN equals NaN); the message says where. */
export function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rtol: number,
  atol: number,
  what: string,
): void {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length} vs ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i],
      w = want[i];
    if (g === w || (g !== g && w !== w)) continue;
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w))) {
      throw new Error(`${what}: element ${i}: native ${g} vs js ${w} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/** Like assertClose, with a per-element absolute bound. */
export function assertWithin(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  bound: ArrayLike<number>,
  what: string,
): void {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length} vs ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i],
      w = want[i];
    if (g === w || (g !== g && w !== w)) continue;
    if (!(Math.abs(g - w) <= bound[i]))
      throw new Error(`${what}: element ${i}: native ${g} vs js ${w} (bound ${bound[i]})`);
  }
}

export function abs(x: Float32Array): Float32Array {
  return x.map(Math.abs);
}
