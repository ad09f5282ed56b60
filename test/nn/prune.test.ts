// nb.nn.utils.prune against Debian PyTorch's torch.nn.utils.prune: masks from tools/golden/prune.py on
// integer weights full of tied magnitudes (which tied entry goes is torch.topk's choice), pruning that
// composes, global pruning, the state_dict keys, the hook, remove() and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadGolden } from '../helpers/golden.js';
import { noGrad } from '../../src/autograd/grad_mode.js';
import { Linear } from '../../src/nn/linear.js';
import { Conv2d } from '../../src/nn/conv.js';
import { Sequential } from '../../src/nn/containers.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { Generator } from '../../src/tensor/random.js';
import { fromTypedArray, randn } from '../../src/tensor/creation.js';
import * as prune from '../../src/nn/utils/prune.js';
import { topkIndicesTorch } from '../../src/nn/utils/topk_torch.js';
import { distillationLoss } from '../../src/nn/functional/losses.js';

const g = loadGolden('prune');
const flat = (t: Tensor) => Array.from(t.float().toTypedArray() as Float32Array);

function close(a: Tensor, b: Tensor, tol = 1e-5): void {
  assert.deepEqual(a.shape, b.shape);
  const x = flat(a),
    y = flat(b);
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= tol * (1 + Math.abs(y[i])), `at ${i}`);
}

type Mod = Linear | Conv2d;
const CASES: [string, () => Mod, ((m: Mod) => void)[]][] = [
  ['l1_nth', () => new Linear(8, 16), [(m) => prune.l1Unstructured(m, 'weight', 0.3)]],
  ['l1_partial', () => new Linear(80, 64), [(m) => prune.l1Unstructured(m, 'weight', 50)]],
  ['l1_count', () => new Linear(5, 2), [(m) => prune.l1Unstructured(m, 'weight', 0.25)]],
  ['ln_conv_l2_dim0', () => new Conv2d(3, 8, 3), [(m) => prune.lnStructured(m, 'weight', 0.5, 2, 0)]],
  ['ln_conv_l1_dim1', () => new Conv2d(3, 8, 3), [(m) => prune.lnStructured(m, 'weight', 1, 1, 1)]],
  ['ln_linear_inf_dim-1', () => new Linear(8, 16), [(m) => prune.lnStructured(m, 'weight', 0.375, Infinity, -1)]],
  [
    'compose',
    () => new Conv2d(3, 8, 3),
    [
      (m) => prune.l1Unstructured(m, 'weight', 0.3),
      (m) => prune.lnStructured(m, 'weight', 0.25, 2, 0),
      (m) => prune.l1Unstructured(m, 'weight', 0.2),
    ],
  ],
];

for (const [name, make, steps] of CASES) {
  test(`prune ${name}: the mask and output equal torch's`, () => {
    const m = make();
    noGrad(() => {
      m.weight.copy_(g[`${name}/w`]);
      m.bias!.copy_(g[`${name}/b`]);
    });
    for (const s of steps) s(m);
    assert.deepEqual(flat(m._buffers.get('weight_mask')!), flat(g[`${name}/mask`]));
    assert.ok(flat(g[`${name}/mask`]).includes(0), 'something is pruned');
    const y = noGrad(() => m.call(g[`${name}/x`]) as Tensor);
    close(y, g[`${name}/y`]);
  });
}

test('globalUnstructured ranks the tensors together, keeping earlier pruning, as torch', () => {
  const a = new Linear(8, 16),
    b = new Linear(16, 4);
  noGrad(() => {
    a.weight.copy_(g['global/w0']);
    b.weight.copy_(g['global/w1']);
  });
  prune.l1Unstructured(b, 'weight', 0.25);
  prune.globalUnstructured(
    [
      [a, 'weight'],
      [b, 'weight'],
    ],
    prune.L1Unstructured,
    { amount: 0.4 },
  );
  assert.deepEqual(flat(a._buffers.get('weight_mask')!), flat(g['global/mask0']));
  assert.deepEqual(flat(b._buffers.get('weight_mask')!), flat(g['global/mask1']));
});

test('pruning keeps torch state_dict keys, masks in the pre-hook, trains weight_orig, and remove() ends it', () => {
  const net = new Sequential(new Linear(6, 5), new Linear(5, 3));
  assert.equal(prune.isPruned(net), false);
  const fc = net.at(0) as Linear;
  prune.l1Unstructured(fc, 'weight', 0.4);
  assert.equal(prune.isPruned(net), true);
  assert.deepEqual(Object.keys(net.stateDict()), ['0.bias', '0.weight_orig', '0.weight_mask', '1.weight', '1.bias']);
  const mask = fc._buffers.get('weight_mask')!;
  assert.equal(flat(mask).filter((v) => v === 0).length, 12);
  // the hook recomputes weight = weight_orig * mask on every call
  const orig = fc._parameters.get('weight_orig')!;
  noGrad(() => orig.add_(1));
  const x = randn([4, 6]);
  const y = net.call(x) as Tensor;
  assert.deepEqual(flat(fc.weight), flat(orig.mul(mask)));
  y.sum().backward();
  const gm = flat(orig.grad!),
    mk = flat(mask);
  assert.ok(
    gm.every((v, i) => (mk[i] === 0 ? v === 0 : true)),
    'no gradient through pruned entries',
  );
  assert.ok(gm.some((v) => v !== 0));
  prune.remove(fc, 'weight');
  assert.equal(prune.isPruned(net), false);
  assert.deepEqual(Object.keys(net.stateDict()), ['0.bias', '0.weight', '1.weight', '1.bias']);
  assert.equal(flat(fc.weight).filter((v) => v === 0).length, 12);
  assert.equal(fc.weight, orig, 'the same Parameter object (optimisers keep it)');
  assert.throws(() => prune.remove(fc, 'weight'), /has to be pruned first/);
});

