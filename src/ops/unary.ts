// Unary elementwise ops, each with its backward right below the kernel call.
// All shapes are preserved: x (*) -> y (*).

import { UnaryOp } from '../backend/op_codes.js';
// NOTE the op codes also name the activation a fused kernel applies (linearFused); models take them from here
export { UnaryOp };
import {
  DTYPES,
  type DType,
  type TypedArray,
  allocate,
  castScalar,
  computeDtype,
  convertArray,
  decodeElement,
  isDType,
  isFloating,
  isKernelDtype,
} from '../tensor/dtype.js';
import { fmtShape } from '../tensor/layout.js';
import { Tensor } from '../tensor/tensor.js';
import { syncReadError } from '../tensor/device.js';
import { be, dataOf, floatDtype, record, viewOf, wrap } from './util.js';
import { thresholdBackward, where } from './binary.js';

type Bw = (g: Tensor, x: Tensor, out: Tensor) => Tensor;

/**
 * Runs a unary kernel; `bw` gives dL/dx from g = dL/dy, x and y. `save` says which of x and y
 * backward reads, so that only those are kept alive and version-checked.
 */
function un(
  name: string,
  op: UnaryOp,
  x: Tensor,
  bw: Bw | null,
  save: 'x' | 'out' | 'both' | 'none',
  p0 = 0,
  p1 = 0,
  float = true,
): Tensor {
  const dt = float ? floatDtype(x.dtype) : x.dtype;
  // NOTE: a storage dtype computes in its kernel dtype and rounds (or wraps) back once, as PyTorch's CPU kernels.
  const cd = computeDtype(dt);
  const src = castData(x, cd);
  let out = wrap(be(src).unary(op, dataOf(src, name), src.layout, cd, p0, p1), x.shape, cd);
  if (cd !== dt) out = castData(out, dt, name);
  if (!bw) return out;
  const saved = save === 'x' ? [x] : save === 'out' ? [out] : save === 'both' ? [x, out] : [];
  return record(out, name, [x], (g) => [bw(g, x, out)], saved);
}

const zeroGrad: Bw = (g) => g.mul(0);

export const neg = (x: Tensor): Tensor => un('NegBackward', UnaryOp.NEG, x, (g) => g.neg(), 'none', 0, 0, false);
export const abs = (x: Tensor): Tensor => un('AbsBackward', UnaryOp.ABS, x, (g, x) => g.mul(sign(x)), 'x', 0, 0, false);
export const exp = (x: Tensor): Tensor => un('ExpBackward', UnaryOp.EXP, x, (g, _x, y) => g.mul(y), 'out');
export const log = (x: Tensor): Tensor => un('LogBackward', UnaryOp.LOG, x, (g, x) => g.div(x), 'x');
export const log2 = (x: Tensor): Tensor => un('Log2Backward', UnaryOp.LOG2, x, (g, x) => g.div(x.mul(Math.LN2)), 'x');
export const log1p = (x: Tensor): Tensor => un('Log1pBackward', UnaryOp.LOG1P, x, (g, x) => g.div(x.add(1)), 'x');
export const expm1 = (x: Tensor): Tensor => un('Expm1Backward', UnaryOp.EXPM1, x, (g, _x, y) => g.mul(y.add(1)), 'out');
export const sqrt = (x: Tensor): Tensor => un('SqrtBackward', UnaryOp.SQRT, x, (g, _x, y) => g.div(y.mul(2)), 'out');
export const rsqrt = (x: Tensor): Tensor =>
  un('RsqrtBackward', UnaryOp.RSQRT, x, (g, _x, y) => g.mul(y.pow(3)).mul(-0.5), 'out');
export const square = (x: Tensor): Tensor =>
  un('PowBackward', UnaryOp.SQUARE, x, (g, x) => g.mul(x).mul(2), 'x', 0, 0, false);
export const reciprocal = (x: Tensor): Tensor =>
  un('ReciprocalBackward', UnaryOp.RECIPROCAL, x, (g, _x, y) => g.mul(y.mul(y)).neg(), 'out');
export const sin = (x: Tensor): Tensor => un('SinBackward', UnaryOp.SIN, x, (g, x) => g.mul(cos(x)), 'x');
export const cos = (x: Tensor): Tensor => un('CosBackward', UnaryOp.COS, x, (g, x) => g.mul(sin(x)).neg(), 'x');
export const tan = (x: Tensor): Tensor =>
  un('TanBackward', UnaryOp.TAN, x, (g, _x, y) => g.mul(y.mul(y).add(1)), 'out');
