// Gather, scatter, indexSelect, indexAdd and strided assignment for the JS backend.
// Indices have been validated by the op layer (in range, int32) before they reach these kernels.

import type { TypedArray } from '../../tensor/dtype.js';
import { allocate, dtypeOfArray } from '../../tensor/dtype.js';
import { type Layout, contiguousStrides, offsets } from '../../tensor/layout.js';
import { asContiguous, splitAt } from './strided.js';

/** out (idx shape) = x[..., idx[...], ...] along dim. */
export function gather(x: TypedArray, lx: Layout, dim: number, idx: Int32Array, lidx: Layout): TypedArray {
  const n = lidx.numel;
  const out = allocate(dtypeOfArray(x), n);
  const io = offsets(lidx);
  const nd = lidx.shape.length;
  const cs = contiguousStrides(lidx.shape);
  for (let e = 0; e < n; e++) {
    // position of element e in idx's shape, mapped into x with dim replaced by the index
    let rem = e,
      p = lx.offset;
    for (let d = 0; d < nd; d++) {
      const c = Math.floor(rem / cs[d]);
      rem -= c * cs[d];
      p += (d === dim ? idx[io[e]] : c) * lx.strides[d];
    }
    out[e] = x[p];
  }
  return out;
}

/** dst (contiguous, dstShape)[..., idx, ...] (=|+=) src along dim. */
export function scatter(
  dst: TypedArray,
  dstShape: readonly number[],
  dim: number,
  idx: Int32Array,
  lidx: Layout,
  src: TypedArray,
  lsrc: Layout,
  accumulate: boolean,
): true {
  const n = lidx.numel;
  const io = offsets(lidx);
  const so = offsets(lsrc);
  const nd = lidx.shape.length;
  const cs = contiguousStrides(lidx.shape);
  const ds = contiguousStrides(dstShape);
  for (let e = 0; e < n; e++) {
    let rem = e,
      p = 0;
    for (let d = 0; d < nd; d++) {
      const c = Math.floor(rem / cs[d]);
      rem -= c * cs[d];
      p += (d === dim ? idx[io[e]] : c) * ds[d];
    }
    if (accumulate) dst[p] += src[so[e]];
    else dst[p] = src[so[e]];
  }
  return true;
}

export function indexSelect(x: TypedArray, lx: Layout, dim: number, idx: Int32Array): TypedArray {
  const src = asContiguous(x, lx, dtypeOfArray(x));
  const [outer, len, inner] = splitAt(lx.shape, dim);
  const m = idx.length;
  const out = allocate(dtypeOfArray(x), outer * m * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const s = (o * len + idx[j]) * inner,
        d = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) out[d + i] = src[s + i];
    }
  }
  return out;
}

export function indexAdd(
  dst: TypedArray,
  dstShape: readonly number[],
  dim: number,
  idx: Int32Array,
  src: TypedArray,
  lsrc: Layout,
): true {
  const s = asContiguous(src, lsrc, dtypeOfArray(dst));
  const [outer, len, inner] = splitAt(dstShape, dim);
  const m = idx.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const d = (o * len + idx[j]) * inner,
        q = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) dst[d + i] += s[q + i];
    }
  }
  return true;
}

/** dst[ldst] = src[lsrc] (same shape), casting to dst's dtype. */
export function assign(dst: TypedArray, ldst: Layout, src: TypedArray, lsrc: Layout): true {
  const vals = asContiguous(src, lsrc, dtypeOfArray(dst));
  const n = ldst.numel;
  if (ldst.isContiguous()) {
    dst.set(vals.subarray(0, n) as never, ldst.offset);
    return true;
  }
  const dof = offsets(ldst);
  for (let e = 0; e < n; e++) dst[dof[e]] = vals[e];
  return true;
}
