// Binary elementwise ops with NumPy/PyTorch broadcasting and type promotion, and where().
// a (*A), b (*B) -> out (broadcast(*A, *B)); gradients are summed back to each input's shape.

import { BinaryOp, isComparison } from '../backend/op_codes.js';
import { type DType, computeDtype, isFloating } from '../tensor/dtype.js';
import { broadcastShapes, expandLayout, fmtShape } from '../tensor/layout.js';
import { Tensor, type TensorLike } from '../tensor/tensor.js';
import { asTensor, be, record, resultType, sumTo, wrap, dataOf } from './util.js';
import { castData, log, powScalar } from './unary.js';

const NAMES: Record<BinaryOp, string> = {
  [BinaryOp.ADD]: 'add',
  [BinaryOp.SUB]: 'sub',
  [BinaryOp.MUL]: 'mul',
  [BinaryOp.DIV]: 'div',
  [BinaryOp.POW]: 'pow',
  [BinaryOp.MAXIMUM]: 'maximum',
  [BinaryOp.MINIMUM]: 'minimum',
  [BinaryOp.EQ]: 'eq',
  [BinaryOp.NE]: 'ne',
  [BinaryOp.LT]: 'lt',
  [BinaryOp.LE]: 'le',
  [BinaryOp.GT]: 'gt',
  [BinaryOp.GE]: 'ge',
  [BinaryOp.LOGICAL_AND]: 'logicalAnd',
  [BinaryOp.LOGICAL_OR]: 'logicalOr',
  [BinaryOp.LOGICAL_XOR]: 'logicalXor',
  [BinaryOp.FLOOR_DIVIDE]: 'floorDivide',
  [BinaryOp.REMAINDER]: 'remainder',
  [BinaryOp.ATAN2]: 'atan2',
  [BinaryOp.THRESHOLD_BACKWARD]: 'thresholdBackward',
};

function checkOperand(x: unknown, op: string): void {
  if (x instanceof Tensor) return;
  if (typeof x === 'number' || typeof x === 'boolean') return;
  throw new Error(`${op}: expected a Tensor or a number, got ${x === null ? 'null' : typeof x}`);
}

/** Forward of a binary kernel on promoted, broadcast operands; returns [out, a, b] as tensors. */
function forward(op: BinaryOp, a: TensorLike, b: TensorLike, resultDtype?: DType): [Tensor, Tensor, Tensor] {
  const name = NAMES[op];
  checkOperand(a, name);
  checkOperand(b, name);
  const dt = resultDtype ?? resultType(a, b);
  const ta = asTensor(a, dt),
    tb = asTensor(b, dt);
  const shape = broadcastShapes(ta.shape, tb.shape, name);
  if ((op === BinaryOp.FLOOR_DIVIDE || op === BinaryOp.REMAINDER) && !isFloating(dt)) checkNonZeroDivisor(tb, name);
  // NOTE: a storage dtype computes in its kernel dtype and rounds (or wraps) back once, as PyTorch's CPU kernels.
  const cd = computeDtype(dt);
  const wa = castData(ta, cd),
    wb = castData(tb, cd);
  const la = expandLayout(wa.layout, shape, name),
    lb = expandLayout(wb.layout, shape, name);
  const outDtype = isComparison(op) ? 'bool' : cd;
  let out = wrap(be(wa, wb).binary(op, dataOf(wa, name), la, dataOf(wb, name), lb, outDtype), shape, outDtype);
  if (outDtype !== 'bool' && cd !== dt) out = castData(out, dt, name);
  return [out, ta, tb];
}

/** Integer floor division and remainder by zero raise, as torch's ZeroDivisionError (floats stay IEEE). */
function checkNonZeroDivisor(b: Tensor, op: string): void {
  const v = b.toTypedArray();
  for (let i = 0; i < v.length; i++) {
    if (v[i] === 0) {
      throw new Error(
        `${op}: ZeroDivisionError: integer division by zero (the ${b.dtype} divisor of shape ` +
          `${fmtShape(b.shape)} has a zero at flat index ${i})`,
      );
    }
  }
}

/**
 * g where y > 0, else 0 (torch's threshold_backward at 0): relu's gradient from its output y in one
 * pass. Differentiable in g (for double backward); y only selects.
 */
export function thresholdBackward(g: Tensor, y: Tensor): Tensor {
  const [out, tg, ty] = forward(BinaryOp.THRESHOLD_BACKWARD, g, y);
  return record(
    out,
    'ThresholdBackwardBackward',
    [tg, ty],
    (gg) => [sumTo(thresholdBackward(gg, ty), tg.shape), null],
    [ty],
  );
}

export function add(a: TensorLike, b: TensorLike, alpha?: number): Tensor {
  if (alpha !== undefined && alpha !== 1) b = b instanceof Tensor ? mul(b, alpha) : b * alpha;
  const [out, ta, tb] = forward(BinaryOp.ADD, a, b);
  return record(out, 'AddBackward', [ta, tb], (g) => [sumTo(g, ta.shape), sumTo(g, tb.shape)]);
}

export function sub(a: TensorLike, b: TensorLike, alpha?: number): Tensor {
  if (alpha !== undefined && alpha !== 1) b = b instanceof Tensor ? mul(b, alpha) : b * alpha;
  const [out, ta, tb] = forward(BinaryOp.SUB, a, b);
  return record(out, 'SubBackward', [ta, tb], (g) => [sumTo(g, ta.shape), sumTo(g.neg(), tb.shape)]);
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  const [out, ta, tb] = forward(BinaryOp.MUL, a, b);
  return record(
    out,
    'MulBackward',
    [ta, tb],
    (g) => [ta.requiresGrad ? sumTo(g.mul(tb), ta.shape) : null, tb.requiresGrad ? sumTo(g.mul(ta), tb.shape) : null],
    [ta, tb],
  );
}

