// Every export of src/ops/functional.ts (the nb.* free functions) is listed here with a call whose
// result must equal the Tensor method form (or a hand value where there is no method), so a new
// op cannot be added without a conformance entry. Runs on every backend.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import * as functional from '../../src/ops/functional.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { backends, withBackend } from '../helpers/backends.js';

const x = () =>
  nb.tensor([
    [0.5, -1.5, 2],
    [0.25, 1, -0.75],
  ]);
const y = () =>
  nb.tensor([
    [1, 2, 3],
    [-1, 0.5, 2],
  ]);
const pos = () =>
  nb.tensor([
    [0.5, 0.2, 0.9],
    [0.1, 0.7, 0.3],
  ]);
const idx = () =>
  nb.tensor(
    [
      [1, 0, 2],
      [0, 0, 1],
    ],
    { dtype: 'int32' },
  );
const mask = () =>
  nb.tensor([
    [true, false, true],
    [false, false, true],
  ]);
type R = Tensor | Tensor[] | { values: Tensor; indices: Tensor } | number | unknown;

/** name -> [free-function result, method-form result or hand value]. */
const CASES: Record<string, () => [R, R]> = {
  abs: () => [nb.abs(x()), x().abs()],
  acos: () => [nb.acos(pos()), pos().toArray()],
  add: () => [nb.add(x(), y(), 2), x().add(y(), 2)],
  addmm: () => [nb.addmm(1, x(), y().t()), x().mm(y().t()).add(1)],
  all: () => [nb.all(mask(), 1), mask().all(1)],
  amax: () => [nb.amax(x(), 1), x().amax(1)],
  amin: () => [nb.amin(x(), [0, 1]), x().amin([0, 1])],
  any: () => [nb.any(mask()), mask().any()],
  argmax: () => [nb.argmax(x(), 1), x().argmax(1)],
  argmin: () => [nb.argmin(x()), x().argmin()],
  argsort: () => [nb.argsort(x(), 0), x().argsort(0)],
  asin: () => [nb.asin(pos()), pos().toArray()],
  atan: () => [nb.atan(x()), x().toArray()],
  atan2: () => [nb.atan2(x(), y()), x().toArray()],
  bmm: () => [nb.bmm(x().unsqueeze(0), y().t().unsqueeze(0)), x().unsqueeze(0).bmm(y().t().unsqueeze(0))],
  broadcastTo: () => [nb.broadcastTo(x(), [2, 2, 3]), x().broadcastTo([2, 2, 3])],
  cast: () => [nb.cast(x(), 'int32'), x().int()],
  cat: () => [
    nb.cat([x(), y()], 1),
    [
      [0.5, -1.5, 2, 1, 2, 3],
      [0.25, 1, -0.75, -1, 0.5, 2],
    ],
  ],
  ceil: () => [nb.ceil(x()), x().ceil()],
  chunk: () => [nb.chunk(x(), 3, 1), x().chunk(3, 1)],
  clamp: () => [nb.clamp(x(), 0, 1), x().clamp(0, 1)],
  clone: () => [nb.clone(x()), x().clone()],
  cos: () => [nb.cos(x()), x().cos()],
  cosh: () => [nb.cosh(x()), x().toArray()],
  cumprod: () => [nb.cumprod(x(), 1), x().cumprod(1)],
  cumsum: () => [nb.cumsum(x(), 0), x().cumsum(0)],
  detach: () => [nb.detach(x()), x().detach()],
  div: () => [nb.div(x(), y()), x().div(y())],
  dot: () => [nb.dot(x().flatten(), y().flatten()), x().flatten().dot(y().flatten())],
  elu: () => [nb.elu(x()), x().toArray()],
  eq: () => [nb.eq(x(), 0.5), x().eq(0.5)],
  erf: () => [nb.erf(x()), x().erf()],
  exp: () => [nb.exp(x()), x().exp()],
  expm1: () => [nb.expm1(x()), x().expm1()],
  flatten: () => [nb.flatten(x()), x().flatten()],
  flip: () => [nb.flip(x(), [1]), x().flip([1])],
  floor: () => [nb.floor(x()), x().floor()],
  floorDivide: () => [nb.floorDivide(x(), 0.5), x().floorDivide(0.5)],
  gather: () => [nb.gather(x(), 1, idx()), x().gather(1, idx())],
  ge: () => [nb.ge(x(), y()), x().ge(y())],
  gelu: () => [nb.gelu(x(), 'tanh'), x().gelu('tanh')],
  gt: () => [nb.gt(x(), y()), x().gt(y())],
  indexSelect: () => [nb.indexSelect(x(), 1, idx().select(0, 0)), x().indexSelect(1, idx().select(0, 0))],
  isnan: () => [nb.isnan(x()), x().isnan()],
  le: () => [nb.le(x(), y()), x().le(y())],
  leakyRelu: () => [nb.leakyRelu(x(), 0.5), x().toArray()],
  log: () => [nb.log(pos()), pos().log()],
  log1p: () => [nb.log1p(pos()), pos().log1p()],
  log2: () => [nb.log2(pos()), pos().toArray()],
  logSoftmax: () => [nb.logSoftmax(x(), 1), x().logSoftmax(1)],
  logicalAnd: () => [nb.logicalAnd(x(), y()), x().logicalAnd(y())],
  logicalNot: () => [nb.logicalNot(mask()), mask().logicalNot()],
  logicalOr: () => [nb.logicalOr(mask(), x()), mask().logicalOr(x())],
  logicalXor: () => [nb.logicalXor(mask(), y()), mask().logicalXor(y())],
  logsumexp: () => [nb.logsumexp(x(), [0, 1], true), x().logsumexp([0, 1], true)],
  lt: () => [nb.lt(x(), y()), x().lt(y())],
  maskedFill: () => [nb.maskedFill(x(), mask(), 9), x().maskedFill(mask(), 9)],
  maskedSelect: () => [nb.maskedSelect(x(), mask()), x().maskedSelect(mask())],
  matmul: () => [nb.matmul(x(), y().t()), x().matmul(y().t())],
  max: () => [nb.max(x(), 1), x().max(1)],
  maximum: () => [nb.maximum(x(), y()), x().maximum(y())],
  mean: () => [nb.mean(x(), 0, true), x().mean(0, true)],
  min: () => [nb.min(x()), x().min()],
  minimum: () => [nb.minimum(x(), y()), x().minimum(y())],
  mm: () => [nb.mm(x(), y().t()), x().mm(y().t())],
  mul: () => [nb.mul(x(), y()), x().mul(y())],
  mv: () => [nb.mv(x(), y().select(0, 0)), x().matmul(y().select(0, 0))],
  narrow: () => [nb.narrow(x(), 1, 1, 2), x().narrow(1, 1, 2)],
  ne: () => [nb.ne(x(), y()), x().ne(y())],
  neg: () => [nb.neg(x()), x().neg()],
  norm: () => [nb.norm(x(), 1, 1), x().norm(1, 1)],
  oneHot: () => [
    nb.oneHot(idx(), 3),
    [
      [
        [0, 1, 0],
        [1, 0, 0],
        [0, 0, 1],
      ],
      [
        [1, 0, 0],
        [1, 0, 0],
        [0, 1, 0],
      ],
    ],
  ],
  outer: () => [nb.outer(x().select(0, 0), y().select(0, 1)), x().select(0, 0).outer(y().select(0, 1))],
  pad: () => [
    nb.pad(x(), [1, 0]),
    [
      [0, 0.5, -1.5, 2],
      [0, 0.25, 1, -0.75],
    ],
  ],
  permute: () => [nb.permute(x(), [1, 0]), x().permute(1, 0)],
  pow: () => [nb.pow(pos(), y()), pos().pow(y())],
  prod: () => [nb.prod(x(), 1), x().prod(1)],
  reciprocal: () => [nb.reciprocal(x()), x().reciprocal()],
  relu: () => [nb.relu(x()), x().relu()],
  remainder: () => [nb.remainder(x(), 0.4), x().remainder(0.4)],
  repeat: () => [nb.repeat(x(), [2, 1]), x().repeat(2, 1)],
  reshape: () => [nb.reshape(x(), [3, 2]), x().reshape(3, 2)],
  round: () => [nb.round(x()), x().round()],
  rsqrt: () => [nb.rsqrt(pos()), pos().rsqrt()],
  scatter: () => [nb.scatter(x(), 1, idx(), y()), x().scatter(1, idx(), y())],
  scatterAdd: () => [nb.scatterAdd(x(), 1, idx(), y()), x().scatterAdd(1, idx(), y())],
  select: () => [nb.select(x(), 1, -1), x().select(1, -1)],
  sigmoid: () => [nb.sigmoid(x()), x().sigmoid()],
  sign: () => [nb.sign(x()), x().sign()],
  silu: () => [nb.silu(x()), x().silu()],
  sin: () => [nb.sin(x()), x().sin()],
  sinh: () => [nb.sinh(x()), x().toArray()],
  softmax: () => [nb.softmax(x(), 0), x().softmax(0)],
  softplus: () => [nb.softplus(x()), x().toArray()],
  sort: () => [nb.sort(x(), 1, true), x().sort(1, true)],
  split: () => [nb.split(x(), [1, 2], 1), x().split([1, 2], 1)],
  sqrt: () => [nb.sqrt(pos()), pos().sqrt()],
  square: () => [nb.square(x()), x().square()],
  squeeze: () => [nb.squeeze(x().unsqueeze(1)), x()],
  stack: () => [nb.stack([x(), y()]), [x().toArray(), y().toArray()]],
  std: () => [nb.std(x(), 1), x().std(1)],
  sub: () => [nb.sub(x(), y()), x().sub(y())],
  sum: () => [nb.sum(x(), [0, 1], true), x().sum([0, 1], true)],
  tan: () => [nb.tan(x()), x().toArray()],
  tanh: () => [nb.tanh(x()), x().tanh()],
  topk: () => [nb.topk(x(), 2, 1), x().topk(2, 1)],
  transpose: () => [nb.transpose(x(), 0, 1), x().transpose(0, 1)],
  tril: () => [nb.tril(x()), x().tril()],
  triu: () => [nb.triu(x(), 1), x().triu(1)],
  trunc: () => [nb.trunc(x()), x().trunc()],
  unbind: () => [nb.unbind(x(), 1), x().unbind(1)],
  unsqueeze: () => [nb.unsqueeze(x(), -1), x().unsqueeze(-1)],
  var: () => [nb.var(x(), 1, { correction: 0 }), x().var(1, { correction: 0 })],
  where: () => [nb.where(mask(), x(), y()), x().where(mask(), y())],
  kthvalue: () => [nb.kthvalue(x(), 2, 1, true), x().kthvalue(2, 1, true)],
  mode: () => [nb.mode(idx(), 1), idx().mode(1)],
  einsum: () => [nb.einsum('ij->ji', x()), x().t()],
  roll: () => [nb.roll(x(), 1, 1), x().roll(1, 1)],
  meshgrid: () => [
    nb.meshgrid(x().select(0, 0), y().select(0, 1)),
    [x().select(0, 0).view(3, 1).expand(3, 3), y().select(0, 1).view(1, 3).expand(3, 3)],
  ],
  lerp: () => [nb.lerp(x(), y(), 0.5), x().lerp(y(), 0.5)],
  isclose: () => [nb.isclose(x(), y()), x().isclose(y())],
  allclose: () => [nb.allclose(x(), x().add(1e-9)), true],
  unique: () => [nb.unique(idx()), idx().unique()],
  multinomial: () => [
    nb.multinomial(pos(), 2, { generator: new nb.Generator(3) }),
    pos().multinomial(2, { generator: new nb.Generator(3) }),
  ],
  bernoulli: () => [
    nb.bernoulli(pos(), { generator: new nb.Generator(3) }),
    pos().bernoulli({ generator: new nb.Generator(3) }),
  ],
};

