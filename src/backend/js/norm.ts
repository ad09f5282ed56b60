// Layer norm and batch norm (batch statistics, + residual, + relu) forward and backward for the JS
// backend, as the native kernels compute them (native/src/nn.c, ew_impl.h): statistics in double,
// biased variance from two passes, float32 outputs. Glossary: R rows, C features (layer norm over
// the last dim); N batch, C channels, S positions per channel (batch norm over N and S).

import { dtypeOfArray, type TypedArray } from '../../tensor/dtype.js';
import type { Layout } from '../../tensor/layout.js';
import { asContiguous } from './strided.js';

const contig = (x: TypedArray, l: Layout): TypedArray => asContiguous(x, l, dtypeOfArray(x));

/** relu's gradient from its output y: v where y > 0 or y is NaN, else 0 (torch's threshold_backward). */
const keepPositive = (v: number, y: number): number => (y <= 0 ? 0 : v);

/** x (R, C) any layout, w/b (C) or null -> y (R, C), and each row's mean and rstd = 1/sqrt(var + eps) (R). */
export function layerNorm(
  x: TypedArray,
  lx: Layout,
  w: TypedArray | null,
  b: TypedArray | null,
  eps: number,
): { y: Float32Array; mean: Float32Array; rstd: Float32Array } {
  if (lx.shape.length === 0) throw new Error('layerNorm: expected x with at least one dim, got a scalar');
  const C = lx.shape[lx.shape.length - 1],
    R = C > 0 ? lx.numel / C : 0;
  const xs = contig(x, lx),
    e = Math.fround(eps);
  const y = new Float32Array(R * C),
    mean = new Float32Array(R),
    rstd = new Float32Array(R);
  for (let r = 0, o = 0; r < R; r++, o += C) {
    let s = 0;
    for (let c = 0; c < C; c++) s += xs[o + c];
    const mu = s / C;
    let q = 0;
    for (let c = 0; c < C; c++) q += (xs[o + c] - mu) ** 2;
    // NOTE: the mean and rstd are rounded to float32 before use, as the native kernel (and the saved
    // statistics the backward reads) have them.
    const m = Math.fround(mu),
      rs = Math.fround(1 / Math.sqrt(q / C + e));
    mean[r] = m;
    rstd[r] = rs;
    for (let c = 0; c < C; c++) y[o + c] = (xs[o + c] - m) * rs * (w ? w[c] : 1) + (b ? b[c] : 0);
  }
  return { y, mean, rstd };
}

/**
 * dy, x (R, C) any layout, the forward's mean and rstd (R), w (C) or null -> dx (R, C), and dw, db (C)
 * when asked: xhat = (x - mean) rstd, g = dy w, dx = rstd (g - mean(g) - xhat mean(g xhat)).
 */
export function layerNormBackward(
  dy: TypedArray,
  ldy: Layout,
  x: TypedArray,
  lx: Layout,
  mean: Float32Array,
  rstd: Float32Array,
  w: TypedArray | null,
  needW: boolean,
  needB: boolean,
): { dx: Float32Array; dw: Float32Array | null; db: Float32Array | null } {
  if (lx.shape.length === 0) throw new Error('layerNormBackward: expected x with at least one dim, got a scalar');
  const C = lx.shape[lx.shape.length - 1],
    R = C > 0 ? lx.numel / C : 0;
  const dys = contig(dy, ldy),
    xs = contig(x, lx);
  const dx = new Float32Array(R * C);
  const sw = new Float64Array(C),
    sb = new Float64Array(C);
  for (let r = 0, o = 0; r < R; r++, o += C) {
    const m = mean[r],
      rs = rstd[r];
    let s1 = 0,
      s2 = 0;
    for (let c = 0; c < C; c++) {
      const g = dys[o + c] * (w ? w[c] : 1),
        xh = (xs[o + c] - m) * rs;
      s1 += g;
      s2 += g * xh;
      sw[c] += dys[o + c] * xh;
      sb[c] += dys[o + c];
    }
    const a = s1 / C,
      k = s2 / C;
    for (let c = 0; c < C; c++) {
      const g = dys[o + c] * (w ? w[c] : 1),
        xh = (xs[o + c] - m) * rs;
      dx[o + c] = rs * (g - a - xh * k);
    }
  }
  return { dx, dw: needW ? Float32Array.from(sw) : null, db: needB ? Float32Array.from(sb) : null };
}

function bnDims(op: string, lx: Layout): [number, number, number] {
  if (lx.shape.length < 2) throw new Error(`${op}: expected x (N, C, *), got [${lx.shape}]`);
  const [N, C] = lx.shape;
  return [N, C, C > 0 && N > 0 ? lx.numel / (N * C) : 0];
}

