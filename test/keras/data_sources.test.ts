// What fit / evaluate / predict take besides arrays: a map-style Dataset (batched like arrays, with
// batchSize and shuffle), a DataLoader, a sync iterable for predict; and predict's precise types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from './nb.js';
import { assertClose } from '../helpers/assert.js';

const L = nb.keras.layers;

function classifier(): nb.keras.Sequential {
  const m = nb.keras.sequential([
    L.dense({ units: 8, activation: 'relu', inputShape: [4] }),
    L.dense({ units: 2, activation: 'softmax' }),
  ]);
  m.compile({ optimizer: nb.keras.optimizers.adam({ learningRate: 0.05 }), loss: 'sparse_categorical_crossentropy' });
  return m;
}

test('fit(dataset) batches a map-style Dataset like arrays: same losses as fit(x, y) without shuffling', async () => {
  nb.manualSeed(11);
  const x = nb.randn([40, 4]);
  const y = x.narrow(1, 0, 1).gt(0).to('int32').reshape([40]);
  nb.manualSeed(1);
  const a = classifier();
  nb.manualSeed(1);
  const b = classifier();
  const opts = { epochs: 3, batchSize: 16, shuffle: false, verbose: 0 } as const;
  const ha = await a.fit(x, y, opts);
  const hb = await b.fit(new nb.TensorDataset(x, y), opts);
  assertClose(hb.history.loss, ha.history.loss, { rtol: 1e-6 });
  // 40 samples in batches of 16: three steps per epoch, not forty one-sample "batches"
  const steps: number[] = [];
  const c = classifier();
  await c.fit(new nb.TensorDataset(x, y), {
    epochs: 1,
    batchSize: 16,
    verbose: 0,
    validationData: new nb.TensorDataset(x, y),
    callbacks: [{ onBatchEnd: (_s: number, logs?: { size?: number }) => void steps.push(logs?.size ?? -1) }],
  });
  assert.deepEqual(steps, [16, 16, 8]);
  const [loss] = [(await a.evaluate(new nb.TensorDataset(x, y), { batchSize: 7 })) as number];
  assertClose(loss, (await a.evaluate(x, y, { batchSize: 40 })) as number, { rtol: 1e-5 });
});

test('predict takes arrays, a Dataset or a DataLoader of [x, y] batches, and returns one Tensor for Sequential', () => {
  nb.manualSeed(12);
  const x = nb.randn([10, 4]);
  const y = nb.zeros([10], { dtype: 'int32' });
  const m = classifier();
  const full: nb.Tensor = m.predict(x); // typed Tensor: no cast
  assert.deepEqual(full.shape, [10, 2]);
  assertClose(m.predict(new nb.TensorDataset(x, y), { batchSize: 3 }), full, { rtol: 1e-6 });
  assertClose(m.predict(new nb.DataLoader(new nb.TensorDataset(x, y), { batchSize: 4 })), full, { rtol: 1e-6 });
  async function* gen() {
    yield [x, y] as const;
  }
  assert.throws(() => m.predict({ [Symbol.asyncIterator]: gen }), /predict is synchronous .*async iterable/);
  const empty = new nb.TensorDataset(nb.zeros([0, 4]), nb.zeros([0]));
  assert.throws(() => m.predict(empty), /predict: no data to predict on/);
});

test('a functional model with a list of outputs predicts Tensor[]; with one output tensor, a Tensor', () => {
  const inp = nb.keras.input({ shape: [3] });
  // apply() is typed any (it takes Tensors, SymbolicTensors or lists); declared, the output types flow
  const h: nb.keras.SymbolicTensor = L.dense({ units: 4 }).apply(inp);
  const two = nb.keras.model({
    inputs: inp,
    outputs: [L.dense({ units: 1 }).apply(h), L.dense({ units: 2 }).apply(h)],
  });
  const outs: nb.Tensor[] = two.predict(nb.randn([5, 3]));
  assert.deepEqual(
    outs.map((o) => o.shape),
    [
      [5, 1],
      [5, 2],
    ],
  );
  const one = nb.keras.model({ inputs: inp, outputs: h });
  const o: nb.Tensor = one.predict(nb.randn([5, 3]));
  assert.deepEqual(o.shape, [5, 4]);
});
