// Conformance: matrix products on every backend (PyTorch semantics): 1-D, 2-D, batched with
// broadcast batch dims, bmm/mm/mv/dot/outer, transposed and strided operands, empty dims, and
// random shapes against a naive float64 triple loop.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/assert.js';
import { backends, withBackend } from '../helpers/backends.js';

const F = (v: unknown) => nb.tensor(v as number[]);
const grid = (...shape: number[]) =>
  nb
    .arange(shape.reduce((p, q) => p * q, 1))
    .float()
    .view(shape);

/** Naive (B,M,K) @ (B,K,N) over nested arrays, in float64. */
function naive(a: number[][][], b: number[][][]): number[][][] {
  return a.map((am, i) => am.map((row) => b[i][0].map((_, n) => row.reduce((s, v, k) => s + v * b[i][k][n], 0))));
}

for (const be of backends()) {
  describe(`matmul [${be}]`, () => {
    const run = (fn: () => void) => () => withBackend(be, fn);
    const a = () =>
        F([
          [1, 2, 3],
          [4, 5, 6],
        ]),
      b = () =>
        F([
          [1, 0],
          [0, 1],
          [2, -1],
        ]);

    test(
      '2-D, 1-D and mixed ranks',
      run(() => {
        assert.deepEqual(a().matmul(b()).toArray(), [
          [7, -1],
          [16, -1],
        ]);
        assert.deepEqual(nb.mm(a(), b()).toArray(), [
          [7, -1],
          [16, -1],
        ]);
        assert.deepEqual(
          F([1, 2, 3])
            .matmul(F([4, 5, 6]))
            .toArray(),
          32,
        );
        assert.deepEqual(F([1, 2, 3]).matmul(F([4, 5, 6])).shape, []);
        assert.deepEqual(F([1, -1]).matmul(a()).toArray(), [-3, -3, -3]);
        assert.deepEqual(
          a()
            .matmul(F([1, 0, -1]))
            .toArray(),
          [-2, -2],
        );
        assert.deepEqual(nb.mv(a(), F([1, 1, 1])).toArray(), [6, 15]);
        assert.deepEqual(nb.dot(F([1, 2]), F([3, 4])).toArray(), 11);
        assert.deepEqual(
          F([1, 2])
            .outer(F([3, 4, 5]))
            .toArray(),
          [
            [3, 4, 5],
            [6, 8, 10],
          ],
        );
        assert.deepEqual(nb.addmm(F([10, 20]), a(), b()).toArray(), [
          [17, 19],
          [26, 19],
        ]);
      }),
    );

    test(
      'batched with broadcast batch dims, and rank mixes',
      run(() => {
        const x = grid(2, 1, 2, 3),
          y = grid(3, 3, 2); // -> (2,3,2,2)
        const r = x.matmul(y);
        assert.deepEqual(r.shape, [2, 3, 2, 2]);
        const want = naive(
          x.expand(2, 3, 2, 3).reshape(6, 2, 3).toArray() as number[][][],
          y.expand(2, 3, 3, 2).reshape(6, 3, 2).toArray() as number[][][],
        );
        assert.deepEqual(r.reshape(6, 2, 2).toArray(), want);
        assert.deepEqual(
          F([1, 1, 1])
            .matmul(grid(2, 3, 2))
            .toArray(),
          [
            [6, 9],
            [24, 27],
          ],
        );
        assert.deepEqual(
          grid(2, 2, 3)
            .matmul(F([1, 0, 0]))
            .toArray(),
          [
            [0, 3],
            [6, 9],
          ],
        );
        assert.deepEqual(grid(2, 3).matmul(grid(4, 3, 1)).shape, [4, 2, 1]);
        assert.deepEqual(nb.bmm(grid(2, 2, 3), grid(2, 3, 2)).toArray(), [
          [
            [10, 13],
            [28, 40],
          ],
          [
            [172, 193],
            [244, 274],
          ],
        ]);
        assert.deepEqual(nb.matmul(nb.ones([1, 2, 3]), nb.ones([5, 3, 4])).shape, [5, 2, 4]);
      }),
    );

    test(
      'transposed, strided and offset operands',
      run(() => {
        const m = grid(4, 3);
        const want = naive([m.t().toArray() as number[][]], [m.toArray() as number[][]])[0];
        assert.deepEqual(m.t().matmul(m).toArray(), want);
        assert.deepEqual(m.t().contiguous().matmul(m.t().t()).toArray(), want);
        const s = grid(3, 8).slice(1, 1, null, 2); // (3,4), stride 2, offset 1
        assert.deepEqual(s.matmul(m).toArray(), naive([s.toArray() as number[][]], [m.toArray() as number[][]])[0]);
        const e = F([1, 2, 3]).expand(2, 3); // stride-0 rows
        assert.deepEqual(e.matmul(m.t()).toArray(), [
          [8, 26, 44, 62],
          [8, 26, 44, 62],
        ]);
        const bt = grid(2, 4, 3).transpose(1, 2); // (2,3,4) batched transpose
        assert.deepEqual(
          grid(2, 2, 3).matmul(bt).toArray(),
          naive(grid(2, 2, 3).toArray() as number[][][], bt.toArray() as number[][][]),
        );
      }),
    );

    test(
      'random shapes against a naive float64 product',
      run(() => {
        const g = new nb.Generator(11);
        for (const [M, K, N] of [
          [1, 1, 1],
          [5, 7, 3],
          [17, 33, 9],
          [2, 64, 65],
          [31, 1, 8],
        ]) {
          for (const dtype of ['float32', 'float64'] as const) {
            const x = g.normal([2, M, K], 0, 1, dtype),
              y = g.normal([2, K, N], 0, 1, dtype);
            const want = naive(x.toArray() as number[][][], y.toArray() as number[][][]);
            assertClose(
              x.matmul(y),
              want,
              { rtol: dtype === 'float32' ? 1e-5 : 1e-12, atol: dtype === 'float32' ? 1e-5 : 1e-12 },
              `${M}x${K}x${N} ${dtype}`,
            );
            assertClose(y.mT.matmul(x.mT), naive(y.mT.toArray() as number[][][], x.mT.toArray() as number[][][]), {
              rtol: 1e-5,
              atol: 1e-5,
            });
          }
        }
      }),
    );

    test(
      'empty dims and dtypes',
      run(() => {
        assert.deepEqual(
          nb
            .zeros([2, 0])
            .matmul(nb.zeros([0, 3]))
            .toArray(),
          [
            [0, 0, 0],
            [0, 0, 0],
          ],
        );
        assert.deepEqual(nb.zeros([0, 4]).matmul(nb.zeros([4, 3])).shape, [0, 3]);
        assert.equal(a().double().matmul(b().double()).dtype, 'float64');
        assert.throws(
          () => nb.tensor([[1]], { dtype: 'int32' }).matmul(nb.tensor([[1]], { dtype: 'int32' })),
          /matmul: only floating point tensors are supported, got int32/,
        );
      }),
    );

    test(
      'errors name the op and both shapes',
      run(() => {
        assert.throws(
          () => a().matmul(a()),
          /matmul: mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3; full shapes \[2, 3\] and \[2, 3\]\)/,
        );
        assert.throws(
          () => nb.matmul(nb.tensor(1), a()),
          /matmul: both arguments need to be at least 1D, but they are 0D and 2D/,
        );
        assert.throws(
          () => nb.matmul(grid(2, 2, 3), grid(3, 3, 2)),
          /matmul: shapes \[2\] and \[3\] cannot be broadcast together/,
        );
        assert.throws(() => nb.bmm(grid(2, 3), grid(3, 2)), /bmm: expected 3-D tensors, got \[2, 3\] and \[3, 2\]/);
        assert.throws(
          () => nb.bmm(grid(2, 2, 3), grid(3, 3, 2)),
          /bmm: batch sizes must match, got \[2, 2, 3\] and \[3, 3, 2\]/,
        );
        assert.throws(() => nb.mm(grid(3), grid(3, 2)), /mm: expected 2-D tensors, got \[3\] and \[3, 2\]/);
        assert.throws(
          () => nb.dot(grid(3), grid(4)),
          /dot: inconsistent tensor size, expected tensor \[3\] and src \[4\]/,
        );
        assert.throws(() => nb.dot(grid(1, 3), grid(3)), /dot: 1D tensors expected, but got 2D and 1D tensors/);
        assert.throws(() => nb.outer(grid(1, 3), grid(3)), /outer: 1D tensors expected, got \[1, 3\] and \[3\]/);
        assert.throws(() => nb.mv(grid(3), grid(3)), /mv: expected a 2-D matrix and a 1-D vector, got \[3\] and \[3\]/);
      }),
    );
  });
}

export type { Tensor };
