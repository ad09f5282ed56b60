// Quality of int8 quantization on real networks: the three pretrained MNIST networks from
// ../shared/data (test/vision/models.test.ts checks their float accuracies: 93.52%, 98.90%, 99.38%)
// lose at most 0.3 points of test accuracy with dynamic quantization (Linear layers int8; the
// convolutions stay float, as torch's quantize_dynamic leaves them) and with static quantization
// (every Conv2d and Linear int8, activations calibrated on the first 500 test images).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as nb from 'nabla';
import { sharedData, skipUnlessShared } from '../helpers/data.js';

const M = nb.vision.models;
const MNIST_FILES = ['mnist-t10k-images-idx3-ubyte.gz', 'mnist-t10k-labels-idx1-ubyte.gz'];
type BookNet = nb.nn.Module & { loadDlfs(sd: Record<string, nb.Tensor>): unknown };
const NETS: [string, () => BookNet, number][] = [
  ['mlp', () => new M.MnistMLP(), 9352],
  ['simpleconvnet', () => new M.SimpleConvNet(), 9890],
  ['deepconvnet', () => new M.DeepConvNet(), 9938],
];

/** Correct predictions of `model` over the 10,000 test images x, labels y. */
function correctOf(model: nb.nn.Module, x: nb.Tensor, labels: Uint8Array): number {
  let correct = 0;
  nb.noGrad(() => {
    for (let i = 0; i < 10000; i += 1000) {
      const pred = (model.call(x.narrow(0, i, 1000)) as nb.Tensor).argmax(1).toTypedArray();
      for (let j = 0; j < 1000; j++) if (pred[j] === labels[i + j]) correct++;
    }
  });
  return correct;
}

for (const [name, make, floatCorrect] of NETS) {
  const file = `mnist-${name}-dlfs.safetensors`;
  const slowOnJs = name !== 'mlp' && nb.backend().name === 'js';
  for (const kind of ['dynamic', 'static'] as const) {
    test(`int8 ${kind} MNIST ${name} stays within 0.3 points of ${floatCorrect / 100}%`, {
      skip: skipUnlessShared(file, ...MNIST_FILES) || (slowOnJs && 'needs the native backend (minutes on JS)'),
    }, async () => {
      const images = gunzipSync(readFileSync(sharedData(MNIST_FILES[0]))).subarray(16);
      const labels = gunzipSync(readFileSync(sharedData(MNIST_FILES[1]))).subarray(8);
      const x = nb.tensor(new Float32Array(images), { shape: [10000, 1, 28, 28] }).div(255);
      const net = make();
      net.loadDlfs(await nb.io.loadSafetensors(sharedData(file)));
      const Q = nb.quantization;
      // static: every Conv2d and Linear int8, calibrated on the first 500 test images
      const q =
        kind === 'dynamic'
          ? Q.quantizeDynamic(net.eval(), { dtype: 'qint8' })
          : Q.quantizeStatic(net.eval(), x.narrow(0, 0, 500));
      const int8 = [...q.modules()].filter(
        (m) =>
          m instanceof Q.DynamicQuantizedLinear || m instanceof Q.QuantizedLinear || m instanceof Q.QuantizedConv2d,
      ).length;
      assert.ok(int8 >= (kind === 'static' ? 3 : 2), `${int8} layers quantized`);
      const correct = correctOf(q, x, labels);
      assert.ok(correct >= floatCorrect - 30, `int8 ${correct / 100}% vs float ${floatCorrect / 100}%`);
      console.log(`${name}: float ${floatCorrect / 100}%, int8 ${kind} ${correct / 100}% (${int8} int8 layers)`);
    });
  }
}
