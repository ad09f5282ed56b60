// ConvBn2d (src/nn/fusion.ts, swapped in by nn.utils.fuse): conv -> bn (-> + residual) (-> ReLU) as one
// fused convolution in eval mode without gradients, and exactly the modules' own forward everywhere else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as nb from '../../src/index.js';
import { ConvBn2d, FoldedBatchNorm2d } from '../../src/nn/fusion.js';
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

/**
 * conv -> bn (-> relu) fused by nn.utils.fuse: the ConvBn2d and the BatchNorm's folded stand-in, which
 * hold the same tensors as conv and bn. fc.call(x, residual) is relu(bn(conv(x)) + residual).
 */
function fuseConvBn(conv: nb.nn.Conv2d, bn: nb.nn.BatchNorm2d, relu: nb.nn.ReLU | null = null) {
  const seq = nb.nn.utils.fuse(relu ? new nb.nn.Sequential(conv, bn, relu) : new nb.nn.Sequential(conv, bn));
  const fc = seq.at(0),
    fbn = seq.at(1);
  assert.ok(fc instanceof ConvBn2d && fbn instanceof FoldedBatchNorm2d, `fused: ${seq}`);
  return { fc, fbn };
}

function maxRelDiff(a: nb.Tensor, b: nb.Tensor): number {
  const p = a.toTypedArray(),
    q = b.toTypedArray();
  assert.equal(p.length, q.length);
  let m = 0;
  for (let i = 0; i < p.length; i++) m = Math.max(m, Math.abs(p[i] - q[i]) / (1 + Math.abs(q[i])));
  return m;
}

test('ConvBn2d in eval mode equals conv -> bn -> + residual -> relu, with and without conv bias', () => {
  for (const bias of [false, true]) {
    const { conv, bn, x, res, relu } = setup(bias);
    bn.eval();
    const want = nb.noGrad(() => relu.call((bn.call(conv.call(x)) as nb.Tensor).add(res)) as nb.Tensor);
    const got = nb.noGrad(() => fuseConvBn(conv, bn, relu).fc.call(x, res));
    assert.deepEqual(got.shape, [3, 10, 7, 6]);
    assert.ok(maxRelDiff(got, want) < 1e-5, `bias=${bias}: ${maxRelDiff(got, want)}`);
    const plain = nb.noGrad(() => fuseConvBn(conv, bn).fc.call(x));
    assert.ok(
      maxRelDiff(
        plain,
        nb.noGrad(() => bn.call(conv.call(x)) as nb.Tensor),
      ) < 1e-5,
    );
  }
  // eval without gradients really takes the fused kernel (every backend has it)
  const { conv, x, res } = setup(false);
  const p = { strideH: 2, strideW: 2, padH: 1, padW: 1, dilationH: 1, dilationW: 1, groups: 1 };
  const one = nb.noGrad(() => conv2dFused(x, conv.weight, p, new Float32Array(10).fill(2), null, res, true));
  assert.ok(one !== null, `backend ${nb.backend().name}: the fused path declined`);
  if (one)
    assert.ok(
      maxRelDiff(
        one,
        nb.noGrad(() =>
          conv
            .call(x)
            .sub(conv.bias ?? 0)
            .mul(2)
            .add(res)
            .relu(),
        ),
      ) < 1e-5,
    );
});

test('ConvBn2d runs the modules themselves for hooks, training and gradients; fuse leaves hooked modules alone', () => {
  const { conv, bn, x, res, relu } = setup(true);
  bn.eval();
  // a hook on the ReLU (registered after fusing) still fires: the ReLU then runs as a module of its own
  let calls = 0;
  const { fc, fbn } = fuseConvBn(conv, bn, relu);
  const h = relu.registerForwardHook(() => {
    calls++;
  });
  const hooked = nb.noGrad(() => fc.call(x));
  assert.equal(calls, 1, 'a forward hook on the ReLU still fires');
  assert.ok(
    maxRelDiff(
      hooked,
      nb.noGrad(() => relu.call(bn.call(conv.call(x))) as nb.Tensor),
    ) < 1e-6,
  );
  h.remove();
  assert.throws(() => fbn.registerForwardHook(() => undefined), /FoldedBatchNorm2d: .*ConvBn2d/);
  // a module with hooks before fusing is not fused
  const hb = bn.registerForwardHook(() => {
    calls++;
  });
  const kept = nb.nn.utils.fuse(new nb.nn.Sequential(conv, bn, relu));
  assert.ok(kept.at(0) === conv && kept.at(1) === bn && kept.at(2) === relu);
  hb.remove();

  // gradients: eval mode with grad enabled records the graph and reaches the conv weight
  const y = fc.call(x, res);
  y.sum().backward();
  assert.ok(conv.weight.grad && conv.weight.grad.abs().sum().item() > 0, 'conv.weight.grad is set');

  // training: batch statistics and running-stat updates, exactly as bn.call(conv.call(x))
  const a = setup(true),
    b = setup(true);
  const fa = fuseConvBn(a.conv, a.bn, a.relu);
  fa.fc.train();
  fa.fbn.train();
  b.bn.train();
  const got = fa.fc.call(a.x);
  const want = b.relu.call(b.bn.call(b.conv.call(b.x)) as nb.Tensor) as nb.Tensor;
  assert.ok(maxRelDiff(got, want) < 1e-6);
  assert.ok(maxRelDiff(a.bn.running_mean!, b.bn.running_mean!) < 1e-6);
  assert.equal(a.bn.num_batches_tracked!.item(), 1);
});

