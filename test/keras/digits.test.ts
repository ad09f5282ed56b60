// The recipe on the bundled digits (train on the first 1500, test on the other 297):
// Conv(16, 3, same)-ReLU-MaxPool2-Conv(32, 3, same)-ReLU-Flatten-Dense(10), Adam 1e-3, batch 32,
// written once with nb.keras (channels-last, Keras initialisers) and once PyTorch-style with nn
// modules and a zeroGrad/backward/step loop (channels-first, PyTorch initialisers).
// By default both train for 3 epochs and must learn; NABLA_SLOW_TESTS=1 runs the full 20 epochs
// over three seeds and checks the mean test accuracies agree within one percentage point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from './nb.js';
import { kerasDigitsCnn, torchDigitsCnn } from './nets.js';

type T = nb.Tensor;
const SLOW = process.env.NABLA_SLOW_TESTS === '1';

function split(train: boolean): [T, T] {
  const ds = nb.digits({ train });
  const [x, y] = ds.getBatch!(Array.from({ length: ds.length }, (_, i) => i)) as unknown as [T, T];
  return [x, y]; // x (N, 1, 8, 8), y (N) int32
}

function accuracy(pred: T, y: T): number {
  return pred.argmax(1).eq(y).to('float32').mean().item();
}

async function kerasRun(seed: number, epochs: number): Promise<number> {
  nb.manualSeed(seed);
  const [x, y] = split(true),
    [xt, yt] = split(false);
  const model = kerasDigitsCnn();
  model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  await model.fit(x.permute(0, 2, 3, 1), y, { epochs, batchSize: 32, verbose: 0 });
  return accuracy(model.predict(xt.permute(0, 2, 3, 1)) as T, yt);
}

function torchRun(seed: number, epochs: number): number {
  nb.manualSeed(seed);
  const [x, y] = split(true),
    [xt, yt] = split(false);
  const net = torchDigitsCnn();
  const lossFn = new nb.nn.CrossEntropyLoss();
  const opt = new nb.optim.Adam(net.parameters(), { lr: 1e-3 });
  const loader = new nb.DataLoader(new nb.TensorDataset(x, y), { batchSize: 32, shuffle: true });
  for (let e = 0; e < epochs; e++) {
    net.train();
    for (const [xb, yb] of loader as Iterable<[T, T]>) {
      opt.zeroGrad();
      const loss = lossFn.forward(net.forward(xb), yb);
      loss.backward();
      opt.step();
    }
  }
  net.eval();
  return nb.noGrad(() => accuracy(net.forward(xt), yt));
}

test('short run: the Keras-style and the PyTorch-style CNN both learn the digits', async (t) => {
  const k = await kerasRun(0, 3),
    p = torchRun(0, 3);
  t.diagnostic(`3 epochs: keras ${(100 * k).toFixed(2)}%, pytorch-style ${(100 * p).toFixed(2)}%`);
  assert.ok(k > 0.75, `keras ${k}`);
  assert.ok(p > 0.75, `pytorch-style ${p}`);
});

test('full recipe (20 epochs, 3 seeds): Keras-style within one point of PyTorch-style', {
  skip: SLOW ? false : 'set NABLA_SLOW_TESTS=1 (about 3 minutes on the JS backend)',
}, async (t) => {
  const ks: number[] = [],
    ps: number[] = [];
  for (const seed of [0, 1, 2]) {
    ks.push(await kerasRun(seed, 20));
    ps.push(torchRun(seed, 20));
    t.diagnostic(
      `seed ${seed}: keras ${(100 * ks.at(-1)!).toFixed(2)}%, pytorch-style ${(100 * ps.at(-1)!).toFixed(2)}%`,
    );
  }
  const mean = (a: number[]) => a.reduce((p, q) => p + q, 0) / a.length;
  t.diagnostic(`mean: keras ${(100 * mean(ks)).toFixed(2)}%, pytorch-style ${(100 * mean(ps)).toFixed(2)}%`);
  assert.ok(Math.abs(mean(ks) - mean(ps)) <= 0.01, `keras ${mean(ks)} vs pytorch-style ${mean(ps)}`);
});
