// Core ops against PyTorch 1.13 goldens (made by tools/golden/core_ops.py; CI never imports torch).
// Each case: inputs in0.., outputs out0.., and for differentiable cases grad_i = d sum(out0 * w) / d in_i.
// Float32 values must match to 1e-5 relative; indices exactly.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/assert.js';
import { backends, withBackend } from '../helpers/backends.js';
import { golden } from '../helpers/data.js';
import { loadGolden } from '../helpers/golden.js';

const G = loadGolden('core_ops');
type Fn = (...xs: any[]) => Tensor | Tensor[];
const vi = (r: { values: Tensor; indices: Tensor }) => [r.values, r.indices];
const F = nb;

const CASES: Record<string, Fn> = {
  add: nb.add,
  sub: nb.sub,
  mul: nb.mul,
  div: nb.div,
  pow: nb.pow,
  maximum: nb.maximum,
  minimum: nb.minimum,
  atan2: nb.atan2,
  remainder: nb.remainder,
  fma: (x, y, z) => x.mul(y).add(z),
  promote_int_float: nb.add,
  promote_int_div: nb.div,
  promote_int_0dim_float: nb.mul,
  promote_bool_int: nb.add,
  where: (m, x, y) => nb.where(m, x, y),
  exp: nb.exp,
  tanh: nb.tanh,
  sigmoid: nb.sigmoid,
  gelu: (x) => F.gelu(x),
  gelu_tanh: (x) => F.gelu(x, 'tanh'),
  silu: nb.silu,
  elu: (x) => F.elu(x),
  softplus: (x) => F.softplus(x),
  erf: nb.erf,
  leaky_relu: (x) => F.leakyRelu(x, 0.1),
  round: nb.round,
  round_half_even: nb.round,
  sum_keepdim: (t) => t.sum(1, true),
  sum_dims: (t) => t.sum([0, 2]),
  mean_keepdim: (t) => t.mean([0, 2], true),
  prod_dim: (t) => t.prod(2),
  amax_keepdim: (t) => t.amax([1, 2], true),
  max_dim: (t) => vi(t.max(1)),
  min_dim_keepdim: (t) => vi(t.min(2, true)),
  argmax: (t) => t.argmax(0),
  argmin_keepdim: (t) => t.argmin(-1, true),
  var_unbiased: (t) => t.var(1),
  var_biased_keepdim: (t) => t.var([0, 2], { unbiased: false, keepdim: true }),
  std_correction: (t) => nb.std(t, 2, { correction: 2 }),
  std: (t) => t.std(),
  norm: (t) => t.norm(2, [1, 2]),
  norm_p3_keepdim: (t) => nb.norm(t, 3, 1, true),
  cumsum: (t) => t.cumsum(1),
  logsumexp_keepdim: (t) => t.logsumexp(2, true),
  matmul_batched: nb.matmul,
  matmul_1d_2d: nb.matmul,
  matmul_2d_1d: nb.matmul,
  matmul_1d_batched: nb.matmul,
  bmm: nb.bmm,
  outer: nb.outer,
  softmax_extreme: (t) => t.softmax(1),
  log_softmax_extreme: (t) => t.logSoftmax(1),
  logsumexp_extreme: (t) => t.logsumexp(1),
  logsumexp_extreme_dim0: (t) => nb.logsumexp(t, 0),
  softmax_dim0: (t) => nb.softmax(t, 0),
  gather: (t, i) => t.gather(0, i),
  gather_dim1: (t, i) => nb.gather(t, 1, i),
  scatter: (t, i, s) => t.scatter(1, i, s),
  scatter_add: (t, i, s) => t.scatterAdd(1, i, s),
  scatter_add_dim0: (t, i, s) => nb.scatterAdd(t, 0, i, s),
  index_select: (t, i) => t.indexSelect(1, i),
  masked_fill: (t, m) => t.maskedFill(m, -1.5),
  index_tensor: (t, i) => t.index(i),
  index_mixed: (t) => t.index([1, null], null, [null, null, 2]),
  tril: (t) => t.tril(-1),
  triu: (t) => nb.triu(t, 2),
  pad_reflect: (t) => nb.pad(t, [2, 1, 1, 0], 'reflect'),
  pad_replicate: (t) => nb.pad(t, [1, 2], 'replicate'),
  pad_constant: (t) => nb.pad(t, [1, 1, 2, 0], 'constant', 0.25),
  one_hot: (t) => nb.oneHot(t, 5),
  sort: (t) => vi(t.sort(1)),
  sort_descending: (t) => vi(nb.sort(t, 1, true)),
  argsort_dim0: (t) => nb.argsort(t, 0),
  topk: (t) => vi(t.topk(3, 1)),
  topk_smallest_dim0: (t) => vi(nb.topk(t, 2, 0, false)),
  sort_grad: (t) => t.sort(0, true).values,
};

