// Shared plumbing for ops: making tensors from kernel results, recording graph nodes, turning JS
// numbers into tensors with PyTorch's type promotion, and reducing broadcast gradients.

import { deviceBackend, getBackend } from '../backend/registry.js';
import type { Backend, DeviceBackend } from '../backend/backend.js';
import { isGradEnabled } from '../autograd/grad_mode.js';
import { Node, type BackwardFn } from '../autograd/node.js';
import {
  type DType,
  type TypedArray,
  allocate,
  castScalar,
  category,
  isFloating,
  isKernelDtype,
  promoteTypes,
  promoteWithScalar,
} from '../tensor/dtype.js';
import { Layout, type Shape, fmtShape, normDim } from '../tensor/layout.js';
import { Storage, Tensor, type TensorLike } from '../tensor/tensor.js';

/**
 * The backend for a kernel call on `inputs`: the active CPU backend when they are all on the CPU (or
 * none is given), else their accelerator's. Tensors on two devices are an error naming both, as in
 * PyTorch; a 0-dim CPU tensor (a scalar operand) may join an accelerator's tensors.
 */
export function be(...inputs: (Tensor | null | undefined)[]): Backend {
  let dev = 'cpu';
  for (const t of inputs) {
    const d = t ? t.storage.device : 'cpu';
    if (d !== 'cpu') dev = d;
  }
  if (dev === 'cpu') return getBackend();
  for (const t of inputs) {
    if (t && t.storage.device === 'cpu' && t.ndim > 0) {
      throw new Error(
        `Expected all tensors to be on the same device, but found at least two devices, ${dev} and cpu ` +
          `(a cpu tensor of shape ${fmtShape(t.shape)}, ${t.dtype})`,
      );
    }
  }
  const b = deviceBackend(dev);
  if (!b) throw new Error(`${dev}: the backend is not initialised (await nb.initWebGPU() first)`);
  return b;
}

/**
 * A zero-filled buffer of n elements of dtype on `like`'s device, for kernels that write into a
 * buffer they are given (assign, scatter, indexAdd).
 */
export function zerosOn(like: Tensor, dtype: DType, n: number): TypedArray {
  if (like.storage.device === 'cpu') return allocate(dtype, n);
  return (be(like) as Backend & DeviceBackend).zeros(dtype, n);
}

/** A tensor over a fresh contiguous buffer. */
export function wrap(data: TypedArray, shape: Shape, dtype: DType): Tensor {
  return new Tensor(new Storage(data), Layout.contiguous(shape), dtype);
}

/** A view: same storage, new layout. `op` names the view op in the error for a detached buffer. */
export function viewOf(x: Tensor, layout: Layout, op = 'view'): Tensor {
  dataOf(x, op, true);
  const t = new Tensor(x.storage, layout, x.dtype);
  t.base = x.base ?? x;
  return t;
}

/**
 * x's storage array, for a kernel call by `op`. Refuses a storage that no longer holds every element
 * x's layout addresses: its ArrayBuffer was detached (transferred by structuredClone or postMessage)
 * or, resizable, shrank. A kernel would otherwise read a length-0 array as undefined -> NaN (JS) or
 * refuse with only the kernel's name (native).
 * `op` may be a graph node name ('ExpBackward', as unary ops pass): the error then names the op, 'exp'.
 * Storage dtypes (float16, bfloat16, int8, uint8, int64) reach kernels that compute only when an op
 * widened them first (widen); any other op that meets one gets an error naming it and the dtype.
 * `raw`: the caller only moves elements (copies, gathers, views), which is exact for every dtype.
 * NOTE: one comparison per input per op; the needed length was computed when x was made.
 */
export function dataOf(x: Tensor, op: string, raw = false): TypedArray {
  const d = x.storage.data;
  if (d.length < x.storageNeeds) throw staleStorage(x, op);
  if (!raw && !isKernelDtype(x.dtype)) throw noPathError(op, x);
  return d;
}

/** The error for an op that has no kernel and no widening path for x's dtype. */
export function noPathError(node: string, x: Tensor): Error {
  const op = node.endsWith('Backward') ? node[0].toLowerCase() + node.slice(1, -'Backward'.length) : node;
  return new Error(
    `${op}: no kernel computes ${x.dtype} tensors (the input of shape ${fmtShape(x.shape)}) and ${op} has no ` +
      `widening path for ${x.dtype}; cast it first, e.g. x.to('float32')`,
  );
}

