// Models: sequential and functional graphs (several inputs and outputs), summary() against the
// PyTorch-style model's parameter count, the PyTorch side of a Keras model (namedParameters,
// stateDict, an nb.optim optimiser), save/load round trips, atomic writes, and fit over loaders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nb from './nb.js';
import { assertClose } from '../helpers/assert.js';
import { kerasDigitsCnn, torchDigitsCnn } from './nets.js';

const L = nb.keras.layers;
type T = nb.Tensor;
const tmp = () => mkdtempSync(join(tmpdir(), 'nabla-keras-'));

test('summary(): Keras table whose parameter counts equal the PyTorch-style model numParameters', () => {
  const m = kerasDigitsCnn();
  const lines: string[] = [];
  const text = m.summary({ printFn: (s) => lines.push(s) });
  assert.equal(lines.join('\n'), text);
  const t = torchDigitsCnn();
  assert.equal(t.numParameters(), 9930);
  assert.match(text, /^Model: "sequential(_\d+)?"\n_{65}\n Layer \(type\) +Output Shape +Param #\n={65}\n/);
  assert.match(text, /\n conv2d(_\d+)? \(Conv2D\) +\(None, 8, 8, 16\) +160\n/);
  assert.match(text, /\n max_pooling2d(_\d+)? \(MaxPooling2D\) +\(None, 4, 4, 16\) +0\n/);
  assert.match(text, /\(None, 4, 4, 32\) +4,640\n/);
  assert.match(text, /\n flatten(_\d+)? \(Flatten\) +\(None, 512\) +0\n/);
  assert.match(text, /\(None, 10\) +5,130\n/);
  assert.match(text, /\nTotal params: 9,930\nTrainable params: 9,930\nNon-trainable params: 0\n_{65}$/);
  assert.equal(m.numParameters(), t.numParameters());
  const rows = [...text.matchAll(/\) +(\d[\d,]*)\n/g)].map((r) => Number(r[1].replace(/,/g, '')));
  const torchRows = t
    .children()
    .map((c) => c.numParameters())
    .filter((n) => n > 0);
  assert.deepEqual(
    rows.filter((n) => n > 0),
    torchRows,
  );
  // an MLP too, and a model with batch norm: trainable params = numParameters(true)
  const mlp = nb.keras.sequential([
    L.dense({ units: 64, activation: 'relu', inputShape: [32] }),
    L.batchNormalization(),
    L.dense({ units: 10 }),
  ]);
  const s2 = mlp.summary({ printFn: () => {} });
  assert.match(s2, new RegExp(`Trainable params: ${(mlp.numParameters(true)).toLocaleString('en-US')}\\n`));
  assert.match(s2, /Non-trainable params: 128\n/);
});

test('the PyTorch side: namedParameters, stateDict, an nb.optim optimiser and loadStateDict from nn', async () => {
  nb.manualSeed(0);
  const m = kerasDigitsCnn();
  const names = [...m.namedParameters()].map(([k]) => k);
  assert.equal(names.length, 6);
  assert.ok(
    names.every((k) => /^(conv2d|dense)(_\d+)?\.(weight|bias)$/.test(k)),
    names.join(', '),
  );
  // weights from the PyTorch-style model, mapped by position, give the same logits up to the flatten order
  const t = torchDigitsCnn();
  const tsd = t.stateDict(),
    ksd = m.stateDict();
  const kKeys = Object.keys(ksd),
    tKeys = Object.keys(tsd);
  const sd: Record<string, T> = {};
  kKeys.forEach((k, i) => {
    sd[k] = tsd[tKeys[i]];
  });
  // Keras flattens (H, W, C); nn flattens (C, H, W): permute the dense weight's columns accordingly
  const dk = kKeys[4];
  sd[dk] = tsd[tKeys[4]].reshape([10, 32, 4, 4]).permute(0, 2, 3, 1).reshape([10, 512]);
  m.loadStateDict(sd);
  const x = nb.rand([5, 1, 8, 8]);
  const kOut = (m.predict(x.permute(0, 2, 3, 1)) as T).log();
  const tOut = t.forward(x).logSoftmax(1);
  assertClose(kOut, tOut, { rtol: 1e-4, atol: 1e-5 });
  // a hand-written PyTorch-style loop on the Keras model
  const opt = new nb.optim.SGD(m.parameters(), { lr: 0.1 });
  const before = m.stateDict()[dk].clone();
  const loss = nb.nn.functional.nllLoss(
    (m.call(x.permute(0, 2, 3, 1)) as T).log(),
    nb.tensor([1, 2, 3, 4, 5], { dtype: 'int32' }),
  );
  loss.backward();
  opt.step();
  assert.ok(m.stateDict()[dk].sub(before).abs().max().item() > 0);
});

