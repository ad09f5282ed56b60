// convBatchNorm (src/nn/fusion.ts): conv -> bn (-> + residual) (-> ReLU) as one fused convolution in
// eval mode without gradients, and exactly the modules' own forward everywhere else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as nb from '../../src/index.js';
import { convBatchNorm, convBatchNormBranch } from '../../src/nn/fusion.js';
import { conv2dFused } from '../../src/ops/fused.js';

function setup(bias: boolean) {
  nb.manualSeed(7);
  const conv = new nb.nn.Conv2d(6, 10, 3, { stride: 2, padding: 1, bias });
  const bn = new nb.nn.BatchNorm2d(10);
  nb.noGrad(() => {
    bn.running_mean!.copy_(nb.randn([10]).mul(0.3));
    bn.running_var!.copy_(nb.rand([10]).add(0.5));
    bn.weight!.copy_(nb.randn([10]));
    bn.bias!.copy_(nb.randn([10]));
  });
  const x = nb.randn([3, 6, 13, 11]);
  const res = nb.randn([3, 10, 7, 6]);
  return { conv, bn, x, res, relu: new nb.nn.ReLU() };
}

function maxRelDiff(a: nb.Tensor, b: nb.Tensor): number {
  const p = a.toTypedArray(), q = b.toTypedArray();
  assert.equal(p.length, q.length);
  let m = 0;
  for (let i = 0; i < p.length; i++) m = Math.max(m, Math.abs(p[i] - q[i]) / (1 + Math.abs(q[i])));
  return m;
}

test('convBatchNorm in eval mode equals conv -> bn -> + residual -> relu, with and without conv bias', () => {
  for (const bias of [false, true]) {
    const { conv, bn, x, res, relu } = setup(bias);
    bn.eval();
    const want = nb.noGrad(() => relu.call((bn.call(conv.call(x)) as nb.Tensor).add(res)) as nb.Tensor);
    const got = nb.noGrad(() => convBatchNorm(conv, bn, x, { residual: res, activation: relu }));
    assert.deepEqual(got.shape, [3, 10, 7, 6]);
    assert.ok(maxRelDiff(got, want) < 1e-5, `bias=${bias}: ${maxRelDiff(got, want)}`);
    const plain = nb.noGrad(() => convBatchNorm(conv, bn, x));
    assert.ok(maxRelDiff(plain, nb.noGrad(() => bn.call(conv.call(x)) as nb.Tensor)) < 1e-5);
  }
  // eval without gradients really takes the fused kernel (every backend has it)
  const { conv, x, res } = setup(false);
  const p = { strideH: 2, strideW: 2, padH: 1, padW: 1, dilationH: 1, dilationW: 1, groups: 1 };
  const one = nb.noGrad(() => conv2dFused(x, conv.weight, p, new Float32Array(10).fill(2), null, res, true));
  assert.ok(one !== null, `backend ${nb.backend().name}: the fused path declined`);
  if (one) assert.ok(maxRelDiff(one, nb.noGrad(() => conv.call(x).sub(conv.bias ?? 0).mul(2).add(res).relu())) < 1e-5);
});

test('convBatchNorm runs the modules themselves for hooks, training, gradients and other activations', () => {
  const { conv, bn, x, res, relu } = setup(true);
  bn.eval();
  let calls = 0;
  const h = bn.registerForwardHook(() => { calls++; });
  nb.noGrad(() => convBatchNorm(conv, bn, x, { activation: relu }));
  assert.equal(calls, 1, 'a forward hook on the BatchNorm still fires');
  h.remove();

  // gradients: eval mode with grad enabled records the graph and reaches the conv weight
  const y = convBatchNorm(conv, bn, x, { residual: res, activation: relu });
  y.sum().backward();
  assert.ok(conv.weight.grad && conv.weight.grad.abs().sum().item() > 0, 'conv.weight.grad is set');

  // training: batch statistics and running-stat updates, exactly as bn.call(conv.call(x))
  const a = setup(true), b = setup(true);
  a.bn.train(); b.bn.train();
  const got = convBatchNorm(a.conv, a.bn, a.x, { activation: a.relu });
  const want = b.relu.call(b.bn.call(b.conv.call(b.x)) as nb.Tensor) as nb.Tensor;
  assert.ok(maxRelDiff(got, want) < 1e-6);
  assert.ok(maxRelDiff(a.bn.running_mean!, b.bn.running_mean!) < 1e-6);

  // a non-ReLU activation is applied through its own call
  const silu = new nb.nn.SiLU();
  bn.eval();
  const s = nb.noGrad(() => convBatchNorm(conv, bn, x, { activation: silu }));
  const sw = nb.noGrad(() => silu.call(bn.call(conv.call(x))) as nb.Tensor);
  assert.ok(maxRelDiff(s, sw) < 1e-6);
});