/**
 * x (N, C, *) any layout, w/b (C) or null, residual of x's shape or null -> y = act((x - mean) /
 * sqrt(var + eps) * w + b + residual), act relu (NaN kept) or identity; the batch mean and biased var (C).
 */
export function batchNorm(
  x: TypedArray,
  lx: Layout,
  w: TypedArray | null,
  b: TypedArray | null,
  eps: number,
  residual: { data: TypedArray; layout: Layout } | null = null,
  relu = false,
): { y: Float32Array; mean: Float32Array; var: Float32Array } {
  const [N, C, S] = bnDims('batchNorm', lx);
  if (residual && residual.layout.shape.join() !== lx.shape.join()) {
    throw new Error(`batchNorm: expected a residual of x's shape [${lx.shape}], got [${residual.layout.shape}]`);
  }
  const xs = contig(x, lx),
    res = residual ? contig(residual.data, residual.layout) : null;
  const y = new Float32Array(lx.numel),
    mean = new Float32Array(C),
    variance = new Float32Array(C);
  const cnt = N * S,
    e = Math.fround(eps);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let i = (n * C + c) * S, end = i + S; i < end; i++) s += xs[i];
    const mu = s / cnt;
    let q = 0;
    for (let n = 0; n < N; n++) for (let i = (n * C + c) * S, end = i + S; i < end; i++) q += (xs[i] - mu) ** 2;
    const v = q / cnt,
      is = 1 / Math.sqrt(v + e);
    const scale = Math.fround(is * (w ? w[c] : 1)),
      shift = b ? b[c] : 0;
    for (let n = 0; n < N; n++) {
      for (let i = (n * C + c) * S, end = i + S; i < end; i++) {
        const t = (xs[i] - mu) * scale + shift + (res ? res[i] : 0);
        y[i] = relu ? keepPositive(t, t) : t;
      }
    }
    mean[c] = mu;
    variance[c] = v;
  }
  return { y, mean, var: variance };
}

/**
 * dy, x (N, C, *) any layout, the forward's mean and var (C), w (C) or null, and its output yact when
 * it had a relu -> dx, and dw, db (C) and the residual's gradient dr (x's shape) when asked. The
 * gradient at the norm's output is g = dy, or dy where yact > 0 (or NaN) after a relu; dr = g.
 */
export function batchNormBackward(
  dy: TypedArray,
  ldy: Layout,
  x: TypedArray,
  lx: Layout,
  mean: Float32Array,
  variance: Float32Array,
  w: TypedArray | null,
  eps: number,
  needW: boolean,
  needB: boolean,
  yact: Float32Array | null = null,
  needR = false,
): { dx: Float32Array; dw: Float32Array | null; db: Float32Array | null; dr: Float32Array | null } {
  const [N, C, S] = bnDims('batchNormBackward', lx);
  const dys = contig(dy, ldy),
    xs = contig(x, lx);
  const dx = new Float32Array(lx.numel);
  const dw = needW ? new Float32Array(C) : null,
    db = needB ? new Float32Array(C) : null;
  const dr = needR ? new Float32Array(lx.numel) : null;
  const cnt = N * S,
    e = Math.fround(eps);
  const grad = (i: number): number => (yact ? keepPositive(dys[i], yact[i]) : dys[i]);
  for (let c = 0; c < C; c++) {
    // the exact mean from the forward's float32 one: mu = mean + sum(x - mean) / cnt (as the native kernel)
    const mf = mean[c];
    let off = 0,
      sdy = 0,
      sdyx = 0;
    for (let n = 0; n < N; n++) {
      for (let i = (n * C + c) * S, end = i + S; i < end; i++) {
        const g = grad(i);
        off += xs[i] - mf;
        sdy += g;
        sdyx += g * (xs[i] - mf);
      }
    }
    off /= cnt;
    const mu = mf + off;
    sdyx -= off * sdy; // sum g (x - mu)
    const is = 1 / Math.sqrt(variance[c] + e),
      k = is * (w ? w[c] : 1);
    for (let n = 0; n < N; n++) {
      for (let i = (n * C + c) * S, end = i + S; i < end; i++) {
        const g = grad(i);
        dx[i] = k * (g - sdy / cnt - ((xs[i] - mu) * is * is * sdyx) / cnt);
        if (dr) dr[i] = g;
      }
    }
    if (dw) dw[c] = sdyx * is;
    if (db) db[c] = sdy;
  }
  return { dx, dw, db, dr };
}
