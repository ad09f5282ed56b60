// Federated averaging (McMahan et al. 2017) simulated over K clients, with IID and non-IID (label-sorted
// shards) splits, against centralised training of the same model on the same data for as many passes.
// Fashion-MNIST (first --subset training images; needs ../shared/data or NABLA_SHARED_DATA) or the bundled
// digits (--dataset digits).
// Run: npm run build && node dist/examples/federated.js [--clients 100] [--fraction 0.1] [--local-epochs 5]
//      [--rounds 20] [--dataset digits]
import * as nb from 'nabla';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { testAccuracy } from './lib/accuracy.js';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'fashion' },
    subset: { type: 'string', default: '10000' },
    clients: { type: 'string', default: '100' },
    fraction: { type: 'string', default: '0.1' },
    'local-epochs': { type: 'string', default: '5' },
    'batch-size': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '20' },
    lr: { type: 'string', default: '0.05' },
  },
});
const num = (k: keyof typeof values) => Number(values[k]);
const root = process.env.NABLA_SHARED_DATA ?? resolve('..', 'shared', 'data');

type Data = nb.data.Dataset<[unknown, number]>;
let train: Data, test: Data;
if (values.dataset === 'digits') {
  train = nb.datasets.digits({ train: true });
  test = nb.datasets.digits({ train: false });
} else {
  const full = nb.datasets.FashionMNIST({ root, train: true });
  train = new nb.data.Subset(
    full,
    Array.from({ length: Math.min(num('subset'), full.length) }, (_, i) => i),
  );
  test = nb.datasets.FashionMNIST({ root, train: false });
}
const [, H, W] = (train.getItem(0)[0] as nb.Tensor).shape;

// McMahan et al.'s "2NN" MLP, narrower: (N, 1, H, W) -> (N, 10)
function makeModel(): nb.nn.Module {
  nb.manualSeed(0);
  const { Sequential, Flatten, Linear, ReLU } = nb.nn;
  return new Sequential(new Flatten(), new Linear(H * W, 100), new ReLU(), new Linear(100, 10));
}

const K = num('clients'),
  C = num('fraction'),
  E = num('local-epochs'),
  B = num('batch-size'),
  rounds = num('rounds'),
  lr = num('lr');
// the same number of passes over the data: each round, a fraction C of the clients trains E epochs
const passes = Math.max(1, Math.round(rounds * Math.max(1, Math.round(C * K)) * (E / K)));
console.log(
  `${train.length} training examples, ${K} clients, C=${C}, E=${E}, B=${B}, ${rounds} rounds ` +
    `(~${passes} passes over the data)`,
);

// centralised: minibatch SGD over all the data for the same number of passes
const central = makeModel();
const opt = new nb.optim.SGD(central.parameters(), { lr });
const lossFn = new nb.nn.CrossEntropyLoss();
const loader = new nb.data.DataLoader(train, { batchSize: B, shuffle: true, generator: new nb.Generator(1) });
for (let e = 0; e < passes; e++) {
  for (const [x, y] of loader as Iterable<[nb.Tensor, nb.Tensor]>) {
    opt.zeroGrad();
    lossFn.call(central.call(x) as nb.Tensor, y).backward();
    opt.step();
  }
}
console.log(`centralised (${passes} epochs): test accuracy ${testAccuracy(central, test).toFixed(4)}`);

const { federated } = nb.privacy;
const splits: [string, nb.data.Dataset<unknown>[]][] = [
  ['IID', federated.splitIID(train, K, new nb.Generator(2))],
  ['non-IID (2 label-sorted shards each)', federated.splitNonIID(train, K, { generator: new nb.Generator(3) })],
];
for (const [name, clients] of splits) {
  const model = makeModel();
  const fl = new federated.FedAvg(model, clients, {
    clientFraction: C,
    localEpochs: E,
    batchSize: B,
    lr,
    generator: new nb.Generator(4),
  });
  for (let r = 1; r <= rounds; r++) {
    const { loss } = fl.round();
    if (r % 5 === 0 || r === rounds)
      console.log(
        `FedAvg ${name}, round ${r}: local loss ${loss.toFixed(4)}, test ${testAccuracy(model, test).toFixed(4)}`,
      );
  }
}