/** True division: integer inputs give float32, as torch.div does. */
export function div(a: TensorLike, b: TensorLike): Tensor {
  const dt = resultType(a, b);
  const [out, ta, tb] = forward(BinaryOp.DIV, a, b, isFloating(dt) ? dt : 'float32');
  return record(
    out,
    'DivBackward',
    [ta, tb],
    (g) => [
      ta.requiresGrad ? sumTo(g.div(tb), ta.shape) : null,
      tb.requiresGrad ? sumTo(g.mul(out).div(tb).neg(), tb.shape) : null,
    ],
    [ta, tb, out],
  );
}

export function pow(a: TensorLike, b: TensorLike): Tensor {
  if (a instanceof Tensor && typeof b === 'number') return powScalar(a, b);
  const [out, ta, tb] = forward(BinaryOp.POW, a, b);
  return record(
    out,
    'PowBackward',
    [ta, tb],
    (g) => [
      ta.requiresGrad ? sumTo(g.mul(tb).mul(pow(ta, tb.sub(1))), ta.shape) : null,
      // d/db a^b = a^b ln a, taken as 0 where a == 0 (PyTorch's convention)
      tb.requiresGrad ? sumTo(g.mul(out).mul(where(ta.eq(0), 0, log(ta))), tb.shape) : null,
    ],
    [ta, tb, out],
  );
}

function minMax(op: BinaryOp.MAXIMUM | BinaryOp.MINIMUM, a: TensorLike, b: TensorLike): Tensor {
  const [out, ta, tb] = forward(op, a, b);
  return record(
    out,
    op === BinaryOp.MAXIMUM ? 'MaximumBackward' : 'MinimumBackward',
    [ta, tb],
    (g) => {
      // ties split the gradient in half, as PyTorch does
      const aWins = op === BinaryOp.MAXIMUM ? ta.gt(tb) : ta.lt(tb);
      const tie = ta.eq(tb).to(g.dtype).mul(0.5);
      const wa = aWins.to(g.dtype).add(tie);
      return [sumTo(g.mul(wa), ta.shape), sumTo(g.mul(wa.neg().add(1)), tb.shape)];
    },
    [ta, tb],
  );
}

export const maximum = (a: TensorLike, b: TensorLike) => minMax(BinaryOp.MAXIMUM, a, b);
export const minimum = (a: TensorLike, b: TensorLike) => minMax(BinaryOp.MINIMUM, a, b);

export function atan2(a: TensorLike, b: TensorLike): Tensor {
  const dt = resultType(a, b);
  const [out, ta, tb] = forward(BinaryOp.ATAN2, a, b, isFloating(dt) ? dt : 'float32');
  return record(
    out,
    'Atan2Backward',
    [ta, tb],
    (g) => {
      const den = ta.mul(ta).add(tb.mul(tb));
      return [sumTo(g.mul(tb).div(den), ta.shape), sumTo(g.mul(ta).div(den).neg(), tb.shape)];
    },
    [ta, tb],
  );
}

/** Non-differentiable ops (comparisons, logical ops, floor division, remainder's zero-almost-everywhere parts). */
function plain(op: BinaryOp) {
  return (a: TensorLike, b: TensorLike): Tensor => forward(op, a, b)[0];
}

export const eq = plain(BinaryOp.EQ);
export const ne = plain(BinaryOp.NE);
export const lt = plain(BinaryOp.LT);
export const le = plain(BinaryOp.LE);
export const gt = plain(BinaryOp.GT);
export const ge = plain(BinaryOp.GE);
export const logicalAnd = plain(BinaryOp.LOGICAL_AND);
export const logicalOr = plain(BinaryOp.LOGICAL_OR);
export const logicalXor = plain(BinaryOp.LOGICAL_XOR);
export const floorDivide = plain(BinaryOp.FLOOR_DIVIDE);

/** Python-style remainder (sign of the divisor). d/da = 1, d/db = -floor(a/b). */
export function remainder(a: TensorLike, b: TensorLike): Tensor {
  const [out, ta, tb] = forward(BinaryOp.REMAINDER, a, b);
  return record(
    out,
    'RemainderBackward',
    [ta, tb],
    (g) => [sumTo(g, ta.shape), sumTo(g.mul(floorDivide(ta, tb)).neg(), tb.shape)],
    [ta, tb],
  );
}

/** cond ? a : b, broadcasting all three. cond must be bool. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (!(cond instanceof Tensor) || cond.dtype !== 'bool') {
    throw new Error(
      `where: expected condition to be a bool tensor, got ${cond instanceof Tensor ? cond.dtype : typeof cond}`,
    );
  }
  const dt = resultType(a, b);
  const ta = asTensor(a, dt),
    tb = asTensor(b, dt);
  const shape = broadcastShapes(broadcastShapes(cond.shape, ta.shape, 'where'), tb.shape, 'where');
  const out = wrap(
    be(cond, ta, tb).where(
      dataOf(cond, 'where'),
      expandLayout(cond.layout, shape, 'where'),
      dataOf(ta, 'where', true),
      expandLayout(ta.layout, shape, 'where'),
      dataOf(tb, 'where', true),
      expandLayout(tb.layout, shape, 'where'),
      dt,
    ),
    shape,
    dt,
  );
  return record(out, 'WhereBackward', [ta, tb], (g) => [
    ta.requiresGrad ? sumTo(where(cond, g, 0), ta.shape) : null,
    tb.requiresGrad ? sumTo(where(cond, 0, g), tb.shape) : null,
  ]);
}

export function checkSameShape(a: Tensor, b: Tensor, op: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} must match`);
  }
}
