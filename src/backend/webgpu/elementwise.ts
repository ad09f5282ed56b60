// Elementwise WGSL kernels: unary, binary (strided broadcast), where, copy (with a cast) and assign
// (a strided write in place). One thread per output element; values are computed in f32 (float32)
// or i32 (int32, bool). An op with no WGSL form for a dtype declines (returns undefined).
// NOTE: WGSL does not promise IEEE NaN and infinity handling; the kernels are written so that a
// conforming implementation gives torch's results (NaN propagation in maximum, relu and clamp).

import type { DType, TypedArray } from '../../tensor/dtype.js';
import { Layout } from '../../tensor/layout.js';
import { BinaryOp, UnaryOp } from '../op_codes.js';
import { GpuArray, alloc, asGpu, dispatch, grid } from './context.js';
import { MAIN_HEAD, PRM, Params, WG, computeType, load, store, ty } from './strided.js';

/** WGSL helpers the float expressions use. */
const MATH = `
// NOTE: NaN comes from a runtime bit pattern: WGSL rejects a NaN or infinite constant expression
fn nan_() -> f32 { var u = 0x7fc00000u; return bitcast<f32>(u); }
fn erf_(x: f32) -> f32 {
  // Abramowitz and Stegun 7.1.26 refined: |error| < 1.5e-7
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = (((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592;
  let y = 1.0 - poly * t * exp(-a * a);
  return select(y, -y, x < 0.0);
}
fn expm1_(x: f32) -> f32 { return select(exp(x) - 1.0, x + x * x * (0.5 + x / 6.0), abs(x) < 1e-3); }
fn log1p_(x: f32) -> f32 { return select(log(1.0 + x), x * (1.0 - x * (0.5 - x / 3.0)), abs(x) < 1e-3); }
fn tanh_(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
fn softplus_(x: f32) -> f32 { return select(log1p_(exp(x)), x, x > 20.0); }
fn pow_(x: f32, p: f32) -> f32 {
  // WGSL pow is undefined for x < 0: an integral exponent takes the sign from its parity, as powf
  if (p == 0.0) { return 1.0; }
  let r = pow(abs(x), p);
  if (x >= 0.0) { return r; }
  if (p != trunc(p)) { return nan_(); }
  return select(r, -r, (abs(p) % 2.0) == 1.0);
}
`;

const UNARY_F32: Partial<Record<UnaryOp, string>> = {
  [UnaryOp.NEG]: '-x',
  [UnaryOp.ABS]: 'abs(x)',
  [UnaryOp.EXP]: 'exp(x)',
  [UnaryOp.LOG]: 'log(x)',
  [UnaryOp.LOG1P]: 'log1p_(x)',
  [UnaryOp.EXPM1]: 'expm1_(x)',
  [UnaryOp.SQRT]: 'sqrt(x)',
  [UnaryOp.RSQRT]: '1.0 / sqrt(x)',
  [UnaryOp.SIN]: 'sin(x)',
  [UnaryOp.COS]: 'cos(x)',
  [UnaryOp.TANH]: 'tanh_(x)',
  [UnaryOp.SIGMOID]: '1.0 / (1.0 + exp(-x))',
  [UnaryOp.RELU]: 'select(x, 0.0, x <= 0.0)',
  [UnaryOp.GELU]: '0.5 * x * (1.0 + erf_(x * 0.7071067811865476))',
  [UnaryOp.GELU_TANH]: '0.5 * x * (1.0 + tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x)))',
  [UnaryOp.SILU]: 'x / (1.0 + exp(-x))',
  [UnaryOp.SOFTPLUS]: 'softplus_(x)',
  [UnaryOp.SIGN]: 'select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0)',
  [UnaryOp.FLOOR]: 'floor(x)',
  [UnaryOp.CEIL]: 'ceil(x)',
  [UnaryOp.ROUND]: 'round(x)',
  [UnaryOp.RECIPROCAL]: '1.0 / x',
  [UnaryOp.SQUARE]: 'x * x',
  [UnaryOp.LOGICAL_NOT]: 'select(0.0, 1.0, x == 0.0)',
  [UnaryOp.ERF]: 'erf_(x)',
  [UnaryOp.LEAKY_RELU]: 'select(x * p0, x, x > 0.0)',
  [UnaryOp.ELU]: 'select(p0 * expm1_(x), x, x > 0.0)',
  [UnaryOp.CLAMP]: 'select(select(x, p1, x > p1), p0, x < p0)',
  [UnaryOp.POW_SCALAR]: 'pow_(x, p0)',
  [UnaryOp.SOFTPLUS_BETA]: 'select(log1p_(exp(x * p0)) / p0, x, x * p0 > p1)',
  [UnaryOp.ISNAN]: 'select(0.0, 1.0, x != x)',
  [UnaryOp.TRUNC]: 'trunc(x)',
  [UnaryOp.LOG2]: 'log2(x)',
  [UnaryOp.TAN]: 'tan(x)',
  [UnaryOp.ATAN]: 'atan(x)',
  [UnaryOp.ASIN]: 'asin(x)',
  [UnaryOp.ACOS]: 'acos(x)',
  [UnaryOp.SINH]: 'sinh(x)',
  [UnaryOp.COSH]: 'cosh(x)',
  [UnaryOp.HARDSWISH]: 'x * clamp(x + 3.0, 0.0, 6.0) / 6.0',
  [UnaryOp.MISH]: 'x * tanh_(softplus_(x))',
};