test('functional API: a recommender with user and item towers, two inputs, dot product; fit learns', async () => {
  nb.manualSeed(1);
  const user = nb.keras.input({ shape: [1], name: 'user' });
  const item = nb.keras.input({ shape: [1], name: 'item' });
  const u = L.flatten().apply(L.embedding({ inputDim: 20, outputDim: 8, name: 'user_embedding' }).apply(user));
  const v = L.flatten().apply(L.embedding({ inputDim: 30, outputDim: 8, name: 'item_embedding' }).apply(item));
  const score = L.dense({ units: 1, activation: 'sigmoid', name: 'score' }).apply(
    L.dot({ normalize: true }).apply([u, v]),
  );
  const model = nb.keras.model({ inputs: [user, item], outputs: score, name: 'recommender' });
  assert.deepEqual(model.inputNames, ['user', 'item']);
  const text = model.summary({ printFn: () => {} });
  assert.match(text, /Connected to/);
  assert.match(text, /user_embedding \(Embedding\) +\(None, 1, 8\) +160 +\['user\[0\]\[0\]'\]/);
  // synthetic preferences: user likes items of the same parity
  const n = 600;
  const us = nb.randint(0, 20, [n]).to('float32').reshape([n, 1]),
    is = nb.randint(0, 30, [n]).to('float32').reshape([n, 1]);
  const y = us.remainder(2).eq(is.remainder(2)).to('float32');
  model.compile({
    optimizer: nb.keras.optimizers.adam({ learningRate: 0.05 }),
    loss: 'binary_crossentropy',
    metrics: ['accuracy'],
  });
  const h = await model.fit([us, is], y, { epochs: 15, batchSize: 64, verbose: 0 });
  assert.ok(h.history.accuracy.at(-1)! > 0.9, `accuracy ${h.history.accuracy.at(-1)}`);
  const byName = (await model.evaluate({ user: us, item: is }, y, { returnDict: true })) as Record<string, number>;
  assert.ok(byName.accuracy > 0.9);
  assert.deepEqual(Object.keys(byName), ['loss', 'accuracy']);
  // two outputs, per-output losses and metrics
  const inp = nb.keras.input({ shape: [4] });
  const hidden = L.dense({ units: 8, activation: 'relu' }).apply(inp);
  const cls = L.dense({ units: 3, activation: 'softmax', name: 'cls' }).apply(hidden);
  const reg = L.dense({ units: 1, name: 'reg' }).apply(hidden);
  const two = nb.keras.model({ inputs: inp, outputs: [cls, reg] });
  two.compile({
    optimizer: 'adam',
    loss: { cls: 'sparse_categorical_crossentropy', reg: 'mse' },
    metrics: { cls: ['accuracy'] },
  });
  const x = nb.randn([32, 4]);
  const h2 = await two.fit(x, [nb.randint(0, 3, [32]), nb.randn([32, 1])], { epochs: 2, verbose: 0 });
  assert.deepEqual(Object.keys(h2.history).sort(), ['cls_accuracy', 'cls_loss', 'loss', 'reg_loss']);
  const preds = two.predict(x) as T[];
  assert.deepEqual(
    preds.map((p) => [...p.shape]),
    [
      [32, 3],
      [32, 1],
    ],
  );
});

async function roundTrip(model: nb.keras.Model, x: T | T[]) {
  const dir = join(tmp(), 'm');
  await model.save(dir);
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'training_state.safetensors']);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.format, 'nabla.keras');
  const loaded = await nb.keras.loadModel(dir);
  const a = model.predict(x),
    b = loaded.predict(x);
  const as = Array.isArray(a) ? a : [a],
    bs = Array.isArray(b) ? b : [b];
  as.forEach((t, i) => {
    assert.deepEqual([...t.toTypedArray()], [...bs[i].toTypedArray()], 'identical predictions');
  });
  assert.deepEqual(Object.keys(loaded.stateDict()), Object.keys(model.stateDict()));
  return { loaded, dir, cfg };
}