export const atan = (x: Tensor): Tensor => un('AtanBackward', UnaryOp.ATAN, x, (g, x) => g.div(x.mul(x).add(1)), 'x');
export const asin = (x: Tensor): Tensor =>
  un('AsinBackward', UnaryOp.ASIN, x, (g, x) => g.div(sqrt(x.mul(x).neg().add(1))), 'x');
export const acos = (x: Tensor): Tensor =>
  un('AcosBackward', UnaryOp.ACOS, x, (g, x) => g.div(sqrt(x.mul(x).neg().add(1))).neg(), 'x');
export const sinh = (x: Tensor): Tensor => un('SinhBackward', UnaryOp.SINH, x, (g, x) => g.mul(cosh(x)), 'x');
export const cosh = (x: Tensor): Tensor => un('CoshBackward', UnaryOp.COSH, x, (g, x) => g.mul(sinh(x)), 'x');
export const tanh = (x: Tensor): Tensor =>
  un('TanhBackward', UnaryOp.TANH, x, (g, _x, y) => g.mul(y.mul(y).neg().add(1)), 'out');
export const sigmoid = (x: Tensor): Tensor =>
  un('SigmoidBackward', UnaryOp.SIGMOID, x, (g, _x, y) => g.mul(y.mul(y.neg().add(1))), 'out');
export const relu = (x: Tensor): Tensor =>
  un('ReluBackward', UnaryOp.RELU, x, (g, _x, y) => thresholdBackward(g, y), 'out', 0, 0, false);
export const erf = (x: Tensor): Tensor =>
  un('ErfBackward', UnaryOp.ERF, x, (g, x) => g.mul(exp(x.mul(x).neg())).mul(2 / Math.sqrt(Math.PI)), 'x');
export const silu = (x: Tensor): Tensor =>
  un(
    'SiluBackward',
    UnaryOp.SILU,
    x,
    (g, x) => {
      const s = sigmoid(x);
      return g.mul(s.mul(x.mul(s.neg().add(1)).add(1)));
    },
    'x',
  );

/**
 * hardswish(x) = x * relu6(x + 3) / 6 (torch.nn.functional.hardswish). Its gradient is 0 below -3,
 * (2x + 3) / 6 on [-3, 3) and 1 from 3 on.
 */
// NOTE: the kinks take the right-hand derivative (-0.5 at -3, 1 at 3), as torch 1.13's vectorised
// hardswish_backward does for every tensor of more than a few elements (its scalar tail gives 1.5 at 3).
export const hardswish = (x: Tensor): Tensor =>
  un(
    'HardswishBackward',
    UnaryOp.HARDSWISH,
    x,
    (g, x) => where(x.lt(-3), 0, where(x.ge(3), g, g.mul(x.div(3).add(0.5)))),
    'x',
  );

/** mish(x) = x * tanh(softplus(x)) (torch.nn.functional.mish). */
export const mish = (x: Tensor): Tensor =>
  un(
    'MishBackward',
    UnaryOp.MISH,
    x,
    (g, x) => {
      // NOTE: softplus without a threshold, as torch 1.13's mish_backward: tanh saturates first anyway.
      const t = tanh(log1p(exp(x)));
      return g.mul(t.add(x.mul(sigmoid(x)).mul(t.mul(t).neg().add(1))));
    },
    'x',
  );

