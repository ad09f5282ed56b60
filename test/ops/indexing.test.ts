// Conformance: indexing ops on every backend, against hand-computed values: gather/scatter/scatterAdd,
// indexSelect, maskedFill/maskedSelect, tril/triu, pad (constant/reflect/replicate/circular), oneHot,
// topk and sort/argsort (stable, NaN largest), with negative indices and non-contiguous operands.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import { backends, withBackend } from '../helpers/backends.js';

const I = (v: unknown) => nb.tensor(v as number[], { dtype: 'int32' });
const F = (v: unknown) => nb.tensor(v as number[]);
const grid = (...shape: number[]) =>
  nb
    .arange(shape.reduce((p, q) => p * q, 1))
    .float()
    .view(shape);

for (const be of backends()) {
  describe(`indexing [${be}]`, () => {
    const run = (fn: () => void) => () => withBackend(be, fn);

    test(
      'gather along each dim, negative indices, non-contiguous input and index',
      run(() => {
        const x = grid(3, 4);
        assert.deepEqual(x.gather(0, I([[2, 0, 1, 1]])).toArray(), [[8, 1, 6, 7]]);
        assert.deepEqual(
          x
            .gather(
              1,
              I([
                [3, 0],
                [3, 1],
                [2, 2],
              ]),
            )
            .toArray(),
          [
            [3, 0],
            [7, 5],
            [10, 10],
          ],
        );
        // issue 24: a negative index raises, as torch.gather does (it used to wrap)
        assert.throws(
          () =>
            x.gather(
              1,
              I([
                [3, 0],
                [-1, 1],
                [2, 2],
              ]),
            ),
          /gather: index -1 is out of bounds for dimension 1 with size 4/,
        );
        assert.deepEqual(
          x
            .t()
            .gather(
              1,
              I([
                [0, 2],
                [1, 1],
              ]),
            )
            .toArray(),
          [
            [0, 8],
            [5, 5],
          ],
        );
        const idx = I([
          [0, 1, 2],
          [2, 1, 0],
        ]).t(); // non-contiguous index (3,2)
        assert.deepEqual(x.gather(1, idx).toArray(), [
          [0, 2],
          [5, 5],
          [10, 8],
        ]);
        assert.equal(x.gather(1, idx).dtype, 'float32');
        assert.deepEqual(
          I([
            [5, 6],
            [7, 8],
          ])
            .gather(1, I([[1], [0]]))
            .toArray(),
          [[6], [7]],
        );
        assert.throws(
          () => x.gather(1, I([0, 1])),
          /gather: index tensor must have the same number of dimensions as input tensor \(index \[2\], input \[3, 4\]\)/,
        );
        assert.throws(() => x.gather(0, I([[3]])), /gather: index 3 is out of bounds for dimension 0 with size 3/);
        assert.deepEqual(
          x.gather(0, I([[0], [1], [2], [0]])).toArray(),
          [[0], [4], [8], [0]],
          'index may be longer than input along dim',
        );
        assert.throws(
          () => x.gather(0, I([[0, 0, 0, 0, 0]])),
          /gather: size of index \[1, 5\] does not match input \[3, 4\] at dimension 1 \(dim 0 excepted\)/,
        );
      }),
    );

    test(
      'scatter and scatterAdd copy, accumulate duplicates, accept scalars and larger src',
      run(() => {
        const x = nb.zeros([3, 4]);
        const idx = I([
          [0, 1, 2, 0],
          [2, 0, 0, 1],
        ]);
        const src = grid(2, 4).add(1);
        assert.deepEqual(x.scatter(0, idx, src).toArray(), [
          [1, 6, 7, 4],
          [0, 2, 0, 8],
          [5, 0, 3, 0],
        ]);
        assert.deepEqual(
          x.toArray(),
          [
            [0, 0, 0, 0],
            [0, 0, 0, 0],
            [0, 0, 0, 0],
          ],
          'out of place',
        );
        assert.deepEqual(
          nb
            .scatterAdd(
              x,
              0,
              I([
                [0, 0, 0, 0],
                [0, 0, 0, 2],
              ]),
              src,
            )
            .toArray(),
          [
            [6, 8, 10, 4],
            [0, 0, 0, 0],
            [0, 0, 0, 8],
          ],
        );
        assert.deepEqual(x.scatter(1, I([[3], [3], [0]]), 9).toArray(), [
          [0, 0, 0, 9],
          [0, 0, 0, 9],
          [9, 0, 0, 0],
        ]);
        assert.throws(
          () => x.scatter(1, I([[3], [-1], [0]]), 9),
          /scatter: index -1 is out of bounds for dimension 1 with size 4/,
        );
        assert.throws(
          () => x.scatterAdd(1, I([[-5]]), nb.ones([1, 1])),
          /scatterAdd: index -5 is out of bounds for dimension 1 with size 4/,
        );
        // src larger than index: only the index-shaped corner is used
        const big = grid(2, 5);
        assert.deepEqual(
          nb
            .zeros([2, 3])
            .scatter(
              1,
              I([
                [2, 0],
                [1, 2],
              ]),
              big,
            )
            .toArray(),
          [
            [1, 0, 0],
            [0, 5, 6],
          ],
        );
        assert.deepEqual(
          nb
            .zeros([2, 3])
            .scatterAdd(
              1,
              I([
                [2, 2],
                [1, 1],
              ]),
              big,
            )
            .toArray(),
          [
            [0, 0, 1],
            [0, 11, 0],
          ],
        );
        // non-contiguous self and src
        assert.deepEqual(
          grid(4, 3)
            .t()
            .scatter(0, I([[1, 0]]), F([[-1, -2]]))
            .toArray(),
          [
            [0, -2, 6, 9],
            [-1, 4, 7, 10],
            [2, 5, 8, 11],
          ],
        );
        assert.throws(
          () => x.scatter(0, I([[3, 0, 0, 0]]), src),
          /scatter: index 3 is out of bounds for dimension 0 with size 3/,
        );
        assert.throws(
          () => x.scatter(0, I([[0, 0, 0, 0, 0]]), src),
          /scatter: size of index \[1, 5\] does not match input \[3, 4\]|scatter: expected index/,
        );
      }),
    );

    test(
      'indexSelect and maskedFill / maskedSelect',
      run(() => {
        const x = grid(3, 4);
        assert.deepEqual(x.indexSelect(1, I([3, 0, 3])).toArray(), [
          [3, 0, 3],
          [7, 4, 7],
          [11, 8, 11],
        ]);
        assert.throws(
          () => x.indexSelect(1, I([3, 0, -1])),
          /indexSelect: index -1 is out of bounds for dimension 1 with size 4/,
        );
        assert.throws(
          () => x.indexSelect(0, I([3])),
          /indexSelect: index 3 is out of bounds for dimension 0 with size 3/,
        );
        // NumPy-style index() still counts negatives from the end, as x[tensor([-1])] does in torch
        assert.deepEqual(x.index(null, I([-1, 0])).shape, [1, 2, 4]);
        assert.deepEqual(x.index('...', I([3, 0, -1])).toArray(), [
          [3, 0, 3],
          [7, 4, 7],
          [11, 8, 11],
        ]);
        assert.throws(() => x.index(I([-4])), /index: index -4 is out of bounds for dimension 0 with size 3/);
        assert.deepEqual(nb.indexSelect(x, 0, I([2, 2])).toArray(), [
          [8, 9, 10, 11],
          [8, 9, 10, 11],
        ]);
        assert.deepEqual(
          x
            .t()
            .indexSelect(0, I([1]))
            .toArray(),
          [[1, 5, 9]],
        );
        assert.deepEqual(x.indexSelect(0, I([])).shape, [0, 4]);
        assert.throws(
          () => x.indexSelect(0, I([[0]])),
          /indexSelect: index should have 1 dimension, got shape \[1, 1\]/,
        );
        const m = nb.tensor([[true, false, false, true]]);
        assert.deepEqual(x.maskedFill(m, -1).toArray(), [
          [-1, 1, 2, -1],
          [-1, 5, 6, -1],
          [-1, 9, 10, -1],
        ]);
        assert.deepEqual(x.maskedFill(x.gt(9), Infinity).select(0, 2).toArray(), [8, 9, Infinity, Infinity]);
        assert.deepEqual(
          I([1, 2])
            .maskedFill(nb.tensor([false, true]), 7)
            .toArray(),
          [1, 7],
        );
        assert.equal(I([1, 2]).maskedFill(nb.tensor([false, true]), 7).dtype, 'int32');
        assert.deepEqual(x.maskedSelect(m).toArray(), [0, 3, 4, 7, 8, 11]);
        assert.throws(() => x.maskedFill(x, 0), /maskedFill: expected mask to be a bool tensor, got float32/);
      }),
    );

    test(
      'tril and triu with diagonals, batched and non-square',
      run(() => {
        const x = grid(3, 4).add(1);
        assert.deepEqual(x.tril().toArray(), [
          [1, 0, 0, 0],
          [5, 6, 0, 0],
          [9, 10, 11, 0],
        ]);
        assert.deepEqual(x.tril(-1).toArray(), [
          [0, 0, 0, 0],
          [5, 0, 0, 0],
          [9, 10, 0, 0],
        ]);
        assert.deepEqual(x.triu(1).toArray(), [
          [0, 2, 3, 4],
          [0, 0, 7, 8],
          [0, 0, 0, 12],
        ]);
        assert.deepEqual(nb.triu(x, -1).toArray(), [
          [1, 2, 3, 4],
          [5, 6, 7, 8],
          [0, 10, 11, 12],
        ]);
        const b = nb.ones([2, 2, 2]).tril();
        assert.deepEqual(b.toArray(), [
          [
            [1, 0],
            [1, 1],
          ],
          [
            [1, 0],
            [1, 1],
          ],
        ]);
        assert.equal(nb.ones([2, 2], { dtype: 'int32' }).triu().dtype, 'int32');
        assert.deepEqual(nb.ones([3, 3], { dtype: 'bool' }).tril().toArray(), [
          [true, false, false],
          [true, true, false],
          [true, true, true],
        ]);
        assert.throws(() => nb.ones([3]).tril(), /tril: input tensor must have at least 2 dimensions, got shape \[3\]/);
      }),
    );

    test(
      'pad: constant (incl. negative), reflect, replicate, circular',
      run(() => {
        const x = F([
          [1, 2, 3],
          [4, 5, 6],
        ]);
        assert.deepEqual(nb.pad(x, [1, 2]).toArray(), [
          [0, 1, 2, 3, 0, 0],
          [0, 4, 5, 6, 0, 0],
        ]);
        assert.deepEqual(nb.pad(x, [0, 0, 1, 0], 'constant', 9).toArray(), [
          [9, 9, 9],
          [1, 2, 3],
          [4, 5, 6],
        ]);
        assert.deepEqual(nb.pad(x, [-1, 1]).toArray(), [
          [2, 3, 0],
          [5, 6, 0],
        ]);
        assert.deepEqual(nb.pad(x, [2, 2], 'reflect').toArray(), [
          [3, 2, 1, 2, 3, 2, 1],
          [6, 5, 4, 5, 6, 5, 4],
        ]);
        assert.deepEqual(nb.pad(x, [0, 0, 1, 1], 'reflect').toArray(), [
          [4, 5, 6],
          [1, 2, 3],
          [4, 5, 6],
          [1, 2, 3],
        ]);
        assert.deepEqual(nb.pad(x, [2, 1], 'replicate').toArray(), [
          [1, 1, 1, 2, 3, 3],
          [4, 4, 4, 5, 6, 6],
        ]);
        assert.deepEqual(nb.pad(x, [1, 2], 'circular').toArray(), [
          [3, 1, 2, 3, 1, 2],
          [6, 4, 5, 6, 4, 5],
        ]);
        assert.deepEqual(nb.pad(x.t(), [1, 0], 'reflect').toArray(), [
          [4, 1, 4],
          [5, 2, 5],
          [6, 3, 6],
        ]);
        assert.throws(
          () => nb.pad(x, [3, 0], 'reflect'),
          /pad: padding size should be less than the corresponding input dimension, but got padding \(3, 0\) at dimension 1 of input \[2, 3\]/,
        );
        assert.throws(
          () => nb.pad(x, [1]),
          /pad: padding length must be even and at most 2\*ndim \(got 1 for shape \[2, 3\]\)/,
        );
      }),
    );

    test(
      'oneHot',
      run(() => {
        assert.deepEqual(nb.oneHot(I([0, 2, 1])).toArray(), [
          [1, 0, 0],
          [0, 0, 1],
          [0, 1, 0],
        ]);
        assert.deepEqual(nb.oneHot(I([[1], [3]]), 4).shape, [2, 1, 4]);
        assert.equal(nb.oneHot(I([1])).dtype, 'int32');
        assert.throws(() => nb.oneHot(I([4]), 3), /oneHot: class values must be in \[0, 3\), got 4/);
        assert.throws(() => nb.oneHot(F([1])), /oneHot: expected an int32 tensor of class indices, got float32/);
      }),
    );

    test(
      'sort and argsort: stable in both directions, NaN largest, along any dim',
      run(() => {
        const x = F([3, 1, NaN, 2, 1, NaN, 2]);
        const s = x.sort();
        assert.deepEqual(s.values.toArray(), [1, 1, 2, 2, 3, NaN, NaN]);
        assert.deepEqual(s.indices.toArray(), [1, 4, 3, 6, 0, 2, 5]);
        const d = x.sort(0, true);
        assert.deepEqual(d.values.toArray(), [NaN, NaN, 3, 2, 2, 1, 1]);
        assert.deepEqual(d.indices.toArray(), [2, 5, 0, 3, 6, 1, 4]);
        assert.deepEqual(nb.argsort(x).toArray(), [1, 4, 3, 6, 0, 2, 5]);
        assert.deepEqual(x.argsort(0, true).toArray(), [2, 5, 0, 3, 6, 1, 4]);
        const m = F([
          [3, 1],
          [1, 2],
          [2, 0],
        ]);
        assert.deepEqual(m.sort(0).values.toArray(), [
          [1, 0],
          [2, 1],
          [3, 2],
        ]);
        assert.deepEqual(m.sort(0).indices.toArray(), [
          [1, 2],
          [2, 0],
          [0, 1],
        ]);
        assert.deepEqual(m.t().sort(-1, true).values.toArray(), [
          [3, 2, 1],
          [2, 1, 0],
        ]);
        assert.deepEqual(I([3, -1, 2]).sort().values.toArray(), [-1, 2, 3]);
        assert.equal(I([3, -1, 2]).sort().values.dtype, 'int32');
        assert.deepEqual(F([-0, 0, -Infinity, Infinity]).sort().values.toArray(), [-Infinity, -0, 0, Infinity]);
        assert.deepEqual(F(5).sort().values.toArray(), 5);
        // stability on a long row with many ties
        const n = 200;
        const keys = Array.from({ length: n }, (_, i) => i % 3);
        const idx = F(keys).argsort().toArray() as number[];
        const want = [...Array(n).keys()].sort((a, b) => keys[a] - keys[b] || a - b);
        assert.deepEqual(idx, want);
      }),
    );

    test(
      'topk: largest and smallest, along dims, k = 0 and k = n',
      run(() => {
        const x = F([
          [1, 5, 3, 5],
          [0, -1, 7, 2],
        ]);
        const t = x.topk(2);
        assert.deepEqual(t.values.toArray(), [
          [5, 5],
          [7, 2],
        ]);
        assert.deepEqual(t.indices.toArray(), [
          [1, 3],
          [2, 3],
        ]);
        const s = x.topk(1, 1, false);
        assert.deepEqual(s.values.toArray(), [[1], [-1]]);
        assert.deepEqual(s.indices.toArray(), [[0], [1]]);
        assert.deepEqual(nb.topk(x, 1, 0).values.toArray(), [[1, 5, 7, 5]]);
        assert.deepEqual(x.topk(0).values.shape, [2, 0]);
        assert.deepEqual(x.topk(4).values.toArray(), [
          [5, 5, 3, 1],
          [7, 2, 0, -1],
        ]);
        assert.deepEqual(F([1, NaN, 3]).topk(1).values.toArray(), [NaN]);
        assert.throws(() => x.topk(5), /topk: k \(5\) is out of range for dimension -1 of size 4 \(shape \[2, 4\]\)/);
      }),
    );

    test(
      'topk/sort/max/min/kthvalue results destructure as [values, indices] and have .values/.indices',
      run(() => {
        const x = F([
          [1, 5, 3, 4],
          [0, -1, 7, 2],
        ]);
        const [v, i] = x.topk(2);
        assert.deepEqual(v.toArray(), [
          [5, 4],
          [7, 2],
        ]);
        assert.deepEqual(i.toArray(), [
          [1, 3],
          [2, 3],
        ]);
        const r = x.topk(2);
        assert.equal(r[0], r.values);
        assert.equal(r[1], r.indices);
        assert.equal(r.length, 2);
        assert.deepEqual(
          [...x.sort(1)].map((t) => t.toArray()),
          [
            [
              [1, 3, 4, 5],
              [-1, 0, 2, 7],
            ],
            [
              [0, 2, 3, 1],
              [1, 0, 3, 2],
            ],
          ],
        );
        const [mv, mi] = x.max(1);
        assert.deepEqual(
          [mv.toArray(), mi.toArray()],
          [
            [5, 7],
            [1, 2],
          ],
        );
        const [nv, ni] = nb.min(x, 0, true);
        assert.deepEqual([nv.toArray(), ni.toArray()], [[[0, -1, 3, 2]], [[1, 1, 0, 1]]]);
        const { values, indices } = nb.sort(x, 0, true);
        assert.deepEqual(
          [values.toArray(), indices.toArray()],
          [
            [
              [1, 5, 7, 4],
              [0, -1, 3, 2],
            ],
            [
              [0, 0, 1, 0],
              [1, 1, 0, 1],
            ],
          ],
        );
        assert.ok(x.topk(1) instanceof nb.ValuesIndices);
      }),
    );

    test(
      'kthvalue: k-th smallest along a dim, keepdim, gradient to the chosen element, errors',
      run(() => {
        const x = F([
          [1, 5, 3, 4],
          [0, -1, 7, 2],
        ]);
        const [v, i] = x.kthvalue(2);
        assert.deepEqual(
          [v.toArray(), i.toArray()],
          [
            [3, 0],
            [2, 0],
          ],
        );
        const k = nb.kthvalue(x, 1, 0, true);
        assert.deepEqual([k.values.toArray(), k.indices.toArray()], [[[0, -1, 3, 2]], [[1, 1, 0, 1]]]);
        assert.deepEqual(F(4).kthvalue(1).values.toArray(), 4);
        const w = F([3, 1, 2]).requiresGrad_();
        w.kthvalue(2).values.backward();
        assert.deepEqual(w.grad!.toArray(), [0, 0, 1]);
        assert.throws(
          () => x.kthvalue(5),
          /kthvalue\(\): selected number k \(5\) out of range for dimension -1 of size/,
        );
        assert.throws(() => x.kthvalue(0, 0), /kthvalue\(\): selected number k \(0\) out of range/);
      }),
    );
  });
}
