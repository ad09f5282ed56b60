// Native unary and binary kernels vs the JS backend on sizes 1..127, every layout kind (offset,
// transposed, strided, broadcast), values at ±1e4, 0 and NaN, and a dense sweep for accuracy.
import { test } from 'node:test';
import { BinaryOp, UnaryOp } from '../../src/backend/op_codes.js';
import { Layout } from '../../src/tensor/layout.js';
import { KINDS, SIZES, assertClose, fill, input, js, native, rng, skip } from './helpers.js';

// [rtol, atol] per unary op; see helpers.ts for the rationale.
// Measured max relative error vs the float64 JS reference over the sweep below: <= 2e-7 for every
// op (1-2 ulp). gelu and gelu_tanh also get an absolute 1e-7 because the JS reference itself loses
// all digits for x < -6 (1 + erf(x) cancels in float64), where native computes x * erfc(-x/sqrt 2).
const S = 1e-44; // a few subnormal ulps: results below 2^-126 keep fewer bits
const UNARY_TOL: Partial<Record<UnaryOp, [number, number]>> = {
  [UnaryOp.EXP]: [4e-7, S],
  [UnaryOp.LOG]: [4e-7, S],
  [UnaryOp.TANH]: [4e-7, S],
  [UnaryOp.SIGMOID]: [4e-7, S],
  [UnaryOp.SILU]: [4e-7, 1e-42], // x * sigmoid(x): sigmoid is subnormal below -87
  [UnaryOp.SOFTPLUS]: [4e-7, S],
  [UnaryOp.SOFTPLUS_BETA]: [4e-7, S],
  [UnaryOp.LOG1P]: [4e-7, S],
  [UnaryOp.EXPM1]: [4e-7, S],
  [UnaryOp.ELU]: [4e-7, S],
  [UnaryOp.ERF]: [4e-7, S],
  [UnaryOp.GELU]: [4e-7, 1e-7],
  [UnaryOp.GELU_TANH]: [4e-7, 1e-7],
  [UnaryOp.RSQRT]: [2.4e-7, S],
  [UnaryOp.LEAKY_RELU]: [1.2e-7, 0], // the slope is rounded to float32 first
  [UnaryOp.HARDSWISH]: [2.4e-7, 0], // two float32 roundings (x * r, then / 6) against one
  [UnaryOp.MISH]: [4e-7, 1e-42], // x * tanh(log1p(e^x)): subnormal below -87, as silu
};

const UNARY_OPS: [UnaryOp, number, number][] = [
  [UnaryOp.NEG, 0, S],
  [UnaryOp.ABS, 0, S],
  [UnaryOp.EXP, 0, S],
  [UnaryOp.LOG, 0, S],
  [UnaryOp.LOG1P, 0, S],
  [UnaryOp.EXPM1, 0, S],
  [UnaryOp.SQRT, 0, S],
  [UnaryOp.RSQRT, 0, S],
  [UnaryOp.TANH, 0, S],
  [UnaryOp.SIGMOID, 0, S],
  [UnaryOp.RELU, 0, S],
  [UnaryOp.GELU, 0, S],
  [UnaryOp.GELU_TANH, 0, S],
  [UnaryOp.SILU, 0, S],
  [UnaryOp.SOFTPLUS, 0, S],
  [UnaryOp.SOFTPLUS_BETA, 2, 10],
  [UnaryOp.RECIPROCAL, 0, S],
  [UnaryOp.SQUARE, 0, S],
  [UnaryOp.ERF, 0, S],
  [UnaryOp.LEAKY_RELU, 0.01, S],
  [UnaryOp.ELU, 1.5, S],
  [UnaryOp.CLAMP, -0.5, 2],
  [UnaryOp.FLOOR, 0, S],
  [UnaryOp.CEIL, 0, S],
  [UnaryOp.TRUNC, 0, S],
  [UnaryOp.ROUND, 0, S],
  [UnaryOp.HARDSWISH, 0, S],
  [UnaryOp.MISH, 0, S],
];

