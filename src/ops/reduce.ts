// Reductions over one or more dims (keepdim as PyTorch), arg-reductions, var/std, logsumexp, norm,
// cumulative ops and softmax. x (*) -> y (* with reduced dims removed, or 1 with keepdim).

import { ReduceOp } from '../backend/op_codes.js';
import { noGrad } from '../autograd/grad_mode.js';
import { type DType, computeDtype, isFloating, isKernelDtype } from '../tensor/dtype.js';
import { fmtShape, normDim } from '../tensor/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import { be, checkFloat, dims, floatDtype, record, wrap, dataOf } from './util.js';
import { where } from './binary.js';
import { castData, viaFloat32, widen } from './unary.js';

/**
 * The (values, indices) pair of max/min(dim), sort, topk, kthvalue: like torch's named tuples it has
 * `.values` / `.indices` and also destructures as `const [values, indices] = x.topk(5)` (or r[0], r[1]).
 */
export class ValuesIndices implements Iterable<Tensor> {
  constructor(
    readonly values: Tensor,
    readonly indices: Tensor,
  ) {}
  get 0(): Tensor {
    return this.values;
  }
  get 1(): Tensor {
    return this.indices;
  }
  get length(): 2 {
    return 2;
  }
  *[Symbol.iterator](): Iterator<Tensor> {
    yield this.values;
    yield this.indices;
  }
}
export interface VarOptions {
  correction?: number;
  unbiased?: boolean;
  keepdim?: boolean;
}

