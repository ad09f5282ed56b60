// `nabla train-private`: DP-SGD training of a small tanh CNN on Fashion-MNIST (or MNIST-format IDX files)
// through nb.privacy.PrivacyEngine, the noise calibrated to a target (eps, delta) for the planned epochs.
// Prints the test accuracy and eps spent after every epoch; saves the weights as safetensors with --out.

import { parseArgs } from 'node:util';
import { noGrad } from '../autograd/grad_mode.js';
import { DataLoader } from '../data/dataloader.js';
import { type Dataset, Subset } from '../data/dataset.js';
import { FashionMNIST, MNIST } from '../data/datasets.js';
import { saveSafetensors } from '../io/tensors.js';
import { CrossEntropyLoss } from '../nn/losses.js';
import type { Module } from '../nn/module.js';
import { SGD } from '../optim/sgd.js';
import { PrivacyEngine } from '../privacy/engine.js';
import { tanhCnn } from '../privacy/models.js';
import { manualSeed } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { defaultDataRoot, epochProgress } from './progress.js';

export const TRAIN_PRIVATE_USAGE = `usage: nabla train-private [options]
  DP-SGD (per-sample clipping, Gaussian noise, Poisson sampling, RDP accounting) of a small tanh CNN
  (Papernot et al. 2021) on Fashion-MNIST; reports test accuracy and eps after every epoch.
  --data DIR             folder with the IDX files (default ../shared/data or NABLA_SHARED_DATA)
  --dataset D            fashion (default) or mnist
  --epochs N (12)  --batch-size B (1024, expected under Poisson sampling)  --lr LR (4)  --momentum M (0.9)
  --epsilon E (2.9)  --delta D (1e-5)     the target; sigma is calibrated to reach it after the epochs
  --max-grad-norm C (0.1)                 per-sample clipping norm
  --subset N             train on the first N examples only   --seed S (0)
  --out FILE             save the trained weights (.safetensors)`;

function accuracy(model: Module, test: Dataset<[unknown, number]>): number {
  model.eval();
  let correct = 0;
  noGrad(() => {
    for (const [x, y] of new DataLoader(test, { batchSize: 1000 }) as Iterable<[Tensor, Tensor]>)
      correct += (model.call(x) as Tensor).argmax(1).eq(y).sum().item();
  });
  model.train();
  return correct / test.length;
}

export async function trainPrivateCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      dataset: { type: 'string', default: 'fashion' },
      epochs: { type: 'string', default: '12' },
      'batch-size': { type: 'string', default: '1024' },
      lr: { type: 'string', default: '4' },
      momentum: { type: 'string', default: '0.9' },
      epsilon: { type: 'string', default: '2.9' },
      delta: { type: 'string', default: '1e-5' },
      'max-grad-norm': { type: 'string', default: '0.1' },
      subset: { type: 'string' },
      seed: { type: 'string', default: '0' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(TRAIN_PRIVATE_USAGE);
    return 0;
  }
  const num = (k: string) => {
    const v = Number(values[k as keyof typeof values]);
    if (!Number.isFinite(v)) throw new Error(`train-private: --${k} must be a number, got ${values[k as 'lr']}`);
    return v;
  };
  if (values.dataset !== 'fashion' && values.dataset !== 'mnist')
    throw new Error(`train-private: --dataset must be fashion or mnist, got ${values.dataset}`);
  manualSeed(num('seed'));
  const root = values.data ?? defaultDataRoot();
  const mnist = values.dataset === 'mnist';
  const load = mnist ? MNIST : FashionMNIST;
  // pixels standardised by the training set's mean and std, as torchvision's Normalize
  const [mean, std] = mnist ? [0.1307, 0.3081] : [0.286, 0.353];
  const transform = (x: Tensor) => x.sub(mean).div(std);
  let train: Dataset<[unknown, number]> = load({ root, train: true, transform });
  if (values.subset)
    train = new Subset(
      train,
      Array.from({ length: Math.min(num('subset'), train.length) }, (_, i) => i),
    );
  const test = load({ root, train: false, transform });
  const epochs = num('epochs'),
    delta = num('delta');
  const net = tanhCnn();
  const engine = new PrivacyEngine();
  const { model, optimizer, dataLoader, noiseMultiplier } = engine.makePrivateWithEpsilon(
    net,
    new SGD(net.parameters(), { lr: num('lr'), momentum: num('momentum') }),
    new DataLoader(train, { batchSize: num('batch-size') }),
    { targetEpsilon: num('epsilon'), targetDelta: delta, epochs, maxGradNorm: num('max-grad-norm') },
  );
  console.log(
    `train-private: ${train.length} examples, expected batch ${num('batch-size')}, ${dataLoader.length} steps an ` +
      `epoch, noise multiplier ${noiseMultiplier.toFixed(3)}, clipping norm ${num('max-grad-norm')}`,
  );
  const lossFn = new CrossEntropyLoss();
  const progress = epochProgress(epochs);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    let step = 0;
    for (const [x, y] of dataLoader as Iterable<[Tensor, Tensor]>) {
      optimizer.zeroGrad();
      let loss = 0;
      // an empty Poisson batch still takes its (noise-only) step, as the accountant assumes
      if (x.shape[0] > 0) {
        const l = lossFn.call(model.call(x) as Tensor, y);
        l.backward();
        loss = l.item();
      }
      optimizer.step();
      progress.onStep(++step, dataLoader.length, loss);
    }
    const acc = accuracy(model, test),
      eps = engine.getEpsilon(delta);
    progress.onEpochEnd(epoch, { test_accuracy: acc, epsilon: eps });
    console.log(`epoch ${epoch}: test accuracy ${acc.toFixed(4)}, eps ${eps.toFixed(3)} (delta ${delta})`);
  }
  if (values.out) {
    await saveSafetensors(model.stateDict(), values.out, {
      eps: engine.getEpsilon(delta).toFixed(4),
      delta: String(delta),
    });
    console.log(`saved ${values.out}`);
  }
  return 0;
}
