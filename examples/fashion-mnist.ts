// Fashion-MNIST with a small CNN, PyTorch-style: the same model and recipe as
// tools/golden/fashion_cnn.py (PyTorch), so the two test accuracies can be compared.
// Needs ../shared/data (or NABLA_SHARED_DATA). Run: npm run build && node dist/examples/fashion-mnist.js [epochs]
import * as nb from 'nabla';
import { resolve } from 'node:path';

const root = process.env.NABLA_SHARED_DATA ?? resolve('..', 'shared', 'data');
const epochs = Number(process.argv[2] ?? 3);
nb.manualSeed(0);

const train = nb.datasets.FashionMNIST({ root, train: true });
const test = nb.datasets.FashionMNIST({ root, train: false });
const loader = new nb.data.DataLoader(train, { batchSize: 64, shuffle: true, generator: new nb.Generator(0) });

const { Sequential, Conv2d, ReLU, MaxPool2d, Flatten, Linear, CrossEntropyLoss } = nb.nn;
const model = new Sequential(
  new Conv2d(1, 16, 3, { padding: 1 }),
  new ReLU(),
  new MaxPool2d(2),
  new Conv2d(16, 32, 3, { padding: 1 }),
  new ReLU(),
  new MaxPool2d(2),
  new Flatten(),
  new Linear(32 * 7 * 7, 10),
);
const opt = new nb.optim.Adam(model.parameters(), { lr: 1e-3 });
const lossFn = new CrossEntropyLoss();

function accuracy(): number {
  model.eval();
  let correct = 0;
  nb.noGrad(() => {
    for (const [x, y] of new nb.data.DataLoader(test, { batchSize: 1000 })) {
      correct += (model.call(x as nb.Tensor) as nb.Tensor)
        .argmax(1)
        .eq(y as unknown as nb.Tensor)
        .sum()
        .item();
    }
  });
  return correct / test.length;
}

const t0 = Date.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  model.train();
  let step = 0;
  for (const [x, y] of loader) {
    opt.zeroGrad();
    const loss = lossFn.call(model.call(x as nb.Tensor) as nb.Tensor, y as unknown as nb.Tensor);
    loss.backward();
    opt.step();
    if (++step % 200 === 0)
      process.stdout.write(`\repoch ${epoch} step ${step}/${loader.length} loss ${loss.item().toFixed(4)}`);
  }
  console.log(
    `\repoch ${epoch}: test accuracy ${accuracy().toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(1)}s, backend ` +
      `${nb.backend().name})`,
  );
}