test('randomUnstructured prunes the amount, repeatably with a generator', () => {
  const a = new Linear(10, 10),
    b = new Linear(10, 10);
  prune.randomUnstructured(a, 'weight', 0.3, { generator: new Generator(7) });
  prune.randomUnstructured(b, 'weight', 0.3, { generator: new Generator(7) });
  const ma = flat(a._buffers.get('weight_mask')!);
  assert.equal(ma.filter((v) => v === 0).length, 30);
  assert.deepEqual(ma, flat(b._buffers.get('weight_mask')!));
});

test('torch-style topk: partial_sort and nth_element regimes, NaN first when largest', () => {
  assert.deepEqual([...topkIndicesTorch([1, Number.NaN, 3, 2], 2, true)].sort(), [1, 2]);
  assert.deepEqual([...topkIndicesTorch([5, 1, 1, 1, 0], 1, false)], [4]);
  const v = Array.from({ length: 300 }, (_, i) => (i * 7919) % 13);
  for (const k of [1, 4, 5, 100, 299, 300]) {
    const idx = topkIndicesTorch(v, k, false);
    assert.equal(new Set(idx).size, k);
    const kth = Math.max(...[...idx].map((i) => v[i]));
    assert.equal(v.filter((x) => x < kth).length <= k, true);
  }
});

test('prune: bad input names the problem', () => {
  const m = new Linear(4, 4);
  assert.throws(() => prune.l1Unstructured(m, 'weight', 17), /amount=17 should be smaller than .*=16/);
  assert.throws(() => prune.l1Unstructured(m, 'weight', -0.5), /non-negative/);
  assert.throws(() => prune.l1Unstructured(m, 'weight', 1.5), /neither a count/);
  assert.throws(() => prune.l1Unstructured(m, 'nope', 0.5), /no tensor 'nope'/);
  assert.throws(() => prune.lnStructured(m, 'bias', 0.5, 2, 0), /at least 2 dims/);
  assert.throws(() => prune.lnStructured(m, 'weight', 0.5, 2, 3), /dim 3 is out of range/);
  assert.deepEqual(Object.keys(m.stateDict()), ['weight', 'bias'], 'a failed prune leaves the module as it was');
  assert.throws(() => prune.globalUnstructured([], prune.L1Unstructured, { amount: 0.1 }), /non-empty/);
});

test('distillationLoss equals torch (alpha CE + (1 - alpha) T^2 KL batchmean) and passes gradcheck', () => {
  const s = g['distill/s'],
    t = g['distill/t'],
    y = g['distill/y'].to('int32');
  const loss = distillationLoss(s, t, y, { temperature: 4, alpha: 0.3 });
  close(loss.reshape([1]), g['distill/loss']);
  const s64 = s.to('float64').requiresGrad_(),
    t64 = t.to('float64').requiresGrad_();
  distillationLoss(s64, t64, y, { temperature: 4, alpha: 0.3 }).backward();
  assert.equal(t64.grad, null, 'no gradient reaches the teacher');
  // central differences on the student logits
  const base = s64.detach();
  const f = (d: Tensor) => distillationLoss(d, t64.detach(), y, { temperature: 4, alpha: 0.3 }).item();
  const grad = flat(s64.grad!);
  const vals = flat(base);
  for (const i of [0, 7, 13, 29]) {
    const eps = 1e-6;
    const up = vals.slice(),
      dn = vals.slice();
    up[i] += eps;
    dn[i] -= eps;
    const num =
      (f(fromTypedArray(Float64Array.from(up), [...base.shape])) -
        f(fromTypedArray(Float64Array.from(dn), [...base.shape]))) /
      (2 * eps);
    assert.ok(Math.abs(num - grad[i]) < 1e-6, `d loss / d s[${i}]: ${grad[i]} vs ${num}`);
  }
  assert.throws(() => distillationLoss(s, t.narrow(1, 0, 3), y), /same shape/);
  assert.throws(() => distillationLoss(s, t, y, { temperature: 0 }), /temperature/);
  assert.throws(() => distillationLoss(s, t, y, { alpha: 2 }), /alpha/);
});