function keptShape(shape: readonly number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}
function droppedShape(shape: readonly number[], axes: number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

/** Runs a reduce kernel; returns the keepdim-shaped result and the final shape. */
const REDUCE_NAMES: Record<ReduceOp, string> = {
  [ReduceOp.SUM]: 'sum',
  [ReduceOp.PROD]: 'prod',
  [ReduceOp.MAX]: 'amax',
  [ReduceOp.MIN]: 'amin',
  [ReduceOp.ANY]: 'any',
  [ReduceOp.ALL]: 'all',
};

function reduceRaw(op: ReduceOp, x: Tensor, axes: number[], keepdim: boolean, outDtype = x.dtype): Tensor {
  // NOTE: storage dtypes reduce in their kernel dtype (float32 accumulation for the half types) and round once.
  const w = widen(x),
    cd = computeDtype(outDtype);
  const data = be(w).reduce(op, dataOf(w, REDUCE_NAMES[op]), w.layout, axes, cd);
  const out = wrap(data, keepdim ? keptShape(x.shape, axes) : droppedShape(x.shape, axes), cd);
  return cd === outDtype ? out : castData(out, outDtype);
}

/**
 * The dtype sum, prod, cumsum and cumprod give: int64 for int8, uint8 and int64 (as PyTorch); bool and
 * int32 give int32 (PyTorch: int64), nabla's default integer dtype, as before int64 existed.
 */
function accumulateDtype(d: DType): DType {
  if (d === 'int8' || d === 'uint8' || d === 'int64') return 'int64';
  return d === 'bool' ? 'int32' : d;
}

/** Broadcasts a reduced gradient (or value) back to x's shape. */
function unreduce(g: Tensor, xShape: readonly number[], axes: number[], keepdim: boolean): Tensor {
  const kept = keepdim ? g : g.reshape(keptShape(xShape, axes));
  return kept.expand([...xShape]);
}

export function sum(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  const axes = dims(x, dim, 'sum');
  const out = reduceRaw(ReduceOp.SUM, x, axes, keepdim, accumulateDtype(x.dtype));
  return record(out, 'SumBackward', [x], (g) => [unreduce(g, x.shape, axes, keepdim)]);
}

export function mean(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  if (!isFloating(x.dtype)) {
    throw new Error(`mean: could not infer output dtype. Input dtype must be floating point, got ${x.dtype}`);
  }
  // NOTE: the half types round the sum, then divide (torch 1.13: a float16 mean overflows where its sum does)
  const axes = dims(x, dim, 'mean');
  let n = 1;
  for (const a of axes) n *= x.shape[a];
  return sum(x, axes, keepdim).div(n);
}

export function prod(x: Tensor, dim?: number, keepdim = false): Tensor {
  const axes = dims(x, dim, 'prod');
  const out = reduceRaw(ReduceOp.PROD, x, axes, keepdim, accumulateDtype(x.dtype));
  return record(
    out,
    'ProdBackward',
    [x],
    (g) => {
      // d/dx_i prod = prod / x_i; NOTE: exact only without zeros; zeros get prod of the others via masking.
      const full = unreduce(out, x.shape, axes, keepdim);
      const gg = unreduce(g, x.shape, axes, keepdim);
      const zero = x.eq(0);
      const safe = where(zero, 1, x);
      const others = unreduce(prod(safe, dim, keepdim), x.shape, axes, keepdim);
      const zeros = sum(zero.to('int32'), axes, true).expand([...x.shape]);
      const gz = where(zeros.eq(1).logicalAnd(zero), others, 0);
      return [gg.mul(where(zero, gz, full.div(safe)))];
    },
    [x, out],
  );
}

function extremum(
  op: ReduceOp.MAX | ReduceOp.MIN,
  name: string,
  x: Tensor,
  dim: number | number[] | undefined,
  keepdim: boolean,
): Tensor {
  if (x.numel() === 0 && dim === undefined) {
    throw new Error(
      `${name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the ` +
        `'dim' argument.`,
    );
  }
  const axes = dims(x, dim, name);
  for (const a of axes) checkNonEmptyDim(x, a, name);
  const out = reduceRaw(op, x, axes, keepdim);
  return record(
    out,
    name === 'amax' ? 'AmaxBackward' : 'AminBackward',
    [x],
    (g) => {
      // the gradient is shared evenly among the elements equal to the extremum
      const mask = x.eq(unreduce(out, x.shape, axes, keepdim)).to(g.dtype);
      const count = mask.sum(axes, true);
      return [unreduce(g, x.shape, axes, keepdim).mul(mask).div(count)];
    },
    [x, out],
  );
}

export const amax = (x: Tensor, dim?: number | number[], keepdim = false) =>
  extremum(ReduceOp.MAX, 'amax', x, dim, keepdim);
export const amin = (x: Tensor, dim?: number | number[], keepdim = false) =>
  extremum(ReduceOp.MIN, 'amin', x, dim, keepdim);

/** A max/min has no identity: reducing a zero-length dim raises as in torch (no -inf / +inf). */
function checkNonEmptyDim(x: Tensor, d: number, name: string): void {
  if (x.ndim > 0 && x.shape[d] === 0) {
    throw new Error(`${name}(): Expected reduction dim ${d} to have non-zero size (input shape ${fmtShape(x.shape)})`);
  }
}

function argRaw(
  isMax: boolean,
  x: Tensor,
  dim: number | undefined,
  keepdim: boolean,
  name = isMax ? 'argmax' : 'argmin',
): Tensor {
  if (dim === undefined) {
    if (x.numel() === 0) throw new Error(`${name}(): Expected reduction dim to be specified for input.numel() == 0.`);
    const flat = widen(x.reshape([-1]));
    const r = wrap(be(flat).argReduce(isMax, dataOf(flat, name), flat.layout, 0), [], 'int32');
    return keepdim ? r.reshape(x.shape.map(() => 1)) : r;
  }
  const d = normDim(dim, x.ndim, name);
  checkNonEmptyDim(x, d, name);
  const src = widen(x.ndim === 0 ? x.reshape([1]) : x);
  const data = be(src).argReduce(isMax, dataOf(src, name), src.layout, x.ndim === 0 ? 0 : d);
  return wrap(data, x.ndim === 0 ? [] : keepdim ? keptShape(x.shape, [d]) : droppedShape(x.shape, [d]), 'int32');
}

export const argmax = (x: Tensor, dim?: number, keepdim = false) => argRaw(true, x, dim, keepdim);
export const argmin = (x: Tensor, dim?: number, keepdim = false) => argRaw(false, x, dim, keepdim);

function withIndices(isMax: boolean, x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  const indices = argRaw(isMax, x, dim, true, isMax ? 'max' : 'min');
  const d = normDim(dim, x.ndim, isMax ? 'max' : 'min');
  let values = x.ndim === 0 ? x.clone() : x.gather(d, indices);
  let idx = indices;
  if (!keepdim && x.ndim > 0) {
    values = values.squeeze(d);
    idx = idx.squeeze(d);
  }
  return new ValuesIndices(values, idx);
}

export const maxDim = (x: Tensor, dim: number, keepdim = false) => withIndices(true, x, dim, keepdim);
export const minDim = (x: Tensor, dim: number, keepdim = false) => withIndices(false, x, dim, keepdim);

/** Variance with Bessel's correction by default (correction=1; unbiased=false means 0). */
export function variance(x: Tensor, dim?: number | number[], opts: VarOptions = {}): Tensor {
  checkFloat(x, 'var');
  const correction = opts.correction ?? (opts.unbiased === false ? 0 : 1);
  const axes = dims(x, dim, 'var');
  let n = 1;
  for (const a of axes) n *= x.shape[a];
  const mu = mean(x, axes, true);
  const d = x.sub(mu);
  return sum(d.mul(d), axes, opts.keepdim ?? false).div(Math.max(0, n - correction));
}

export function std(x: Tensor, dim?: number | number[], opts: VarOptions = {}): Tensor {
  return variance(x, dim, opts).sqrt();
}

/** log(sum(exp(x))) along dims, stable at ±1e4 (the max is subtracted; an all -inf slice gives -inf). */
export function logsumexp(x: Tensor, dim: number | number[], keepdim = false): Tensor {
  const xf = x.dtype === floatDtype(x.dtype) ? x : x.to('float32');
  const axes = dims(xf, dim, 'logsumexp');
  const m = amax(xf, axes, true).detach();
  const mSafe = where(m.abs().eq(Infinity), 0, m);
  const s = xf.sub(mSafe).exp().sum(axes, true).log().add(mSafe);
  return keepdim ? s : s.squeeze(axes);
}

/** Vector p-norm over dims (all by default): p = 2, 1, Infinity, -Infinity, 0 or any p. */
export function norm(x: Tensor, p = 2, dim?: number | number[], keepdim = false): Tensor {
  checkFloat(x, 'norm');
  const axes = dims(x, dim, 'norm');
  if (p === Infinity) return amax(x.abs(), axes, keepdim);
  if (p === -Infinity) return amin(x.abs(), axes, keepdim);
  if (p === 0) return sum(x.ne(0).to(x.dtype), axes, keepdim);
  if (p === 1) return sum(x.abs(), axes, keepdim);
  if (p === 2) {
    const out = noGrad(() => sum(x.mul(x), axes, keepdim).sqrt());
    return record(
      out,
      'NormBackward',
      [x],
      (g) => {
        // d|x|/dx = x / |x|, taken as 0 where the norm is 0 (PyTorch's subgradient, not 0/0 = NaN)
        const o = unreduce(out, x.shape, axes, keepdim),
          zero = o.eq(0);
        return [x.mul(where(zero, 0, unreduce(g, x.shape, axes, keepdim).div(where(zero, 1, o))))];
      },
      [x, out],
    );
  }
  return sum(x.abs().pow(p), axes, keepdim).pow(1 / p);
}

/** Runs a cumulative kernel in x's compute dtype; the result has outDtype. */
function cumulativeRaw(isProd: boolean, x: Tensor, d: number, outDtype: DType): Tensor {
  const src = widen(x.ndim === 0 ? x.reshape([1]) : x),
    cd = computeDtype(outDtype);
  const name = isProd ? 'cumprod' : 'cumsum';
  const out = wrap(be(src).cumulative(isProd, dataOf(src, name), src.layout, x.ndim === 0 ? 0 : d, cd), x.shape, cd);
  return cd === outDtype ? out : castData(out, outDtype);
}

export function cumsum(x: Tensor, dim: number): Tensor {
  const d = normDim(dim, x.ndim, 'cumsum');
  const out = cumulativeRaw(false, x, d, accumulateDtype(x.dtype));
  // the gradient of a cumsum is a reversed cumsum of the gradient
  return record(out, 'CumsumBackward', [x], (g) => [x.ndim === 0 ? g : g.flip([d]).cumsum(d).flip([d])]);
}

export function cumprod(x: Tensor, dim: number): Tensor {
  const d = normDim(dim, x.ndim, 'cumprod');
  const out = cumulativeRaw(true, x, d, x.dtype === 'bool' ? 'int32' : accumulateDtype(x.dtype));
  // NOTE: valid for inputs without zeros: d out_j / d x_i = out_j / x_i for j >= i.
  return record(out, 'CumprodBackward', [x], (g) => [g.mul(out).flip([d]).cumsum(d).flip([d]).div(x)], [x, out]);
}

export function all(x: Tensor, dim?: number, keepdim = false): Tensor {
  return reduceRaw(ReduceOp.ALL, x, dims(x, dim, 'all'), keepdim, 'bool');
}

export function any(x: Tensor, dim?: number, keepdim = false): Tensor {
  return reduceRaw(ReduceOp.ANY, x, dims(x, dim, 'any'), keepdim, 'bool');
}

/** softmax along dim: y = exp(x - max) / sum(exp(x - max)). */
export function softmax(x: Tensor, dim: number): Tensor {
  if (!isKernelDtype(x.dtype)) return viaFloat32(x, (f) => softmax(f, dim));
  const xf = x.dtype === floatDtype(x.dtype) ? x : x.to('float32');
  const d = normDim(dim, xf.ndim, 'softmax');
  const src = xf.ndim === 0 ? xf.reshape([1]) : xf;
  const out = wrap(
    be(src).softmax(dataOf(src, 'softmax'), src.layout, xf.ndim === 0 ? 0 : d, false),
    xf.shape,
    xf.dtype,
  );
  // dx = y * (g - sum(g * y))
  return record(out, 'SoftmaxBackward', [xf], (g) => [out.mul(g.sub(g.mul(out).sum(d, true)))], [out]);
}

/** log-softmax along dim: y = x - logsumexp(x). */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  if (!isKernelDtype(x.dtype)) return viaFloat32(x, (f) => logSoftmax(f, dim));
  const xf = x.dtype === floatDtype(x.dtype) ? x : x.to('float32');
  const d = normDim(dim, xf.ndim, 'logSoftmax');
  const src = xf.ndim === 0 ? xf.reshape([1]) : xf;
  const out = wrap(
    be(src).softmax(dataOf(src, 'logSoftmax'), src.layout, xf.ndim === 0 ? 0 : d, true),
    xf.shape,
    xf.dtype,
  );
  // dx = g - softmax(x) * sum(g)
  return record(out, 'LogSoftmaxBackward', [xf], (g) => [g.sub(out.exp().mul(g.sum(d, true)))], [out]);
}