test(
  'save/load round trip: identical predictions (sequential CNN, batch norm + LSTM, functional ' + 'two-input)',
  async () => {
    nb.manualSeed(2);
    const cnn = kerasDigitsCnn();
    cnn.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    await cnn.fit(nb.rand([40, 8, 8, 1]), nb.randint(0, 10, [40]), { epochs: 1, verbose: 0 });
    const { loaded, cfg } = await roundTrip(cnn, nb.rand([7, 8, 8, 1]));
    assert.equal(cfg.className, 'Sequential');
    assert.deepEqual(cfg.compile.optimizer, { name: 'adam', config: {} });
    assert.ok(loaded.compiled, 'recompiled from the saved config');
    await loaded.fit(nb.rand([8, 8, 8, 1]), nb.randint(0, 10, [8]), { epochs: 1, verbose: 0 });

    const seq = nb.keras.sequential([
      L.lstm({ units: 6, returnSequences: true, inputShape: [5, 3] }),
      L.bidirectional({ layer: L.gru({ units: 4 }) }),
      L.batchNormalization(),
      L.dropout({ rate: 0.3 }),
      L.dense({ units: 2 }),
    ]);
    seq.compile({ optimizer: 'rmsprop', loss: 'mse' });
    await seq.fit(nb.randn([16, 5, 3]), nb.randn([16, 2]), { epochs: 1, verbose: 0 });
    await roundTrip(seq, nb.randn([4, 5, 3]));

    const a = nb.keras.input({ shape: [3] }),
      b = nb.keras.input({ shape: [2] });
    const out = L.dense({ units: 2 }).apply(
      L.concatenate().apply([L.dense({ units: 4, activation: 'tanh' }).apply(a), b]),
    );
    const f = nb.keras.model({ inputs: [a, b], outputs: out });
    await roundTrip(f, [nb.randn([3, 3]), nb.randn([3, 2])]);
    // a model built from data (no inputShape) saves its build shape
    const lazy = nb.keras.sequential([L.dense({ units: 3 })]);
    lazy.predict(nb.randn([2, 4]));
    await roundTrip(lazy, nb.randn([2, 4]));
  },
);

test(
  'atomic writes: a failed save leaves no partial or temporary file; a new save replaces the old ' + 'files',
  async () => {
    nb.manualSeed(3);
    const m = nb.keras.sequential([L.dense({ units: 2, inputShape: [3] })]);
    const dir = tmp();
    // model.safetensors is a non-empty folder: the final rename fails
    mkdirSync(join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'model.safetensors', 'keep'), 'x');
    await assert.rejects(m.save(dir));
    assert.deepEqual(readdirSync(dir), ['model.safetensors'], 'no temporary file and no config.json');
    // saving again over a previous save replaces both files and leaves nothing else behind
    const good = join(tmp(), 'good');
    await m.save(good);
    const m2 = nb.keras.sequential([L.dense({ units: 2, inputShape: [3] })]);
    await m2.save(good);
    assert.deepEqual(readdirSync(good).sort(), ['config.json', 'model.safetensors', 'training_state.safetensors']);
    assertClose((await nb.keras.loadModel(good)).predict(nb.ones([1, 3])) as T, m2.predict(nb.ones([1, 3])) as T);
    // CSVLogger writes atomically too
    const csvDir = tmp();
    const csv = join(csvDir, 'log.csv');
    mkdirSync(csv);
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    await assert.rejects(
      m.fit(nb.randn([4, 3]), nb.randn([4, 2]), { epochs: 1, verbose: 0, callbacks: [new nb.keras.CSVLogger(csv)] }),
    );
    assert.deepEqual(readdirSync(csvDir), ['log.csv']);
  },
);

test('fit accepts a nabla DataLoader, an async iterable of batches, validationSplit and classWeight', async () => {
  nb.manualSeed(4);
  const x = nb.randn([64, 4]);
  const y = x.narrow(1, 0, 1).gt(0).to('int32').reshape([64]);
  const make = () => {
    const m = nb.keras.sequential([
      L.dense({ units: 8, activation: 'relu', inputShape: [4] }),
      L.dense({ units: 2, activation: 'softmax' }),
    ]);
    m.compile({
      optimizer: nb.keras.optimizers.adam({ learningRate: 0.05 }),
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
    });
    return m;
  };
  const loader = new nb.DataLoader(new nb.TensorDataset(x, y), { batchSize: 16, shuffle: true });
  const m1 = make();
  const out = new nb.Capture(false);
  const h1 = await m1.fit(loader, { epochs: 10, stream: out, clock: nb.fakeClock(), validationData: loader });
  assert.ok(h1.history.accuracy.at(-1)! > 0.85);
  assert.match(out.text, /^Epoch 10\/10 - 4\/4 - \d+s - loss: .* - val_accuracy: /m);
  async function* batches() {
    for (let s = 0; s < 64; s += 32) yield [x.narrow(0, s, 32), y.narrow(0, s, 32)] as const;
  }
  const m2 = make();
  const h2 = await m2.fit({ [Symbol.asyncIterator]: batches }, undefined, { epochs: 2, verbose: 0 });
  assert.equal(h2.history.loss.length, 2);
  const m3 = make();
  const h3 = await m3.fit(x, y, { epochs: 2, validationSplit: 0.25, verbose: 0, classWeight: { 0: 1, 1: 2 } });
  assert.deepEqual(Object.keys(h3.history), ['loss', 'accuracy', 'val_loss', 'val_accuracy']);
  // evaluate and predict are batched and agree with unbatched results
  const full = m3.predict(x, { batchSize: 64 }) as T,
    small = m3.predict(x, { batchSize: 5 }) as T;
  assertClose(small, full, { rtol: 1e-5, atol: 1e-6 });
  const [l1] = (await m3.evaluate(x, y, { batchSize: 7 })) as number[];
  const [l2] = (await m3.evaluate(x, y, { batchSize: 64 })) as number[];
  assertClose(l1, l2, { rtol: 1e-4 });
});