test('fuse on Sequential: conv-bn-relu, conv-bn, conv-relu and linear-activation runs; same keys and outputs', () => {
  nb.manualSeed(5);
  const net = new nb.nn.Sequential(
    new nb.nn.Conv2d(3, 8, 3, { padding: 1 }),
    new nb.nn.BatchNorm2d(8),
    new nb.nn.ReLU(),
    new nb.nn.Conv2d(8, 8, 3, { stride: 2, padding: 1, bias: false }),
    new nb.nn.BatchNorm2d(8),
    new nb.nn.Conv2d(8, 6, 1),
    new nb.nn.ReLU(),
    new nb.nn.MaxPool2d(2),
    new nb.nn.Flatten(),
    new nb.nn.Linear(6 * 4 * 4, 20),
    new nb.nn.GELU('tanh'),
    new nb.nn.Linear(20, 10),
    new nb.nn.Sigmoid(),
  );
  nb.noGrad(() => {
    for (const m of net) {
      if (m instanceof nb.nn.BatchNorm2d) {
        m.running_mean!.copy_(nb.randn([8]).mul(0.2));
        m.running_var!.copy_(nb.rand([8]).add(0.5));
        m.weight!.copy_(nb.randn([8]));
        m.bias!.copy_(nb.randn([8]));
      }
    }
  });
  net.eval();
  const x = nb.randn([2, 3, 16, 16]);
  const want = nb.noGrad(() => net.call(x) as nb.Tensor);
  const keys = Object.keys(net.stateDict());
  const fusedNet = nb.nn.utils.fuse(net);
  assert.equal(fusedNet, net, 'fused in place');
  assert.deepEqual(Object.keys(net.stateDict()), keys);
  assert.deepEqual(
    [...net].map((m) => m.constructor.name),
    [
      'ConvBn2d',
      'FoldedBatchNorm2d',
      'Identity',
      'ConvBn2d',
      'FoldedBatchNorm2d',
      'ConvBn2d',
      'Identity',
      'MaxPool2d',
      'Flatten',
      'LinearAct',
      'Identity',
      'LinearAct',
      'Identity',
    ],
  );
  assert.ok(
    maxRelDiff(
      nb.noGrad(() => net.call(x) as nb.Tensor),
      want,
    ) < 1e-5,
  );
  nb.nn.utils.fuse(net); // a second pass changes nothing
  assert.deepEqual(Object.keys(net.stateDict()), keys);
  assert.ok(
    maxRelDiff(
      nb.noGrad(() => net.call(x) as nb.Tensor),
      want,
    ) < 1e-5,
  );
  // a load after fusing reaches the fused modules
  // (stateDict shares storage with the parameters)
  const sd = Object.fromEntries(Object.entries(net.stateDict()).map(([k, v]) => [k, v.clone()]));
  const zeroed = Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, k.endsWith('running_var') ? v : v.mul(0)]));
  net.loadStateDict(zeroed);
  const zeroOut = nb.noGrad(() => net.call(x) as nb.Tensor);
  assert.ok(zeroOut.sub(0.5).abs().max().item() < 1e-6, 'all-zero weights give sigmoid(0)');
  net.loadStateDict(sd);
  assert.ok(
    maxRelDiff(
      nb.noGrad(() => net.call(x) as nb.Tensor),
      want,
    ) < 1e-5,
  );
  // with gradients on, the same values through the modules' composition
  assert.ok(maxRelDiff((net.call(x) as nb.Tensor).detach(), want) < 1e-5);
  // a deep copy is fused too, over its own tensors
  const copy = nb.nn.deepCopyModule(net);
  assert.ok(
    maxRelDiff(
      nb.noGrad(() => copy.call(x) as nb.Tensor),
      want,
    ) < 1e-5,
  );
  nb.noGrad(() => (copy.at(1) as FoldedBatchNorm2d).bias!.add_(1));
  assert.ok(
    maxRelDiff(
      nb.noGrad(() => net.call(x) as nb.Tensor),
      want,
    ) < 1e-5,
    'the original is untouched',
  );
  assert.ok(
    maxRelDiff(
      nb.noGrad(() => copy.call(x) as nb.Tensor),
      want,
    ) > 1e-3,
    'the copy reads its own BatchNorm',
  );
});

