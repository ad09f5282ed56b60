// Transfer learning: a network pretrained on MNIST digits (the book's DeepConvNet, 99.38%) becomes a
// frozen feature extractor for Fashion-MNIST clothes. We write a small ImageFolder of PNGs from
// Fashion-MNIST, freeze the backbone, replace the last layer and fine-tune only that head.
// A randomly (He-)initialised frozen backbone trained the same way shows what the pretraining buys.
// Needs ../shared/data (or NABLA_SHARED_DATA). Run: npm run build && node dist/examples/transfer-learning.js
import * as nb from 'nabla';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const data = process.env.NABLA_SHARED_DATA ?? resolve('..', 'shared', 'data');
// the five upper-body garments, Fashion-MNIST's hardest-to-tell-apart classes
const CLASSES = [
  [0, 'tshirt'],
  [2, 'pullover'],
  [3, 'dress'],
  [4, 'coat'],
  [6, 'shirt'],
] as const;
const PER_CLASS = { train: 100, test: 100 };
nb.manualSeed(0);

// 1. An ImageFolder on disk: root/{train,test}/<class>/<n>.png
function buildImageFolder(): string {
  const root = mkdtempSync(join(tmpdir(), 'nabla-fashion-folder-'));
  for (const split of ['train', 'test'] as const) {
    const ds = nb.datasets.FashionMNIST({ root: data, train: split === 'train' });
    const counts = new Map<number, number>();
    for (let i = 0; i < ds.length; i++) {
      const label = ds.labels[i];
      const cls = CLASSES.find(([c]) => c === label);
      const n = counts.get(label) ?? 0;
      if (!cls || n >= PER_CLASS[split]) continue;
      counts.set(label, n + 1);
      const dir = join(root, split, cls[1]);
      mkdirSync(dir, { recursive: true });
      const img = new nb.vision.Image(28, 28, 'L', ds.images.subarray(i * 784, (i + 1) * 784));
      writeFileSync(join(dir, `${n}.png`), nb.vision.encodePng(img));
    }
  }
  return root;
}

// 2. Backbone + new head, only the head trains.
function makeModel(pretrained: Record<string, nb.Tensor> | null): nb.vision.models.DeepConvNet {
  const m = new nb.vision.models.DeepConvNet();
  if (pretrained) m.loadDlfs(pretrained);
  else {
    // a fair random baseline: He initialisation keeps ReLU feature scales from shrinking layer by layer
    nb.noGrad(() => {
      for (const layer of m.net) {
        if (layer instanceof nb.nn.Conv2d || layer instanceof nb.nn.Linear) {
          nb.nn.init.kaimingNormal_(layer.weight, { nonlinearity: 'relu' });
          layer.bias?.zero_();
        }
      }
    });
  }
  m.requiresGrad_(false);
  // keep the convolutional trunk (up to the flattened 1024 features), drop the digit classifier
  // (fc 1024->50->10) and put a new trainable head in its place
  const trunk = [...m.net].slice(0, m.net.length - 3);
  m.net = new nb.nn.Sequential(...trunk, new nb.nn.Linear(1024, CLASSES.length));
  return m;
}

function run(model: nb.vision.models.DeepConvNet, root: string): number {
  const tf = nb.vision.transforms.ToTensor();
  const load = (p: string) => nb.vision.readImage(p, 'L');
  const train = new nb.vision.ImageFolder(join(root, 'train'), { transform: tf, loader: load });
  const test = new nb.vision.ImageFolder(join(root, 'test'), { transform: tf, loader: load });
  const trainable = model.parameters().filter((p) => p.requiresGrad);
  const opt = new nb.optim.Adam(trainable, { lr: 3e-3 });
  const lossFn = new nb.nn.CrossEntropyLoss();
  for (let epoch = 0; epoch < 15; epoch++) {
    model.train();
    for (const [x, y] of new nb.data.DataLoader<[nb.Tensor, number], [nb.Tensor, nb.Tensor]>(train, {
      batchSize: 50,
      shuffle: true,
      generator: new nb.Generator(epoch),
    })) {
      opt.zeroGrad();
      lossFn.call(model.call(x), y).backward();
      opt.step();
    }
  }
  model.eval();
  let correct = 0;
  nb.noGrad(() => {
    for (const [x, y] of new nb.data.DataLoader<[nb.Tensor, number], [nb.Tensor, nb.Tensor]>(test, {
      batchSize: 100,
    })) {
      correct += model.call(x).argmax(1).eq(y).sum().item();
    }
  });
  return correct / test.length;
}

const root = buildImageFolder();
console.log(`ImageFolder with ${CLASSES.length} classes (${CLASSES.map(([, n]) => n).join(', ')}) in ${root}`);
const weights = await nb.io.loadSafetensors(join(data, 'mnist-deepconvnet-dlfs.safetensors'));
const t0 = Date.now();
const accPre = run(makeModel(weights), root);
console.log(`frozen MNIST-pretrained backbone, new head: test accuracy ${(accPre * 100).toFixed(1)}%`);
const accRand = run(makeModel(null), root);
console.log(`frozen random backbone, new head:          test accuracy ${(accRand * 100).toFixed(1)}%`);
console.log(`(${((Date.now() - t0) / 1000).toFixed(1)}s, backend ${nb.backend().name})`);
