// Batched matmul for the JS backend: (B..., M, K) @ (B..., K, N) -> (B..., M, N).
// The batch dims of both operands are already broadcast to the same shape (stride 0 where repeated).

import type { DType, TypedArray } from '../../tensor/dtype.js';
import { allocate } from '../../tensor/dtype.js';
import { Layout, offsets } from '../../tensor/layout.js';

export function matmul(a: TypedArray, la: Layout, b: TypedArray, lb: Layout, outDtype: DType): TypedArray {
  const nd = la.shape.length;
  const M = la.shape[nd - 2],
    K = la.shape[nd - 1],
    N = lb.shape[nd - 1];
  const batchShape = la.shape.slice(0, nd - 2);
  let B = 1;
  for (const d of batchShape) B *= d;
  const out = allocate(outDtype, B * M * N);
  if (B * M * N === 0) return out;
  // Batch base offsets of each operand, from a layout over the batch dims only.
  const aBase = offsets(new Layout(batchShape, la.strides.slice(0, nd - 2), la.offset));
  const bBase = offsets(new Layout(batchShape, lb.strides.slice(0, nd - 2), lb.offset));
  const sam = la.strides[nd - 2],
    sak = la.strides[nd - 1];
  const sbk = lb.strides[nd - 2],
    sbn = lb.strides[nd - 1];
  const acc = new Float64Array(N);
  const aRow = new Float64Array(K);
  // b (K,N) with unit stride along K is a transposed matrix: use dot products of contiguous rows.
  const bTransposed = sbk === 1 && sbn !== 1;
  const bMat = bTransposed ? null : new Float64Array(K * N);
  for (let bi = 0; bi < B; bi++) {
    if (bMat) {
      for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) bMat[k * N + n] = b[bBase[bi] + k * sbk + n * sbn];
    }
    for (let m = 0; m < M; m++) {
      const ap = aBase[bi] + m * sam;
      for (let k = 0; k < K; k++) aRow[k] = a[ap + k * sak];
      const o = (bi * M + m) * N;
      if (bMat) {
        // acc[n] = sum_k aRow[k] * bMat[k][n]   (i-k-j order: rows of bMat are contiguous)
        acc.fill(0);
        for (let k = 0; k < K; k++) {
          const av = aRow[k];
          const kb = k * N;
          for (let n = 0; n < N; n++) acc[n] += av * bMat[kb + n];
        }
        for (let n = 0; n < N; n++) out[o + n] = acc[n];
      } else {
        for (let n = 0; n < N; n++) {
          const bp = bBase[bi] + n * sbn;
          let s = 0;
          for (let k = 0; k < K; k++) s += aRow[k] * b[bp + k];
          out[o + n] = s;
        }
      }
    }
  }
  return out;
}
