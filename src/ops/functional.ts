// The torch.* style free functions: nb.add(a, b), nb.matmul(a, b), nb.cat([...]), ...

import type { Tensor, TensorLike } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import * as B from './binary.js';
import * as U from './unary.js';
import * as R from './reduce.js';
import * as M from './movement.js';
import * as I from './indexing.js';
import * as MM from './matmul.js';

export {
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  logicalAnd,
  logicalOr,
  logicalXor,
  floorDivide,
  remainder,
  atan2,
  where,
} from './binary.js';
export {
  neg,
  abs,
  exp,
  log,
  log2,
  log1p,
  expm1,
  sqrt,
  rsqrt,
  square,
  reciprocal,
  sin,
  cos,
  tan,
  atan,
  asin,
  acos,
  sinh,
  cosh,
  tanh,
  sigmoid,
  relu,
  gelu,
  silu,
  erf,
  leakyRelu,
  elu,
  softplus,
  clamp,
  sign,
  floor,
  ceil,
  round,
  trunc,
  isnan,
  logicalNot,
} from './unary.js';
export {
  sum,
  mean,
  prod,
  amax,
  amin,
  argmax,
  argmin,
  variance as var,
  std,
  logsumexp,
  norm,
  cumsum,
  cumprod,
  all,
  any,
  softmax,
  logSoftmax,
} from './reduce.js';
export {
  cat,
  stack,
  split,
  chunk,
  unbind,
  flip,
  repeat,
  reshape,
  permute,
  transpose,
  squeeze,
  unsqueeze,
  flatten,
  narrow,
  select,
} from './movement.js';
export {
  gather,
  scatter,
  scatterAdd,
  indexSelect,
  maskedFill,
  maskedSelect,
  tril,
  triu,
  topk,
  sort,
  kthvalue,
  mode,
  pad,
  oneHot,
} from './indexing.js';
export { matmul, mm, bmm, mv, dot, outer } from './matmul.js';
export { einsum } from './einsum.js';
export { roll, meshgrid, lerp, isclose, allclose, unique } from './composite.js';
export { multinomial, bernoulli } from './sampling.js';

/** max(x) is the largest value; max(x, dim) gives {values, indices} along dim. */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): R.ValuesIndices;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | R.ValuesIndices {
  return dim === undefined ? R.amax(x) : R.maxDim(x, dim, keepdim);
}
/** min(x) is the smallest value; min(x, dim) gives {values, indices} along dim. */
export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): R.ValuesIndices;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | R.ValuesIndices {
  return dim === undefined ? R.amin(x) : R.minDim(x, dim, keepdim);
}
export const argsort = (x: Tensor, dim = -1, descending = false) => I.sort(x, dim, descending).indices;
export const clone = (x: Tensor) => U.clone(x);
export const detach = (x: Tensor) => U.detach(x);
export const broadcastTo = (x: Tensor, shape: readonly number[]) => M.expand(x, shape);
export const cast = (x: Tensor, dtype: DType) => U.cast(x, dtype);
export const addmm = (bias: TensorLike, a: Tensor, b: Tensor) => B.add(MM.mm(a, b), bias);
