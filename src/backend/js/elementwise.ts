// Elementwise kernels of the JS backend: unary, binary and where, as generated strided loops.

import type { DType, TypedArray } from '../../tensor/dtype.js';
import type { Layout } from '../../tensor/layout.js';
import { BinaryOp, UnaryOp } from '../op_codes.js';
import { helpers } from './math.js';
import { type ElementwiseKernel, makeElementwise, runElementwise } from './strided.js';

const UNARY: Record<UnaryOp, string> = {
  [UnaryOp.NEG]: '-x',
  [UnaryOp.ABS]: 'Math.abs(x)',
  [UnaryOp.EXP]: 'Math.exp(x)',
  [UnaryOp.LOG]: 'Math.log(x)',
  [UnaryOp.LOG1P]: 'Math.log1p(x)',
  [UnaryOp.EXPM1]: 'Math.expm1(x)',
  [UnaryOp.SQRT]: 'Math.sqrt(x)',
  [UnaryOp.RSQRT]: '1 / Math.sqrt(x)',
  [UnaryOp.SIN]: 'Math.sin(x)',
  [UnaryOp.COS]: 'Math.cos(x)',
  [UnaryOp.TANH]: 'Math.tanh(x)',
  [UnaryOp.SIGMOID]: '1 / (1 + Math.exp(-x))',
  // NOTE: relu keeps NaN (x > 0 is false for NaN), as PyTorch does.
  [UnaryOp.RELU]: 'x > 0 ? x : (x !== x ? x : 0)',
  [UnaryOp.GELU]: '0.5 * x * (1 + H.erf(x * 0.7071067811865476))',
  [UnaryOp.GELU_TANH]: '0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))',
  [UnaryOp.SILU]: 'x / (1 + Math.exp(-x))',
  [UnaryOp.SOFTPLUS]: 'x > 20 ? x : Math.log1p(Math.exp(x))',
  // NOTE: sign(NaN) is 0, as torch.sign computes (0 < x) - (x < 0).
  [UnaryOp.SIGN]: 'x > 0 ? 1 : (x < 0 ? -1 : 0)',
  [UnaryOp.FLOOR]: 'Math.floor(x)',
  [UnaryOp.CEIL]: 'Math.ceil(x)',
  [UnaryOp.ROUND]: 'H.roundHalfEven(x)',
  [UnaryOp.RECIPROCAL]: '1 / x',
  [UnaryOp.SQUARE]: 'x * x',
  [UnaryOp.LOGICAL_NOT]: 'x === 0 ? 1 : 0',
  [UnaryOp.ERF]: 'H.erf(x)',
  [UnaryOp.LEAKY_RELU]: 'x > 0 ? x : x * p0',
  [UnaryOp.ELU]: 'x > 0 ? x : p0 * Math.expm1(x)',
  [UnaryOp.CLAMP]: 'x < p0 ? p0 : (x > p1 ? p1 : x)',
  [UnaryOp.POW_SCALAR]: 'Math.pow(x, p0)',
  [UnaryOp.SOFTPLUS_BETA]: 'x * p0 > p1 ? x : Math.log1p(Math.exp(x * p0)) / p0',
  [UnaryOp.ISNAN]: 'x !== x ? 1 : 0',
  [UnaryOp.TRUNC]: 'Math.trunc(x)',
  [UnaryOp.LOG2]: 'Math.log2(x)',
  [UnaryOp.TAN]: 'Math.tan(x)',
  [UnaryOp.ATAN]: 'Math.atan(x)',
  [UnaryOp.ASIN]: 'Math.asin(x)',
  [UnaryOp.ACOS]: 'Math.acos(x)',
  [UnaryOp.SINH]: 'Math.sinh(x)',
  [UnaryOp.COSH]: 'Math.cosh(x)',
  // NOTE: written as torch computes it, so -inf gives NaN (-inf * 0) and -3 gives -0, as in torch.
  [UnaryOp.HARDSWISH]: 'x * (x + 3 < 0 ? 0 : (x + 3 > 6 ? 6 : x + 3)) / 6',
  [UnaryOp.MISH]: 'x * Math.tanh(Math.log1p(Math.exp(x)))',
};

