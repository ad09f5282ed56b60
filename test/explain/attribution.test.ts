// nb.explain: Integrated Gradients completeness, Grad-CAM against its formula by hand, occlusion and
// saliency on tiny fixed networks, and the Adebayo et al. model-randomisation check on a real MNIST MLP.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as nb from 'nabla';
import { sharedData, skipUnlessShared } from '../helpers/data.js';

const E = nb.explain;

// A fixed nonlinear classifier: 6 features -> tanh(8) -> 3 scores, float64.
function mlp(seed: number) {
  const g = new nb.Generator().manualSeed(seed);
  const w1 = nb.randn([6, 8], { generator: g, dtype: 'float64' });
  const w2 = nb.randn([8, 3], { generator: g, dtype: 'float64' });
  return (x: nb.Tensor) => x.matmul(w1).tanh().matmul(w2);
}

test('integratedGradients: attributions sum to f(x) - f(baseline) within 1% for every step rule', () => {
  const f = mlp(1);
  const g = new nb.Generator().manualSeed(2);
  const x = nb.randn([4, 6], { generator: g, dtype: 'float64' });
  const base = nb.randn([1, 6], { generator: g, dtype: 'float64' }).mul(0.1);
  const gap = f(x).sub(f(base)).select(1, 2).toTypedArray();
  for (const method of [
    'gausslegendre',
    'riemann_middle',
    'riemann_trapezoid',
    'riemann_left',
    'riemann_right',
  ] as const) {
    // NOTE: left and right sums are first-order rules, so they need more steps for the same 1%
    const nSteps = method === 'riemann_left' || method === 'riemann_right' ? 400 : 64;
    const attr = E.integratedGradients(f, x, { target: 2, baselines: base, method, nSteps });
    assert.deepEqual(attr.shape, [4, 6]);
    const sums = attr.sum(1).toTypedArray();
    for (let b = 0; b < 4; b++) {
      const rel = Math.abs(sums[b] - gap[b]) / Math.max(Math.abs(gap[b]), 1e-6);
      assert.ok(rel < 0.01, `${method} sample ${b}: sum ${sums[b]} vs f(x)-f(x') ${gap[b]} (rel ${rel})`);
    }
    const delta = E.convergenceDelta(f, x, attr, { target: 2, baselines: base }).abs().max().item();
    assert.ok(delta < 0.01 * Math.max(...[...gap].map(Math.abs)));
  }
});