test('compile takes every optimizer by name, a Keras-style spec, or an nb.optim instance', async () => {
  nb.manualSeed(5);
  const x = nb.randn([32, 3]),
    y = x.sum(1, true);
  for (const opt of [
    'adam',
    'sgd',
    'rmsprop',
    'adagrad',
    'adamw',
    nb.keras.optimizers.sgd({ learningRate: 0.05, momentum: 0.9 }),
  ]) {
    const m = nb.keras.sequential([L.dense({ units: 1, inputShape: [3] })]);
    m.compile({ optimizer: opt, loss: 'mse' });
    const h = await m.fit(x, y, { epochs: 3, verbose: 0 });
    assert.ok(h.history.loss[2] < h.history.loss[0], `${JSON.stringify(opt)} lowers the loss`);
  }
  const m = nb.keras.sequential([L.dense({ units: 1, inputShape: [3] })]);
  const opt = new nb.optim.Adam(m.parameters(), { lr: 0.1 });
  m.compile({ optimizer: opt, loss: 'huber', metrics: ['mae'] });
  assert.equal(m.optimizer, opt);
  const h = await m.fit(x, y, { epochs: 20, verbose: 0 });
  assert.ok(h.history.mae.at(-1)! < 0.2, `mae ${h.history.mae.at(-1)}`);
  assert.equal(m.learningRate, 0.1);
});

test('a frozen layer (trainable = false) keeps its weights and counts as non-trainable', async () => {
  nb.manualSeed(6);
  const base = L.dense({ units: 4, activation: 'relu', inputShape: [3], name: 'base' });
  const m = nb.keras.sequential([base, L.dense({ units: 1 })]);
  base.trainable = false;
  assert.match(m.summary({ printFn: () => {} }), /Trainable params: 5\nNon-trainable params: 16\n/);
  assert.equal(m.numParameters(true), 5);
  const before = base.stateDict().weight.clone();
  m.compile({ optimizer: 'adam', loss: 'mse' });
  const calls: string[] = [];
  await m.fit(nb.randn([16, 3]), nb.randn([16, 1]), {
    epochs: 2,
    verbose: 0,
    validationSplit: 0.25,
    callbacks: [
      {
        onTestBegin: () => {
          calls.push('testBegin');
        },
        onTestEnd: () => {
          calls.push('testEnd');
        },
      },
    ],
  });
  assertClose(base.stateDict().weight, before);
  assert.deepEqual(
    calls,
    ['testBegin', 'testEnd', 'testBegin', 'testEnd'],
    'validation runs the test hooks, as in Keras',
  );
});

test('a loss with options (fromLogits) is saved with the model and restored by loadModel', async () => {
  nb.manualSeed(7);
  const m = nb.keras.sequential([L.dense({ units: 3, inputShape: [2] })]);
  m.compile({
    optimizer: nb.keras.optimizers.rmsprop({ learningRate: 0.01 }),
    loss: new nb.keras.losses.SparseCategoricalCrossentropy({ fromLogits: true }),
    metrics: ['accuracy'],
  });
  const { loaded, cfg } = await roundTrip(m, nb.randn([4, 2]));
  assert.deepEqual(cfg.compile.loss, { name: 'sparse_categorical_crossentropy', options: { fromLogits: true } });
  assert.deepEqual(cfg.compile.optimizer, { name: 'rmsprop', config: { learningRate: 0.01 } });
  const x = nb.randn([8, 2]),
    y = nb.randint(0, 3, [8]);
  const a = (await m.evaluate(x, y)) as number[],
    b = (await loaded.evaluate(x, y)) as number[];
  assert.deepEqual(a, b);
  // a custom loss function cannot be saved: the model saves without compile arguments
  m.compile({ optimizer: 'sgd', loss: (t: T, p: T) => p.sub(t.to('float32').unsqueeze(1)).square().mean(1) });
  const { cfg: c2, loaded: l2 } = await roundTrip(m, nb.randn([2, 2]));
  assert.equal(c2.compile, null);
  assert.equal(l2.compiled, null);
});
