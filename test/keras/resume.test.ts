// Exact resume (issue 24, item 6): model.save with includeOptimizer (the default) keeps the optimiser
// state and the RNG state, so fit continued from a loaded model, with dropout and shuffling, gives
// the loss curve of the uninterrupted run bit for bit. Also: misspelled option names are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nb from './nb.js';

const L = nb.keras.layers;

function net(): nb.keras.Model {
  const m = nb.keras.sequential([
    L.dense({ units: 16, activation: 'relu', inputShape: [6] }),
    L.dropout({ rate: 0.3 }),
    L.dense({ units: 3, activation: 'softmax' }),
  ]);
  m.compile({ optimizer: nb.keras.optimizers.adam({ learningRate: 0.01 }), loss: 'sparse_categorical_crossentropy' });
  return m;
}

/** Runs fit and returns the running loss after every batch (the whole curve, not just epoch means). */
async function curve(
  m: nb.keras.Model,
  x: nb.Tensor,
  y: nb.Tensor,
  opts: { epochs: number; initialEpoch?: number },
): Promise<number[]> {
  const out: number[] = [];
  const record = {
    onBatchEnd: (_b: number, logs?: Record<string, number>) => {
      out.push(logs!.loss);
    },
  };
  await m.fit(x, y, { ...opts, batchSize: 8, verbose: 0, callbacks: [record] });
  return out;
}

test('keras: save/load with includeOptimizer resumes fit bit for bit (dropout, shuffle, Adam)', async () => {
  const gen = new nb.Generator(1);
  const x = nb.randn([40, 6], { generator: gen });
  const y = nb.randint(0, 3, [40], { generator: gen });
  nb.manualSeed(0);
  const full = await curve(net(), x, y, { epochs: 4 });

  const dir = mkdtempSync(join(tmpdir(), 'nabla-resume-'));
  try {
    nb.manualSeed(0);
    const a = net();
    const first = await curve(a, x, y, { epochs: 2 });
    await a.save(join(dir, 'ckpt'));
    await a.save(join(dir, 'weights-only'), { includeOptimizer: false });
    nb.manualSeed(12345); // another process: a different random stream until the checkpoint is loaded
    const b = await nb.keras.loadModel(join(dir, 'ckpt'));
    const rest = await curve(b, x, y, { epochs: 4, initialEpoch: 2 });
    assert.equal(first.length + rest.length, full.length);
    assert.deepEqual([...first, ...rest], full);

    // without the optimiser and RNG state the run diverges at its first resumed step (the old behaviour)
    nb.manualSeed(12345);
    const c = await nb.keras.loadModel(join(dir, 'weights-only'));
    const diverged = await curve(c, x, y, { epochs: 4, initialEpoch: 2 });
    assert.notEqual(diverged[0], full[first.length]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('keras: compile, fit, evaluate, predict, save and loadModel refuse unknown option names', async () => {
  const m = net();
  const x = nb.randn([4, 6]),
    y = nb.tensor([0, 1, 2, 0], { dtype: 'int32' });
  await assert.rejects(
    m.fit(x, y, { batch_size: 2 } as never),
    /fit: unknown option 'batch_size'; did you mean 'batchSize'\?/,
  );
  await assert.rejects(m.fit(x, y, { epoch: 2 } as never), /fit: unknown option 'epoch'; did you mean 'epochs'\?/);
  await assert.rejects(m.fit(x, y, { validation_split: 0.5 } as never), /did you mean 'validationSplit'\?/);
  await assert.rejects(
    m.fit(x, y, { zzzzzz: 1 } as never),
    /fit: unknown option 'zzzzzz' \(options: batchSize, epochs/,
  );
  const loader = new nb.DataLoader(new nb.TensorDataset(x, y), { batchSize: 2 });
  await assert.rejects(
    m.fit(loader, { steps_per_epoch: 1 } as never),
    /fit: unknown option 'steps_per_epoch'; did you mean 'stepsPerEpoch'\?/,
  );
  await assert.rejects(
    m.evaluate(x, y, { return_dict: true } as never),
    /evaluate: unknown option 'return_dict'; did you mean 'returnDict'\?/,
  );
  assert.throws(
    () => m.predict(x, { batchsize: 2 } as never),
    /predict: unknown option 'batchsize'; did you mean 'batchSize'\?/,
  );
  assert.throws(
    () => m.compile({ optimizer: 'adam', loss: 'mse', loss_weights: [1] } as never),
    /compile: unknown option 'loss_weights'; did you mean 'lossWeights'\?/,
  );
  await assert.rejects(
    m.save('/nonexistent-never', { include_optimizer: false } as never),
    /save: unknown option 'include_optimizer'; did you mean 'includeOptimizer'\?/,
  );
  await assert.rejects(
    nb.keras.loadModel('/nonexistent-never', { compiles: false } as never),
    /loadModel: unknown option 'compiles'; did you mean 'compile'\?/,
  );
  // the right names still work
  const h = await m.fit(x, y, { batchSize: 2, epochs: 1, verbose: 0 });
  assert.equal(h.history.loss.length, 1);
});
