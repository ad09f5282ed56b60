// Static post-training int8 quantization (nb.quantization.prepare / convert / quantizeStatic):
// observers as torch's, BatchNorm folding and ReLU fusion, the int8 convolution against its float
// reference, bad input; and quality on real networks: the three pretrained MNIST networks from
// ../shared/data are checked in quantize_mnist.test.ts.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as nb from 'nabla';
import { golden } from '../helpers/data.js';

const Q = nb.quantization;
const { Sequential, Conv2d, BatchNorm2d, ReLU, MaxPool2d, Flatten, Linear, Sigmoid } = nb.nn;
type T = nb.Tensor;
const flat = (t: T) => Array.from(t.toTypedArray() as Float32Array);

function maxAbs(a: T, b: T): number {
  const x = flat(a),
    y = flat(b);
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
}

test('MinMaxObserver and MovingAverageMinMaxObserver give torch quint8 qparams', () => {
  const o = new Q.MinMaxObserver();
  o.call(nb.tensor([-1, 0.5, 2]));
  o.call(nb.tensor([3, -0.25]));
  assert.equal(o.min, -1);
  assert.equal(o.max, 3);
  // torch: scale = 4 / 255, zero_point = 0 - round(-1 / scale) = 64 (63.75 rounds to 64)
  const p = o.calculateQparams();
  assert.equal(p.scale, Math.fround(4 / 255));
  assert.equal(p.zeroPoint, 64);
  const pos = new Q.MinMaxObserver();
  pos.call(nb.tensor([0.5, 2]));
  assert.deepEqual(pos.calculateQparams(), { scale: Math.fround(2 / 255), zeroPoint: 0 }, 'the range includes 0');
  const m = new Q.MovingAverageMinMaxObserver(0.5);
  m.call(nb.tensor([-2, 2]));
  m.call(nb.tensor([0, 4]));
  assert.equal(m.min, -1);
  assert.equal(m.max, 3);
  assert.throws(() => new Q.MinMaxObserver().calculateQparams(), /nothing was observed/);
});

interface HistCase {
  name: string;
  batches: number[][];
  min_val: number;
  max_val: number;
  search_min: number;
  search_max: number;
  scale: number;
  zero_point: number;
}

test('HistogramObserver picks the qparams of torch 1.13 (tools/golden/quantize_static.py)', () => {
  const { cases } = JSON.parse(readFileSync(golden('quantize_static.json'), 'utf8')) as { cases: HistCase[] };
  assert.equal(cases.length, 5);
  for (const c of cases) {
    const o = new Q.HistogramObserver();
    for (const b of c.batches) o.call(nb.tensor(b));
    // NOTE: torch keeps min/max in float32 tensors; its histc bins in float32 where this bins in float64,
    // so a value on a bin edge may land one bin over: the qparams must still agree to float32 rounding
    assert.equal(o.min, c.min_val, `${c.name}: min`);
    assert.ok(Math.abs(o.max - c.max_val) <= 1e-6 * Math.abs(c.max_val), `${c.name}: max ${o.max} vs ${c.max_val}`);
    const total = o.histogram.reduce((a, v) => a + v, 0);
    const n = c.batches.reduce((a, b) => a + b.length, 0);
    assert.ok(Math.abs(total - n) < 1e-2, `${c.name}: the histogram holds every value (${total} of ${n})`);
    const p = o.calculateQparams();
    assert.ok(Math.abs(p.scale - c.scale) <= 1e-6 * c.scale, `${c.name}: scale ${p.scale} vs torch ${c.scale}`);
    assert.equal(p.zeroPoint, c.zero_point, `${c.name}: zero point`);
    const mm = new Q.MinMaxObserver();
    for (const b of c.batches) mm.call(nb.tensor(b));
    if (c.name !== 'uniform') assert.ok(p.scale < mm.calculateQparams().scale, `${c.name}: outliers are clipped`);
  }
  assert.throws(() => new Q.HistogramObserver().calculateQparams(), /nothing was observed/);
  assert.throws(() => new Q.HistogramObserver(0), /positive integers/);
});

test('bias correction removes the mean shift that rounding the weights causes', () => {
  nb.manualSeed(3);
  const net = new Sequential(new Conv2d(6, 8, 3), new ReLU(), new Flatten(), new Linear(8 * 6 * 6, 4)).eval();
  // inputs with a large mean: the weights' rounding error shifts every output by (Wq - W) . E[x]
  const x = nb.rand([16, 6, 8, 8]).add(2);
  const yf = nb.noGrad(() => net.call(x) as T);
  const meanErr = (q: nb.nn.Module) => {
    const e = nb.noGrad(() => (q.call(x) as T).sub(yf));
    return Math.abs(e.mean().item());
  };
  const plain = Q.quantizeStatic(net, x),
    corrected = Q.quantizeStatic(net, x, { biasCorrection: true });
  const c0 = corrected.at(0) as InstanceType<typeof Q.QuantizedConv2d>,
    p0 = plain.at(0) as InstanceType<typeof Q.QuantizedConv2d>;
  assert.deepEqual(c0.q, p0.q, 'the same codes');
  // conv: bias' = bias - (Wq - W) . E[x], E[x] per input channel
  const w = flat((net.at(0) as InstanceType<typeof Conv2d>).weight),
    mu = flat(x.mean([0, 2, 3]));
  const want = flat(p0.bias!).map((b, oc) => {
    let s = 0;
    for (let k = 0; k < 54; k++) s += (p0.q[oc * 54 + k] * p0.scales[oc] - w[oc * 54 + k]) * mu[Math.floor(k / 9)];
    return b - s;
  });
  const got = flat(c0.bias!);
  for (let i = 0; i < got.length; i++)
    assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `bias ${i}: ${got[i]} vs ${want[i]}`);
  assert.ok(meanErr(corrected) < meanErr(plain), `mean error ${meanErr(corrected)} vs ${meanErr(plain)}`);
});