test('ConvBn2d in training with a residual and ReLU equals the modules: output, every gradient, running stats', () => {
  const a = setup(true),
    b = setup(true);
  const fa = fuseConvBn(a.conv, a.bn, a.relu);
  fa.fbn.train();
  b.bn.train();
  const xa = a.x.clone().requiresGrad_(),
    xb = b.x.clone().requiresGrad_();
  const ra = a.res.clone().requiresGrad_(),
    rb = b.res.clone().requiresGrad_();
  const ya = fa.fc.call(xa, ra);
  const yb = b.relu.call((b.bn.call(b.conv.call(xb)) as nb.Tensor).add(rb)) as nb.Tensor;
  assert.ok(maxRelDiff(ya, yb) < 1e-5, `y ${maxRelDiff(ya, yb)}`);
  const g = nb.randn(ya.shape);
  ya.backward(g);
  yb.backward(g);
  for (const [name, p, q] of [
    ['x', xa.grad!, xb.grad!],
    ['residual', ra.grad!, rb.grad!],
    ['conv.weight', a.conv.weight.grad!, b.conv.weight.grad!],
    ['bn.weight', a.bn.weight!.grad!, b.bn.weight!.grad!],
    ['bn.bias', a.bn.bias!.grad!, b.bn.bias!.grad!],
  ] as const) {
    assert.ok(maxRelDiff(p, q) < 1e-4, `${name} grad ${maxRelDiff(p, q)}`);
  }
  assert.ok(maxRelDiff(a.bn.running_var!, b.bn.running_var!) < 1e-6);
  // double backward through the fused forward takes the composed gradient formulas
  const xc = a.x.clone().requiresGrad_();
  const yc = fa.fc.call(xc, a.res);
  const gx = nb.autograd.grad([yc.pow(2).sum()], [xc], { createGraph: true })[0]!;
  const xd = b.x.clone().requiresGrad_();
  const yd = b.relu.call((b.bn.call(b.conv.call(xd)) as nb.Tensor).add(b.res)) as nb.Tensor;
  const gd = nb.autograd.grad([yd.pow(2).sum()], [xd], { createGraph: true })[0]!;
  assert.ok(maxRelDiff(gx, gd) < 1e-4, `createGraph grad ${maxRelDiff(gx, gd)}`);
  const ggx = nb.autograd.grad([gx.sum()], [xc])[0]!,
    ggd = nb.autograd.grad([gd.sum()], [xd])[0]!;
  assert.ok(maxRelDiff(ggx, ggd) < 1e-3, `second derivative ${maxRelDiff(ggx, ggd)}`);
});

test(
  'F.linear in inference (one fused kernel where the backend has it) equals the recorded path, views ' + 'included',
  () => {
    nb.manualSeed(11);
    const w = nb.randn([9, 13]),
      b = nb.randn([9]);
    const xs = [nb.randn([4, 13]), nb.randn([2, 3, 13]), nb.randn([13, 5]).t(), nb.randn([6, 20]).narrow(1, 3, 13)];
    for (const x of xs) {
      const fusedY = nb.noGrad(() => nb.nn.functional.linear(x, w, b));
      const wg = w.clone().requiresGrad_();
      const recorded = nb.nn.functional.linear(x, wg, b).detach();
      assert.deepEqual(fusedY.shape, recorded.shape);
      assert.ok(maxRelDiff(fusedY, recorded) < 1e-6, `linear ${x.shape}: ${maxRelDiff(fusedY, recorded)}`);
    }
  },
);