function staleStorage(x: Tensor, node: string): Error {
  const op = node.endsWith('Backward') ? node[0].toLowerCase() + node.slice(1, -'Backward'.length) : node;
  const d = x.storage.data,
    what = `the input of shape ${fmtShape(x.shape)} (${x.dtype})`;
  if (d.buffer.byteLength === 0) {
    return new Error(
      `${op}: ${what} has a detached buffer (its ArrayBuffer was transferred, e.g. by ` +
        'structuredClone or postMessage): its storage holds no data any more',
    );
  }
  return new Error(
    `${op}: ${what} no longer fits its buffer (resized?): its layout needs ${x.storageNeeds} elements ` +
      `but the storage now has ${d.length}`,
  );
}

/** A 0-dim tensor holding v. */
export function scalar(v: number | boolean, dtype: DType): Tensor {
  const d = allocate(dtype, 1);
  d[0] = castScalar(v, dtype);
  return wrap(d, [], dtype);
}

/**
 * Records `out` as produced by an op from `inputs` when grad mode is on and any input requires grad.
 * `saved` are the tensors backward reads; their versions are checked when backward runs.
 */
export function record(
  out: Tensor,
  name: string,
  inputs: readonly (Tensor | null)[],
  fn: BackwardFn,
  saved: Tensor[] = [],
): Tensor {
  if (!isGradEnabled()) return out;
  let any = false;
  const next = inputs.map((t) => {
    if (t?.requiresGrad) {
      any = true;
      return t.gradFn ?? t.accumulateNode();
    }
    return null;
  });
  if (!any) return out;
  out.requiresGrad = true;
  out.gradFn = new Node(name, next, fn, saved);
  return out;
}

export function needsGrad(...ts: (Tensor | null | undefined)[]): boolean {
  if (!isGradEnabled()) return false;
  for (const t of ts) if (t?.requiresGrad) return true;
  return false;
}

/** The result dtype of a binary op, with PyTorch's rule that 0-dim tensors and scalars rank below dimensioned tensors.
 * */
export function resultType(a: TensorLike, b: TensorLike): DType {
  if (!(a instanceof Tensor) && !(b instanceof Tensor))
    return Number.isInteger(a) && Number.isInteger(b) ? 'int32' : 'float32';
  if (!(a instanceof Tensor)) return promoteWithScalar((b as Tensor).dtype, a);
  if (!(b instanceof Tensor)) return promoteWithScalar(a.dtype, b);
  const az = a.ndim === 0,
    bz = b.ndim === 0;
  if (az === bz) return promoteTypes(a.dtype, b.dtype);
  const [dim, zero] = az ? [b, a] : [a, b];
  // NOTE: a 0-dim tensor of a higher category lends its own dtype (int32 * float64 0-dim -> float64);
  // only JS numbers fall back to the default dtype.
  if (category(zero.dtype) > category(dim.dtype)) return zero.dtype;
  return dim.dtype;
}

/** x as a tensor of dtype (a JS number becomes a 0-dim tensor). Differentiable cast. */
export function asTensor(x: TensorLike, dtype: DType): Tensor {
  if (x instanceof Tensor) return x.dtype === dtype ? x : x.to(dtype);
  return scalar(x, dtype);
}

/** Floating dtype for ops like exp on integer input (PyTorch promotes ints to the default float). */
export function floatDtype(d: DType): DType {
  return isFloating(d) ? d : 'float32';
}

/** Sums a broadcast gradient g back down to `shape`. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    // a leading dim of size 1 needs no sum: the reshape below drops it
    if ((i < lead && g.shape[i] !== 1) || (i >= lead && shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  let r = axes.length ? g.sum(axes, true) : g;
  if (lead > 0 || r.ndim !== shape.length) r = r.reshape([...shape]);
  return r;
}

export function dims(x: Tensor, dim: number | readonly number[] | undefined, op: string): number[] {
  if (dim === undefined) return [...Array(x.ndim).keys()];
  const list = typeof dim === 'number' ? [dim] : [...dim];
  const out = [...new Set(list.map((d) => normDim(d, x.ndim, op)))].sort((p, q) => p - q);
  if (out.length !== list.length)
    throw new Error(`${op}: dim ${fmtShape(list)} appears multiple times in the list of dims`);
  // NOTE: a 0-dim tensor accepts dim 0 / -1 (as PyTorch does) but has no axis to reduce.
  return x.ndim === 0 ? [] : out;
}

export function checkFloat(x: Tensor, op: string): void {
  if (!isFloating(x.dtype))
    throw new Error(`${op}: expected a floating point tensor, got ${x.dtype} of shape ${fmtShape(x.shape)}`);
}
