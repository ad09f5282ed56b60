// A linear layer in one kernel for the JS backend: the matrix product, then the bias and the
// activation over each row of the float32 result, in the native kernel's order (gemm.c linear_rows).
// Glossary: M rows, K inputs, N outputs.

import type { TypedArray } from '../../tensor/dtype.js';
import { Layout } from '../../tensor/layout.js';
import type { UnaryOp } from '../op_codes.js';
import { unary } from './elementwise.js';
import { matmul } from './matmul.js';

/** x (M, K) @ w (K, N) (any strides) + bias (N) or null, then act or null -> y (M, N) float32. */
export function linear(
  x: TypedArray,
  lx: Layout,
  w: TypedArray,
  lw: Layout,
  bias: TypedArray | null,
  act: UnaryOp | null,
): Float32Array {
  if (lx.shape.length !== 2 || lw.shape.length !== 2 || lx.shape[1] !== lw.shape[0]) {
    throw new Error(`linear: expected x (M, K) and w (K, N), got [${lx.shape}] and [${lw.shape}]`);
  }
  const N = lw.shape[1];
  if (bias && bias.length !== N) throw new Error(`linear: expected a bias of ${N} values, got ${bias.length}`);
  const y = matmul(x, lx, w, lw, 'float32') as Float32Array;
  if (bias) for (let i = 0; i < y.length; i += N) for (let n = 0; n < N; n++) y[i + n] += bias[n];
  return act === null ? y : (unary(act, y, Layout.contiguous([lx.shape[0], N]), 'float32') as Float32Array);
}
