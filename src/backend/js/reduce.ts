// Reductions, arg-reductions, cumulative ops, sort and softmax for the JS backend.
// Glossary: outer = product of dims before the axis, len = size of the axis, inner = product after.

import type { DType, TypedArray } from '../../tensor/dtype.js';
import { allocate, dtypeOfArray } from '../../tensor/dtype.js';
import { Layout } from '../../tensor/layout.js';
import { ReduceOp } from '../op_codes.js';
import { asContiguous, copyContiguous, splitAt } from './strided.js';

/** Reduces x over `axes`; output = x.shape with those axes set to 1, contiguous. */
export function reduce(op: ReduceOp, x: TypedArray, lx: Layout, axes: readonly number[], outDtype: DType): TypedArray {
  const nd = lx.shape.length;
  const reduced = new Set(axes);
  const kept = [...Array(nd).keys()].filter((d) => !reduced.has(d));
  const perm = [...kept, ...axes];
  // (kept..., reduced...) so that each output element reduces one contiguous row of length R.
  const pl = new Layout(
    perm.map((d) => lx.shape[d]),
    perm.map((d) => lx.strides[d]),
    lx.offset,
  );
  const src = asContiguous(x, pl, dtypeOfArray(x));
  let R = 1;
  for (const d of axes) R *= lx.shape[d];
  let outN = 1;
  for (const d of kept) outN *= lx.shape[d];
  const out = allocate(outDtype, outN);
  for (let o = 0, base = 0; o < outN; o++, base += R) {
    let acc: number;
    switch (op) {
      case ReduceOp.SUM:
        acc = 0;
        for (let i = 0; i < R; i++) acc += src[base + i];
        break;
      case ReduceOp.PROD:
        acc = 1;
        for (let i = 0; i < R; i++) acc *= src[base + i];
        break;
      case ReduceOp.MAX:
        acc = -Infinity;
        for (let i = 0; i < R; i++) {
          const v = src[base + i];
          if (v > acc || v !== v) {
            acc = v;
            if (v !== v) break;
          }
        }
        break;
      case ReduceOp.MIN:
        acc = Infinity;
        for (let i = 0; i < R; i++) {
          const v = src[base + i];
          if (v < acc || v !== v) {
            acc = v;
            if (v !== v) break;
          }
        }
        break;
      case ReduceOp.ANY:
        acc = 0;
        for (let i = 0; i < R; i++)
          if (src[base + i] !== 0) {
            acc = 1;
            break;
          }
        break;
      case ReduceOp.ALL:
        acc = 1;
        for (let i = 0; i < R; i++)
          if (src[base + i] === 0) {
            acc = 0;
            break;
          }
        break;
      default:
        throw new Error(`js backend: unknown reduce op ${op}`);
    }
    out[o] = acc;
  }
  return out;
}

/** Contiguous input plus its (outer, len, inner) split around axis. */
function rowsAlong(
  x: TypedArray,
  lx: Layout,
  axis: number,
): { src: TypedArray; outer: number; len: number; inner: number } {
  const src = asContiguous(x, lx, dtypeOfArray(x));
  const [outer, len, inner] = splitAt(lx.shape, axis);
  return { src, outer, len, inner };
}

export function argReduce(isMax: boolean, x: TypedArray, lx: Layout, axis: number): Int32Array {
  const { src, outer, len, inner } = rowsAlong(x, lx, axis);
  const out = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let best = src[base],
        bi = 0;
      if (best === best) {
        for (let k = 1; k < len; k++) {
          const v = src[base + k * inner];
          if (v !== v) {
            bi = k;
            break;
          }
          if (isMax ? v > best : v < best) {
            best = v;
            bi = k;
          }
        }
      }
      out[o * inner + i] = bi;
    }
  }
  return out;
}

export function cumulative(isProd: boolean, x: TypedArray, lx: Layout, axis: number, outDtype: DType): TypedArray {
  const { src, outer, len, inner } = rowsAlong(x, lx, axis);
  const out = allocate(outDtype, src.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = isProd ? 1 : 0;
      for (let k = 0, p = o * len * inner + i; k < len; k++, p += inner) {
        acc = isProd ? acc * src[p] : acc + src[p];
        out[p] = acc;
      }
    }
  }
  return out;
}

export function sort(
  x: TypedArray,
  lx: Layout,
  axis: number,
  descending: boolean,
): { values: TypedArray; indices: Int32Array } {
  const { src, outer, len, inner } = rowsAlong(x, lx, axis);
  const values = allocate(dtypeOfArray(x), src.length);
  const indices = new Int32Array(src.length);
  const idx = new Array<number>(len);
  const key = new Float64Array(len);
  // NOTE: NaN sorts as the largest value (PyTorch), and equal keys keep their order (stable).
  const cmp = descending
    ? (a: number, b: number) =>
        key[a] !== key[a] ? (key[b] !== key[b] ? a - b : -1) : key[b] !== key[b] ? 1 : key[b] - key[a] || a - b
    : (a: number, b: number) =>
        key[a] !== key[a] ? (key[b] !== key[b] ? a - b : 1) : key[b] !== key[b] ? -1 : key[a] - key[b] || a - b;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      for (let k = 0; k < len; k++) {
        idx[k] = k;
        key[k] = src[base + k * inner];
      }
      idx.sort(cmp);
      for (let k = 0; k < len; k++) {
        values[base + k * inner] = key[idx[k]];
        indices[base + k * inner] = idx[k];
      }
    }
  }
  return { values, indices };
}

/** softmax / log-softmax along axis, with the max subtracted first. */
export function softmax(x: TypedArray, lx: Layout, axis: number, log: boolean): TypedArray {
  const { src, outer, len, inner } = rowsAlong(x, lx, axis);
  const out = allocate(dtypeOfArray(x), src.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let m = -Infinity;
      for (let k = 0, p = base; k < len; k++, p += inner) if (src[p] > m || src[p] !== src[p]) m = src[p];
      if (m === -Infinity) m = 0; // an all -inf row gives NaN for softmax, like PyTorch; keep m finite
      let s = 0;
      for (let k = 0, p = base; k < len; k++, p += inner) s += Math.exp(src[p] - m);
      if (log) {
        const ls = Math.log(s) + m;
        for (let k = 0, p = base; k < len; k++, p += inner) out[p] = src[p] - ls;
      } else {
        for (let k = 0, p = base; k < len; k++, p += inner) out[p] = Math.exp(src[p] - m) / s;
      }
    }
  }
  return out;
}

export { copyContiguous };
