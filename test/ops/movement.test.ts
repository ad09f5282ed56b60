// Conformance: views and joins on every backend. Views (view/reshape/permute/transpose/expand/
// squeeze/unsqueeze/flatten/unflatten/narrow/slice/select/contiguous) share storage and change only
// the layout; joins copy. Storage identity and write-through are checked, not just values.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { backends, withBackend } from '../helpers/backends.js';

const grid = (...shape: number[]) =>
  nb
    .arange(shape.reduce((p, q) => p * q, 1))
    .float()
    .view(shape);

/** A view: same Storage object, and a write through the base shows in the view. */
function assertView(base: Tensor, v: Tensor, what: string): void {
  assert.equal(v.storage, base.storage, `${what} shares storage`);
  const before = v.toTypedArray().slice();
  nb.noGrad(() => base.add_(1000));
  const after = v.toTypedArray();
  for (let i = 0; i < before.length; i++) assert.equal(after[i], before[i] + 1000, `${what} sees the write at ${i}`);
  nb.noGrad(() => base.sub_(1000));
}

for (const be of backends()) {
  describe(`views and joins [${be}]`, () => {
    const run = (fn: () => void) => () => withBackend(be, fn);

    test(
      'view, reshape, flatten, unflatten',
      run(() => {
        const x = grid(2, 3, 4);
        const v = x.view(6, 4);
        assert.deepEqual(v.shape, [6, 4]);
        assert.deepEqual(v.stride(), [4, 1]);
        assertView(x, v, 'view');
        assert.deepEqual(x.view(-1, 12).shape, [2, 12]);
        assert.deepEqual(x.view([4, -1]).shape, [4, 6]);
        assertView(x, x.reshape(3, 8), 'reshape of contiguous');
        assertView(x, x.flatten(), 'flatten');
        assert.deepEqual(x.flatten(1).shape, [2, 12]);
        assert.deepEqual(x.flatten(0, 1).shape, [6, 4]);
        assertView(x, x.unflatten(2, [2, 2]), 'unflatten');
        assert.deepEqual(x.unflatten(-1, [2, -1]).shape, [2, 3, 2, 2]);
        assert.deepEqual(nb.tensor(5).flatten().shape, [1]);
        // a transposed tensor: view of compatible dims works, reshape copies otherwise
        const t = x.transpose(1, 2); // (2,4,3) strides (12,1,4)
        assertView(x, t.view(2, 4, 3, 1), 'view with a new size-1 dim');
        const r = t.reshape(2, 12);
        assert.notEqual(r.storage, x.storage, 'reshape of a non-viewable layout copies');
        assert.deepEqual(r.toArray(), [
          [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11],
          [12, 16, 20, 13, 17, 21, 14, 18, 22, 15, 19, 23],
        ]);
        assert.throws(
          () => t.view(2, 12),
          /view: view size is not compatible with input tensor's size and stride \(input shape \[2, 4, 3\], strides \[12, 1, 4\], requested \[2, 12\]\); use .reshape/,
        );
        assert.throws(() => x.view(-1, -1), /view: only one dimension can be inferred/);
        assert.throws(() => x.view(5, -1), /view: shape \[5, -1\] is invalid for input of size 24/);
        assert.throws(
          () => x.unflatten(1, [2, 2]),
          /unflatten: provided sizes \[2, 2\] don't multiply up to the size of dim 1 \(3\)/,
        );
        // view of a sliced (offset, strided) tensor keeps the offset
        const s = x.select(0, 1).slice(1, 1, 3); // (3,2) at offset 13
        assertView(x, s.unsqueeze(0).squeeze(0), 'squeeze/unsqueeze of a slice');
        assert.deepEqual(s.t().contiguous().view(6).toArray(), [13, 17, 21, 14, 18, 22]);
      }),
    );

    test(
      'permute, transpose, T, mT, t',
      run(() => {
        const x = grid(2, 3, 4);
        const p = x.permute(2, 0, 1);
        assert.deepEqual(p.shape, [4, 2, 3]);
        assert.deepEqual(p.stride(), [1, 12, 4]);
        assertView(x, p, 'permute');
        assert.equal(p.isContiguous(), false);
        assert.deepEqual(p.select(0, 1).toArray(), [
          [1, 5, 9],
          [13, 17, 21],
        ]);
        assertView(x, x.transpose(0, -1), 'transpose');
        assert.deepEqual(x.T.shape, [4, 3, 2]);
        assert.deepEqual(x.mT.shape, [2, 4, 3]);
        assert.deepEqual(grid(2, 3).t().toArray(), [
          [0, 3],
          [1, 4],
          [2, 5],
        ]);
        assert.deepEqual(nb.permute(x, [-1, 0, 1]).shape, [4, 2, 3]);
        assert.throws(
          () => x.permute(0, 1),
          /permute: number of dims don't match \(input has 3 dims, permutation \[0, 1\]\)/,
        );
        assert.throws(() => x.permute(0, 1, 1), /permute: repeated dim in permutation \[0, 1, 1\]/);
        assert.throws(() => x.t(), /t: expects a tensor with <= 2 dimensions, but self is 3D/);
      }),
    );

    test(
      'expand and broadcastTo are stride-0 views',
      run(() => {
        const x = grid(3, 1);
        const e = x.expand(2, 3, 4);
        assert.deepEqual(e.shape, [2, 3, 4]);
        assert.deepEqual(e.stride(), [0, 1, 0]);
        assertView(x, e, 'expand');
        assert.deepEqual(x.expand(-1, 2).toArray(), [
          [0, 0],
          [1, 1],
          [2, 2],
        ]);
        assert.deepEqual(nb.broadcastTo(nb.tensor([1, 2]), [2, 2]).toArray(), [
          [1, 2],
          [1, 2],
        ]);
        assert.deepEqual(x.expandAs(nb.zeros([3, 5])).shape, [3, 5]);
        assert.throws(
          () => x.expand(2, 1),
          /expand: cannot expand shape \[3, 1\] to \[2, 1\] \(size 3 at dim 0 must be 1 or 2\)/,
        );
        assert.throws(
          () => x.expand(4),
          /expand: the number of sizes provided \(1\) must be greater or equal to the number of dimensions in the tensor \(2\)/,
        );
      }),
    );

    test(
      'squeeze and unsqueeze',
      run(() => {
        const x = grid(1, 3, 1, 2);
        assert.deepEqual(x.squeeze().shape, [3, 2]);
        assert.deepEqual(x.squeeze(0).shape, [3, 1, 2]);
        assert.deepEqual(x.squeeze([0, 2]).shape, [3, 2]);
        assert.deepEqual(x.squeeze(1).shape, [1, 3, 1, 2], 'squeezing a dim of size 3 is a no-op');
        assertView(x, x.squeeze(), 'squeeze');
        assert.deepEqual(x.squeeze().unsqueeze(-1).shape, [3, 2, 1]);
        assert.deepEqual(x.squeeze().unsqueeze(0).shape, [1, 3, 2]);
        assertView(x, x.unsqueeze(4), 'unsqueeze');
        assert.deepEqual(nb.tensor(7).unsqueeze(0).toArray(), [7]);
        assert.throws(
          () => x.unsqueeze(6),
          /unsqueeze: dimension out of range \(expected to be in range of \[-5, 4\], but got 6\)/,
        );
      }),
    );

    test(
      'narrow, slice with step, select, index',
      run(() => {
        const x = grid(4, 5);
        const n = x.narrow(1, 1, 3);
        assert.deepEqual(n.toArray(), [
          [1, 2, 3],
          [6, 7, 8],
          [11, 12, 13],
          [16, 17, 18],
        ]);
        assertView(x, n, 'narrow');
        assert.deepEqual(x.narrow(0, -2, 2).toArray(), [
          [10, 11, 12, 13, 14],
          [15, 16, 17, 18, 19],
        ]);
        const s = x.slice(1, 0, null, 2);
        assert.deepEqual(s.stride(), [5, 2]);
        assert.deepEqual(s.toArray(), [
          [0, 2, 4],
          [5, 7, 9],
          [10, 12, 14],
          [15, 17, 19],
        ]);
        assertView(x, s, 'slice with step');
        assert.deepEqual(x.slice(0, 1, -1, 2).toArray(), [[5, 6, 7, 8, 9]]);
        assert.deepEqual(x.slice(1, -2).toArray(), [
          [3, 4],
          [8, 9],
          [13, 14],
          [18, 19],
        ]);
        assert.deepEqual(x.slice(1, 7, 9).shape, [4, 0]);
        assert.deepEqual(x.slice(0, 3, 1).shape, [0, 5]);
        const sel = x.select(1, -1);
        assert.deepEqual(sel.toArray(), [4, 9, 14, 19]);
        assertView(x, sel, 'select');
        assert.deepEqual(x.select(0, 2).select(0, 3).toArray(), 13);
        assertView(x, x.index(1, [null, null, 2]), 'index with numbers and slices');
        assert.deepEqual(x.index('...', 0).toArray(), [0, 5, 10, 15]);
        assert.deepEqual(x.index(null, 3).shape, [1, 5]);
        assert.deepEqual(x.index(nb.tensor([3, 0], { dtype: 'int32' }), [1, 3]).toArray(), [
          [16, 17],
          [1, 2],
        ]);
        assert.deepEqual(x.index(x.gt(16)).toArray(), [17, 18, 19]);
        assert.throws(
          () => x.narrow(1, 3, 3),
          /narrow: start \(3\) \+ length \(3\) exceeds dimension size \(5\) of dim 1 in shape \[4, 5\]/,
        );
        assert.throws(() => x.slice(1, 0, 3, 0), /slice: step must be a positive integer, got 0/);
        assert.throws(() => x.select(0, -5), /select: index -5 is out of bounds for dimension 0 with size 4/);
        assert.throws(() => x.index(0, 0, 0), /index: too many indices for tensor of dimension 2 \(got 3\)/);
      }),
    );

    test(
      'contiguous: the same tensor when contiguous, a compact copy otherwise',
      run(() => {
        const x = grid(3, 4);
        assert.equal(x.contiguous(), x);
        const t = x.t();
        const c = t.contiguous();
        assert.notEqual(c.storage, x.storage);
        assert.equal(c.isContiguous(), true);
        assert.deepEqual(c.stride(), [3, 1]);
        assert.deepEqual(c.toArray(), t.toArray());
        const sl = x.narrow(0, 1, 2);
        assert.equal(sl.isContiguous(), true, 'a row slice is contiguous (with an offset)');
        assert.deepEqual(Array.from(sl.toTypedArray()), [4, 5, 6, 7, 8, 9, 10, 11]);
        assert.deepEqual(grid(2, 1, 3).permute(1, 0, 2).isContiguous(), true, 'size-1 dims may have any stride');
      }),
    );

    test(
      'cat and stack (dims, promotion, empty tensors)',
      run(() => {
        const a = grid(2, 3),
          b = grid(1, 3).add(10);
        assert.deepEqual(nb.cat([a, b]).toArray(), [
          [0, 1, 2],
          [3, 4, 5],
          [10, 11, 12],
        ]);
        assert.deepEqual(nb.cat([a, a.t().t()], 1).toArray(), [
          [0, 1, 2, 0, 1, 2],
          [3, 4, 5, 3, 4, 5],
        ]);
        assert.deepEqual(nb.cat([a.t(), b.t()], -1).toArray(), [
          [0, 3, 10],
          [1, 4, 11],
          [2, 5, 12],
        ]);
        assert.notEqual(nb.cat([a]).storage, a.storage, 'cat copies');
        const mixed = nb.cat([nb.tensor([1, 2], { dtype: 'int32' }), nb.tensor([0.5])]);
        assert.equal(mixed.dtype, 'float32');
        assert.deepEqual(mixed.toArray(), [1, 2, 0.5]);
        assert.deepEqual(nb.cat([nb.zeros([0]), nb.tensor([1, 2])]).toArray(), [1, 2]);
        assert.deepEqual(nb.cat([a, nb.zeros([0, 3])]).shape, [2, 3]);
        const s = nb.stack([a, a.mul(2)]);
        assert.deepEqual(s.shape, [2, 2, 3]);
        assert.deepEqual(
          nb
            .stack([a, a.mul(2)], 2)
            .select(2, 1)
            .toArray(),
          [
            [0, 2, 4],
            [6, 8, 10],
          ],
        );
        assert.deepEqual(nb.stack([nb.tensor(1), nb.tensor(2)]).toArray(), [1, 2]);
        assert.deepEqual(nb.stack([a, a], -1).shape, [2, 3, 2]);
        assert.throws(() => nb.cat([]), /cat: expected a non-empty list of Tensors/);
        assert.throws(
          () => nb.cat([a, b], 1),
          /cat: sizes of tensors must match except in dimension 1: expected \[2, 3\] but got \[1, 3\] for tensor number 1/,
        );
        assert.throws(() => nb.cat([a, a], 2), /cat: dimension out of range/);
      }),
    );

    test(
      'split, chunk, unbind are views',
      run(() => {
        const x = grid(5, 2);
        const parts = x.split(2);
        assert.deepEqual(
          parts.map((p) => p.shape[0]),
          [2, 2, 1],
        );
        parts.forEach((p, i) => {
          assertView(x, p, `split part ${i}`);
        });
        assert.deepEqual(parts[2].toArray(), [[8, 9]]);
        assert.deepEqual(
          nb.split(x, [1, 4]).map((p) => p.shape),
          [
            [1, 2],
            [4, 2],
          ],
        );
        assert.deepEqual(
          x.split(1, 1).map((p) => p.toArray()),
          [
            [[0], [2], [4], [6], [8]],
            [[1], [3], [5], [7], [9]],
          ],
        );
        assert.deepEqual(
          x.chunk(2).map((p) => p.shape[0]),
          [3, 2],
        );
        assert.deepEqual(
          grid(6)
            .chunk(4)
            .map((p) => p.shape[0]),
          [2, 2, 2],
          'torch.chunk(6, 4) gives 3 chunks of 2',
        );
        assert.deepEqual(nb.chunk(grid(5), 5).length, 5);
        const u = x.unbind(1);
        assert.deepEqual(
          u.map((t) => t.toArray()),
          [
            [0, 2, 4, 6, 8],
            [1, 3, 5, 7, 9],
          ],
        );
        assertView(x, u[1], 'unbind');
        assert.throws(
          () => x.split([1, 1]),
          /split: split_with_sizes expects split_sizes to sum exactly to 5 \(dim 0 of \[5, 2\]\), but got \[1, 1\]/,
        );
        assert.throws(() => x.chunk(0), /chunk: chunks must be a positive integer, got 0/);
      }),
    );

    test(
      'flip and repeat copy',
      run(() => {
        const x = grid(2, 3);
        const f = x.flip([1]);
        assert.deepEqual(f.toArray(), [
          [2, 1, 0],
          [5, 4, 3],
        ]);
        assert.notEqual(f.storage, x.storage);
        assert.deepEqual(x.flip([0, 1]).toArray(), [
          [5, 4, 3],
          [2, 1, 0],
        ]);
        assert.deepEqual(x.t().flip([0]).toArray(), [
          [2, 5],
          [1, 4],
          [0, 3],
        ]);
        assert.deepEqual(nb.tensor([1, 2]).repeat(2, 2).toArray(), [
          [1, 2, 1, 2],
          [1, 2, 1, 2],
        ]);
        assert.deepEqual(x.repeat(1, 2).toArray(), [
          [0, 1, 2, 0, 1, 2],
          [3, 4, 5, 3, 4, 5],
        ]);
        assert.deepEqual(x.repeat(2, 1, 1).shape, [2, 2, 3]);
        assert.throws(
          () => x.repeat(2),
          /repeat: number of repeat dims \(1\) can not be smaller than number of dimensions of tensor \(2\)/,
        );
      }),
    );

    test(
      'views of views keep the base, and detach is a view too',
      run(() => {
        const x = grid(3, 4);
        const v = x.t().narrow(0, 1, 2).unsqueeze(0);
        assert.ok(v.base === (x.base ?? x), 'a view of a view points at the first base');
        assert.equal(x.detach().storage, x.storage);
        assert.equal(x.clone().storage === x.storage, false);
      }),
    );
  });
}