const UNARY_I32: Partial<Record<UnaryOp, string>> = {
  [UnaryOp.NEG]: '-x',
  [UnaryOp.ABS]: 'abs(x)',
  [UnaryOp.SIGN]: 'sign(x)',
  [UnaryOp.FLOOR]: 'x',
  [UnaryOp.CEIL]: 'x',
  [UnaryOp.ROUND]: 'x',
  [UnaryOp.TRUNC]: 'x',
  [UnaryOp.SQUARE]: 'x * x',
  [UnaryOp.RELU]: 'max(x, 0)',
  [UnaryOp.LOGICAL_NOT]: 'select(0, 1, x == 0)',
  [UnaryOp.ISNAN]: '0',
  [UnaryOp.CLAMP]: 'select(select(x, i32(p1), f32(x) > p1), i32(p0), f32(x) < p0)',
};

const BINARY_F32: Partial<Record<BinaryOp, string>> = {
  [BinaryOp.ADD]: 'a + b',
  [BinaryOp.SUB]: 'a - b',
  [BinaryOp.MUL]: 'a * b',
  [BinaryOp.DIV]: 'a / b',
  [BinaryOp.POW]: 'pow_(a, b)',
  [BinaryOp.MAXIMUM]: 'select(max(a, b), nan_(), a != a || b != b)',
  [BinaryOp.MINIMUM]: 'select(min(a, b), nan_(), a != a || b != b)',
  [BinaryOp.EQ]: 'select(0.0, 1.0, a == b)',
  [BinaryOp.NE]: 'select(0.0, 1.0, a != b)',
  [BinaryOp.LT]: 'select(0.0, 1.0, a < b)',
  [BinaryOp.LE]: 'select(0.0, 1.0, a <= b)',
  [BinaryOp.GT]: 'select(0.0, 1.0, a > b)',
  [BinaryOp.GE]: 'select(0.0, 1.0, a >= b)',
  [BinaryOp.LOGICAL_AND]: 'select(0.0, 1.0, a != 0.0 && b != 0.0)',
  [BinaryOp.LOGICAL_OR]: 'select(0.0, 1.0, a != 0.0 || b != 0.0)',
  [BinaryOp.LOGICAL_XOR]: 'select(0.0, 1.0, (a != 0.0) != (b != 0.0))',
  [BinaryOp.FLOOR_DIVIDE]: 'floor(a / b)',
  [BinaryOp.REMAINDER]: 'a - b * floor(a / b)',
  [BinaryOp.ATAN2]: 'atan2(a, b)',
  [BinaryOp.THRESHOLD_BACKWARD]: 'select(a, 0.0, b <= 0.0)',
};

