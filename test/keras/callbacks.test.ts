// Callbacks: hook order for custom callbacks, EarlyStopping with restoreBestWeights, ModelCheckpoint
// (saveBestOnly, path fields), ReduceLROnPlateau, LearningRateScheduler, CSVLogger, TerminateOnNaN.
// Monitored values are scripted by a callback that runs first, so each test knows the sequence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nb from './nb.js';
import { assertClose } from '../helpers/assert.js';
import type { Logs } from '../../src/keras/callbacks.js';

const L = nb.keras.layers;
const K = nb.keras;

function setup() {
  nb.manualSeed(0);
  const m = nb.keras.sequential([L.dense({ units: 3, inputShape: [2] })]);
  m.compile({ optimizer: 'sgd', loss: 'mse' });
  return { m, x: nb.randn([8, 2]), y: nb.randn([8, 3]) };
}

/** Overwrites logs[key] at each epoch end with the scripted values. */
const script = (key: string, values: number[]) => ({
  onEpochEnd(e: number, logs?: Logs) {
    logs![key] = values[e];
  },
});

test('custom callbacks from plain objects see every hook, in order', async () => {
  const { m, x, y } = setup();
  const calls: string[] = [];
  const rec =
    (name: string) =>
    (...a: unknown[]) => {
      calls.push(`${name}${typeof a[0] === 'number' ? a[0] : ''}`);
    };
  await m.fit(x, y, {
    epochs: 2,
    batchSize: 4,
    verbose: 0,
    validationSplit: 0.5,
    callbacks: [
      {
        onTrainBegin: rec('trainBegin'),
        onEpochBegin: rec('epochBegin'),
        onBatchBegin: rec('batchBegin'),
        onBatchEnd: rec('batchEnd'),
        onEpochEnd: rec('epochEnd'),
        onTrainEnd: rec('trainEnd'),
      },
    ],
  });
  assert.deepEqual(calls, [
    'trainBegin',
    'epochBegin0',
    'batchBegin0',
    'batchEnd0',
    'epochEnd0',
    'epochBegin1',
    'batchBegin0',
    'batchEnd0',
    'epochEnd1',
    'trainEnd',
  ]);
  assert.throws(() => new K.LambdaCallback({ epochEnd: () => {} } as never), /'epochEnd' is not a hook/);
  const seen: Logs[] = [];
  await m.fit(x, y, {
    epochs: 1,
    batchSize: 4,
    verbose: 0,
    validationSplit: 0.5,
    callbacks: [
      {
        onEpochEnd: (_e, l) => {
          seen.push({ ...l });
        },
      },
    ],
  });
  assert.deepEqual(Object.keys(seen[0]), ['loss', 'val_loss']);
});

test('EarlyStopping stops after patience epochs without improvement and restores the best weights', async () => {
  const { m, x, y } = setup();
  const snapshots: nb.Tensor[][] = [];
  const es = new K.EarlyStopping({ monitor: 'val_loss', patience: 2, restoreBestWeights: true });
  const h = await m.fit(x, y, {
    epochs: 10,
    verbose: 0,
    callbacks: [
      script('val_loss', [1, 0.5, 0.6, 0.7, 0.8, 0.9]),
      {
        onEpochEnd: () => {
          snapshots.push(m.getWeights());
        },
      },
      es,
    ],
  });
  assert.deepEqual(h.epoch, [0, 1, 2, 3]);
  assert.equal(es.stoppedEpoch, 3);
  assert.equal(es.bestEpoch, 1);
  m.getWeights().forEach((w, i) => {
    assertClose(w, snapshots[1][i]);
  });
  // minDelta: 0.5 -> 0.45 is not an improvement of more than 0.1; mode max for accuracy
  const es2 = new K.EarlyStopping({ monitor: 'val_loss', minDelta: 0.1, patience: 1 });
  const h2 = await m.fit(x, y, { epochs: 10, verbose: 0, callbacks: [script('val_loss', [0.5, 0.45, 0.44]), es2] });
  assert.equal(h2.epoch.length, 2);
  assert.equal(new K.EarlyStopping({ monitor: 'val_accuracy' }).mode, 'max');
});

