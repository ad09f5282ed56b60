// Vision models: torchvision ResNet-18 parity (tools/golden/resnet18.py), the CIFAR ResNet-20 and
// the three pretrained MNIST networks from ../shared/data at their published accuracies.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as nb from 'nabla';
import { golden, sharedData, skipUnlessShared } from '../helpers/data.js';
import { assertClose } from '../helpers/assert.js';

const M = nb.vision.models;

test(
  'resnet18 matches torchvision: state_dict names, eval logits (float32), train-mode gradients and BN stats ' +
    '(float64)',
  async () => {
    const model = M.resnet18();
    const sd = await nb.load(golden('resnet18_strided.pth'));
    const ours = Object.keys(model.stateDict());
    assert.deepEqual(ours.sort(), Object.keys(sd).sort());
    model.loadStateDict(sd);
    const e = await nb.io.loadSafetensors(golden('resnet18_expected.safetensors'));
    model.eval();
    const logits = nb.noGrad(() => model.call(e.x));
    assertClose(logits, e.logits_eval, { rtol: 1e-4, atol: 1e-3 });
    // train mode in float64 (see tools/golden/resnet18.py for why not float32)
    const m64 = M.resnet18().to('float64');
    m64.loadStateDict(sd);
    m64.train();
    const out = m64.call(e.x.double());
    assertClose(out, e.logits_train64, { rtol: 1e-9, atol: 1e-9 });
    out.mul(e.r.double()).sum().backward();
    const params = Object.fromEntries(m64.namedParameters());
    for (const n of ['conv1.weight', 'bn1.weight', 'layer1.0.conv1.weight', 'layer4.1.bn2.bias', 'fc.bias']) {
      assertClose(params[n].grad!, e[`grad64.${n}`], { rtol: 1e-7, atol: 1e-9 }, n);
    }
    const buffers = Object.fromEntries(m64.namedBuffers());
    assertClose(buffers['bn1.running_mean'], e['after.bn1.running_mean'], { rtol: 1e-9, atol: 1e-12 });
    assertClose(buffers['bn1.running_var'], e['after.bn1.running_var'], { rtol: 1e-9, atol: 1e-12 });
  },
);

test('ResNet family: parameter counts equal torchvision, numClasses and zeroInitResidual', () => {
  // torchvision: resnet18 11,689,512; resnet34 21,797,672; resnet50 25,557,032
  assert.equal(M.resnet18().numParameters(), 11689512);
  assert.equal(M.resnet34().numParameters(), 21797672);
  assert.equal(M.resnet50().numParameters(), 25557032);
  const m = M.resnet18({ numClasses: 7, zeroInitResidual: true });
  assert.deepEqual([...m.fc.weight.shape], [7, 512]);
  const bn2 = Object.fromEntries(m.namedParameters())['layer1.0.bn2.weight'];
  assert.equal(bn2.abs().sum().item(), 0);
});

test('a checkpoint with the wrong number of classes names the tensor; a wrong input size is refused', async () => {
  const m = M.resnet18({ numClasses: 10 });
  const sd = await nb.load(golden('resnet18_strided.pth'));
  assert.throws(() => m.loadStateDict(sd), /fc\.weight/);
  assert.throws(
    () => M.resnet18().call(nb.zeros([1, 1, 64, 64])),
    /expected input \(N, 3, H, W\), got \[1, 1, 64, 64\]/,
  );
  assert.throws(() => M.resnet18().call(nb.zeros([1, 3, 16, 16])), /too small/);
});

test('CIFAR ResNet-20 loads the real pretrained weights and keeps PyTorch names', {
  skip: skipUnlessShared('cifar10-resnet20.safetensors'),
}, async () => {
  const sd = await nb.io.loadSafetensors(sharedData('cifar10-resnet20.safetensors'));
  const m = M.cifarResnet20();
  assert.deepEqual(
    Object.keys(m.stateDict())
      .filter((k) => !k.endsWith('num_batches_tracked'))
      .sort(),
    Object.keys(sd).sort(),
  );
  m.loadStateDict(sd, { strict: false });
  m.eval();
  assert.equal(m.numParameters(), 269722);
  const y = nb.noGrad(() => m.call(nb.randn([2, 3, 32, 32])));
  assert.deepEqual([...y.shape], [2, 10]);
});

const MNIST_FILES = ['mnist-t10k-images-idx3-ubyte.gz', 'mnist-t10k-labels-idx1-ubyte.gz'];
type BookNet = { loadDlfs(sd: Record<string, nb.Tensor>): unknown };
const NETS: [string, () => BookNet, number][] = [
  ['mlp', () => new M.MnistMLP(), 9352],
  ['simpleconvnet', () => new M.SimpleConvNet(), 9890],
  ['deepconvnet', () => new M.DeepConvNet(), 9938],
];
for (const [name, make, published] of NETS) {
  const file = `mnist-${name}-dlfs.safetensors`;
  // NOTE: the conv nets take minutes on the JS backend; their full-test-set check needs native speed.
  const slowOnJs = name !== 'mlp' && nb.backend().name === 'js';
  test(`pretrained MNIST ${name} reproduces its published accuracy (${published / 100}%)`, {
    skip: skipUnlessShared(file, ...MNIST_FILES) || (slowOnJs && 'needs the native backend (minutes on JS)'),
  }, async () => {
    const images = gunzipSync(readFileSync(sharedData(MNIST_FILES[0]))).subarray(16);
    const labels = gunzipSync(readFileSync(sharedData(MNIST_FILES[1]))).subarray(8);
    const x = nb.tensor(new Float32Array(images), { shape: [10000, 1, 28, 28] }).div(255);
    const net = make().loadDlfs(await nb.io.loadSafetensors(sharedData(file))) as unknown as nb.vision.models.MnistMLP;
    net.eval();
    let correct = 0;
    nb.noGrad(() => {
      for (let i = 0; i < 10000; i += 1000) {
        const pred = net
          .call(x.narrow(0, i, 1000))
          .argmax(1)
          .toTypedArray();
        for (let j = 0; j < 1000; j++) if (pred[j] === labels[i + j]) correct++;
      }
    });
    assert.equal(correct, published);
  });
}

test('classify: torchvision recipe and top-5 equal PyTorch; CLI prints JSON', async () => {
  const want = JSON.parse(readFileSync(golden('resnet18_classify.json'), 'utf8'));
  const { model, labels } = await nb.vision.loadClassifier('resnet18', golden('resnet18_strided.pth'));
  const [preds] = nb.vision.classifyImages(model, labels, [golden(want.image)], { top: 5 });
  assert.deepEqual(
    preds.map((p) => p.index),
    want.top5,
  );
  assertClose(
    preds.map((p) => p.probability),
    want.probs,
    { rtol: 1e-3, atol: 1e-5 },
  );
  assert.equal(preds[0].label, nb.vision.IMAGENET_CLASSES[want.top5[0]]);
  const { classifyCommand } = await import('../../src/cli/classify.js');
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    assert.equal(
      await classifyCommand([golden(want.image), '--weights', golden('resnet18_strided.pth'), '--top', '3', '--json']),
      0,
    );
  } finally {
    console.log = log;
  }
  const out = JSON.parse(lines.join('\n'));
  assert.deepEqual(
    out[0].predictions.map((p: { index: number }) => p.index),
    want.top5.slice(0, 3),
  );
  await assert.rejects(
    nb.vision.loadClassifier('vgg11', golden('resnet18_strided.pth')),
    /unknown architecture 'vgg11'/,
  );
});
