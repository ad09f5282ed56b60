// The JS references of the quantized and bf16 products (the native ones are in native/src/quant):
// integer sums are exact here as there, and the float epilogue runs in the same order, so the int8
// results match the addon's bit for bit; bf16 and weight-only sums match to float rounding.
// Glossary: M rows of x, K inputs, N outputs; w (N, K) as torch's Linear.

import type { TypedArray } from '../../tensor/dtype.js';
import type { Layout } from '../../tensor/layout.js';
import {
  bf16ToF32,
  chooseQParams,
  f32ToBf16,
  int4RowBytes,
  quantizeActivationGroups,
  quantizeU8,
  roundHalfEven,
  type QParams,
} from '../../util/quant.js';
import { copyContiguous } from './strided.js';

function rowsOf(x: TypedArray, lx: Layout, who: string): { a: Float32Array; M: number; K: number } {
  if (lx.shape.length !== 2) throw new Error(`${who}: expected x (M, K), got [${lx.shape}]`);
  return { a: copyContiguous(x, lx, 'float32') as Float32Array, M: lx.shape[0], K: lx.shape[1] };
}

function outputs(w: ArrayLike<number>, K: number, who: string): number {
  const N = K > 0 ? w.length / K : 0;
  if (!Number.isInteger(N)) throw new Error(`${who}: the weight has ${w.length} values, not a multiple of K = ${K}`);
  return N;
}

/** The u8 x s8 GEMM with its epilogue: y (M, N) float32, or uint8 requantized with `out`. */
export function gemmU8S8(
  xq: Uint8Array,
  M: number,
  K: number,
  x: QParams,
  w: Int8Array,
  wScale: Float32Array,
  bias: Float32Array | null,
  out: QParams | null,
): Float32Array | Uint8Array {
  const N = outputs(w, K, 'gemmU8S8');
  const y = out ? new Uint8Array(M * N) : new Float32Array(M * N);
  const inv = out ? Math.fround(1 / out.scale) : 0;
  for (let n = 0; n < N; n++) {
    let cs = 0;
    for (let k = 0; k < K; k++) cs += w[n * K + k];
    const comb = Math.fround(Math.fround(x.scale) * wScale[n]);
    for (let i = 0; i < M; i++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += xq[i * K + k] * w[n * K + k];
      let v = Math.fround(Math.fround(acc - x.zeroPoint * cs) * comb);
      if (bias) v = Math.fround(v + bias[n]);
      if (out) {
        const t = roundHalfEven(Math.fround(v * inv)) + out.zeroPoint;
        y[i * N + n] = Math.min(255, Math.max(0, t));
      } else y[i * N + n] = v;
    }
  }
  return y;
}

/** The dynamic int8 linear layer: x quantized per tensor (QNNPACK's parameters), then gemmU8S8 to float32. */
export function linearInt8Dynamic(
  x: TypedArray,
  lx: Layout,
  w: Int8Array,
  wScale: Float32Array,
  bias: Float32Array | null,
  reduceRange: boolean,
): Float32Array {
  const { a, M, K } = rowsOf(x, lx, 'linearInt8Dynamic');
  let mn = Infinity,
    mx = -Infinity;
  for (let i = 0; i < a.length; i++) {
    if (a[i] < mn) mn = a[i];
    if (a[i] > mx) mx = a[i];
  }
  if (a.length === 0) mn = mx = 0;
  const p = chooseQParams(mn, mx, reduceRange);
  return gemmU8S8(quantizeU8(a, p, reduceRange ? 127 : 255), M, K, p, w, wScale, bias, null) as Float32Array;
}

/** y (M, N) = bf16(x) @ bf16 w^T + bias, float32 sums. */
export function linearBf16(x: TypedArray, lx: Layout, w: Uint16Array, bias: Float32Array | null): Float32Array {
  const { a, M, K } = rowsOf(x, lx, 'linearBf16');
  const N = outputs(w, K, 'linearBf16');
  const xa = bf16ToF32(f32ToBf16(a)),
    wf = bf16ToF32(w);
  const y = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s = Math.fround(s + xa[i * K + k] * wf[n * K + k]);
      y[i * N + n] = Math.fround(s + (bias ? bias[n] : 0));
    }
  return y;
}

/**
 * Weight-only int8 (per row) linear: y (M, N) = x @ deq(q)^T + bias; int4 (groups of G) runs
 * linearInt4 (x quantized to int8 per group).
 */
export function linearWeightOnly(
  x: TypedArray,
  lx: Layout,
  q: Int8Array | Uint8Array,
  scales: Float32Array,
  bits: 4 | 8,
  groupSize: number,
  N: number,
  bias: Float32Array | null,
): Float32Array {
  const { a, M, K } = rowsOf(x, lx, 'linearWeightOnly');
  if (bits === 4) return linearInt4(a, M, K, q as Uint8Array, scales, groupSize, N, bias);
  const y = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k] * q[n * K + k];
      y[i * N + n] = Math.fround(Math.fround(s * scales[n]) + (bias ? bias[n] : 0));
    }
  return y;
}

/**
 * int4 weights (groups of G) x activations quantized to int8 per group (quantizeActivationGroups), as
 * llama.cpp's Q4_0 x Q8_0 and the native nb_q4_fn: an exact integer sum per group, then in float32
 * y[i, n] = sum over g of sum_g * (scales[n, g] * d[g]) + bias[n].
 */
function linearInt4(
  a: Float32Array,
  M: number,
  K: number,
  q: Uint8Array,
  scales: Float32Array,
  G: number,
  N: number,
  bias: Float32Array | null,
): Float32Array {
  const ng = Math.ceil(K / G),
    half = G / 2,
    rowb = int4RowBytes(K, G);
  const y = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    const { codes, d } = quantizeActivationGroups(a, K, G, i * K);
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let g = 0; g < ng; g++) {
        let s = 0;
        for (let j = 0; j < half; j++) {
          const b = q[n * rowb + g * half + j];
          s += codes[g * G + j] * ((b & 15) - 8) + codes[g * G + half + j] * ((b >> 4) - 8);
        }
        acc = Math.fround(acc + Math.fround(Math.fround(s) * Math.fround(scales[n * ng + g] * d[g])));
      }
      y[i * N + n] = Math.fround(acc + (bias ? bias[n] : 0));
    }
  }
  return y;
}
