// Static int8 ResNet-18 on uint8 NHWC codes (src/vision/models/resnet_int8.ts): its logits against the
// float32 model's (random weights with nontrivial BatchNorm statistics, calibrated on random inputs), the
// same forward on the native and JS backends bit for bit (every layer through Kernels.conv2dU8 /
// addU8 / pool2dU8 / quantizeNhwcU8 / gemmU8S8), and the errors of a model it cannot take.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../../src/index.js';
import { dequantizeNhwc, quantizeNhwc } from '../../src/ops/quantized_nhwc.js';
import { backends, withBackend } from '../helpers/backends.js';

function model(seed: number): nb.vision.models.ResNet {
  nb.manualSeed(seed);
  const m = nb.vision.models.resnet18({ numClasses: 10 }).eval();
  nb.noGrad(() => {
    for (const mod of m.modules())
      if (mod instanceof nb.nn.BatchNorm2d) {
        mod.runningMean!.copy_(nb.randn([mod.numFeatures]).mul(0.1));
        mod.runningVar!.copy_(nb.rand([mod.numFeatures]).add(0.5));
        mod.weight!.copy_(nb.rand([mod.numFeatures]).add(0.5));
      }
  });
  return m;
}

const native = backends().includes('native');

test('int8 ResNet-18 follows float32: max logit error and top-1 agreement (64x64 inputs)', () => {
  const m = model(1);
  const q = nb.vision.models.quantizeResNet(m, [nb.randn([8, 3, 64, 64])]);
  const x = nb.randn([16, 3, 64, 64]);
  const want = nb.noGrad(() => m.call(x)).toTypedArray() as Float32Array;
  const got = nb.noGrad(() => q.call(x));
  assert.deepEqual(got.shape, [16, 10]);
  const g = got.toTypedArray() as Float32Array;
  let err = 0,
    scale = 0,
    agree = 0;
  for (let b = 0; b < 16; b++) {
    const w = want.subarray(b * 10, b * 10 + 10),
      h = g.subarray(b * 10, b * 10 + 10);
    for (let i = 0; i < 10; i++) {
      err = Math.max(err, Math.abs(w[i] - h[i]));
      scale = Math.max(scale, Math.abs(w[i]));
    }
    if (w.indexOf(Math.max(...w)) === h.indexOf(Math.max(...h))) agree++;
  }
  // measured: max |error| / max |logit| 0.049, top-1 16 of 16 (the bounds leave room for other seeds' draws)
  assert.ok(err / scale < 0.1, `max |error| / max |logit| = ${err / scale}`);
  assert.ok(agree >= 14, `top-1 agrees on ${agree} of 16`);
});

test('int8 ResNet-18: the native kernels give the JS reference logits bit for bit', {
  skip: !native && 'the native addon is not built',
}, () => {
  const m = model(2);
  const calib = nb.randn([2, 3, 64, 64]),
    x = nb.randn([2, 3, 64, 64]);
  // one calibration (float32 convolutions round differently per backend), then the int8 forward on each
  const q = nb.vision.models.quantizeResNet(m, [calib]);
  const run = (be: string) => withBackend(be, () => nb.noGrad(() => q.call(x)).toTypedArray());
  assert.deepEqual(run('native'), run('js'));
});

test('quantizeNhwc reads any layout and dequantizeNhwc inverts it on the grid', () => {
  const p = { scale: 0.05, zeroPoint: 128 };
  const x = nb.randn([2, 5, 7, 3]);
  const t = x.permute([0, 3, 1, 2]); // (2, 3, 5, 7), not contiguous
  const a = quantizeNhwc(t, p),
    b = quantizeNhwc(t.contiguous(), p);
  assert.deepEqual(a.shape, [2, 5, 7, 3]);
  assert.deepEqual(a.codes, b.codes);
  const back = dequantizeNhwc(a).toTypedArray() as Float32Array;
  const v = t.contiguous().toTypedArray() as Float32Array;
  for (let i = 0; i < v.length; i++) assert.ok(Math.abs(back[i] - v[i]) <= p.scale / 2 + 1e-6 || Math.abs(v[i]) > 6.3);
});

test('quantizeResNet names what it cannot take', () => {
  const m = model(3);
  nb.nn.utils.fuse(m);
  assert.throws(
    () => nb.vision.models.quantizeResNet(m, nb.randn([1, 3, 32, 32])),
    /quantizeResNet: conv1 is not a Conv2d followed by a BatchNorm2d/,
  );
  const q = new nb.vision.models.QuantizedResNet(model(4));
  assert.throws(() => q.call(nb.randn([1, 3, 32, 32])), /QuantizedResNet: convert\(\) it first/);
  assert.throws(() => q.convert(), /calibrate on sample inputs before convert/);
});
