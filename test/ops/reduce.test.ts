// Conformance: reductions on every backend, checked against hand-computed values: one and several dims,
// keepdim, negative dims, non-contiguous inputs, 0-dim and empty tensors, NaN and ties, dtypes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import { assertClose } from '../helpers/assert.js';
import { backends, withBackend } from '../helpers/backends.js';

const T = (v: unknown, dtype: nb.DType = 'float32') => nb.tensor(v as number[], { dtype });
const lse = (xs: number[]) => Math.log(xs.reduce((s, v) => s + Math.exp(v), 0));

for (const be of backends()) {
  describe(`reductions [${be}]`, () => {
    const run = (fn: () => void) => () => withBackend(be, fn);
    const x = () =>
      T([
        [1, 2, 3],
        [4, 5, 6],
      ]);

    test(
      'sum and mean over one, several and all dims, with keepdim',
      run(() => {
        assert.equal(x().sum().item(), 21);
        assert.deepEqual(x().sum().shape, []);
        assert.deepEqual(x().sum(0).toArray(), [5, 7, 9]);
        assert.deepEqual(x().sum(1, true).toArray(), [[6], [15]]);
        assert.deepEqual(x().sum(-1).toArray(), [6, 15]);
        assert.deepEqual(x().sum([0, 1]).toArray(), 21);
        assert.deepEqual(x().sum([1, 0], true).toArray(), [[21]]);
        assert.deepEqual(x().mean(0).toArray(), [2.5, 3.5, 4.5]);
        assert.deepEqual(x().mean([0, 1], true).toArray(), [[3.5]]);
        assert.deepEqual(nb.mean(x(), -1).toArray(), [2, 5]);
        const c = nb.arange(24).float().view(2, 3, 4);
        assert.deepEqual(c.sum([0, 2]).toArray(), [60, 92, 124]);
        assert.deepEqual(c.sum([0, 2], true).shape, [1, 3, 1]);
        assert.deepEqual(c.sum([-1, -3]).toArray(), [60, 92, 124]);
        assert.deepEqual(c.mean([0, 1], true).toArray(), [[[10, 11, 12, 13]]]);
        assert.throws(() => c.sum([0, -3]), /sum: dim \[0, -3\] appears multiple times in the list of dims/);
        assert.throws(
          () => c.sum(3),
          /sum: dimension out of range \(expected to be in range of \[-3, 2\], but got 3\)/,
        );
      }),
    );

    test(
      'reductions of non-contiguous views',
      run(() => {
        const c = nb.arange(24).float().view(2, 3, 4);
        const t = c.permute(2, 0, 1); // (4,2,3)
        assert.deepEqual(t.sum(0).toArray(), [
          [6, 22, 38],
          [54, 70, 86],
        ]);
        assert.deepEqual(t.amax([1, 2]).toArray(), [20, 21, 22, 23]);
        const s = c.slice(2, 1, null, 2); // (2,3,2): columns 1 and 3
        assert.deepEqual(s.sum(2).toArray(), [
          [4, 12, 20],
          [28, 36, 44],
        ]);
        assert.deepEqual(s.prod(1).toArray(), [
          [1 * 5 * 9, 3 * 7 * 11],
          [13 * 17 * 21, 15 * 19 * 23],
        ]);
        assert.deepEqual(s.argmax(1).toArray(), [
          [2, 2],
          [2, 2],
        ]);
        assert.deepEqual(T([1, 2]).expand(3, 2).sum(0).toArray(), [3, 6]);
        assert.deepEqual(c.flip([1]).cumsum(1).select(0, 0).toArray(), [
          [8, 9, 10, 11],
          [12, 14, 16, 18],
          [12, 15, 18, 21],
        ]);
      }),
    );

    test(
      'prod, amax, amin, max/min with indices, argmax/argmin',
      run(() => {
        assert.equal(x().prod().item(), 720);
        assert.deepEqual(x().prod(1).toArray(), [6, 120]);
        assert.deepEqual(x().prod(0, true).toArray(), [[4, 10, 18]]);
        assert.deepEqual(x().amax(0).toArray(), [4, 5, 6]);
        assert.deepEqual(x().amin(1, true).toArray(), [[1], [4]]);
        assert.equal(x().max().item(), 6);
        assert.equal(nb.min(x()).item(), 1);
        const m = x().max(1);
        assert.deepEqual(m.values.toArray(), [3, 6]);
        assert.deepEqual(m.indices.toArray(), [2, 2]);
        assert.equal(m.indices.dtype, 'int32');
        const n = nb.min(x(), 0, true);
        assert.deepEqual(n.values.toArray(), [[1, 2, 3]]);
        assert.deepEqual(n.indices.toArray(), [[0, 0, 0]]);
        assert.equal(x().argmax().item(), 5);
        assert.deepEqual(x().argmax(0).toArray(), [1, 1, 1]);
        assert.deepEqual(x().argmin(1, true).toArray(), [[0], [0]]);
        assert.deepEqual(x().argmax(undefined, true).toArray(), [[5]]);
        // ties: the first index wins; NaN wins and propagates
        assert.equal(T([1, 3, 3, 2]).argmax().item(), 1);
        assert.equal(T([2, 1, 1, 3]).argmin().item(), 1);
        assert.equal(T([1, NaN, 3, NaN]).argmax().item(), 1);
        assert.equal(T([1, NaN, 0]).argmin().item(), 1);
        assert.ok(Number.isNaN(T([1, NaN, 3]).max().item()));
        assert.ok(Number.isNaN(T([1, NaN, 3]).amin().item()));
        const mn = T([
          [1, NaN, 3],
          [4, 2, 9],
        ]).max(1);
        assert.deepEqual(mn.values.toArray(), [NaN, 9]);
        assert.deepEqual(mn.indices.toArray(), [1, 2]);
        assert.deepEqual(T([5, 2], 'int32').max().dtype, 'int32');
        assert.throws(
          () => nb.zeros([0]).amax(),
          /amax\(\): Expected reduction dim to be specified for input.numel\(\) == 0/,
        );
        assert.throws(() => nb.zeros([2, 0]).argmax(1), /argmax\(\): Expected reduction dim 1 to have non-zero size/);
      }),
    );

    test(
      'var and std: correction and unbiased, one and several dims, keepdim',
      run(() => {
        assertClose(x().var(1), [1, 1]);
        assertClose(x().var(1, { unbiased: false }), [2 / 3, 2 / 3]);
        assertClose(x().var(), 3.5);
        assertClose(x().var(undefined, { correction: 0 }), 17.5 / 6);
        assertClose(x().var([0, 1], { correction: 2 }), 17.5 / 4);
        assertClose(x().var(0, { keepdim: true }), [[4.5, 4.5, 4.5]]);
        assert.deepEqual(x().var(0, { keepdim: true }).shape, [1, 3]);
        assertClose(x().std(1), [1, 1]);
        assertClose(nb.std(x(), 0, { unbiased: false }), [1.5, 1.5, 1.5]);
        assertClose(x().std(), Math.sqrt(3.5));
        assert.ok(Number.isNaN(T([3]).var().item()), 'one sample with correction 1 is NaN (0/0)');
        assert.equal(T([3]).var(undefined, { correction: 0 }).item(), 0);
        assert.throws(
          () => T([1, 2], 'int32').var(),
          /var: expected a floating point tensor, got int32 of shape \[2\]/,
        );
      }),
    );

    test(
      'logsumexp: stable at ±1e4, all -inf slices, inf',
      run(() => {
        assertClose(x().logsumexp(1), [lse([1, 2, 3]), lse([4, 5, 6])]);
        assertClose(x().logsumexp([0, 1]), lse([1, 2, 3, 4, 5, 6]));
        assertClose(x().logsumexp(0, true), [[lse([1, 4]), lse([2, 5]), lse([3, 6])]]);
        assertClose(
          T([
            [1e4, 1e4],
            [-1e4, -1e4],
          ]).logsumexp(1),
          [1e4 + Math.log(2), -1e4 + Math.log(2)],
        );
        assert.deepEqual(
          T([
            [-Infinity, -Infinity],
            [Infinity, 0],
          ])
            .logsumexp(1)
            .toArray(),
          [-Infinity, Infinity],
        );
        assert.equal(T([1, 2], 'int32').logsumexp(0).dtype, 'float32');
      }),
    );

    test(
      'norm: p = 2, 1, inf, -inf, 0, 3 over dims',
      run(() => {
        assertClose(x().norm(), Math.sqrt(91));
        assertClose(x().norm(1), 21);
        assertClose(x().norm(Infinity), 6);
        assertClose(T([-7, 2]).norm(Infinity), 7);
        assertClose(T([-7, 2]).norm(-Infinity), 2);
        assertClose(T([0, 2, 0, -1]).norm(0), 2);
        assertClose(x().norm(2, 1), [Math.sqrt(14), Math.sqrt(77)]);
        assertClose(x().norm(3, 0, true), [[Math.cbrt(65), Math.cbrt(133), Math.cbrt(243)]]);
        assertClose(nb.norm(x(), 2, [0, 1], true), [[Math.sqrt(91)]]);
      }),
    );

    test(
      'cumsum and cumprod along each dim; dtypes',
      run(() => {
        assert.deepEqual(x().cumsum(1).toArray(), [
          [1, 3, 6],
          [4, 9, 15],
        ]);
        assert.deepEqual(x().cumsum(0).toArray(), [
          [1, 2, 3],
          [5, 7, 9],
        ]);
        assert.deepEqual(nb.cumsum(x(), -1).toArray(), [
          [1, 3, 6],
          [4, 9, 15],
        ]);
        assert.deepEqual(x().cumprod(1).toArray(), [
          [1, 2, 6],
          [4, 20, 120],
        ]);
        assert.equal(T([1, 2], 'int32').cumsum(0).dtype, 'int32');
        assert.deepEqual(T([true, false, true], 'bool').cumsum(0).toArray(), [1, 1, 2]);
        assert.equal(T([true], 'bool').cumsum(0).dtype, 'int32');
        assert.deepEqual(T(5).cumsum(0).toArray(), 5);
      }),
    );

    test(
      'all and any',
      run(() => {
        const b = T(
          [
            [true, false, true],
            [true, true, true],
          ],
          'bool',
        );
        assert.equal(b.all().item(), 0);
        assert.deepEqual(b.all(1).toArray(), [false, true]);
        assert.deepEqual(b.any(0, true).toArray(), [[true, true, true]]);
        assert.deepEqual(T([0, 0, 2]).any().toArray(), true);
        assert.equal(nb.all(nb.zeros([0])).toArray(), true);
        assert.equal(nb.any(nb.zeros([0])).toArray(), false);
      }),
    );

    test(
      'softmax and logSoftmax along a dim; extreme and -inf rows; int input',
      run(() => {
        const s = x().softmax(1);
        const e = [Math.exp(1), Math.exp(2), Math.exp(3)],
          z = e.reduce((p, q) => p + q);
        assertClose(s, [...e.map((v) => v / z), ...e.map((v) => v / z)]);
        assertClose(x().softmax(0), [
          ...[3, 3, 3].map(() => 1 / (1 + Math.exp(3))),
          ...[3, 3, 3].map(() => 1 / (1 + Math.exp(-3))),
        ]);
        assertClose(
          x().logSoftmax(1),
          [1, 2, 3, 1, 2, 3].map((v) => v - 3 - Math.log(z / Math.exp(3))),
        );
        assertClose(
          T([
            [1e4, -1e4, 1e4],
            [-1e4, -1e4, -1e4],
          ]).softmax(-1),
          [0.5, 0, 0.5, 1 / 3, 1 / 3, 1 / 3],
        );
        assertClose(T([[-Infinity, 0, -Infinity]]).softmax(1), [0, 1, 0]);
        assertClose(T([[-Infinity, 0, -Infinity]]).logSoftmax(1), [-Infinity, 0, -Infinity]);
        assert.ok(Array.isArray(T([-Infinity, -Infinity]).softmax(0).toArray()));
        assert.deepEqual((T([-Infinity, -Infinity]).softmax(0).toArray() as number[]).map(Number.isNaN), [true, true]);
        assert.equal(T([1, 2], 'int32').softmax(0).dtype, 'float32');
        assertClose(T(3).softmax(0), 1);
        const nc = nb.arange(12).float().view(3, 4).t().softmax(0); // non-contiguous input
        assertClose(nc.sum(0), [1, 1, 1]);
      }),
    );

    test(
      'dtypes: int sums stay int32, bool sums count, mean of ints refuses',
      run(() => {
        assert.equal(T([1, 2], 'int32').sum().dtype, 'int32');
        assert.equal(T([true, true, false], 'bool').sum().item(), 2);
        assert.equal(x().double().sum().dtype, 'float64');
        assert.throws(
          () => T([1, 2], 'int32').mean(),
          /mean: could not infer output dtype. Input dtype must be floating point, got int32/,
        );
        assert.equal(T([1, 2], 'int32').prod().dtype, 'int32');
      }),
    );

    test(
      '0-dim and empty inputs',
      run(() => {
        const s = T(4);
        assert.equal(s.sum().item(), 4);
        assert.equal(s.sum(0).item(), 4);
        assert.equal(s.mean(-1, true).item(), 4);
        assert.equal(s.argmax().item(), 0);
        assert.equal(s.max(0, false).values.item(), 4);
        assert.equal(nb.zeros([0]).sum().item(), 0);
        assert.equal(nb.zeros([0]).prod().item(), 1);
        assert.ok(Number.isNaN(nb.zeros([0]).mean().item()));
        assert.deepEqual(nb.zeros([2, 0]).sum(1).toArray(), [0, 0]);
        assert.deepEqual(nb.zeros([0, 3]).sum(0).shape, [3]);
      }),
    );
  });
}
