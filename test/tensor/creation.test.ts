// Creation and readback (issue 2): nb.tensor from nested arrays or a TypedArray with a shape,
// zeros/ones/full/empty and the *Like forms, arange, linspace, eye, seeded rand/randn/randint/randperm,
// and toArray/toTypedArray/item. Runs on every backend.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import { backends, withBackend } from '../helpers/backends.js';

for (const be of backends()) {
  describe(`creation [${be}]`, () => {
    const run = (fn: () => void) => () => withBackend(be, fn);

    test(
      'tensor from nested arrays: shape, dtype inference, explicit dtype, requiresGrad',
      run(() => {
        const t = nb.tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]);
        assert.deepEqual(t.shape, [2, 3]);
        assert.equal(t.dtype, 'float32');
        assert.ok(t.data instanceof Float32Array);
        assert.deepEqual(t.toArray(), [
          [1, 2, 3],
          [4, 5, 6],
        ]);
        assert.equal(nb.tensor([true, false]).dtype, 'bool');
        assert.deepEqual(nb.tensor([true, false]).toArray(), [true, false]);
        assert.equal(nb.tensor(3.5).ndim, 0);
        assert.equal(nb.tensor(3.5).item(), 3.5);
        assert.deepEqual(nb.tensor([]).shape, [0]);
        assert.deepEqual(nb.tensor([[], []]).shape, [2, 0]);
        const i = nb.tensor([1.9, -1.9, 3], { dtype: 'int32' });
        assert.deepEqual(i.toArray(), [1, -1, 3]);
        assert.deepEqual(nb.tensor([0, 2, -1], { dtype: 'bool' }).toArray(), [false, true, true]);
        assert.equal(nb.tensor([1.1], { dtype: 'float64' }).item(), 1.1);
        const g = nb.tensor([1, 2], { requiresGrad: true });
        assert.equal(g.requiresGrad, true);
        assert.equal(g.isLeaf, true);
        assert.deepEqual(nb.tensor([1, 2, 3, 4], { shape: [2, 2] }).toArray(), [
          [1, 2],
          [3, 4],
        ]);
        assert.throws(() => nb.tensor([[1, 2], [3]]), /tensor: expected sequence of length 2 at dim 1 \(got 1\)/);
        assert.throws(
          () => nb.tensor([[1, 2], 3] as never),
          /tensor: expected sequence of length 2 at dim 1 \(got number\)/,
        );
        assert.throws(() => nb.tensor(['a'] as never), /tensor: could not convert value of type string/);
        assert.throws(
          () => nb.tensor([1, 2], { dtype: 'int16' as never }),
          /tensor: unknown dtype 'int16' \(expected one of float32, float64, float16, bfloat16, int8, uint8, int32, int64, bool\)/,
        );
        assert.throws(
          () => nb.tensor([1, 2, 3], { shape: [2, 2] }),
          /tensor: shape \[2, 2\] does not match the 3 values given/,
        );
      }),
    );

    test(
      'tensor from a TypedArray (copied) with a shape; int64 to int32 with a range check; fromTypedArray shares',
      run(() => {
        const a = new Float32Array([1, 2, 3, 4, 5, 6]);
        const t = nb.tensor(a, { shape: [3, 2] });
        assert.deepEqual(t.toArray(), [
          [1, 2],
          [3, 4],
          [5, 6],
        ]);
        a[0] = 100;
        assert.equal(Array.isArray(t.toArray()) && (t.toArray() as number[][])[0][0], 1, 'copied');
        assert.equal(nb.tensor(new Float64Array([1])).dtype, 'float64');
        assert.equal(nb.tensor(new Int32Array([1])).dtype, 'int32');
        assert.equal(nb.tensor(new Uint8Array([1, 0]), { dtype: 'bool' }).dtype, 'bool');
        assert.deepEqual(nb.tensor(new Int16Array([-3, 4])).toArray(), [-3, 4]);
        assert.deepEqual(nb.tensor(new Float32Array([1.5, 2.5]), { dtype: 'float64' }).toArray(), [1.5, 2.5]);
        assert.deepEqual(nb.tensor(new BigInt64Array([1n, -2n, 2147483647n])).toArray(), [1, -2, 2147483647]);
        assert.throws(
          () => nb.tensor(new BigInt64Array([2n ** 31n])),
          /tensor: int64 value 2147483648 at index 0 does not fit in int32/,
        );
        assert.throws(
          () => nb.tensor(new Float32Array(5), { shape: [2, 2] }),
          /tensor: shape \[2, 2\] needs 4 elements but the array has 5/,
        );
        const b = new Float64Array([1, 2, 3, 4]);
        const s = nb.fromTypedArray(b, [2, 2]);
        b[3] = 40;
        assert.deepEqual(
          s.toArray(),
          [
            [1, 2],
            [3, 40],
          ],
          'fromTypedArray wraps without copying',
        );
        const c = nb.tensor(s);
        assert.notEqual(c.storage, s.storage);
        assert.deepEqual(c.toArray(), s.toArray());
      }),
    );

    test(
      'zeros, ones, full, empty and the *Like forms',
      run(() => {
        assert.deepEqual(nb.zeros([2, 2]).toArray(), [
          [0, 0],
          [0, 0],
        ]);
        assert.deepEqual(nb.ones([3], { dtype: 'int32' }).toArray(), [1, 1, 1]);
        assert.equal(nb.ones([3], { dtype: 'int32' }).dtype, 'int32');
        assert.deepEqual(nb.full([2], 7.5).toArray(), [7.5, 7.5]);
        assert.equal(nb.full([2], true).dtype, 'bool');
        assert.deepEqual(nb.empty([2, 3]).shape, [2, 3]);
        assert.deepEqual(nb.zeros([]).shape, []);
        assert.deepEqual(nb.zeros([0, 5]).toArray(), []);
        const ref = nb.tensor([[1, 2]], { dtype: 'float64' });
        assert.equal(nb.zerosLike(ref).dtype, 'float64');
        assert.deepEqual(nb.onesLike(ref).toArray(), [[1, 1]]);
        assert.deepEqual(nb.fullLike(ref, 3).toArray(), [[3, 3]]);
        assert.deepEqual(nb.emptyLike(ref).shape, [1, 2]);
        assert.equal(nb.zerosLike(ref, { dtype: 'int32' }).dtype, 'int32');
        assert.equal(nb.ones([2], { requiresGrad: true }).requiresGrad, true);
        assert.throws(() => nb.zeros([2, -1]), /full: invalid shape \[2, -1\]: sizes must be non-negative integers/);
        assert.throws(() => nb.zeros([1.5]), /full: invalid shape \[1.5\]/);
      }),
    );

    test(
      'arange and linspace',
      run(() => {
        assert.deepEqual(nb.arange(5).toArray(), [0, 1, 2, 3, 4]);
        assert.equal(nb.arange(5).dtype, 'int32');
        assert.deepEqual(nb.arange(2, 8, 3).toArray(), [2, 5]);
        assert.deepEqual(nb.arange(5, 0, -2).toArray(), [5, 3, 1]);
        assert.deepEqual(nb.arange(1, 2.5, 0.5).toArray(), [1, 1.5, 2]);
        assert.equal(nb.arange(1, 2.5, 0.5).dtype, 'float32');
        assert.equal(nb.arange(0, 1, 0.1).shape[0], 10);
        assert.deepEqual(nb.arange(3, undefined, 1, { dtype: 'float64' }).dtype, 'float64');
        assert.deepEqual(nb.arange(0).shape, [0]);
        assert.throws(() => nb.arange(0, 5, 0), /arange: step must be nonzero/);
        assert.throws(
          () => nb.arange(5, 0, 1),
          /arange: upper bound and larger bound inconsistent with step sign \(start 5, end 0, step 1\)/,
        );
        assert.deepEqual(nb.linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
        // values as torch.linspace computes them (from both ends)
        assert.deepEqual(
          nb.linspace(-1, 1, 4, { dtype: 'float64' }).toArray(),
          [-1.0, -0.33333333333333337, 0.33333333333333337, 1.0],
        );
        assert.deepEqual(nb.linspace(3, 7, 1).toArray(), [3]);
        assert.deepEqual(nb.linspace(3, 7, 0).shape, [0]);
        assert.deepEqual(
          nb.linspace(0, 0.3, 7, { dtype: 'float64' }).toArray(),
          [0.0, 0.049999999999999996, 0.09999999999999999, 0.15, 0.2, 0.25, 0.3],
        );
        assert.throws(() => nb.linspace(0, 1, -1), /linspace: number of steps must be non-negative, got -1/);
      }),
    );

    test(
      'eye',
      run(() => {
        assert.deepEqual(nb.eye(3).toArray(), [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ]);
        assert.deepEqual(nb.eye(2, 3).toArray(), [
          [1, 0, 0],
          [0, 1, 0],
        ]);
        assert.deepEqual(nb.eye(3, 2, { dtype: 'int32' }).toArray(), [
          [1, 0],
          [0, 1],
          [0, 0],
        ]);
        assert.equal(nb.eye(2, 2, { dtype: 'bool' }).dtype, 'bool');
      }),
    );

    test(
      'rand, randn, randint, randperm: ranges, moments, and manualSeed reproducibility',
      run(() => {
        nb.manualSeed(42);
        const r = nb.rand([1000]),
          n = nb.randn([10000]),
          i = nb.randint(3, 7, [1000]),
          p = nb.randperm(50);
        const rv = Array.from(r.toTypedArray());
        assert.ok(rv.every((v) => v >= 0 && v < 1));
        assert.ok(Math.abs(n.mean().item()) < 0.05 && Math.abs(n.std().item() - 1) < 0.05);
        const iv = Array.from(i.toTypedArray());
        assert.equal(i.dtype, 'int32');
        assert.ok(iv.every((v) => v >= 3 && v < 7) && new Set(iv).size === 4);
        assert.deepEqual(
          Array.from(p.toTypedArray()).sort((a, b) => a - b),
          [...Array(50).keys()],
        );
        assert.equal(p.dtype, 'int32');
        nb.manualSeed(42);
        assert.deepEqual(Array.from(nb.rand([1000]).toTypedArray()), rv);
        assert.deepEqual(Array.from(nb.randn([10000]).toTypedArray()), Array.from(n.toTypedArray()));
        assert.deepEqual(Array.from(nb.randint(3, 7, [1000]).toTypedArray()), iv);
        assert.deepEqual(Array.from(nb.randperm(50).toTypedArray()), Array.from(p.toTypedArray()));
        nb.manualSeed(43);
        assert.notDeepEqual(Array.from(nb.rand([1000]).toTypedArray()), rv);
        assert.deepEqual(nb.randint(5, [2, 3]).shape, [2, 3]);
        assert.equal(nb.randn([2], { dtype: 'float64' }).dtype, 'float64');
        assert.equal(nb.rand([2], { requiresGrad: true }).requiresGrad, true);
        assert.equal(nb.randLike(nb.zeros([2], { dtype: 'int32' })).dtype, 'float32');
        assert.deepEqual(nb.randnLike(nb.zeros([2, 3])).shape, [2, 3]);
        // a private generator does not disturb the default one
        nb.manualSeed(1);
        const a1 = nb.rand([3]).toTypedArray();
        nb.manualSeed(1);
        new nb.Generator(9).normal([100]);
        nb.rand([3], { generator: new nb.Generator(5) });
        assert.deepEqual(nb.rand([3]).toTypedArray(), a1);
        assert.throws(() => nb.randint(5, 5, [2]), /randint: expected low < high, but got low=5 and high=5/);
        assert.throws(() => nb.rand([2], { dtype: 'int32' }), /uniform: expected a floating point dtype, got int32/);
      }),
    );

    test(
      'readback: toArray, toTypedArray (a contiguous copy), item',
      run(() => {
        const x = nb.arange(6).float().view(2, 3);
        const t = x.t();
        assert.deepEqual(t.toArray(), [
          [0, 3],
          [1, 4],
          [2, 5],
        ]);
        const ta = t.toTypedArray();
        assert.ok(ta instanceof Float32Array);
        assert.deepEqual(Array.from(ta), [0, 3, 1, 4, 2, 5]);
        ta[0] = 99;
        assert.equal(Array.isArray(x.toArray()) && (x.toArray() as number[][])[0][0], 0, 'a copy');
        assert.deepEqual(Array.from(x.narrow(1, 1, 1).toTypedArray()), [1, 4]);
        assert.ok(nb.tensor([1], { dtype: 'int32' }).toTypedArray() instanceof Int32Array);
        assert.ok(nb.tensor([true]).toTypedArray() instanceof Uint8Array);
        assert.equal(x.select(1, 2).select(0, 1).item(), 5);
        assert.equal(nb.tensor([[7]]).item(), 7);
        assert.equal(nb.tensor(2).toArray(), 2);
        assert.throws(
          () => x.item(),
          /item: a Tensor with 6 elements cannot be converted to a scalar \(shape \[2, 3\]\)/,
        );
        assert.equal(x.numel(), 6);
        assert.deepEqual(x.size(), [2, 3]);
        assert.equal(x.size(-1), 3);
        assert.equal(x.dim(), 2);
        assert.equal(x.isFloatingPoint(), true);
        assert.equal(x.int().dtype, 'int32');
        assert.equal(x.bool().dtype, 'bool');
        assert.equal(x.double().dtype, 'float64');
        assert.deepEqual(nb.tensor([1.7, -0.5, 0]).int().toArray(), [1, 0, 0]);
        assert.deepEqual(nb.tensor([1.7, -0.5, 0]).bool().toArray(), [true, true, false]);
      }),
    );
  });
}
