// Matrix products with PyTorch semantics: 1-D, 2-D and batched (broadcast batch dims) matmul,
// plus mm, bmm, dot, outer, mv. Glossary: B batch dims, M rows, K contraction, N columns.

import { broadcastShapes, expandLayout, fmtShape } from '../tensor/layout.js';
import { isFloating } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { be, record, sumTo, wrap, dataOf } from './util.js';
import { castData, widen } from './unary.js';

/** a (B..., M, K) @ b (B..., K, N) -> (B..., M, N), with batch dims broadcast. Both at least 2-D. */
function batched(a: Tensor, b: Tensor, op: string): Tensor {
  const M = a.shape[a.ndim - 2],
    K = a.shape[a.ndim - 1];
  const K2 = b.shape[b.ndim - 2],
    N = b.shape[b.ndim - 1];
  if (K !== K2) {
    throw new Error(
      `${op}: mat1 and mat2 shapes cannot be multiplied (${a.shape.slice(-2).join('x')} and ` +
        `${b.shape.slice(-2).join('x')}; ` +
        `full shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)})`,
    );
  }
  if (a.dtype !== b.dtype)
    throw new Error(`${op}: expected both operands to have the same dtype, but got ${a.dtype} and ${b.dtype}`);
  if (!isFloating(a.dtype)) throw new Error(`${op}: only floating point tensors are supported, got ${a.dtype}`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), op);
  // NOTE: float16/bfloat16 multiply in float32 (products summed in float32) and round once, as PyTorch's CPU gemm
  const wa = widen(a),
    wb = widen(b);
  const la = expandLayout(wa.layout, [...batch, M, K], op);
  const lb = expandLayout(wb.layout, [...batch, K, N], op);
  const cd = wa.dtype;
  let out = wrap(be(wa, wb).matmul(dataOf(wa, op), la, dataOf(wb, op), lb, cd), [...batch, M, N], cd);
  if (cd !== a.dtype) out = castData(out, a.dtype);
  return record(
    out,
    'MmBackward',
    [a, b],
    (g) => [
      // dA = g @ B^T, dB = A^T @ g (summed over broadcast batch dims)
      a.requiresGrad ? sumTo(batched(g, b.mT, op), a.shape) : null,
      b.requiresGrad ? sumTo(batched(a.mT, g, op), b.shape) : null,
    ],
    [a, b],
  );
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new Error(`matmul: both arguments need to be at least 1D, but they are ${a.ndim}D and ${b.ndim}D`);
  }
  if (a.ndim === 1 && b.ndim === 1) return dot(a, b);
  if (a.ndim === 1) return batched(a.unsqueeze(0), b, 'matmul').squeeze(-2);
  if (b.ndim === 1) return batched(a, b.unsqueeze(1), 'matmul').squeeze(-1);
  return batched(a, b, 'matmul');
}

export function mm(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 2 || b.ndim !== 2)
    throw new Error(`mm: expected 2-D tensors, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  return batched(a, b, 'mm');
}

export function bmm(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 3 || b.ndim !== 3)
    throw new Error(`bmm: expected 3-D tensors, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  if (a.shape[0] !== b.shape[0])
    throw new Error(`bmm: batch sizes must match, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  return batched(a, b, 'bmm');
}

export function mv(a: Tensor, v: Tensor): Tensor {
  if (a.ndim !== 2 || v.ndim !== 1)
    throw new Error(`mv: expected a 2-D matrix and a 1-D vector, got ${fmtShape(a.shape)} and ${fmtShape(v.shape)}`);
  return matmul(a, v);
}

export function dot(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1)
    throw new Error(`dot: 1D tensors expected, but got ${a.ndim}D and ${b.ndim}D tensors`);
  if (a.shape[0] !== b.shape[0]) {
    throw new Error(
      `dot: inconsistent tensor size, expected tensor [${a.shape[0]}] and src [${b.shape[0]}] to have the same ` +
        `number of elements`,
    );
  }
  return batched(a.unsqueeze(0), b.unsqueeze(1), 'dot').reshape([]);
}

/** a (M), b (N) -> (M, N). */
export function outer(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1)
    throw new Error(`outer: 1D tensors expected, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  return a.unsqueeze(1).mul(b.unsqueeze(0));
}
