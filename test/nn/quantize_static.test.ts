// Static post-training int8 quantization (nb.quantization.prepare / convert / quantizeStatic):
// observers as torch's, BatchNorm folding and ReLU fusion, the int8 convolution against its float
// reference, bad input; and quality on real networks: the three pretrained MNIST networks from
// ../shared/data are checked in quantize_mnist.test.ts.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as nb from 'nabla';

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