const BINARY_I32: Partial<Record<BinaryOp, string>> = {
  [BinaryOp.ADD]: 'a + b',
  [BinaryOp.SUB]: 'a - b',
  [BinaryOp.MUL]: 'a * b',
  [BinaryOp.MAXIMUM]: 'max(a, b)',
  [BinaryOp.MINIMUM]: 'min(a, b)',
  [BinaryOp.EQ]: 'select(0, 1, a == b)',
  [BinaryOp.NE]: 'select(0, 1, a != b)',
  [BinaryOp.LT]: 'select(0, 1, a < b)',
  [BinaryOp.LE]: 'select(0, 1, a <= b)',
  [BinaryOp.GT]: 'select(0, 1, a > b)',
  [BinaryOp.GE]: 'select(0, 1, a >= b)',
  [BinaryOp.LOGICAL_AND]: 'select(0, 1, a != 0 && b != 0)',
  [BinaryOp.LOGICAL_OR]: 'select(0, 1, a != 0 || b != 0)',
  [BinaryOp.LOGICAL_XOR]: 'select(0, 1, (a != 0) != (b != 0))',
  // Python-style integer floor division and remainder (the op layer refuses a zero divisor)
  [BinaryOp.FLOOR_DIVIDE]: 'select(a / b, a / b - 1, (a % b != 0) && ((a < 0) != (b < 0)))',
  [BinaryOp.REMAINDER]: 'select(a % b, a % b + b, (a % b != 0) && ((a % b < 0) != (b < 0)))',
};

/**
 * Runs `expr` over operands (already of the iteration shape) into a fresh contiguous output.
 * Operand k is named by `names[k]` in expr, loaded in its dtype's compute type.
 */
function elementwise(
  expr: string,
  ct: 'f32' | 'i32',
  ins: { buf: GpuArray; layout: Layout; name: string }[],
  shape: readonly number[],
  outDtype: DType,
  scalars: number[] = [],
): GpuArray {
  const P = new Params(shape);
  const out = alloc(outDtype, P.n);
  if (P.n === 0) return out;
  const offs = ins.map((x) => P.operand(x.layout));
  const ps = scalars.map((s) => P.scalar(s));
  const binds = ins.map((x, k) => `@group(0) @binding(${k + 1}) var<storage, read> in${k}: array<${ty(x.buf.dtype)}>;`);
  const lets = ins.map((x, k) => `  let ${x.name} = ${load(`in${k}[${offs[k]}(i)]`, x.buf.dtype)};`);
  const pl = ps.map((p, k) => `  let p${k} = ${p};`);
  const code = `${MATH}
@group(0) @binding(0) var<storage, read_write> out: array<${ty(outDtype)}>;
${binds.join('\n')}
${PRM(ins.length + 1)}
${P.fns.join('\n')}
${MAIN_HEAD}
  if (i >= prm[0]) { return; }
${lets.join('\n')}
${pl.join('\n')}
  out[i] = ${store(`${expr}`, ct, outDtype)};
}`;
  dispatch(code, [out, ...ins.map((x) => x.buf)], P.array(), grid(Math.ceil(P.n / WG)));
  return out;
}

export function unary(op: UnaryOp, x: TypedArray, lx: Layout, outDtype: DType, p0 = 0, p1 = 0): TypedArray | undefined {
  const xd = dtypeOf(x, outDtype);
  if (xd === 'float64') return undefined;
  const ct = computeType(xd);
  const expr = (ct === 'f32' ? UNARY_F32 : UNARY_I32)[op];
  if (expr === undefined) return undefined;
  const buf = asGpu(x, xd);
  return elementwise(expr, ct, [{ buf, layout: lx, name: 'x' }], lx.shape, outDtype, [p0, p1]) as unknown as TypedArray;
}