function parts(name: string, kind: string): Tensor[] {
  const out: Tensor[] = [];
  for (let i = 0; G[`${name}.${kind}${i}`]; i++) out.push(G[`${name}.${kind}${i}`]);
  return out;
}

test('every golden case has an nb function, and every function a golden', () => {
  const names = new Set(Object.keys(G).map((k) => k.slice(0, k.lastIndexOf('.'))));
  assert.deepEqual([...names].sort(), Object.keys(CASES).sort());
});

for (const be of backends()) {
  describe(`PyTorch goldens [${be}]`, () => {
    for (const [name, fn] of Object.entries(CASES)) {
      test(name, () =>
        withBackend(be, () => {
          const ins = parts(name, 'in').map((t) =>
            t.isFloatingPoint() && G[`${name}.grad0`] ? t.clone().requiresGrad_() : t,
          );
          const outs = [fn(...ins)].flat();
          const want = parts(name, 'out');
          assert.equal(outs.length, want.length, `${name}: number of outputs`);
          outs.forEach((o, i) => {
            assert.deepEqual([...o.shape], [...want[i].shape], `${name}: shape of output ${i}`);
            assert.equal(o.dtype, want[i].dtype, `${name}: dtype of output ${i}`);
            assertClose(o, want[i], { rtol: 1e-5, atol: 1e-6 }, `${name} output ${i}:`);
          });
          const grads = parts(name, 'grad');
          if (grads.length) {
            const diff = ins.filter((t) => t.requiresGrad);
            const got = nb.autograd.grad(outs[0].mul(G[`${name}.w`]).sum(), diff);
            grads.forEach((g, i) => {
              assertClose(got[i]!, g, { rtol: 1e-5, atol: 1e-5 }, `${name} grad of input ${i}:`);
            });
          }
        }),
      );
    }
  });
}

describe('printing matches PyTorch str()', () => {
  const want = (JSON.parse(readFileSync(golden('core_ops.json'), 'utf8')) as { str: Record<string, string> }).str;
  const made: Record<string, () => Tensor> = {
    float_ints: () => nb.tensor([1, 2, -3]),
    float_fixed: () =>
      nb.tensor([
        [1, 2.5],
        [-0.125, 100],
      ]),
    float_sci_small: () => nb.tensor([1e-5, 1]),
    float_sci_large: () => nb.tensor([1e9, 1]),
    float_specials: () => nb.tensor([NaN, Infinity, -Infinity, 1.5]),
    float64: () => nb.tensor([1.5, 2], { dtype: 'float64' }),
    int32: () =>
      nb.tensor(
        [
          [1, -20],
          [300, 4],
        ],
        { dtype: 'int32' },
      ),
    bool: () => nb.tensor([true, false]),
    scalar: () => nb.tensor(3.25),
    int_scalar: () => nb.tensor(7, { dtype: 'int32' }),
    empty: () => nb.zeros([0]),
    empty_2d: () => nb.zeros([2, 0]),
    three_d: () => nb.arange(12, undefined, 1, { dtype: 'float32' }).reshape(2, 3, 2).div(4),
    requires_grad: () => nb.tensor([1, 2], { requiresGrad: true }),
    summarized: () => nb.arange(2000),
    summarized_2d: () => nb.arange(2400, undefined, 1, { dtype: 'float32' }).reshape(40, 60),
  };
  for (const [k, mk] of Object.entries(made)) {
    // nabla spells dtypes without the torch. prefix
    test(k, () => assert.equal(mk().toString(), want[k].replaceAll('torch.', '')));
  }
});
