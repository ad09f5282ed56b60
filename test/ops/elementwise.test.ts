// Conformance: elementwise ops on every backend. Hand-computed values, broadcasting, PyTorch's type
// promotion (bool < int32 < float32 < float64; 0-dim tensors and JS numbers rank lower), and exact
// results at 0, ±inf and NaN from PyTorch (test/golden/core_ops.json, tools/golden/core_ops.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/assert.js';
import { backends, withBackend } from '../helpers/backends.js';
import { golden } from '../helpers/data.js';

interface Special {
  unary_special: Record<string, (number | string)[]>;
  binary_special: Record<string, (number | string)[]>;
  promotion: string[][];
}
const J = JSON.parse(readFileSync(golden('core_ops.json'), 'utf8')) as Special;
const dec = (v: number | string) =>
  v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number);
const vals = (t: Tensor) => Array.from(t.toTypedArray() as ArrayLike<number>);
const T = (v: unknown, dtype: nb.DType = 'float32') => nb.tensor(v as number[], { dtype });

const UNARY: Record<string, (x: Tensor) => Tensor> = {
  exp: nb.exp,
  log: nb.log,
  log2: nb.log2,
  log1p: nb.log1p,
  expm1: nb.expm1,
  sqrt: nb.sqrt,
  rsqrt: nb.rsqrt,
  reciprocal: nb.reciprocal,
  square: nb.square,
  sigmoid: nb.sigmoid,
  tanh: nb.tanh,
  relu: nb.relu,
  gelu: (x) => nb.gelu(x),
  geluTanh: (x) => nb.gelu(x, 'tanh'),
  silu: nb.silu,
  softplus: (x) => nb.softplus(x),
  elu: (x) => nb.elu(x),
  leakyRelu: (x) => nb.leakyRelu(x),
  abs: nb.abs,
  neg: nb.neg,
  sign: nb.sign,
  floor: nb.floor,
  ceil: nb.ceil,
  round: nb.round,
  trunc: nb.trunc,
  sin: nb.sin,
  cos: nb.cos,
  erf: nb.erf,
  atan: nb.atan,
  sinh: nb.sinh,
  cosh: nb.cosh,
  isnan: nb.isnan,
};
const BINARY: Record<string, (a: Tensor, b: Tensor) => Tensor> = {
  add: nb.add,
  sub: nb.sub,
  mul: nb.mul,
  div: nb.div,
  pow: nb.pow,
  maximum: nb.maximum,
  minimum: nb.minimum,
  remainder: nb.remainder,
  floorDivide: nb.floorDivide,
  atan2: nb.atan2,
  eq: nb.eq,
  lt: nb.lt,
  ge: nb.ge,
};

