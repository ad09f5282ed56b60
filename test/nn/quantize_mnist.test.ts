// Quality of dynamic int8 quantization on real networks: the three pretrained MNIST networks from
// ../shared/data (test/vision/models.test.ts checks their float accuracies: 93.52%, 98.90%, 99.38%)
// lose at most 0.3 points of test accuracy with their Linear layers quantized (the convolutions stay
// float, as torch's quantize_dynamic leaves them).
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

for (const [name, make, floatCorrect] of NETS) {
  const file = `mnist-${name}-dlfs.safetensors`;
  const slowOnJs = name !== 'mlp' && nb.backend().name === 'js';
  test(`int8 dynamic MNIST ${name} stays within 0.3 points of ${floatCorrect / 100}%`, {
    skip: skipUnlessShared(file, ...MNIST_FILES) || (slowOnJs && 'needs the native backend (minutes on JS)'),
  }, async () => {
    const images = gunzipSync(readFileSync(sharedData(MNIST_FILES[0]))).subarray(16);
    const labels = gunzipSync(readFileSync(sharedData(MNIST_FILES[1]))).subarray(8);
    const x = nb.tensor(new Float32Array(images), { shape: [10000, 1, 28, 28] }).div(255);
    const net = make();
    net.loadDlfs(await nb.io.loadSafetensors(sharedData(file)));
    const q = nb.quantization.quantizeDynamic(net.eval(), { dtype: 'qint8' });
    const quantized = [...q.modules()].filter((m) => m instanceof nb.quantization.DynamicQuantizedLinear).length;
    assert.ok(quantized >= 2, `${quantized} Linear layers quantized`);
    let correct = 0;
    nb.noGrad(() => {
      for (let i = 0; i < 10000; i += 1000) {
        const pred = (q.call(x.narrow(0, i, 1000)) as nb.Tensor).argmax(1).toTypedArray();
        for (let j = 0; j < 1000; j++) if (pred[j] === labels[i + j]) correct++;
      }
    });
    assert.ok(correct >= floatCorrect - 30, `int8 ${correct / 100}% vs float ${floatCorrect / 100}%`);
    console.log(`${name}: float ${floatCorrect / 100}%, int8 dynamic ${correct / 100}%`);
  });
}
