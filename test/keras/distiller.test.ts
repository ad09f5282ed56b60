// keras.Distiller and nn.utils.distillStep: the loss is F.distillationLoss's, only the student trains,
// the Distiller's weights are the student's, alpha = 1 is plain training of the student, the Keras and
// PyTorch front doors agree step for step, and on real data (Fashion-MNIST, a subset) a distilled MLP
// student learns from a CNN teacher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as nb from './nb.js';
import { distillationLoss } from '../../src/nn/functional/losses.js';
import { distillStep } from '../../src/nn/utils/distill.js';
import { sharedData, skipUnlessShared } from '../helpers/data.js';

type T = nb.Tensor;
const { layers } = nb.keras;
const flat = (t: T) => Array.from(t.toTypedArray() as Float32Array);

function digits(): [T, T] {
  const ds = nb.digits({ train: true });
  const [x, y] = ds.getBatch!(Array.from({ length: 256 }, (_, i) => i)) as unknown as [T, T];
  return [x.reshape([256, 64]).div(16), y];
}

const mlp = (hidden: number) =>
  nb.keras.sequential([
    layers.dense({ units: hidden, activation: 'relu', inputShape: [64] }),
    layers.dense({ units: 10 }),
  ]);

test('Distiller trains the student on alpha CE + (1 - alpha) T^2 KL; the teacher stays as it was', async () => {
  nb.manualSeed(0);
  const [x, y] = digits();
  const teacher = mlp(32);
  const student = mlp(8);
  const before = flat(teacher.getWeights()[0]);
  const d = new nb.keras.Distiller({ student, teacher });
  d.compile({ optimizer: 'sgd', alpha: 0.3, temperature: 4, metrics: ['sparse_categorical_accuracy'] });
  assert.deepEqual(Object.keys(d.stateDict()), Object.keys(student.stateDict()));
  // the loss fit reports on one full batch is distillationLoss of the two models' logits
  const want = nb.noGrad(() =>
    distillationLoss(student.predict(x), teacher.predict(x), y, { alpha: 0.3, temperature: 4 }).item(),
  );
  const h = await d.fit(x, y, { epochs: 1, batchSize: 256, verbose: 0, shuffle: false });
  assert.ok(Math.abs(h.history.loss[0] - want) < 1e-5, `${h.history.loss[0]} vs ${want}`);
  assert.deepEqual(flat(teacher.getWeights()[0]), before, 'the teacher did not train');
  const [loss, acc] = (await d.evaluate(x, y, { verbose: 0 })) as number[];
  assert.ok(Number.isFinite(loss) && acc >= 0 && acc <= 1);
  assert.throws(() => d.compile({ optimizer: 'sgd', alpha: 2 }), /alpha must be in \[0, 1\]/);
  assert.throws(() => d.compile({ optimizer: 'sgd', temperature: -1 }), /temperature/);
  assert.throws(() => d.compile({ optimizer: 'sgd', lossWeights: [1] } as never), /lossWeights/);
  assert.throws(() => new nb.keras.Distiller({ student: {} as never, teacher }), /student must be/);
});

test('Distiller with alpha 1 trains exactly like the student alone; distillStep equals Distiller', async () => {
  const [x, y] = digits();
  const run = async (distill: boolean) => {
    nb.manualSeed(3);
    const teacher = mlp(32);
    const student = mlp(8);
    if (distill) {
      const d = new nb.keras.Distiller({ student, teacher });
      d.compile({ optimizer: 'sgd', alpha: 1 });
      await d.fit(x, y, { epochs: 2, batchSize: 64, verbose: 0 });
    } else {
      student.compile({
        optimizer: 'sgd',
        loss: new nb.keras.losses.SparseCategoricalCrossentropy({ fromLogits: true }),
      });
      await student.fit(x, y, { epochs: 2, batchSize: 64, verbose: 0 });
    }
    return flat(student.getWeights()[0]);
  };
  assert.deepEqual(await run(true), await run(false));

  // the PyTorch-style step on the same models and batch gives the Keras step's weights
  const step = async (keras: boolean) => {
    nb.manualSeed(5);
    const teacher = mlp(32);
    const student = mlp(8);
    if (keras) {
      const d = new nb.keras.Distiller({ student, teacher });
      d.compile({ optimizer: new nb.optim.SGD(student.parameters(), { lr: 0.01 }), alpha: 0.2, temperature: 5 });
      await d.fit(x, y, { epochs: 1, batchSize: 256, verbose: 0, shuffle: false });
    } else {
      const opt = new nb.optim.SGD(student.parameters(), { lr: 0.01 });
      distillStep(student, teacher, opt, x, y, { alpha: 0.2, temperature: 5 });
    }
    return flat(student.getWeights()[0]);
  };
  const [a, b] = [await step(true), await step(false)];
  assert.ok(
    a.every((v, i) => Math.abs(v - b[i]) < 1e-6),
    'same update',
  );
});

const FASHION = [
  'fashion-train-images-idx3-ubyte.gz',
  'fashion-train-labels-idx1-ubyte.gz',
  'fashion-t10k-images-idx3-ubyte.gz',
  'fashion-t10k-labels-idx1-ubyte.gz',
];

function idx(file: string, n: number, image: boolean): T {
  const raw = gunzipSync(readFileSync(sharedData(file))).subarray(image ? 16 : 8);
  if (!image) return nb.tensor(Array.from(raw.subarray(0, n)), { dtype: 'int32' });
  return nb.tensor(new Float32Array(raw.subarray(0, n * 784)), { shape: [n, 784] }).div(255);
}

test('Fashion-MNIST: a distilled MLP student learns from an MLP teacher (2,000 images)', {
  skip: skipUnlessShared(...FASHION),
}, async () => {
  const x = idx(FASHION[0], 2000, true),
    y = idx(FASHION[1], 2000, false);
  const xt = idx(FASHION[2], 2000, true),
    yt = idx(FASHION[3], 2000, false);
  const net = (h: number) =>
    nb.keras.sequential([
      layers.dense({ units: h, activation: 'relu', inputShape: [784] }),
      layers.dense({ units: 10 }),
    ]);
  const metrics = ['sparse_categorical_accuracy'];
  const loss = new nb.keras.losses.SparseCategoricalCrossentropy({ fromLogits: true });
  nb.manualSeed(0);
  const teacher = net(128);
  teacher.compile({ optimizer: 'adam', loss, metrics });
  await teacher.fit(x, y, { epochs: 3, batchSize: 64, verbose: 0 });
  nb.manualSeed(1);
  const d = new nb.keras.Distiller({ student: net(16), teacher });
  d.compile({ optimizer: 'adam', metrics, alpha: 0.1, temperature: 10 });
  await d.fit(x, y, { epochs: 3, batchSize: 64, verbose: 0 });
  const tAcc = ((await teacher.evaluate(xt, yt, { verbose: 0 })) as number[])[1];
  const sAcc = ((await d.evaluate(xt, yt, { verbose: 0 })) as number[])[1];
  nb.manualSeed(1);
  const alone = net(16);
  alone.compile({ optimizer: 'adam', loss, metrics });
  await alone.fit(x, y, { epochs: 3, batchSize: 64, verbose: 0 });
  const aAcc = ((await alone.evaluate(xt, yt, { verbose: 0 })) as number[])[1];
  console.log(`teacher ${tAcc.toFixed(4)}, distilled student ${sAcc.toFixed(4)}, alone ${aAcc.toFixed(4)}`);
  assert.ok(tAcc > 0.7, `teacher ${tAcc}`);
  assert.ok(sAcc > 0.6, `distilled student ${sAcc}`);
});
