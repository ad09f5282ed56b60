// Differentially private training (DP-SGD) of a small tanh CNN on Fashion-MNIST, Opacus-style:
// nb.privacy.PrivacyEngine calibrates the noise for a target (eps, delta) over the whole run, then
// per-sample gradients are clipped, noised and averaged on Poisson-sampled batches.
// The model and recipe follow Papernot et al. 2021, "Tempered Sigmoid Activations for Deep Learning with
// Differential Privacy" (tanh, SGD with a large learning rate and a small clipping norm).
// Needs ../shared/data (or NABLA_SHARED_DATA).
// Run: npm run build && node dist/examples/private-training.js [--epochs 12] [--batch-size 1024] [--epsilon 2.9]
import * as nb from 'nabla';
import { resolve } from 'node:path';
import { testAccuracy } from './lib/accuracy.js';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '12' },
    'batch-size': { type: 'string', default: '1024' }, // expected batch size under Poisson sampling
    epsilon: { type: 'string', default: '2.9' },
    delta: { type: 'string', default: '1e-5' },
    'max-grad-norm': { type: 'string', default: '0.1' },
    lr: { type: 'string', default: '4' },
    momentum: { type: 'string', default: '0.9' },
    subset: { type: 'string' }, // train on the first N examples only (quick trials)
    seed: { type: 'string', default: '0' },
  },
});
const num = (k: keyof typeof values) => Number(values[k]);
const root = process.env.NABLA_SHARED_DATA ?? resolve('..', 'shared', 'data');
nb.manualSeed(num('seed'));

// pixels standardised by Fashion-MNIST's mean and std (over the training set), as torchvision's Normalize
const transform = (x: nb.Tensor) => x.sub(0.286).div(0.353);
let train: nb.data.Dataset<[unknown, number]> = nb.datasets.FashionMNIST({ root, train: true, transform });
if (values.subset)
  train = new nb.data.Subset(
    train,
    Array.from({ length: num('subset') }, (_, i) => i),
  );
const test = nb.datasets.FashionMNIST({ root, train: false, transform });

// Papernot et al.'s CNN: (N, 1, 28, 28) -> (N, 10), tanh everywhere (src/privacy/models.ts)
const net = nb.privacy.tanhCnn();
const epochs = num('epochs');
const loader = new nb.data.DataLoader(train, { batchSize: num('batch-size') });
const engine = new nb.privacy.PrivacyEngine();
const { model, optimizer, dataLoader, noiseMultiplier } = engine.makePrivateWithEpsilon(
  net,
  new nb.optim.SGD(net.parameters(), { lr: num('lr'), momentum: num('momentum') }),
  loader,
  { targetEpsilon: num('epsilon'), targetDelta: num('delta'), epochs, maxGradNorm: num('max-grad-norm') },
);
console.log(
  `DP-SGD: ${train.length} examples, expected batch ${num('batch-size')}, ${dataLoader.length} steps/epoch, ` +
    `noise multiplier ${noiseMultiplier.toFixed(3)}, clip ${num('max-grad-norm')}, target eps ${num('epsilon')}`,
);
const lossFn = new nb.nn.CrossEntropyLoss();

const t0 = Date.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  let step = 0;
  for (const [x, y] of dataLoader as Iterable<[nb.Tensor, nb.Tensor]>) {
    optimizer.zeroGrad();
    // NOTE: Poisson sampling may draw an empty batch; the step still runs (noise only), as the accountant assumes
    if (x.shape[0] > 0) lossFn.call(model.call(x) as nb.Tensor, y).backward();
    optimizer.step();
    if (++step % 10 === 0) process.stdout.write(`\repoch ${epoch} step ${step}/${dataLoader.length}`);
  }
  const eps = engine.getEpsilon(num('delta')),
    acc = testAccuracy(model, test);
  console.log(
    `\repoch ${epoch}: test accuracy ${acc.toFixed(4)}, eps ${eps.toFixed(3)} (delta ${num('delta')}), ` +
      `${((Date.now() - t0) / 1000).toFixed(0)}s`,
  );
}
