// Issue 24, item 8: silent results that differed from PyTorch 1.13 now match it (checked with torch
// 1.13): negative indices raise in indexSelect/gather/scatterAdd/Embedding, clamp(min > max) gives
// max everywhere, integer floorDivide/remainder by zero raise, max/min over an empty dim raise, and
// a Tensor whose layout reaches outside its storage is refused at construction on every backend.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import { Layout, Storage } from '../../src/internals.js';
import { backends, withBackend } from '../helpers/backends.js';

const I = (v: number[] | number[][]) => nb.tensor(v, { dtype: 'int32' });

for (const be of backends()) {
  describe(`torch semantics [${be}]`, () => {
    const run = (fn: () => void) => () => withBackend(be, fn);

    test(
      'negative or out-of-range indices raise, naming the op, the index and the size',
      run(() => {
        const x = nb.arange(12).float().view([3, 4]);
        assert.throws(
          () => x.indexSelect(0, I([-1])),
          /indexSelect: index -1 is out of bounds for dimension 0 with size 3/,
        );
        assert.throws(
          () => x.gather(1, I([[0], [-2], [1]])),
          /gather: index -2 is out of bounds for dimension 1 with size 4/,
        );
        assert.throws(
          () => nb.zeros([3]).scatterAdd(0, I([-1]), nb.ones([1])),
          /scatterAdd: index -1 is out of bounds for dimension 0 with size 3/,
        );
        assert.throws(
          () => nb.zeros([3]).scatterAdd(0, I([3]), nb.ones([1])),
          /scatterAdd: index 3 is out of bounds for dimension 0 with size 3/,
        );
        const emb = new nb.nn.Embedding(5, 2);
        assert.throws(() => emb.forward(I([-1])), /embedding: index -1 is out of bounds for dimension 0 with size 5/);
        assert.throws(
          () => emb.forward(I([[0, 5]])),
          /embedding: index 5 is out of bounds for dimension 0 with size 5/,
        );
        assert.throws(
          () => nb.nn.functional.embedding(I([-1]), nb.ones([4, 2])),
          /embedding: index -1 is out of bounds/,
        );
        assert.deepEqual(emb.forward(I([4])).toArray(), [Array.from(emb.weight.select(0, 4).toTypedArray())]);
      }),
    );

    test(
      'clamp(min > max) sets every element to max, and its gradient is zero',
      run(() => {
        assert.deepEqual(nb.tensor([1, 2, 3]).clamp(2, 1).toArray(), [1, 1, 1]);
        assert.deepEqual(nb.tensor([1, 2, 3], { dtype: 'int32' }).clamp(2, 1).toArray(), [1, 1, 1]);
        assert.deepEqual(nb.tensor([-5, 0.5, 9]).clamp(0, 1).toArray(), [0, 0.5, 1]);
        assert.ok(Number.isNaN(nb.tensor([NaN]).clamp(2, 1).item()));
        const x = nb.tensor([1, 2, 3], { requiresGrad: true });
        x.clamp(2, 1).sum().backward();
        assert.deepEqual(x.grad!.toArray(), [0, 0, 0]);
        const y = nb.tensor([1, 2, 3]);
        y.clamp_(3, 0);
        assert.deepEqual(y.toArray(), [0, 0, 0]);
      }),
    );

    test(
      'integer floorDivide and remainder by zero raise; float division by zero stays IEEE',
      run(() => {
        const a = I([5, -3]);
        assert.throws(() => a.floorDivide(I([1, 0])), /floorDivide: ZeroDivisionError: integer division by zero/);
        assert.throws(() => a.remainder(0), /remainder: ZeroDivisionError/);
        assert.throws(() => nb.floorDivide(a, 0), /floorDivide: ZeroDivisionError/);
        assert.deepEqual(a.floorDivide(2).toArray(), [2, -2]);
        assert.deepEqual(a.remainder(I([2, 2])).toArray(), [1, 1]);
        assert.deepEqual(nb.tensor([5, -3, 0]).floorDivide(0).toArray(), [Infinity, -Infinity, NaN]);
        assert.ok(nb.tensor([5, -3]).remainder(0).toTypedArray().every(Number.isNaN));
        assert.deepEqual(nb.tensor([1, -1]).div(0).toArray(), [Infinity, -Infinity]);
        assert.deepEqual(a.div(0).toArray(), [Infinity, -Infinity], 'true division promotes to float');
      }),
    );

    test(
      'amax/amin and max/min with dim over a zero-length dim raise',
      run(() => {
        const e = nb.zeros([2, 0]);
        assert.throws(() => e.amax(1), /amax\(\): Expected reduction dim 1 to have non-zero size/);
        assert.throws(() => e.amin([0, 1]), /amin\(\): Expected reduction dim 1 to have non-zero size/);
        assert.throws(() => e.max(1), /max\(\): Expected reduction dim 1 to have non-zero size/);
        assert.throws(() => e.min(-1), /min\(\): Expected reduction dim 1 to have non-zero size/);
        assert.throws(() => e.argmin(1), /argmin\(\): Expected reduction dim 1 to have non-zero size/);
        assert.deepEqual(e.amax(0).shape, [0], 'reducing a non-empty dim of an empty tensor is fine');
        assert.deepEqual(nb.zeros([0, 3]).amax(1).shape, [0]);
      }),
    );

    test(
      'a Tensor whose layout reaches outside its storage is refused before any kernel runs',
      run(() => {
        const st = new Storage(new Float32Array(6));
        const T = (shape: number[], strides: number[], offset = 0) =>
          new nb.Tensor(st, new Layout(shape, strides, offset), 'float32');
        assert.throws(
          () => T([2, 3], [3, 1], 1),
          /Tensor: Layout\(shape=\[2,3\], strides=\[3,1\], offset=1\): the layout reaches element 6 but the storage has 6 elements/,
        );
        assert.throws(() => T([2, 3], [4, 1]), /reaches element 6 but the storage has 6/);
        assert.throws(() => T([2, 3], [-3, 1]), /reaches element -3, before the start of the storage/);
        assert.throws(() => T([2], [1], -1), /offset must be a non-negative integer/);
        assert.throws(() => T([2], [1], 0.5), /offset must be a non-negative integer/);
        assert.throws(() => T([2, 3], [3]), /shape and strides must be arrays of the same length/);
        assert.throws(() => T([-1], [1]), /size -1 at dim 0 is not a non-negative integer/);
        assert.throws(() => T([2], [NaN]), /stride NaN at dim 0 is not an integer/);
        assert.throws(
          () => new nb.Tensor(st, Layout.contiguous([6]), 'int32'),
          /dtype int32 needs a Int32Array storage, got a Float32Array/,
        );
        // legal layouts: views with negative strides inside the storage, broadcast strides, empty shapes
        assert.deepEqual(T([2, 3], [-3, 1], 3).shape, [2, 3]);
        assert.equal(T([4, 3], [0, 1]).sum().item(), 0);
        assert.equal(T([0, 100], [100, 1], 6).numel(), 0);
      }),
    );
  });
}
