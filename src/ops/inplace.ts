// In-place ops. Each writes into the tensor's storage and bumps its version, so that a backward
// that saved the old values fails loudly instead of computing a wrong gradient.

import { isGradEnabled } from '../autograd/grad_mode.js';
import { expandLayout, fmtShape } from '../tensor/layout.js';
import { Tensor, type TensorLike } from '../tensor/tensor.js';
import { defaultGenerator } from '../tensor/random.js';
import { asTensor, be, dataOf } from './util.js';
import { castData, clone } from './unary.js';
import { type DType, isKernelDtype } from '../tensor/dtype.js';
import { Node } from '../autograd/node.js';

function checkWritable(x: Tensor, op: string): void {
  if (isGradEnabled() && x.requiresGrad && x.isLeaf) {
    throw new Error(
      `${op}: a leaf Variable that requires grad (shape ${fmtShape(x.shape)}) is being used in an in-place ` +
        `operation; wrap the update in nb.noGrad(...)`,
    );
  }
  if (isGradEnabled() && x.requiresGrad && x.base !== null) {
    throw new Error(
      `${op}: in-place operations on views of tensors that require grad are not supported (shape ` +
        `${fmtShape(x.shape)}); use the out-of-place op`,
    );
  }
}

/**
 * Computes `compute(self)` out of place, writes it into x (same shape) and gives x its graph node.
 * NOTE: when the op is recorded, it runs on a clone of x, so that what its backward saved is not
 * what this write overwrites (PyTorch keeps `original_self` the same way): y.mul_(3) stays
 * differentiable. Under noGrad (optimisers) nothing is copied.
 */
export function inplace<T extends Tensor>(x: T, op: string, compute: (self: Tensor) => Tensor, other?: TensorLike): T {
  checkWritable(x, op);
  dataOf(x, op, true);
  const recorded = isGradEnabled() && (x.requiresGrad || (other instanceof Tensor && other.requiresGrad));
  const result = compute(recorded ? clone(x) : x);
  if (result.shape.length !== x.shape.length || result.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(
      `${op}: output with shape ${fmtShape(x.shape)} doesn't match the broadcast shape ${fmtShape(result.shape)}`,
    );
  }
  const r = storageCast(result, x.dtype);
  be(x, r).assign(dataOf(x, op, true), x.layout, dataOf(r, op, true), r.layout);
  x.storage.version++;
  if (result.requiresGrad && isGradEnabled()) {
    x.gradFn = result.gradFn;
    x.requiresGrad = true;
  }
  return x;
}

/**
 * src in x's dtype for the assign kernel, which casts between kernel dtypes but only moves the bits
 * of a storage dtype (float16, int8, ...): those are converted here first.
 */
function storageCast(src: Tensor, dtype: DType): Tensor {
  if (src.dtype === dtype || (isKernelDtype(src.dtype) && isKernelDtype(dtype))) return src;
  return castData(src, dtype);
}

export function copy_<T extends Tensor>(x: T, src: TensorLike): T {
  checkWritable(x, 'copy_');
  const s = asTensor(src, src instanceof Tensor ? src.dtype : x.dtype);
  const old = x.gradFn;
  const sc = storageCast(s, x.dtype);
  be(x, sc).assign(
    dataOf(x, 'copy_', true),
    x.layout,
    dataOf(sc, 'copy_', true),
    expandLayout(sc.layout, x.shape, 'copy_'),
  );
  x.storage.version++;
  if (isGradEnabled() && s.requiresGrad) {
    // x now holds src's values: its gradient flows to src (summed over broadcast dims, in src's dtype)
    const r = s.to(x.dtype).expand([...x.shape]);
    x.gradFn = r.gradFn;
    x.requiresGrad = true;
  } else if (isGradEnabled() && old) {
    // overwritten by constants: what reaches the old graph is zero (torch's FillBackward)
    x.gradFn = new Node('FillBackward', [old], (g) => [g.mul(0)]);
  }
  return x;
}

export function fill_<T extends Tensor>(x: T, value: number): T {
  return copy_(x, value);
}

export function uniform_<T extends Tensor>(x: T, low: number, high: number): T {
  return copy_(x, defaultGenerator().uniform([...x.shape], low, high, x.dtype));
}

export function normal_<T extends Tensor>(x: T, mean: number, std: number): T {
  return copy_(x, defaultGenerator().normal([...x.shape], mean, std, x.dtype));
}