test('convBatchNormBranch fuses Sequential(Conv2d, BatchNorm2d) and calls anything else', () => {
  const { conv, bn, x } = setup(false);
  bn.eval();
  const seq = new nb.nn.Sequential(conv, bn);
  const want = nb.noGrad(() => seq.call(x) as nb.Tensor);
  assert.ok(maxRelDiff(nb.noGrad(() => convBatchNormBranch(seq, x)), want) < 1e-5);
  const other = new nb.nn.Sequential(conv, bn, new nb.nn.ReLU());
  assert.ok(maxRelDiff(nb.noGrad(() => convBatchNormBranch(other, x)), nb.noGrad(() => other.call(x) as nb.Tensor)) < 1e-6);
});

test('convBatchNorm in training with a residual and ReLU equals the modules: output, every gradient, running stats', () => {
  const a = setup(true), b = setup(true);
  a.bn.train(); b.bn.train();
  const xa = a.x.clone().requiresGrad_(), xb = b.x.clone().requiresGrad_();
  const ra = a.res.clone().requiresGrad_(), rb = b.res.clone().requiresGrad_();
  const ya = convBatchNorm(a.conv, a.bn, xa, { residual: ra, activation: a.relu });
  const yb = b.relu.call((b.bn.call(b.conv.call(xb)) as nb.Tensor).add(rb)) as nb.Tensor;
  assert.ok(maxRelDiff(ya, yb) < 1e-5, `y ${maxRelDiff(ya, yb)}`);
  const g = nb.randn(ya.shape);
  ya.backward(g); yb.backward(g);
  for (const [name, p, q] of [['x', xa.grad!, xb.grad!], ['residual', ra.grad!, rb.grad!], ['conv.weight', a.conv.weight.grad!, b.conv.weight.grad!],
    ['bn.weight', a.bn.weight!.grad!, b.bn.weight!.grad!], ['bn.bias', a.bn.bias!.grad!, b.bn.bias!.grad!]] as const) {
    assert.ok(maxRelDiff(p, q) < 1e-4, `${name} grad ${maxRelDiff(p, q)}`);
  }
  assert.ok(maxRelDiff(a.bn.running_var!, b.bn.running_var!) < 1e-6);
  // double backward through the fused forward takes the composed gradient formulas
  const xc = a.x.clone().requiresGrad_();
  const yc = convBatchNorm(a.conv, a.bn, xc, { residual: a.res, activation: a.relu });
  const gx = nb.autograd.grad([yc.pow(2).sum()], [xc], { createGraph: true })[0]!;
  const xd = b.x.clone().requiresGrad_();
  const yd = b.relu.call((b.bn.call(b.conv.call(xd)) as nb.Tensor).add(b.res)) as nb.Tensor;
  const gd = nb.autograd.grad([yd.pow(2).sum()], [xd], { createGraph: true })[0]!;
  assert.ok(maxRelDiff(gx, gd) < 1e-4, `createGraph grad ${maxRelDiff(gx, gd)}`);
  const ggx = nb.autograd.grad([gx.sum()], [xc])[0]!, ggd = nb.autograd.grad([gd.sum()], [xd])[0]!;
  assert.ok(maxRelDiff(ggx, ggd) < 1e-3, `second derivative ${maxRelDiff(ggx, ggd)}`);
});

test('F.linear in inference (one fused kernel where the backend has it) equals the recorded path, views included', () => {
  nb.manualSeed(11);
  const w = nb.randn([9, 13]), b = nb.randn([9]);
  const xs = [nb.randn([4, 13]), nb.randn([2, 3, 13]), nb.randn([13, 5]).t(), nb.randn([6, 20]).narrow(1, 3, 13)];
  for (const x of xs) {
    const fusedY = nb.noGrad(() => nb.nn.functional.linear(x, w, b));
    const wg = w.clone().requiresGrad_();
    const recorded = nb.nn.functional.linear(x, wg, b).detach();
    assert.deepEqual(fusedY.shape, recorded.shape);
    assert.ok(maxRelDiff(fusedY, recorded) < 1e-6, `linear ${x.shape}: ${maxRelDiff(fusedY, recorded)}`);
  }
});