function unaryCase(op: UnaryOp, p0: number, p1: number, x: Float32Array, lx: Layout, what: string): void {
  const [rtol, atol] = UNARY_TOL[op] ?? [0, 0];
  const got = native!.unary(op, x, lx, 'float32', p0, p1)!;
  const want = js.unary(op, x, lx, 'float32', p0, p1);
  assertClose(got, want, rtol, atol, `${UnaryOp[op]} ${what}`);
}

test('unary: every op, sizes 1..127, every layout kind, ±1e4/0/NaN', { skip }, () => {
  const r = rng(10);
  for (const [op, p0, p1] of UNARY_OPS) {
    for (const n of SIZES)
      for (const kind of KINDS) {
        const { data, layout } = input([n, 3], kind, r, (k) => fill(k, r, 4, true));
        unaryCase(op, p0, p1, data, layout, `[${n},3] ${kind}`);
      }
  }
});

test('unary: dense sweep over [-90, 90] and tiny/huge magnitudes (accuracy)', { skip }, () => {
  const xs: number[] = [];
  for (let v = -90; v <= 90; v += 0.0137) xs.push(v);
  for (let e = -40; e <= 38; e += 0.5) xs.push(10 ** e, -(10 ** e));
  xs.push(Infinity, -Infinity, NaN, 0, -0, 0.625, -0.625, 0.5, -0.5, 1, -1);
  const x = Float32Array.from(xs);
  // NOTE: hardswish is x * relu6(x + 3) / 6 in float32, as torch computes it, so above FLT_MAX / 6 native gives
  // inf as torch's float32 kernel does, where the float64 JS reference does not overflow.
  const finite6 = x.filter((v) => !(Math.abs(v) > 3.4028234663852886e38 / 6));
  for (const [op, p0, p1] of UNARY_OPS) {
    const xs = op === UnaryOp.HARDSWISH ? finite6 : x;
    unaryCase(op, p0, p1, xs, Layout.contiguous([xs.length]), 'sweep');
  }
});

test('unary: declines ops and dtypes it does not implement', { skip }, () => {
  if (native!.unary(UnaryOp.SIN, new Float32Array(2), Layout.contiguous([2]), 'float32') !== undefined)
    throw new Error('SIN must be declined');
  if (native!.unary(UnaryOp.EXP, new Float64Array(2), Layout.contiguous([2]), 'float64') !== undefined)
    throw new Error('float64 must be declined');
});

const BINARY_OPS = [
  BinaryOp.ADD,
  BinaryOp.SUB,
  BinaryOp.MUL,
  BinaryOp.DIV,
  BinaryOp.POW,
  BinaryOp.MAXIMUM,
  BinaryOp.MINIMUM,
];

test('binary: every op, broadcast over each side, every layout kind, ±1e4/0/NaN', { skip }, () => {
  const r = rng(11);
  for (const op of BINARY_OPS) {
    const rtol = op === BinaryOp.POW ? 1e-6 : 0;
    for (const n of SIZES)
      for (const ka of KINDS)
        for (const kb of KINDS) {
          const A = input([n, 5], ka, r, (k) => fill(k, r, 4, true));
          const B = input([n, 5], kb, r, (k) => fill(k, r, 4, true));
          const got = native!.binary(op, A.data, A.layout, B.data, B.layout, 'float32')!;
          const want = js.binary(op, A.data, A.layout, B.data, B.layout, 'float32');
          assertClose(got, want, rtol, 0, `${BinaryOp[op]} [${n},5] ${ka}/${kb}`);
        }
    // a (n,1) column against b (1,m) row: both broadcast, output (n,m)
    for (const n of SIZES) {
      const a = fill(n, r, 4, true),
        b = fill(7, r, 4, true);
      const la = new Layout([n, 7], [1, 0]),
        lb = new Layout([n, 7], [0, 1]);
      assertClose(
        native!.binary(op, a, la, b, lb, 'float32')!,
        js.binary(op, a, la, b, lb, 'float32'),
        rtol,
        0,
        `${BinaryOp[op]} outer ${n}`,
      );
    }
  }
});