/** The dtype of a seam buffer: a GpuArray's own, or a host array's (a 0-dim CPU operand). */
export function dtypeOf(x: TypedArray, fallback: DType): DType {
  if (x instanceof GpuArray) return x.dtype;
  if (x instanceof Float32Array) return 'float32';
  if (x instanceof Int32Array) return 'int32';
  if (x instanceof Uint8Array) return 'bool';
  return fallback;
}

export function binary(
  op: BinaryOp,
  a: TypedArray,
  la: Layout,
  b: TypedArray,
  lb: Layout,
  outDtype: DType,
): TypedArray | undefined {
  const ad = dtypeOf(a, outDtype),
    bd = dtypeOf(b, outDtype);
  if (ad === 'float64' || bd === 'float64') return undefined;
  const ct = computeType(ad);
  if (computeType(bd) !== ct) return undefined;
  const expr = (ct === 'f32' ? BINARY_F32 : BINARY_I32)[op];
  if (expr === undefined) return undefined;
  const ins = [
    { buf: asGpu(a, ad), layout: la, name: 'a' },
    { buf: asGpu(b, bd), layout: lb, name: 'b' },
  ];
  return elementwise(expr, ct, ins, la.shape, outDtype) as unknown as TypedArray;
}

export function where(
  c: TypedArray,
  lc: Layout,
  a: TypedArray,
  la: Layout,
  b: TypedArray,
  lb: Layout,
  outDtype: DType,
): TypedArray | undefined {
  if (outDtype === 'float64') return undefined;
  const ct = computeType(outDtype);
  const ins = [
    { buf: asGpu(c, 'bool'), layout: lc, name: 'c' },
    { buf: asGpu(a, dtypeOf(a, outDtype)), layout: la, name: 'a' },
    { buf: asGpu(b, dtypeOf(b, outDtype)), layout: lb, name: 'b' },
  ];
  if (ins.some((x) => computeType(x.buf.dtype) !== ct && x.name !== 'c')) return undefined;
  return elementwise('select(b, a, c != 0)', ct, ins, lc.shape, outDtype) as unknown as TypedArray;
}

/** A contiguous copy of x as outDtype. */
export function copy(x: TypedArray, lx: Layout, outDtype: DType): TypedArray | undefined {
  const xd = dtypeOf(x, outDtype);
  if (xd === 'float64' || outDtype === 'float64') return undefined;
  return elementwise(
    'x',
    computeType(xd),
    [{ buf: asGpu(x, xd), layout: lx, name: 'x' }],
    lx.shape,
    outDtype,
  ) as unknown as TypedArray;
}

/** dst[ldst] = src[lsrc] (broadcast to ldst's shape), cast to dst's dtype; in place. */
export function assign(dst: TypedArray, ldst: Layout, src: TypedArray, lsrc: Layout): true | undefined {
  if (!(dst instanceof GpuArray)) return undefined;
  const sd = dtypeOf(src, dst.dtype);
  if (sd === 'float64') return undefined;
  let s = asGpu(src, sd),
    ls = lsrc;
  // NOTE: a buffer bound twice in one pass may not be written: an aliasing source is copied first
  if (s.buffer === dst.buffer) {
    s = copy(s as unknown as TypedArray, lsrc, sd) as unknown as GpuArray;
    ls = contiguousOf(lsrc);
  }
  const P = new Params(ldst.shape);
  if (P.n === 0) return true;
  const od = P.operand(ldst),
    os = P.operand(ls);
  const code = `@group(0) @binding(0) var<storage, read_write> dst: array<${ty(dst.dtype)}>;
@group(0) @binding(1) var<storage, read> src: array<${ty(sd)}>;
${PRM(2)}
${P.fns.join('\n')}
${MAIN_HEAD}
  if (i >= prm[0]) { return; }
  dst[${od}(i)] = ${store(load(`src[${os}(i)]`, sd), computeType(sd), dst.dtype)};
}`;
  dispatch(code, [dst, s], P.array(), grid(Math.ceil(P.n / WG)));
  return true;
}

function contiguousOf(l: Layout): Layout {
  return Layout.contiguous(l.shape);
}