const BINARY: Record<BinaryOp, string> = {
  [BinaryOp.ADD]: 'x0 + x1',
  [BinaryOp.SUB]: 'x0 - x1',
  [BinaryOp.MUL]: 'x0 * x1',
  [BinaryOp.DIV]: 'x0 / x1',
  [BinaryOp.POW]: 'Math.pow(x0, x1)',
  // NOTE: maximum/minimum propagate NaN from either side (torch.maximum), unlike Math.max on -0.
  [BinaryOp.MAXIMUM]: 'x0 !== x0 || x1 !== x1 ? NaN : (x0 > x1 ? x0 : x1)',
  [BinaryOp.MINIMUM]: 'x0 !== x0 || x1 !== x1 ? NaN : (x0 < x1 ? x0 : x1)',
  [BinaryOp.EQ]: 'x0 === x1 ? 1 : 0',
  [BinaryOp.NE]: 'x0 !== x1 ? 1 : 0',
  [BinaryOp.LT]: 'x0 < x1 ? 1 : 0',
  [BinaryOp.LE]: 'x0 <= x1 ? 1 : 0',
  [BinaryOp.GT]: 'x0 > x1 ? 1 : 0',
  [BinaryOp.GE]: 'x0 >= x1 ? 1 : 0',
  [BinaryOp.LOGICAL_AND]: 'x0 !== 0 && x1 !== 0 ? 1 : 0',
  [BinaryOp.LOGICAL_OR]: 'x0 !== 0 || x1 !== 0 ? 1 : 0',
  [BinaryOp.LOGICAL_XOR]: '(x0 !== 0) !== (x1 !== 0) ? 1 : 0',
  [BinaryOp.FLOOR_DIVIDE]: 'H.floorDivide(x0, x1)',
  [BinaryOp.REMAINDER]: 'H.remainder(x0, x1)',
  [BinaryOp.ATAN2]: 'Math.atan2(x0, x1)',
  [BinaryOp.THRESHOLD_BACKWARD]: 'x1 <= 0 ? 0 : x0',
};

const unaryCache = new Map<UnaryOp, ElementwiseKernel>();
const binaryCache = new Map<BinaryOp, ElementwiseKernel>();

export function unary(op: UnaryOp, x: TypedArray, lx: Layout, outDtype: DType, p0 = 0, p1 = 0): TypedArray {
  let fn = unaryCache.get(op);
  if (!fn) {
    const expr = UNARY[op];
    if (expr === undefined) throw new Error(`js backend: unknown unary op ${op}`);
    fn = makeElementwise(1, expr);
    unaryCache.set(op, fn);
  }
  return runElementwise(fn, outDtype, lx.shape, [[x, lx]], p0, p1, helpers);
}

export function binary(
  op: BinaryOp,
  a: TypedArray,
  la: Layout,
  b: TypedArray,
  lb: Layout,
  outDtype: DType,
): TypedArray {
  let fn = binaryCache.get(op);
  if (!fn) {
    const expr = BINARY[op];
    if (expr === undefined) throw new Error(`js backend: unknown binary op ${op}`);
    fn = makeElementwise(2, expr);
    binaryCache.set(op, fn);
  }
  return runElementwise(
    fn,
    outDtype,
    la.shape,
    [
      [a, la],
      [b, lb],
    ],
    0,
    0,
    helpers,
  );
}

const whereFn = makeElementwise(3, 'x0 !== 0 ? x1 : x2');

export function where(
  c: TypedArray,
  lc: Layout,
  a: TypedArray,
  la: Layout,
  b: TypedArray,
  lb: Layout,
  outDtype: DType,
): TypedArray {
  return runElementwise(whereFn, outDtype, lc.shape, [
    [c, lc],
    [a, la],
    [b, lb],
  ]);
}