test(
  'ConvBn2d in eval mode follows every change to the conv weights: in-place ops, copy_, optimizer steps, ' +
    'loadStateDict, nn.init, writes through .data',
  async () => {
    // the native backend keeps transformed weights between eval-mode calls and, while the storage's
    // version and array stay nabla's own, trusts them without comparing: every route that changes the
    // weights must be seen. Winograd 'always' makes these small convolutions take the cache.
    const { loadNativeBackend } = await import('../../src/backend/native/index.js');
    const addon = nb.backend().name === 'native' ? loadNativeBackend().backend?.addon : undefined;
    addon?.setWinograd('always');
    try {
      nb.manualSeed(3);
      for (const [C, H, OC] of [
        [8, 10, 12],
        [16, 5, 20],
      ]) {
        const conv0 = new nb.nn.Conv2d(C, OC, 3, { padding: 1, bias: false }),
          bn = new nb.nn.BatchNorm2d(OC);
        nb.noGrad(() => {
          bn.running_mean!.copy_(nb.randn([OC]).mul(0.3));
          bn.running_var!.copy_(nb.rand([OC]).add(0.5));
        });
        const { fc: conv, fbn } = fuseConvBn(conv0, bn);
        fbn.eval();
        conv.eval();
        bn.eval();
        const x = nb.randn([2, C, H, H]);
        const check = (what: string) => {
          const got = nb.noGrad(() => conv.call(x));
          const w = nb.tensor(Array.from(conv.weight.toTypedArray()), { dtype: 'float32' }).reshape([OC, C, 3, 3]); // a
          // fresh storage each time
          const want = nb.noGrad(() => bn.call(nb.nn.functional.conv2d(x, w, null, 1, 1)) as nb.Tensor);
          assert.ok(maxRelDiff(got, want) < 1e-4, `C${C} ${H}x${H} OC${OC} after ${what}: ${maxRelDiff(got, want)}`);
        };
        check('the first call');
        check('the same weights again');
        nb.noGrad(() => conv.weight.mul_(-1.5));
        check('mul_');
        nb.noGrad(() => conv.weight.narrow(0, OC - 1, 1).fill_(0.25)); // a view of the last output channel only
        check('fill_ on a view');
        nb.noGrad(() => conv.weight.copy_(nb.randn([OC, C, 3, 3])));
        check('copy_');
        conv.train();
        fbn.train();
        const opt = new nb.optim.SGD(conv.parameters(), { lr: 0.5, momentum: 0.9 });
        for (let i = 0; i < 2; i++) {
          // (the train-mode BatchNorm's output barely depends on the weights' scale: the conv's own does)
          opt.zeroGrad();
          conv.call(x).square().mean().add(conv0.call(x).square().mean()).backward();
          opt.step();
        }
        conv.eval();
        fbn.eval();
        check('SGD steps');
        const adam = new nb.optim.Adam(conv.parameters(), { lr: 0.1 });
        adam.zeroGrad();
        conv0.call(x).sum().backward();
        adam.step();
        check('an Adam step');
        conv.loadStateDict({ weight: nb.randn([OC, C, 3, 3]) });
        check('loadStateDict');
        nb.nn.init.kaimingUniform_(conv.weight);
        check('nn.init.kaimingUniform_');
        const raw = conv.weight.data; // handed out: from here on nabla cannot see the writes
        check('reading .data');
        raw[raw.length - 1] += 1;
        check('a write to the last element through .data');
        raw.set(nb.randn([OC * C * 9]).toTypedArray());
        check('rewriting all of .data');
        const mine = Float32Array.from(nb.randn([OC * C * 9]).toTypedArray());
        conv.weight = new nb.nn.Parameter(nb.fromTypedArray(mine, [OC, C, 3, 3]));
        check("a parameter over the caller's own array");
        mine[0] -= 2;
        check("a write to the caller's array");
      }
    } finally {
      addon?.setWinograd('auto');
    }
  },
);

test(
  'ConvBn2d in eval mode follows every change to the BatchNorm and the conv bias: running statistics, affine, ' +
    'replaced tensors, writes through .data',
  () => {
    const { conv, bn: bn0, x, res, relu } = setup(true);
    const { fc, fbn: bn } = fuseConvBn(conv, bn0, relu);
    bn.eval();
    const check = (what: string) => {
      const got = nb.noGrad(() => fc.call(x, res));
      // the reference: the same tensors through the plain modules
      const ref = new nb.nn.BatchNorm2d(10).eval();
      nb.noGrad(() => ref.loadStateDict(bn.stateDict()));
      const want = nb.noGrad(() => relu.call((ref.call(conv.call(x)) as nb.Tensor).add(res)) as nb.Tensor);
      assert.ok(maxRelDiff(got, want) < 1e-5, `after ${what}: ${maxRelDiff(got, want)}`);
    };
    check('the first call');
    check('the same module again');
    bn.train();
    nb.noGrad(() => fc.call(x.mul(3))); // moves the running statistics
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
  },
);