for (const be of backends()) {
  describe(`elementwise [${be}]`, () => {
    const run = (fn: () => void) => () => withBackend(be, fn);

    test(
      'every unary op at 0, -0, ±inf, NaN, 1e-30 and ordinary points matches PyTorch (float32)',
      run(() => {
        const x = T(J.unary_special.inputs.map(dec));
        assert.deepEqual(
          Object.keys(UNARY).sort(),
          Object.keys(J.unary_special)
            .filter((k) => k !== 'inputs')
            .sort(),
        );
        for (const [name, fn] of Object.entries(UNARY)) {
          const want = J.unary_special[name].map(dec);
          assertClose(fn(x), want, { rtol: 2e-6, atol: 1e-7 }, `${name}(${J.unary_special.inputs.join(', ')}):`);
        }
      }),
    );

    test(
      'exact special values of exp/log/sqrt/sigmoid/tanh/relu (float32 and float64)',
      run(() => {
        for (const dtype of ['float32', 'float64'] as const) {
          const x = T([0, Infinity, -Infinity, NaN], dtype);
          assert.deepEqual(vals(nb.exp(x)), [1, Infinity, 0, NaN]);
          assert.deepEqual(vals(nb.log(x)), [-Infinity, Infinity, NaN, NaN]);
          assert.deepEqual(vals(nb.sqrt(x)), [0, Infinity, NaN, NaN]);
          assert.deepEqual(vals(nb.sigmoid(x)), [0.5, 1, 0, NaN]);
          assert.deepEqual(vals(nb.tanh(x)), [0, 1, -1, NaN]);
          assert.deepEqual(vals(nb.relu(x)), [0, Infinity, 0, NaN]);
          // relu's gradient through the output (torch threshold_backward): 0 where y <= 0, passed where y > 0 or NaN
          const xr = T([-2, 0, 3, NaN, -0], dtype).requiresGrad_();
          nb.relu(xr).backward(T([5, 6, 7, 8, 9], dtype));
          assert.deepEqual(vals(xr.grad!), [0, 0, 7, 8, 0]);
          assert.deepEqual(vals(nb.log(T([-1], dtype))), [NaN]);
          assert.ok(Object.is(vals(nb.sqrt(T([-0], dtype)))[0], -0));
        }
        // float32 overflow and underflow
        assert.deepEqual(vals(nb.exp(T([89, -104]))), [Infinity, 0]);
        assert.deepEqual(
          vals(nb.sigmoid(T([-89, 89]))).map((v) => v < 1e-38 || v === 1),
          [true, true],
        );
      }),
    );

    test(
      'binary ops at special values match PyTorch',
      run(() => {
        const a = T(J.binary_special.a.map(dec)),
          b = T(J.binary_special.b.map(dec));
        for (const [name, fn] of Object.entries(BINARY)) {
          assertClose(
            fn(a, b),
            J.binary_special[name].map(dec),
            { rtol: 2e-6 },
            `${name}(${J.binary_special.a}; ${J.binary_special.b}):`,
          );
        }
      }),
    );

    test(
      'hand-computed values',
      run(() => {
        const a = T([
            [1, 2, 3],
            [4, 5, 6],
          ]),
          b = T([2, -1, 0.5]);
        assert.deepEqual(a.add(b).toArray(), [
          [3, 1, 3.5],
          [6, 4, 6.5],
        ]);
        assert.deepEqual(a.sub(b, 2).toArray(), [
          [-3, 4, 2],
          [0, 7, 5],
        ]);
        assert.deepEqual(a.mul(b).toArray(), [
          [2, -2, 1.5],
          [8, -5, 3],
        ]);
        assert.deepEqual(a.div(b).toArray(), [
          [0.5, -2, 6],
          [2, -5, 12],
        ]);
        assert.deepEqual(a.pow(2).toArray(), [
          [1, 4, 9],
          [16, 25, 36],
        ]);
        assert.deepEqual(a.pow(b).toArray(), [
          [1, 0.5, Math.fround(Math.sqrt(3))],
          [16, Math.fround(0.2), Math.fround(Math.sqrt(6))],
        ]);
        assert.deepEqual(nb.pow(2, T([1, 3])).toArray(), [2, 8]);
        assert.deepEqual(nb.sub(10, T([1, 3])).toArray(), [9, 7]);
        assert.deepEqual(nb.div(1, T([4])).toArray(), [0.25]);
        assert.deepEqual(a.neg().toArray(), [
          [-1, -2, -3],
          [-4, -5, -6],
        ]);
        assert.deepEqual(a.maximum(b).toArray(), [
          [2, 2, 3],
          [4, 5, 6],
        ]);
        assert.deepEqual(a.minimum(3).toArray(), [
          [1, 2, 3],
          [3, 3, 3],
        ]);
        assert.deepEqual(a.clamp(2, 5).toArray(), [
          [2, 2, 3],
          [4, 5, 5],
        ]);
        assert.deepEqual(a.clamp(null, 2).toArray(), [
          [1, 2, 2],
          [2, 2, 2],
        ]);
        assert.deepEqual(a.clamp(4).toArray(), [
          [4, 4, 4],
          [4, 5, 6],
        ]);
        assert.throws(() => a.clamp(), /clamp: at least one of min or max must not be None/);
        assert.deepEqual(T([-1.5, -0.5, 0.5, 1.5, 2.5]).round().toArray(), [-2, -0, 0, 2, 2]);
        assert.deepEqual(T([-1.5, 1.5]).floor().toArray(), [-2, 1]);
        assert.deepEqual(T([-1.5, 1.5]).ceil().toArray(), [-1, 2]);
        assert.deepEqual(T([-1.5, 1.5]).trunc().toArray(), [-1, 1]);
        assert.deepEqual(T([-3, 0, 2]).sign().toArray(), [-1, 0, 1]);
        assertClose(nb.leakyRelu(T([-1, 0, 2]), 0.1), [-0.1, 0, 2]);
        assertClose(nb.elu(T([-1, 0, 2]), 2), [2 * Math.expm1(-1), 0, 2]);
        assertClose(nb.softplus(T([-1, 0, 30]), 2, 20), [Math.log1p(Math.exp(-2)) / 2, Math.log(2) / 2, 30]);
        assertClose(nb.gelu(T([-1, 0, 1])), [-0.15865525, 0, 0.84134475]);
        assertClose(nb.gelu(T([-1, 0, 1]), 'tanh'), [-0.15880801, 0, 0.84119199]);
        assert.throws(() => nb.gelu(T([1]), 'fast' as never), /gelu: approximate must be 'none' or 'tanh', got 'fast'/);
        assertClose(nb.silu(T([-1, 0, 1])), [-0.26894142, 0, 0.73105858]);
      }),
    );

    test(
      'integer and bool arithmetic stays exact and typed',
      run(() => {
        const i = T([7, -7, 3], 'int32'),
          j = T([2, 2, -2], 'int32');
        assert.equal(i.add(j).dtype, 'int32');
        assert.deepEqual(i.add(j).toArray(), [9, -5, 1]);
        assert.deepEqual(i.mul(j).toArray(), [14, -14, -6]);
        assert.deepEqual(i.floorDivide(j).toArray(), [3, -4, -2]);
        assert.deepEqual(i.remainder(j).toArray(), [1, 1, -1]);
        assert.equal(i.floorDivide(j).dtype, 'int32');
        assert.deepEqual(i.div(j).toArray(), [3.5, -3.5, -1.5]);
        assert.equal(i.div(j).dtype, 'float32');
        assert.equal(i.abs().dtype, 'int32');
        assert.deepEqual(i.abs().toArray(), [7, 7, 3]);
        assert.equal(i.neg().dtype, 'int32');
        assert.equal(i.exp().dtype, 'float32');
        assert.equal(i.sqrt().dtype, 'float32');
        assert.equal(i.pow(2).dtype, 'int32');
        assert.deepEqual(i.pow(2).toArray(), [49, 49, 9]);
        assert.equal(i.pow(0.5).dtype, 'float32');
        assert.equal(i.clamp(-1, 1).dtype, 'int32');
        const b = T([true, false, true], 'bool');
        assert.equal(b.add(b).dtype, 'bool');
        assert.deepEqual(b.add(i).toArray(), [8, -7, 4]);
        assert.deepEqual(b.sum().item(), 2);
        assert.equal(b.sum().dtype, 'int32');
      }),
    );

    test(
      'comparisons return bool; logical ops',
      run(() => {
        const a = T([1, 2, NaN, 4]),
          b = T([1, 3, NaN, 0]);
        for (const [op, want] of [
          ['eq', [true, false, false, false]],
          ['ne', [false, true, true, true]],
          ['lt', [false, true, false, false]],
          ['le', [true, true, false, false]],
          ['gt', [false, false, false, true]],
          ['ge', [true, false, false, true]],
        ] as const) {
          const r = (a as unknown as Record<string, (o: Tensor) => Tensor>)[op](b);
          assert.equal(r.dtype, 'bool', op);
          assert.deepEqual(r.toArray(), want, op);
        }
        assert.deepEqual(a.gt(1.5).toArray(), [false, true, false, true]);
        const p = T([true, true, false, false], 'bool'),
          q = T([true, false, true, false], 'bool');
        assert.deepEqual(p.logicalAnd(q).toArray(), [true, false, false, false]);
        assert.deepEqual(p.logicalOr(q).toArray(), [true, true, true, false]);
        assert.deepEqual(p.logicalXor(q).toArray(), [false, true, true, false]);
        assert.deepEqual(p.logicalNot().toArray(), [false, false, true, true]);
        assert.deepEqual(T([0, 2, -1]).logicalNot().toArray(), [true, false, false]);
        assert.deepEqual(
          T([0, 2, -1])
            .logicalAnd(T([1, 1, 0], 'int32'))
            .toArray(),
          [false, true, false],
        );
        assert.deepEqual(a.isnan().toArray(), [false, false, true, false]);
      }),
    );

    test(
      'where broadcasts all three operands and promotes',
      run(() => {
        const c = T([[true], [false]], 'bool');
        const r = nb.where(c, T([1, 2, 3]), T(0, 'float64'));
        assert.deepEqual(r.shape, [2, 3]);
        assert.equal(r.dtype, 'float32');
        assert.deepEqual(r.toArray(), [
          [1, 2, 3],
          [0, 0, 0],
        ]);
        assert.deepEqual(nb.where(T([true, false], 'bool'), 1, -1).toArray(), [1, -1]);
        assert.deepEqual(
          T([5, 6])
            .where(T([false, true], 'bool'), 0)
            .toArray(),
          [0, 6],
        );
      }),
    );

    test(
      'broadcasting: shapes, size-1 dims, 0-dim and empty tensors',
      run(() => {
        const cases: [number[], number[], number[]][] = [
          [[2, 3], [3], [2, 3]],
          [
            [2, 1],
            [1, 3],
            [2, 3],
          ],
          [
            [4, 1, 3],
            [2, 1],
            [4, 2, 3],
          ],
          [[], [2, 2], [2, 2]],
          [[1], [], [1]],
          [
            [0, 3],
            [1, 3],
            [0, 3],
          ],
          [[5, 0], [1], [5, 0]],
          [[1, 1, 1], [2], [1, 1, 2]],
        ];
        for (const [sa, sb, want] of cases) {
          const r = nb.add(nb.ones(sa), nb.ones(sb));
          assert.deepEqual(r.shape, want, `[${sa}] + [${sb}]`);
          assert.ok(vals(r).every((v) => v === 2));
        }
        // values: outer sum through broadcasting, with transposed and sliced operands
        const col = nb.arange(3).float().view(3, 1),
          row = nb.arange(4).float().mul(10);
        assert.deepEqual(col.add(row).toArray(), [
          [0, 10, 20, 30],
          [1, 11, 21, 31],
          [2, 12, 22, 32],
        ]);
        const m = nb.arange(12).float().view(3, 4);
        assert.deepEqual(
          m
            .t()
            .add(T([100, 200, 300]))
            .toArray(),
          [
            [100, 204, 308],
            [101, 205, 309],
            [102, 206, 310],
            [103, 207, 311],
          ],
        );
        assert.deepEqual(
          m
            .slice(1, 0, null, 2)
            .mul(m.slice(1, 1, null, 2))
            .toArray(),
          [
            [0, 6],
            [20, 42],
            [72, 110],
          ],
        );
        assert.deepEqual(
          m
            .select(1, 0)
            .add(m.select(0, 2).narrow(0, 1, 3))
            .toArray(),
          [9, 14, 19],
        );
        assert.throws(
          () => nb.add(nb.ones([2, 3]), nb.ones([3, 2])),
          /add: shapes \[2, 3\] and \[3, 2\] cannot be broadcast together \(size 2 vs 3 at dim -2\)/,
        );
        assert.throws(() => nb.mul(nb.ones([2]), 'x' as never), /mul: expected a Tensor or a number, got string/);
      }),
    );

    test(
      'type promotion matches torch.result_type for every dtype pair, 0-dim tensors and numbers',
      run(() => {
        const make = (dt: nb.DType, zeroDim: boolean) =>
          zeroDim ? nb.ones([], { dtype: dt }) : nb.ones([2], { dtype: dt });
        const NUM: Record<string, number | boolean> = { int: 2, float: 2.5, bool: true };
        for (const [a, kind, b, want0] of J.promotion) {
          const want = want0 === 'int64' ? 'int32' : want0;
          const zeroA = a.startsWith('0-dim '),
            ad = a.replace('0-dim ', '') as nb.DType;
          const ta = make(ad, zeroA);
          const other = kind === 'number' ? NUM[b] : make(b as nb.DType, kind === '0-dim');
          if (typeof other === 'boolean') continue; // TensorLike is Tensor | number
          for (const op of [nb.add, nb.mul, nb.maximum]) {
            assert.equal(op(ta, other).dtype, want, `${op.name}(${a} tensor, ${kind} ${b}) -> ${want}`);
            assert.equal(op(other as Tensor, ta).dtype, want, `${op.name}(${kind} ${b}, ${a} tensor) -> ${want}`);
          }
        }
        assert.equal(nb.promoteTypes('int32', 'float32'), 'float32');
        assert.equal(nb.promoteTypes('bool', 'int32'), 'int32');
        assert.equal(nb.promoteTypes('float64', 'float32'), 'float64');
        // promoted values: int32 tensor + 2.5 gives float32 with the fraction kept
        assert.deepEqual(nb.add(T([1, 2], 'int32'), 2.5).toArray(), [3.5, 4.5]);
        assert.deepEqual(nb.mul(T([1, 2], 'float32'), T(3, 'float64')).dtype, 'float32');
      }),
    );

    test(
      'unary ops on non-contiguous, offset and broadcast views',
      run(() => {
        const base = nb.arange(24).float().view(2, 3, 4);
        const v = base.permute(2, 0, 1).slice(0, 1, null, 2); // (2,2,3), strided, offset 1
        assert.deepEqual(
          nb.neg(v).toArray(),
          (v.toArray() as number[][][]).map((a) => a.map((b) => b.map((c) => -c))),
        );
        const e = T([1, 2]).view(2, 1).expand(2, 3);
        assert.deepEqual(
          nb.exp(e).toArray(),
          [
            [Math.E, Math.E, Math.E],
            [Math.exp(2), Math.exp(2), Math.exp(2)],
          ].map((r) => r.map(Math.fround)),
        );
        assert.deepEqual(nb.square(base.flip([2]).narrow(1, 2, 1)).toArray(), [
          [[121, 100, 81, 64]],
          [[529, 484, 441, 400]],
        ]);
      }),
    );
  });
}