test('stepRule matches Captum: gauss-legendre on [0, 1] integrates x^5 exactly with 3 points', () => {
  const { alphas, weights } = E.stepRule('gausslegendre', 3);
  const v = alphas.reduce((s, a, k) => s + weights[k] * a ** 5, 0);
  assert.ok(Math.abs(v - 1 / 6) < 1e-12, `got ${v}`);
  assert.deepEqual(E.stepRule('riemann_left', 4).alphas, [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(E.stepRule('riemann_trapezoid', 3).weights, [0.25, 0.5, 0.25]);
});

test('integratedGradients rejects a baseline of the wrong shape, naming both shapes', () => {
  const f = mlp(1);
  const x = nb.zeros([2, 6], { dtype: 'float64' });
  assert.throws(
    () => E.integratedGradients(f, x, { target: 0, baselines: nb.zeros([2, 5], { dtype: 'float64' }) }),
    /explain\.integratedGradients: baselines of shape \[2, 5\] do not match the input's \[2, 6\]/,
  );
  assert.throws(() => E.integratedGradients(f, x, { target: 7 }), /target 7 is not a class index in \[0, 3\)/);
});

// A fixed conv net: conv(1->3, 3x3) -> relu -> global average pool -> linear(3->2).
function convNet() {
  nb.manualSeed(3);
  const conv = new nb.nn.Conv2d(1, 3, 3, { dtype: 'float64' });
  const fc = new nb.nn.Linear(3, 2, { dtype: 'float64' });
  const model = new nb.nn.Sequential(conv, new nb.nn.ReLU(), new nb.nn.AdaptiveAvgPool2d(1), new nb.nn.Flatten(), fc);
  return { model, conv, fc };
}

test('gradCam equals ReLU(sum_k mean(dy/dA_k) A_k) written by hand', () => {
  const { model, conv, fc } = convNet();
  const x = nb.randn([2, 1, 6, 6], { dtype: 'float64' });
  const cam = E.gradCam(model, x, conv, { target: [1, 0] });
  assert.deepEqual(cam.shape, [2, 4, 4]);
  // by hand: A = conv(x) (B, 3, 4, 4); y_c = sum_k W[c,k] mean(relu(A_k)) + b
  // so dy_c/dA_k = W[c,k] * [A_k > 0] / 16 and alpha_k = W[c,k] * (#positive in A_k) / 256
  const A = nb.noGrad(() => conv.call(x) as nb.Tensor).toTypedArray();
  const W = fc.weight.toTypedArray();
  const got = cam.toTypedArray();
  [1, 0].forEach((c, b) => {
    const alpha = [0, 1, 2].map((k) => {
      let pos = 0;
      for (let i = 0; i < 16; i++) if (A[(b * 3 + k) * 16 + i] > 0) pos++;
      return (W[c * 3 + k] * pos) / 256;
    });
    for (let i = 0; i < 16; i++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += alpha[k] * A[(b * 3 + k) * 16 + i];
      assert.ok(Math.abs(Math.max(0, s) - got[b * 16 + i]) < 1e-12, `sample ${b} pixel ${i}`);
    }
  });
  const up = E.gradCam(model, x, conv, { target: 0, upsample: true });
  assert.deepEqual(up.shape, [2, 6, 6]);
});

test('gradCam on a layer the forward pass never reached names the layer', () => {
  const { model } = convNet();
  class Wrapped extends nb.nn.Module {
    body = model;
    unused = new nb.nn.Conv2d(1, 1, 1, { dtype: 'float64' });
    forward(x: nb.Tensor): nb.Tensor {
      return this.body.call(x) as nb.Tensor;
    }
  }
  const wrapped = new Wrapped();
  const stray = wrapped.unused;
  assert.throws(
    () => E.gradCam(wrapped, nb.randn([1, 1, 6, 6], { dtype: 'float64' }), stray, { target: 0 }),
    /explain\.gradCam: layer 'unused' \(Conv2d\) was never reached by the forward pass/,
  );
});

test('occlusion of a linear model gives w * (x - baseline) per feature; saliency gives |w|', () => {
  const w = nb.tensor([[1], [-2], [3], [0.5]], { dtype: 'float64' });
  const f = (x: nb.Tensor) => x.reshape(x.shape[0], 4).matmul(w);
  const x = nb.tensor(
    [
      [
        [1, 2],
        [3, 4],
      ],
    ],
    { dtype: 'float64' },
  );
  const occ = E.occlusion(f, x, { target: 0, slidingWindowShapes: [1, 1] });
  assert.deepEqual([...occ.toTypedArray()], [1, -4, 9, 2]);
  // 2x2 windows with stride 1 on a 2x2 input: one window, every feature gets the whole drop
  const all = E.occlusion(f, x, { target: 0, slidingWindowShapes: [2, 2] });
  assert.deepEqual([...all.toTypedArray()], [8, 8, 8, 8]);
  assert.deepEqual([...E.saliency(f, x, { target: 0 }).toTypedArray()], [1, 2, 3, 0.5]);
  assert.throws(() => E.occlusion(f, x, { target: 0, slidingWindowShapes: [3, 1] }), /window \[3,1\] does not fit/);
});

test('smoothGrad with zero noise equals the gradient', () => {
  const f = mlp(4);
  const x = nb.randn([3, 6], { dtype: 'float64' });
  const a = E.smoothGrad(f, x, { target: 1, stdev: 0, nSamples: 2 });
  const b = E.saliency(f, x, { target: 1, abs: false });
  assert.ok(a.sub(b).abs().max().item() < 1e-12);
});

// Spearman rank correlation of two equal-length arrays (ties broken by index: the maps here are continuous).
function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const rank = (v: ArrayLike<number>) => {
    const idx = Array.from({ length: v.length }, (_, i) => i).sort((i, j) => v[i] - v[j]);
    const r = new Float64Array(v.length);
    idx.forEach((i, k) => {
      r[i] = k;
    });
    return r;
  };
  const ra = rank(a),
    rb = rank(b);
  const n = ra.length,
    m = (n - 1) / 2;
  let num = 0,
    da = 0,
    db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i] - m) * (rb[i] - m);
    da += (ra[i] - m) ** 2;
    db += (rb[i] - m) ** 2;
  }
  return num / Math.sqrt(da * db);
}

test('model randomisation (Adebayo et al. 2018): a pretrained MNIST MLP saliency changes with random weights', {
  skip: skipUnlessShared('mnist-mlp-dlfs.safetensors', 'mnist-t10k-images-idx3-ubyte.gz'),
}, async () => {
  const sd = (await nb.io.load(sharedData('mnist-mlp-dlfs.safetensors'))) as Record<string, nb.Tensor>;
  const idx = nb.data.readIdx(sharedData('mnist-t10k-images-idx3-ubyte.gz'));
  const n = 8;
  const x = nb.fromTypedArray(
    Float32Array.from(idx.data.subarray(0, n * 784), (v) => v / 255),
    [n, 784],
  );
  const net = (p: Record<string, nb.Tensor>) => (v: nb.Tensor) =>
    v.matmul(p.W1).add(p.b1).sigmoid().matmul(p.W2).add(p.b2).sigmoid().matmul(p.W3).add(p.b3);
  const trained = net(sd);
  const pred = [
    ...nb
      .noGrad(() => trained(x))
      .argmax(1)
      .toTypedArray(),
  ];
  nb.manualSeed(0);
  // randomise every layer (the cascading test's last step), with the trained weights' scale
  const rnd = Object.fromEntries(
    Object.entries(sd).map(([k, t]) => [k, nb.randnLike(t).mul(t.std().item() as number)]),
  );
  const s0 = E.saliency(trained, x, { target: pred }).toTypedArray();
  const s1 = E.saliency(net(rnd), x, { target: pred }).toTypedArray();
  // NOTE: a second trained-model run is the control: the same weights must give the same map
  const s0b = E.saliency(trained, x, { target: pred }).toTypedArray();
  for (let b = 0; b < n; b++) {
    const a = s0.subarray(b * 784, (b + 1) * 784),
      r = s1.subarray(b * 784, (b + 1) * 784);
    const rho = spearman(a, r);
    assert.ok(Math.abs(rho) < 0.5, `image ${b}: rank correlation ${rho.toFixed(3)} with randomised weights`);
    assert.ok(spearman(a, s0b.subarray(b * 784, (b + 1) * 784)) > 0.999);
  }
});