test('ModelCheckpoint saves when the monitored value improves, to a path with epoch and value fields', async () => {
  const { m, x, y } = setup();
  const dir = mkdtempSync(join(tmpdir(), 'nabla-ckpt-'));
  const ck = new K.ModelCheckpoint(join(dir, 'ep{epoch:02d}-{val_loss:.2f}'), {
    monitor: 'val_loss',
    saveBestOnly: true,
  });
  await m.fit(x, y, { epochs: 4, verbose: 0, callbacks: [script('val_loss', [0.9, 0.95, 0.5, 0.7]), ck] });
  assert.deepEqual(readdirSync(dir).sort(), ['ep01-0.90', 'ep03-0.50']);
  const back = await K.loadModel(join(dir, 'ep03-0.50'));
  assert.equal(back.layers.length, 1);
  const wdir = mkdtempSync(join(tmpdir(), 'nabla-ckpt-'));
  await m.fit(x, y, {
    epochs: 2,
    verbose: 0,
    callbacks: [new K.ModelCheckpoint(join(wdir, 'w{epoch}.safetensors'), { saveWeightsOnly: true })],
  });
  assert.deepEqual(readdirSync(wdir).sort(), ['w1.safetensors', 'w2.safetensors']);
  await m.loadWeights(join(wdir, 'w2.safetensors'));
});

test('ReduceLROnPlateau and LearningRateScheduler change the optimiser learning rate', async () => {
  const { m, x, y } = setup();
  const lrs: number[] = [];
  const r = new K.ReduceLROnPlateau({ monitor: 'val_loss', factor: 0.5, patience: 1, minLr: 0.002 });
  const h = await m.fit(x, y, {
    epochs: 6,
    verbose: 0,
    callbacks: [
      script('val_loss', [1, 1, 1, 0.5, 0.6, 0.7]),
      r,
      {
        onEpochEnd: () => {
          lrs.push(m.learningRate);
        },
      },
    ],
  });
  assert.deepEqual(lrs, [0.01, 0.005, 0.0025, 0.0025, 0.002, 0.002]);
  // logs carry the rate the epoch ran with (Keras logs it before reducing)
  assert.deepEqual(h.history.learning_rate, [0.01, 0.01, 0.005, 0.0025, 0.0025, 0.002]);
  const seen: number[] = [];
  await m.fit(x, y, {
    epochs: 3,
    verbose: 0,
    callbacks: [
      new K.LearningRateScheduler((e) => 0.1 / (e + 1)),
      {
        onEpochBegin: () => {
          seen.push(m.optimizer!.paramGroups[0].lr);
        },
      },
    ],
  });
  assertClose(seen, [0.1, 0.05, 0.1 / 3]);
});

test('CSVLogger writes one row per epoch; TerminateOnNaN stops', async () => {
  const { m, x, y } = setup();
  const file = join(mkdtempSync(join(tmpdir(), 'nabla-csv-')), 'log.csv');
  await m.fit(x, y, { epochs: 3, verbose: 0, validationSplit: 0.25, callbacks: [new K.CSVLogger(file)] });
  const rows = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(rows[0], 'epoch,loss,val_loss');
  assert.equal(rows.length, 4);
  assert.match(rows[3], /^2,\d\.\d+(e-\d+)?,\d\.\d+/);
  await m.fit(x, y, { epochs: 1, verbose: 0, callbacks: [new K.CSVLogger(file, { append: true })] });
  assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 5);
  const out = new nb.Capture();
  const h = await m.fit(x, y, {
    epochs: 5,
    batchSize: 4,
    stream: out,
    verbose: 0,
    callbacks: [
      {
        onBatchEnd: (_b, l) => {
          if (l) l.loss = NaN;
        },
      },
      new K.TerminateOnNaN(),
    ],
  });
  assert.equal(h.epoch.length, 1);
  assert.match(out.text, /Batch 0: Invalid loss, terminating training/);
});
