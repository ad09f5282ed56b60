// Behaviour and errors of the tensor API functions on every backend: einsum parsing and its errors,
// roll/meshgrid/lerp edge cases, isclose/allclose, tolist, unique, the seeded multinomial/bernoulli
// draws (same seed, same draws; frequencies near the probabilities) and nb.linalg's errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import { backends, withBackend } from '../helpers/backends.js';

const F = (v: unknown) => nb.tensor(v as number[]);
const D = (v: unknown) => nb.tensor(v as number[], { dtype: 'float64' });
const I = (v: unknown) => nb.tensor(v as number[], { dtype: 'int32' });
const grid = (...shape: number[]) =>
  nb
    .arange(shape.reduce((p, q) => p * q, 1))
    .float()
    .view(shape);

for (const be of backends()) {
  describe(`tensor API [${be}]`, () => {
    const run = (fn: () => void) => () => withBackend(be, fn);

    test(
      'einsum: explicit and implicit outputs, scalars, int32, operands as an array',
      run(() => {
        const a = grid(2, 3),
          b = grid(3, 4);
        assert.deepEqual(nb.einsum('ij,jk', a, b).toArray(), a.matmul(b).toArray());
        assert.deepEqual(nb.einsum(' i j , j k -> k i ', [a, b]).toArray(), a.matmul(b).t().toArray());
        assert.deepEqual(nb.einsum('ij->', a).toArray(), 15);
        assert.deepEqual(nb.einsum('ij', a).toArray(), a.toArray());
        assert.deepEqual(nb.einsum('ji', a).toArray(), a.t().toArray());
        assert.deepEqual(nb.einsum('i,i->', I([1, 2, 3]), I([4, 5, 6])).toArray(), 32);
        assert.equal(nb.einsum('i,i->', I([1, 2, 3]), I([4, 5, 6])).dtype, 'int32');
        assert.deepEqual(nb.einsum('...->...', F(2)).toArray(), 2);
        assert.deepEqual(nb.einsum('ij->j', nb.zeros([0, 2])).toArray(), [0, 0]);
      }),
    );

    test(
      'einsum: errors name the problem as torch does',
      run(() => {
        const a = grid(2, 3),
          b = grid(3, 4);
        assert.throws(
          () => nb.einsum('ij,jk', a),
          /einsum\(\): fewer operands were provided than specified in the equation/,
        );
        assert.throws(() => nb.einsum('ij', a, b), /einsum\(\): more operands were provided than specified/);
        assert.throws(
          () => nb.einsum('ijk', a),
          /subscripts in the equation \(3\) does not match the number of dimensions \(2\) for operand 0 and no/,
        );
        assert.throws(
          () => nb.einsum('ij,jk', a, grid(4, 5)),
          /einsum\(\): subscript j has size 4 for operand 1 which does not broadcast with previously seen size 3/,
        );
        assert.throws(() => nb.einsum('ij->ii', a), /output subscript i appears more than once in the output/);
        assert.throws(
          () => nb.einsum('ij->k', a),
          /output subscript k does not appear in the equation for any input operand/,
        );
        assert.throws(
          () => nb.einsum('ij,jk', a, b.double()),
          /einsum\(\): expected all operands to have the same dtype, got float32, float64/,
        );
        assert.throws(
          () => nb.einsum('i1', a),
          /einsum\(\): invalid subscript '1' in the subscripts of operand 0, subscripts must be in \[a-zA-Z\]/,
        );
        assert.throws(() => nb.einsum('...i...', a), /more than one ellipsis/);
        assert.throws(
          () => nb.einsum('ii', a),
          /einsum\(\): subscript i is repeated for operand 0 \(shape \[2, 3\]\) but the sizes don't match, 3 != 2/,
        );
        assert.throws(() => nb.einsum('ij', [1, 2] as never), /operand 0 is not a Tensor/);
      }),
    );

    test(
      'mode: smallest of the tied values, last index, 0-dim, errors',
      run(() => {
        const [v, i] = F([
          [1, 2, 2, 1, 3],
          [5, 5, 4, 4, 4],
        ]).mode();
        assert.deepEqual(
          [v.toArray(), i.toArray()],
          [
            [1, 4],
            [3, 4],
          ],
        );
        assert.deepEqual(nb.mode(F(2)).values.toArray(), 2);
        assert.throws(() => nb.mode(nb.zeros([2, 0])), /mode\(\): Expected reduction dim 1 to have non-zero size/);
      }),
    );

    test(
      'roll: wraps shifts, 0-dim and empty inputs, errors',
      run(() => {
        assert.deepEqual(nb.roll(nb.arange(5), 7).toArray(), [3, 4, 0, 1, 2]);
        assert.deepEqual(nb.roll(nb.arange(5), -1, 0).toArray(), [1, 2, 3, 4, 0]);
        assert.deepEqual(grid(2, 2).roll(1).toArray(), [
          [3, 0],
          [1, 2],
        ]);
        assert.deepEqual(F(3).roll(1).toArray(), 3);
        assert.deepEqual(nb.zeros([0, 2]).roll(1, 0).shape, [0, 2]);
        assert.throws(
          () => nb.roll(grid(2), [1, 2], [0]),
          /roll: shifts and dimensions must align. shifts: 2, dims: 1/,
        );
        assert.throws(() => nb.roll(grid(2), 1.5, 0), /roll: shifts must be integers, got 1.5/);
        assert.throws(() => nb.roll(grid(2), 1, 3), /roll/);
      }),
    );

    test(
      'meshgrid: ij and xy, 0-dim inputs, errors',
      run(() => {
        const [x, y] = nb.meshgrid(F([1, 2, 3]), F([4, 5]), { indexing: 'xy' });
        assert.deepEqual(x.toArray(), [
          [1, 2, 3],
          [1, 2, 3],
        ]);
        assert.deepEqual(y.toArray(), [
          [4, 4, 4],
          [5, 5, 5],
        ]);
        const [p, q] = nb.meshgrid(F([1, 2]), F(7));
        assert.deepEqual(
          [p.toArray(), q.toArray()],
          [
            [[1], [2]],
            [[7], [7]],
          ],
        );
        assert.deepEqual(nb.meshgrid([F([1, 2])], { indexing: 'xy' })[0].toArray(), [1, 2]);
        assert.throws(
          () => nb.meshgrid(grid(2, 2)),
          /meshgrid: expected 0D or 1D tensor in the tensor list but got \[2, 2\] for tensor 0/,
        );
        assert.throws(
          () => nb.meshgrid(F([1]), D([1])),
          /meshgrid: expects all tensors to have the same dtype, got float32, float64/,
        );
        assert.throws(
          () => nb.meshgrid(F([1]), { indexing: 'yx' as 'xy' }),
          /meshgrid: indexing must be one of 'xy' or 'ij', but received: yx/,
        );
        assert.throws(() => nb.meshgrid(), /meshgrid: expects a non-empty list of tensors/);
      }),
    );

    test(
      'lerp: scalar and tensor weights broadcast; dtype errors',
      run(() => {
        assert.deepEqual(nb.lerp(F([0, 10]), F([10, 20]), 0.5).toArray(), [5, 15]);
        assert.deepEqual(
          F([[0], [2]])
            .lerp(F([4, 6]), F([0.5, 1]))
            .toArray(),
          [
            [2, 6],
            [3, 6],
          ],
        );
        assert.throws(
          () => nb.lerp(F([1]), D([1]), 0.5),
          /lerp: expected dtype float32 for `end` but got dtype float64/,
        );
        assert.throws(
          () => nb.lerp(F([1]), F([1]), D([1])),
          /lerp: expected dtype float32 for `weight` but got dtype float64/,
        );
        assert.throws(() => nb.lerp(I([1]), I([1]), 0.5), /lerp: expected a floating point start tensor, got int32/);
      }),
    );

    test(
      'isclose / allclose: tolerances, infinities, NaN, int32 and bool, numbers, errors',
      run(() => {
        assert.deepEqual(nb.isclose(F([1, 1, Infinity, NaN]), F([1 + 1e-6, 1.1, Infinity, NaN])).toArray(), [
          true,
          false,
          true,
          false,
        ]);
        assert.deepEqual(
          F([NaN, 1])
            .isclose(F([NaN, 2]), { equalNan: true })
            .toArray(),
          [true, false],
        );
        assert.deepEqual(
          F([1, 2])
            .isclose(F([1.5, 2.5]), { atol: 0.5, rtol: 0 })
            .toArray(),
          [true, true],
        );
        assert.deepEqual(
          I([1, 2, 3])
            .isclose(I([1, 3, 3]))
            .toArray(),
          [true, false, true],
        );
        assert.deepEqual(nb.isclose(nb.tensor([true, false]), nb.tensor([true, true])).toArray(), [true, false]);
        assert.deepEqual(nb.isclose(F([[1], [2]]), F([1, 2])).shape, [2, 2]);
        assert.deepEqual(F([2, 3]).isclose(2).toArray(), [true, false]);
        assert.equal(nb.allclose(F([1, 2]), F([1, 2 + 1e-6])), true);
        assert.equal(nb.allclose(F([1, NaN]), F([1, NaN])), false);
        assert.equal(F([1, NaN]).allclose(F([1, NaN]), { equalNan: true }), true);
        assert.throws(
          () => nb.isclose(F([1]), D([1])),
          /isclose: expected both tensors to have the same dtype, got float32 and float64/,
        );
        assert.throws(
          () => nb.isclose(F([1]), F([1]), { rtol: -1 }),
          /isclose: rtol must be greater than or equal to zero, but got -1/,
        );
      }),
    );

    test(
      'tolist: nested numbers, booleans, a 0-dim value, views',
      run(() => {
        assert.deepEqual(grid(2, 2).tolist(), [
          [0, 1],
          [2, 3],
        ]);
        assert.deepEqual(grid(2, 2).t().tolist(), [
          [0, 2],
          [1, 3],
        ]);
        assert.deepEqual(nb.tensor([[true], [false]]).tolist(), [[true], [false]]);
        assert.equal(F(2.5).tolist(), 2.5);
        assert.deepEqual(nb.zeros([2, 0]).tolist(), [[], []]);
      }),
    );

    test(
      'unique: flat and along a dim, inverse and counts, empty, NaN, sorted=false',
      run(() => {
        assert.deepEqual(
          nb
            .unique(
              I([
                [2, 1],
                [2, 0],
              ]),
            )
            .toArray(),
          [0, 1, 2],
        );
        const [u, inv, cnt] = F([3, 1, 3, 2]).unique({ returnInverse: true, returnCounts: true });
        assert.deepEqual(
          [u.toArray(), inv.toArray(), cnt.toArray()],
          [
            [1, 2, 3],
            [2, 0, 2, 1],
            [1, 1, 2],
          ],
        );
        assert.deepEqual(F([3, 1, 3]).unique({ sorted: false }).toArray(), [1, 3]);
        const [v, c] = nb.unique(nb.tensor([true, false, true]), { returnCounts: true });
        assert.deepEqual([v.toArray(), c.toArray(), v.dtype], [[false, true], [1, 2], 'bool']);
        assert.deepEqual(nb.unique(nb.zeros([0])).shape, [0]);
        assert.deepEqual(nb.unique(F([NaN, 1, NaN])).toArray(), [1, NaN, NaN]);
        const [r, ri] = nb.unique(
          I([
            [1, 2],
            [0, 5],
            [1, 2],
          ]),
          { dim: 0, returnInverse: true },
        );
        assert.deepEqual(
          [r.toArray(), ri.toArray()],
          [
            [
              [0, 5],
              [1, 2],
            ],
            [1, 0, 1],
          ],
        );
        assert.throws(() => nb.unique(F([1]), { dim: 1 }), /unique/);
      }),
    );

    test(
      'multinomial: same seed same draws, frequencies, without replacement, errors',
      run(() => {
        const p = F([0.1, 0, 0.6, 0.3]);
        const g = () => new nb.Generator(7);
        const a = nb.multinomial(p, 50, { replacement: true, generator: g() });
        assert.deepEqual(a.toArray(), nb.multinomial(p, 50, { replacement: true, generator: g() }).toArray());
        assert.equal(a.dtype, 'int32');
        const many = nb.multinomial(p.mul(3), 20000, { replacement: true, generator: g() }).toTypedArray();
        const freq = [0, 0, 0, 0];
        for (const k of many) freq[k]++;
        assert.equal(freq[1], 0, 'a zero-probability category is never drawn');
        for (const [k, q] of [0.1, 0, 0.6, 0.3].entries()) {
          assert.ok(Math.abs(freq[k] / 20000 - q) < 0.015, `frequency of ${k}: ${freq[k]}`);
        }
        const rows = nb.multinomial(
          F([
            [1, 1, 1, 1],
            [0, 0, 5, 1],
          ]),
          4,
          { generator: g() },
        );
        assert.deepEqual(rows.shape, [2, 4]);
        for (const row of rows.toArray() as number[][]) assert.deepEqual([...row].sort(), [0, 1, 2, 3]);
        assert.deepEqual((rows.toArray() as number[][])[1].slice(0, 2).sort(), [2, 3]);
        nb.manualSeed(3);
        const d1 = nb.multinomial(p, 5, { replacement: true }).toArray();
        nb.manualSeed(3);
        assert.deepEqual(p.multinomial(5, { replacement: true }).toArray(), d1);
        assert.throws(
          () => nb.multinomial(p, 5),
          /multinomial: cannot sample n_sample > prob_dist.size\(-1\) samples without replacement/,
        );
        assert.throws(
          () => nb.multinomial(F([1, -1]), 1),
          /probability tensor contains either `inf`, `nan` or element < 0/,
        );
        assert.throws(
          () => nb.multinomial(F([0, 0]), 1),
          /invalid multinomial distribution \(sum of probabilities <= 0\)/,
        );
        assert.throws(() => nb.multinomial(F([[[1]]]), 1), /multinomial: prob_dist must be 1 or 2 dim/);
        assert.throws(
          () => nb.multinomial(I([1, 2]), 1),
          /multinomial only supports floating-point dtypes for input, got: int32/,
        );
        assert.throws(() => nb.multinomial(p, 0), /cannot sample n_sample <= 0 samples/);
      }),
    );

    test(
      'bernoulli: same seed same draws, mean near p, scalar p, dtype, errors',
      run(() => {
        const probs = nb.full([4000], 0.25, { dtype: 'float64' });
        const a = nb.bernoulli(probs, { generator: new nb.Generator(5) });
        assert.deepEqual(a.toArray(), probs.bernoulli({ generator: new nb.Generator(5) }).toArray());
        assert.equal(a.dtype, 'float64');
        assert.ok(Math.abs(a.mean().item() - 0.25) < 0.03, `mean ${a.mean().item()}`);
        assert.ok((a.toTypedArray() as Float64Array).every((v) => v === 0 || v === 1));
        assert.deepEqual(nb.bernoulli(F([0, 1, 1, 0])).toArray(), [0, 1, 1, 0]);
        assert.deepEqual(nb.bernoulli(nb.zeros([3]), { p: 1 }).toArray(), [1, 1, 1]);
        assert.equal(nb.bernoulli(F([0.5]).requiresGrad_()).requiresGrad, false);
        assert.throws(
          () => nb.bernoulli(F([1.5])),
          /bernoulli: expected all probabilities to be in \[0, 1\], but input contains 1.5/,
        );
        assert.throws(() => nb.bernoulli(F([0.5]), { p: 2 }), /bernoulli: expects p to be in \[0, 1\], but got p=2/);
        assert.throws(() => nb.bernoulli(I([1])), /bernoulli: expected a floating point tensor, got int32/);
      }),
    );

    test(
      'linalg: exact values, empty and singular matrices, errors',
      run(() => {
        const A = D([
          [4, 1, 2],
          [1, 3, 0],
          [2, 0, 5],
        ]);
        assert.ok(Math.abs(nb.linalg.det(A).item() - 43) < 1e-12);
        const S = D([
          [1, 2],
          [2, 4],
        ]).requiresGrad_();
        assert.throws(
          () => nb.linalg.det(S).backward(),
          /linalg.det: the gradient at an exactly singular matrix is not/,
        );
        assert.equal(
          Math.abs(
            nb.linalg
              .det(
                D([
                  [1, 2],
                  [2, 4],
                ]),
              )
              .item(),
          ),
          0,
        );
        assert.deepEqual(nb.linalg.det(nb.zeros([2, 0, 0])).toArray(), [1, 1]);
        assert.ok(nb.allclose(nb.linalg.inv(A).matmul(A), nb.eye(3, 3, { dtype: 'float64' }), { atol: 1e-12 }));
        assert.ok(nb.allclose(A.matmul(nb.linalg.solve(A, D([1, 2, 3]))), D([1, 2, 3]), { atol: 1e-12 }));
        const Lc = nb.linalg.cholesky(A);
        assert.ok(nb.allclose(Lc.matmul(Lc.mT), A, { atol: 1e-12 }));
        assert.deepEqual(Lc.triu(1).toArray(), [
          [0, 0, 0],
          [0, 0, 0],
          [0, 0, 0],
        ]);
        assert.equal(
          nb.linalg
            .matrixNorm(
              F([
                [1, -2],
                [3, 4],
              ]),
              1,
            )
            .item(),
          6,
        );
        assert.equal(
          nb.linalg
            .matrixNorm(
              F([
                [1, -2],
                [3, 4],
              ]),
              Infinity,
            )
            .item(),
          7,
        );
        assert.throws(
          () => nb.linalg.inv(nb.zeros([2, 2])),
          /linalg.inv: The diagonal element 1 is zero, the inversion could not be completed because the input/,
        );
        assert.throws(
          () => nb.linalg.inv(nb.stack([nb.eye(2), nb.zeros([2, 2])])),
          /linalg.inv: \(Batch element 1\): The diagonal element 1 is zero/,
        );
        assert.throws(
          () => nb.linalg.solve(nb.zeros([2, 2]), F([1, 1])),
          /linalg.solve: The solver failed because the input matrix is singular./,
        );
        assert.throws(
          () => nb.linalg.cholesky(nb.eye(2).neg()),
          /linalg.cholesky: The factorization .* not positive-definite \(the leading minor of order 1 is not/,
        );
        assert.throws(
          () => nb.linalg.inv(nb.zeros([2, 3])),
          /linalg.inv: A must be batches of square matrices, but they are 2 by 3 matrices/,
        );
        assert.throws(
          () => nb.linalg.det(F([1, 2])),
          /linalg.det: The input tensor A must have at least 2 dimensions, got shape \[2\]/,
        );
        assert.throws(
          () => nb.linalg.det(I([[1]])),
          /linalg.det: Expected a floating point tensor as input. Got int32 of shape \[1, 1\]/,
        );
        assert.throws(
          () => nb.linalg.solve(A, F([1, 2, 3])),
          /linalg.solve: Expected A and B to have the same dtype, but found A of type float64 and B of type float32/,
        );
        assert.throws(
          () => nb.linalg.solve(A, D([1, 2])),
          /linalg.solve: Incompatible shapes of A and B for the equation AX = B \(\[3, 3\] and \[2\]\)/,
        );
        // singular values of a diagonal matrix, and no silent double backward through them
        assert.ok(
          Math.abs(
            nb.linalg
              .matrixNorm(
                D([
                  [3, 0],
                  [0, -4],
                ]),
                'nuc',
              )
              .item() - 7,
          ) < 1e-12,
        );
        assert.ok(
          Math.abs(
            nb.linalg
              .matrixNorm(
                D([
                  [3, 0],
                  [0, -4],
                ]),
                -2,
              )
              .item() - 3,
          ) < 1e-12,
        );
        assert.equal(nb.linalg.matrixNorm(nb.zeros([2, 0]), 'nuc').item(), 0);
        const P = D([
          [1, 2],
          [3, 4],
        ]).requiresGrad_();
        const [gP] = nb.autograd.grad(nb.linalg.matrixNorm(P, 2), [P], { createGraph: true });
        assert.throws(() => gP!.sum().backward(), /linalg.matrix_norm: double backward of ord=2 is not supported/);
        assert.throws(() => nb.linalg.matrixNorm(A, 3), /linalg.matrix_norm: Order 3 not supported./);
        assert.throws(
          () => nb.linalg.norm(D([1, 2]), 'fro'),
          /linalg.norm: ord='fro' is a matrix norm but the norm is over one dim/,
        );
        assert.throws(
          () => nb.linalg.norm(grid(2, 2, 2), 1),
          /linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got 3D/,
        );
        assert.throws(
          () => nb.linalg.vectorNorm(I([1])),
          /linalg.vector_norm: Expected a floating point tensor as input. Got int32/,
        );
      }),
    );
  });
}