test('convBatchNorm in eval mode follows every change to the conv weights: in-place ops, copy_, optimizer steps, loadStateDict, nn.init, writes through .data', async () => {
  // the native backend keeps transformed weights between eval-mode calls and, while the storage's
  // version and array stay nabla's own, trusts them without comparing: every route that changes the
  // weights must be seen. Winograd 'always' makes these small convolutions take the cache.
  const { loadNativeBackend } = await import('../../src/backend/native/index.js');
  const addon = nb.backend().name === 'native' ? loadNativeBackend().backend?.addon : undefined;
  addon?.setWinograd('always');
  try {
    nb.manualSeed(3);
    for (const [C, H, OC] of [[8, 10, 12], [16, 5, 20]]) {
      const conv = new nb.nn.Conv2d(C, OC, 3, { padding: 1, bias: false }), bn = new nb.nn.BatchNorm2d(OC);
      nb.noGrad(() => { bn.running_mean!.copy_(nb.randn([OC]).mul(0.3)); bn.running_var!.copy_(nb.rand([OC]).add(0.5)); });
      bn.eval();
      const x = nb.randn([2, C, H, H]);
      const check = (what: string) => {
        const got = nb.noGrad(() => convBatchNorm(conv, bn, x));
        const w = nb.tensor(Array.from(conv.weight.toTypedArray()), { dtype: 'float32' }).reshape([OC, C, 3, 3]);   // a fresh storage each time
        const want = nb.noGrad(() => bn.call(nb.nn.functional.conv2d(x, w, null, 1, 1)) as nb.Tensor);
        assert.ok(maxRelDiff(got, want) < 1e-4, `C${C} ${H}x${H} OC${OC} after ${what}: ${maxRelDiff(got, want)}`);
      };
      check('the first call');
      check('the same weights again');
      nb.noGrad(() => conv.weight.mul_(-1.5));
      check('mul_');
      nb.noGrad(() => conv.weight.narrow(0, OC - 1, 1).fill_(0.25));   // a view of the last output channel only
      check('fill_ on a view');
      nb.noGrad(() => conv.weight.copy_(nb.randn([OC, C, 3, 3])));
      check('copy_');
      conv.train(); bn.train();
      const opt = new nb.optim.SGD(conv.parameters(), { lr: 0.5, momentum: 0.9 });
      for (let i = 0; i < 2; i++) {   // (the train-mode BatchNorm's output barely depends on the weights' scale: the conv's own does)
        opt.zeroGrad(); convBatchNorm(conv, bn, x).square().mean().add(conv.call(x).square().mean()).backward(); opt.step();
      }
      conv.eval(); bn.eval();
      check('SGD steps');
      const adam = new nb.optim.Adam(conv.parameters(), { lr: 0.1 });
      adam.zeroGrad(); conv.call(x).sum().backward(); adam.step();
      check('an Adam step');
      conv.loadStateDict({ weight: nb.randn([OC, C, 3, 3]) });
      check('loadStateDict');
      nb.nn.init.kaimingUniform_(conv.weight);
      check('nn.init.kaimingUniform_');
      const raw = conv.weight.data;   // handed out: from here on nabla cannot see the writes
      check('reading .data');
      raw[raw.length - 1] += 1;
      check('a write to the last element through .data');
      raw.set(nb.randn([OC * C * 9]).toTypedArray());
      check('rewriting all of .data');
      const mine = Float32Array.from(nb.randn([OC * C * 9]).toTypedArray());
      conv.weight = new nb.nn.Parameter(nb.fromTypedArray(mine, [OC, C, 3, 3]));
      check('a parameter over the caller\'s own array');
      mine[0] -= 2;
      check('a write to the caller\'s array');
    }
  } finally {
    addon?.setWinograd('auto');
  }
});

test('convBatchNorm in eval mode follows every change to the BatchNorm and the conv bias: running statistics, affine, replaced tensors, writes through .data', () => {
  const { conv, bn, x, res, relu } = setup(true);
  bn.eval();
  const check = (what: string) => {
    const got = nb.noGrad(() => convBatchNorm(conv, bn, x, { residual: res, activation: relu }));
    const want = nb.noGrad(() => relu.call((bn.call(conv.call(x)) as nb.Tensor).add(res)) as nb.Tensor);
    assert.ok(maxRelDiff(got, want) < 1e-5, `after ${what}: ${maxRelDiff(got, want)}`);
  };
  check('the first call');
  check('the same module again');
  bn.train();
  nb.noGrad(() => bn.call(conv.call(x).mul(3)));   // moves the running statistics
  bn.eval();
  check('a training-mode forward');
  nb.noGrad(() => bn.weight!.mul_(-2));
  check('bn.weight.mul_');
  nb.noGrad(() => bn.bias!.narrow(0, 9, 1).fill_(5));
  check('fill_ on a view of bn.bias');
  nb.noGrad(() => conv.bias!.add_(1));
  check('conv.bias.add_');
  bn.running_var = nb.rand([10]).add(2);
  check('a replaced running_var');
  bn.loadStateDict({ running_mean: nb.randn([10]) }, { strict: false });
  check('loadStateDict');
  const raw = bn.running_mean!.data;
  check('reading running_mean.data');
  raw[9] += 3;
  check('a write through running_mean.data');
});