test('binary: long rows cross the gather chunk (4099 elements, strided and scalar-broadcast)', { skip }, () => {
  const r = rng(12);
  const a = fill(2 * 4099, r),
    b = fill(1, r);
  const la = new Layout([4099], [2], 1),
    lb = new Layout([4099], [0]);
  for (const op of BINARY_OPS) {
    assertClose(
      native!.binary(op, a, la, b, lb, 'float32')!,
      js.binary(op, a, la, b, lb, 'float32'),
      op === BinaryOp.POW ? 1e-6 : 0,
      0,
      `${BinaryOp[op]} long`,
    );
  }
});

test('copy and assign: strided both ways', { skip }, () => {
  const r = rng(13);
  for (const n of SIZES)
    for (const kind of KINDS) {
      const X = input([n, 4, 3], kind, r);
      assertClose(
        native!.copy(X.data, X.layout, 'float32')!,
        js.copy(X.data, X.layout, 'float32'),
        0,
        0,
        `copy ${n} ${kind}`,
      );
      const dst1 = new Float32Array(n * 4 * 3 * 2),
        dst2 = new Float32Array(n * 4 * 3 * 2);
      const ld = new Layout([n, 4, 3], [1, n * 3 * 2, n * 2], 0); // a permuted, strided destination
      if (!native!.assign(dst1, ld, X.data, X.layout)) throw new Error('assign declined');
      js.assign(dst2, ld, X.data, X.layout);
      assertClose(dst1, dst2, 0, 0, `assign ${n} ${kind}`);
    }
});

test('comparisons to bool, where, and bool/int32 -> float32 casts vs JS, broadcast and strided, NaN', { skip }, () => {
  const r = rng(14);
  for (const n of SIZES)
    for (const ka of KINDS)
      for (const kb of KINDS) {
        const A = input([n, 4], ka, r, (k) => fill(k, r, 2, true).map((v) => Math.round(v))); // rounding makes ties
        const B = input([n, 4], kb, r, (k) => fill(k, r, 2, true).map((v) => Math.round(v)));
        for (const op of [BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE]) {
          const got = native!.binary(op, A.data, A.layout, B.data, B.layout, 'bool')!;
          if (!(got instanceof Uint8Array)) throw new Error('comparison must give a Uint8Array');
          assertClose(
            got,
            js.binary(op, A.data, A.layout, B.data, B.layout, 'bool'),
            0,
            0,
            `${BinaryOp[op]} [${n},4] ${ka}/${kb}`,
          );
        }
        const c = js.binary(BinaryOp.GT, A.data, A.layout, B.data, B.layout, 'bool') as Uint8Array;
        const lc = Layout.contiguous([n, 4]);
        assertClose(
          native!.where(c, lc, A.data, A.layout, B.data, B.layout, 'float32')!,
          js.where(c, lc, A.data, A.layout, B.data, B.layout, 'float32'),
          0,
          0,
          `where [${n},4] ${ka}/${kb}`,
        );
        const ct = new Layout([n, 4], [1, n]); // the mask read transposed
        const c2 = c.slice(0, n * 4);
        assertClose(
          native!.where(c2, ct, A.data, A.layout, B.data, B.layout, 'float32')!,
          js.where(c2, ct, A.data, A.layout, B.data, B.layout, 'float32'),
          0,
          0,
          `where transposed mask [${n}]`,
        );
        assertClose(native!.copy(c2, ct, 'float32')!, js.copy(c2, ct, 'float32'), 0, 0, `cast bool [${n}]`);
        const i32 = Int32Array.from({ length: n * 4 }, () => Math.floor(r() * 2001) - 1000);
        assertClose(native!.copy(i32, ct, 'float32')!, js.copy(i32, ct, 'float32'), 0, 0, `cast int32 [${n}]`);
      }
});
