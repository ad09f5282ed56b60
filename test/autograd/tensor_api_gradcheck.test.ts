// Float64 gradient checks (central differences, every input) for the tensor API functions: einsum,
// roll, meshgrid, lerp, kthvalue, mode and nb.linalg (norms, det, inv, solve, cholesky), with second
// derivatives where torch has them. Square matrices get +4 I so they stay far from singular.
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { backends, withBackend } from '../helpers/backends.js';
import { checkOp, type InputSpec } from '../helpers/check.js';

const L = nb.linalg;
const I = (n: number) => nb.eye(n, n, { dtype: 'float64' });
const wc = (a: Tensor) => a.add(I(a.shape[a.ndim - 1]).mul(4));
const s = (shape: number[], extra: Partial<InputSpec> = {}): InputSpec => ({ shape, ...extra });
type Case = [string, (...xs: any[]) => Tensor | Tensor[], InputSpec[], boolean?];

const CASES: Case[] = [
  ['einsum matmul', (a, b) => nb.einsum('ij,jk->ik', a, b), [s([3, 4]), s([4, 2], { layout: 'transposed' })], true],
  ['einsum bmm', (a, b) => nb.einsum('bij,bjk->bik', a, b), [s([2, 3, 4], { layout: 'sliced' }), s([2, 4, 2])]],
  ['einsum trace', (a) => nb.einsum('ii', a), [s([3, 3])], true],
  ['einsum diagonal ellipsis', (a) => nb.einsum('...ii->...i', a), [s([2, 3, 3], { layout: 'transposed' })]],
  ['einsum implicit', (a, b) => nb.einsum('bij,bkj', a, b), [s([2, 3, 4]), s([2, 2, 4])]],
  ['einsum chain', (a, b, c) => nb.einsum('ij,jk,kl->il', a, b, c), [s([2, 3]), s([3, 4]), s([4, 2])], true],
  ['einsum broadcast', (a, b) => nb.einsum('...i,...i->...', a, b), [s([2, 1, 3]), s([4, 3])]],
  ['einsum size-1 label', (a, b) => nb.einsum('ij,jk', a, b), [s([2, 1]), s([3, 4])]],
  ['einsum repeated in two operands', (a, b) => nb.einsum('ii,ij->j', a, b), [s([3, 3]), s([3, 2])]],
  ['roll', (x) => nb.roll(x, [1, -2], [0, 1]), [s([3, 4], { layout: 'transposed' })], true],
  ['roll flat', (x) => x.roll(3), [s([2, 3])]],
  ['meshgrid', (a, b) => nb.meshgrid(a, b, { indexing: 'xy' }), [s([3]), s([2])]],
  ['lerp scalar weight', (a, b) => nb.lerp(a, b, 0.3), [s([2, 3]), s([3])], true],
  ['lerp tensor weight', (a, b, w) => a.lerp(b, w), [s([2, 3]), s([2, 3], { layout: 'sliced' }), s([2, 1])], true],
  ['kthvalue', (x) => x.kthvalue(2, 1).values, [s([3, 4])]],
  ['mode (distinct values: the smallest)', (x) => nb.mode(x, 0).values, [s([3, 4], { layout: 'transposed' })]],
  ['linalg.vectorNorm p=3', (x) => L.vectorNorm(x, 3, 1), [s([2, 3], { avoid: [0] })], true],
  ['linalg.vectorNorm p=2', (x) => L.vectorNorm(x), [s([2, 3])], true],
  ['linalg.matrixNorm fro', (x) => L.matrixNorm(x), [s([2, 3, 4])], true],
  ['linalg.matrixNorm 1', (x) => L.matrixNorm(x, 1), [s([2, 3, 4], { avoid: [0] })]],
  ['linalg.matrixNorm -inf', (x) => L.matrixNorm(x, -Infinity), [s([3, 4], { avoid: [0] })]],
  ['linalg.norm', (x) => L.norm(x, Infinity), [s([3, 4], { avoid: [0] })]],
  ['linalg.matrixNorm nuc', (x) => L.matrixNorm(x, 'nuc'), [s([2, 4, 3])]],
  ['linalg.matrixNorm 2 (wide)', (x) => L.matrixNorm(x, 2), [s([3, 5], { layout: 'transposed' })]],
  ['linalg.matrixNorm -2 over dims 0, 2', (x) => L.matrixNorm(x, -2, [0, 2], true), [s([4, 2, 3])]],
  ['linalg.det', (a) => L.det(wc(a)), [s([2, 3, 3], { layout: 'transposed' })], true],
  ['linalg.det 1x1 and 0-batch', (a) => L.det(a), [s([4, 1, 1])]],
  ['linalg.inv', (a) => L.inv(wc(a)), [s([2, 3, 3])], true],
  ['linalg.solve matrix', (a, b) => L.solve(wc(a), b), [s([3, 3], { layout: 'transposed' }), s([3, 2])], true],
  ['linalg.solve vector batch', (a, b) => L.solve(wc(a), b), [s([2, 3, 3]), s([2, 3])], true],
  ['linalg.solve broadcast', (a, b) => L.solve(wc(a), b), [s([2, 3, 3]), s([3, 2])]],
  ['linalg.solve left=false', (a, b) => L.solve(wc(a), b, { left: false }), [s([3, 3]), s([2, 3])]],
  ['linalg.cholesky', (a) => L.cholesky(a.matmul(a.mT).add(I(3).mul(3))), [s([2, 3, 3])], true],
];

for (const be of backends()) {
  describe(`gradcheck: tensor API functions [${be}]`, () => {
    for (const [name, fn, specs, gg] of CASES) {
      test(name, () => withBackend(be, () => checkOp(name, fn, specs, { gradgrad: gg ?? false })));
    }
  });
}