/** gelu(x) = x Φ(x) (exact, erf) or its tanh approximation. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate === 'tanh') {
    const k = Math.sqrt(2 / Math.PI),
      c = 0.044715;
    return un(
      'GeluBackward',
      UnaryOp.GELU_TANH,
      x,
      (g, x) => {
        const x2 = x.mul(x);
        const t = tanh(x.add(x2.mul(x).mul(c)).mul(k));
        const dt = t
          .mul(t)
          .neg()
          .add(1)
          .mul(x2.mul(3 * c).add(1))
          .mul(k);
        return g.mul(t.add(1).mul(0.5).add(x.mul(0.5).mul(dt)));
      },
      'x',
    );
  }
  if (approximate !== 'none') throw new Error(`gelu: approximate must be 'none' or 'tanh', got '${approximate}'`);
  return un(
    'GeluBackward',
    UnaryOp.GELU,
    x,
    (g, x) => {
      const cdf = erf(x.mul(Math.SQRT1_2)).add(1).mul(0.5);
      const pdf = exp(x.mul(x).mul(-0.5)).mul(1 / Math.sqrt(2 * Math.PI));
      return g.mul(cdf.add(x.mul(pdf)));
    },
    'x',
  );
}

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return un(
    'LeakyReluBackward',
    UnaryOp.LEAKY_RELU,
    x,
    (g, x) =>
      g.mul(
        x
          .gt(0)
          .to(g.dtype)
          .mul(1 - negativeSlope)
          .add(negativeSlope),
      ),
    'x',
    negativeSlope,
  );
}

export function elu(x: Tensor, alpha = 1): Tensor {
  return un(
    'EluBackward',
    UnaryOp.ELU,
    x,
    (g, x, y) => {
      const pos = x.gt(0).to(g.dtype);
      return g.mul(pos.add(y.add(alpha).mul(pos.neg().add(1))));
    },
    'both',
    alpha,
  );
}

export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  return un(
    'SoftplusBackward',
    UnaryOp.SOFTPLUS_BETA,
    x,
    (g, x) => {
      const inLinear = x.mul(beta).gt(threshold).to(g.dtype);
      const s = sigmoid(x.mul(beta));
      return g.mul(s.add(inLinear.mul(s.neg().add(1))));
    },
    'x',
    beta,
    threshold,
  );
}

/** Clamps to [min, max]; either bound may be omitted. Gradient flows where min <= x <= max. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new Error('clamp: at least one of min or max must not be None');
  }
  const lo = min ?? -Infinity,
    hi = max ?? Infinity;
  // NOTE: torch computes min(max(x, lo), hi), so lo > hi sets every element to hi; the kernel tests lo
  // first, hence it gets min(lo, hi). The gradient mask keeps the given bounds (all zero when lo > hi).
  const grad = (g: Tensor, x: Tensor) => g.mul(x.ge(lo).logicalAnd(x.le(hi)));
  return un('ClampBackward', UnaryOp.CLAMP, x, grad, 'x', Math.min(lo, hi), hi, false);
}

/** x ** p for a number p. */
export function powScalar(x: Tensor, p: number): Tensor {
  const float = !Number.isInteger(p) || p < 0;
  return un(
    'PowBackward',
    UnaryOp.POW_SCALAR,
    x,
    (g, x) => (p === 0 ? g.mul(0) : g.mul(powScalar(x, p - 1)).mul(p)),
    'x',
    p,
    0,
    float,
  );
}

export const sign = (x: Tensor): Tensor => un('SignBackward', UnaryOp.SIGN, x, zeroGrad, 'none', 0, 0, false);
export const floor = (x: Tensor): Tensor => un('FloorBackward', UnaryOp.FLOOR, x, zeroGrad, 'none', 0, 0, false);
export const ceil = (x: Tensor): Tensor => un('CeilBackward', UnaryOp.CEIL, x, zeroGrad, 'none', 0, 0, false);
export const round = (x: Tensor): Tensor => un('RoundBackward', UnaryOp.ROUND, x, zeroGrad, 'none', 0, 0, false);
export const trunc = (x: Tensor): Tensor => un('TruncBackward', UnaryOp.TRUNC, x, zeroGrad, 'none', 0, 0, false);

export function isnan(x: Tensor): Tensor {
  const w = widen(x);
  return wrap(be(w).unary(UnaryOp.ISNAN, dataOf(w, 'isnan'), w.layout, 'bool'), x.shape, 'bool');
}

export function logicalNot(x: Tensor): Tensor {
  const w = widen(x);
  return wrap(be(w).unary(UnaryOp.LOGICAL_NOT, dataOf(w, 'logicalNot'), w.layout, 'bool'), x.shape, 'bool');
}

/** x's storage dtype has to be converted in TS (PyTorch's rules, tensor/dtype.ts convertArray), not by a kernel. */
function castInTs(from: DType, to: DType): boolean {
  if (!isKernelDtype(from) || !isKernelDtype(to)) return true;
  // NOTE: float -> int32 follows x86 PyTorch (NaN, inf, out of range -> INT_MIN); the kernels' stores wrap.
  return to === 'int32' && isFloating(from);
}