/** Plain data of a result, so that two results compare with deepEqual. */
function plain(r: R): unknown {
  if (Array.isArray(r)) return r.map(plain);
  if (r && typeof r === 'object' && 'values' in r && 'indices' in r)
    return { values: plain(r.values), indices: plain(r.indices) };
  if (r && typeof r === 'object' && 'toArray' in r)
    return { shape: [...(r as Tensor).shape], dtype: (r as Tensor).dtype, v: (r as Tensor).toArray() };
  return r;
}

test('every functional export has a conformance entry', () => {
  assert.deepEqual(Object.keys(functional).sort(), Object.keys(CASES).sort());
});

for (const be of backends()) {
  describe(`nb.* free functions agree with the Tensor methods [${be}]`, () => {
    for (const [name, mk] of Object.entries(CASES)) {
      test(name, () =>
        withBackend(be, () => {
          const [got, want] = mk();
          const w = plain(want);
          if (
            Array.isArray(want) &&
            !(want as unknown[]).some((v) => typeof v === 'object' && v !== null && 'toArray' in (v as object))
          ) {
            // a hand value or a same-shape sanity reference: compare the values, or only the shape for math refs
            const g = plain(got) as { shape: number[]; v: unknown };
            assert.ok(g.shape !== undefined, `${name} returns a tensor`);
            if (['cat', 'pad', 'stack', 'oneHot'].includes(name)) assert.deepEqual(g.v, w, name);
            else assert.deepEqual(g.shape, [...nb.tensor(want as number[][]).shape], `${name} keeps the shape`);
            return;
          }
          assert.deepEqual(plain(got), w, name);
        }),
      );
    }
  });
}