test('prepare folds BatchNorm, fuses ReLU; convert runs int8 close to float; a conv is its float twin', () => {
  nb.manualSeed(0);
  const bn = new BatchNorm2d(8);
  nb.noGrad(() => {
    bn.runningMean!.copy_(nb.randn([8]).mul(0.1));
    bn.runningVar!.copy_(nb.rand([8]).add(0.5));
    bn.weight!.copy_(nb.rand([8]).add(0.5));
    bn.bias!.copy_(nb.randn([8]).mul(0.1));
  });
  const net = new Sequential(
    new Conv2d(3, 8, 3, { padding: 1 }),
    bn,
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(8, 4, 3, { stride: 2, bias: false }),
    new ReLU(),
    new Flatten(),
    new Linear(16, 10),
    new Sigmoid(),
    new Linear(10, 3),
  ).eval();
  const x = nb.rand([4, 3, 10, 10]);
  const p = Q.prepare(net);
  assert.ok(net.at(1) instanceof BatchNorm2d, 'prepare works on a copy');
  assert.ok(p.at(0) instanceof Q.ObservedLayer && (p.at(0) as InstanceType<typeof Q.ObservedLayer>).relu);
  assert.ok(p.at(1) instanceof nb.nn.Identity && p.at(2) instanceof nb.nn.Identity);
  const yf = nb.noGrad(() => net.call(x) as T),
    yp = nb.noGrad(() => p.call(x) as T);
  assert.ok(maxAbs(yf, yp) < 1e-5, 'the prepared (folded, fused) model computes the float function');
  const q = Q.convert(p);
  const mods = [...q.modules()];
  assert.equal(mods.filter((m) => m instanceof Q.QuantizedConv2d).length, 2);
  assert.equal(mods.filter((m) => m instanceof Q.QuantizedLinear).length, 2);
  // the second conv reads the first's codes: pooling keeps the grid
  const c0 = q.at(0) as InstanceType<typeof Q.QuantizedConv2d>,
    c1 = q.at(4) as InstanceType<typeof Q.QuantizedConv2d>,
    l1 = q.at(9) as InstanceType<typeof Q.QuantizedLinear>;
  assert.equal(c1.input, c0.output);
  assert.notEqual(l1.input, (q.at(7) as InstanceType<typeof Q.QuantizedLinear>).output, 'not across a sigmoid');
  const yq = nb.noGrad(() => q.call(x) as T);
  const range = Math.max(...flat(yf)) - Math.min(...flat(yf));
  assert.ok(maxAbs(yq, yf) < 0.05 * range, `int8 vs float: ${maxAbs(yq, yf)} of ${range}`);
  // the int8 conv: exactly the float conv of the dequantized input and weights, rounded to the output grid
  const conv = new Conv2d(3, 5, 3, { padding: 1, stride: 2 });
  const qc = Q.quantizeStatic(new Sequential(conv), x).at(0) as InstanceType<typeof Q.QuantizedConv2d>;
  const K = 27;
  const wDeq = nb
    .tensor(Array.from(qc.q), { dtype: 'float32' })
    .reshape([5, K])
    .mul(nb.tensor(Array.from(qc.scales)).reshape([5, 1]))
    .reshape([5, 3, 3, 3]);
  const xi = qc.input;
  const xDeq = x.div(xi.scale).round().add(xi.zeroPoint).clamp(0, 255).sub(xi.zeroPoint).mul(xi.scale);
  const ref = nb.noGrad(() => nb.nn.functional.conv2d(xDeq, wDeq, conv.bias, 2, 1));
  const got = nb.noGrad(() => qc.call(x) as T);
  assert.ok(maxAbs(got, ref) <= qc.output.scale * 0.5 + 1e-5, `within half an output step: ${maxAbs(got, ref)}`);
});

test('static quantization: bad input is named', () => {
  const net = new Sequential(new Conv2d(4, 4, 3, { groups: 2 }), new ReLU());
  assert.throws(() => Q.prepare(net), /groups=2\) has no static quantized version.*keepUnsupported/);
  const kept = Q.prepare(net, { keepUnsupported: true });
  assert.ok(kept.at(0) instanceof Conv2d, 'kept in float when asked');
  assert.throws(() => Q.prepare(net, { modules: [nb.nn.LSTM] }), /LSTM has no static quantized version/);
  const p = Q.prepare(new Sequential(new Linear(3, 2)));
  assert.throws(() => Q.convert(p), /nothing was observed/);
  const q = Q.quantizeStatic(new Sequential(new Linear(3, 2)), nb.randn([4, 3]));
  assert.throws(() => q.call(nb.randn([4, 5])), /expected input \(\*, 3\)/);
  assert.throws(() => q.call(nb.randn([4, 3]).requiresGrad_()), /no gradient/);
  assert.throws(() => Q.quantizeStatic(new Sequential(new Linear(3, 2)), []), /no calibration batches/);
});