/** x's values as dtype in a new plain tensor (no graph node): the data part of cast. */
export function castData(x: Tensor, dtype: DType, op = 'to'): Tensor {
  if (!isDType(dtype))
    throw new Error(`to: unknown dtype ${JSON.stringify(dtype)} (expected one of ${DTYPES.join(', ')})`);
  if (x.dtype === dtype) return x;
  // NOTE: an accelerator casts between kernel dtypes with its own kernel (its float -> int32 rounding)
  const kernels = isKernelDtype(x.dtype) && isKernelDtype(dtype);
  if (!castInTs(x.dtype, dtype) || (kernels && x.storage.device !== 'cpu'))
    return wrap(be(x).copy(dataOf(x, 'to'), x.layout, dtype), x.shape, dtype);
  if (x.storage.device !== 'cpu') {
    throw new Error(
      `to: casting ${x.dtype} to ${dtype} runs on the CPU only; move the tensor of shape ${fmtShape(x.shape)} ` +
        'there first (await t.toAsync("cpu"))',
    );
  }
  return wrap(convertArray(contiguousData(x), x.dtype, dtype, `${op}(${dtype})`), x.shape, dtype);
}

/**
 * Index tensors as PyTorch takes them: int64 (its default) becomes int32, nabla's index dtype, with
 * every value checked to fit (a wrapped index could land in range); other dtypes pass unchanged.
 */
export function int32Indices(t: Tensor, op: string): Tensor {
  if (!(t instanceof Tensor) || t.dtype !== 'int64') return t;
  const v = contiguousData(t);
  for (let i = 0; i < v.length; i++) {
    if (v[i] < -2147483648 || v[i] > 2147483647)
      throw new Error(
        `${op}: index ${v[i]} at flat index ${i} of the int64 tensor ${fmtShape(t.shape)} is out of range`,
      );
  }
  return castData(t, 'int32');
}

/** Converts to dtype: x itself when it already has it (as torch .to), else a copy. Differentiable between float dtypes.
 * */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const out = castData(x, dtype);
  if (!isFloating(dtype)) return out;
  return record(out, 'ToCopyBackward', [x], (g) => [g.to(x.dtype)]);
}

/** x in the dtype kernels compute it in (tensor/dtype.ts computeDtype), with no graph node: x itself for kernel dtypes. */
export function widen(x: Tensor): Tensor {
  // NOTE: int64 storage already is a Float64Array of its values: a float64 view, no copy (kernels only read it).
  if (x.dtype === 'int64' && x.storage.device === 'cpu') return new Tensor(x.storage, x.layout, 'float64');
  return castData(x, computeDtype(x.dtype));
}

/**
 * fn computed on x (or its integer values) in float32, the result cast back to x's dtype when that is
 * floating (differentiably): for ops with float32 kernels only, on the storage dtypes.
 */
export function viaFloat32(x: Tensor, fn: (x32: Tensor) => Tensor): Tensor {
  const y = fn(cast(x, 'float32'));
  return isFloating(x.dtype) && y.dtype === 'float32' ? cast(y, x.dtype) : y;
}

/** A copy with its own storage; gradient flows through. */
export function clone(x: Tensor): Tensor {
  const out = wrap(be(x).copy(dataOf(x, 'clone', true), x.layout, x.dtype), x.shape, x.dtype);
  return record(out, 'CloneBackward', [x], (g) => [g]);
}

export function detach(x: Tensor): Tensor {
  return viewOf(x, x.layout, 'detach');
}

export function contiguousData(x: Tensor): TypedArray {
  if (x.storage.device !== 'cpu') throw syncReadError('toTypedArray', x.storage.device, x.shape, x.dtype);
  return be(x).copy(dataOf(x, 'toTypedArray', true), x.layout, x.dtype);
}

export function onesLikeOf(x: Tensor): Tensor {
  const d = allocate(x.dtype, x.numel());
  d.fill(castScalar(1, x.dtype));
  const ones = wrap(d, x.shape, x.dtype);
  return x.storage.device === 'cpu' ? ones : ones.to(x.storage.device);
}

export function toNested(x: Tensor): unknown {
  const d = contiguousData(x);
  const isBool = x.dtype === 'bool',
    dt = x.dtype;
  const get = (i: number) => (isBool ? d[i] !== 0 : decodeElement(d[i], dt));
  if (x.ndim === 0) return get(0);
  const build = (dim: number, off: number): unknown[] => {
    const n = x.shape[dim];
    let step = 1;
    for (let i = dim + 1; i < x.ndim; i++) step *= x.shape[i];
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = dim === x.ndim - 1 ? get(off + i) : build(dim + 1, off + i * step);
    return out;
  };
  return build(0, 0);
}
