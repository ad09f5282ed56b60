// Exact resume of a PyTorch-style loop (issue 24, item 6): model.stateDict(), optimizer.stateDict(),
// nb.getRngState() and the DataLoader's stateDict(), saved with nb.save mid-epoch and loaded into
// fresh objects, continue with the loss curve of the uninterrupted run, bit for bit (dropout and
// shuffling included), whether the loader shuffles with the default generator or its own.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nb from '../../src/index.js';
import { DataLoader, TensorDataset } from '../../src/data/index.js';

const N = 36,
  EPOCHS = 3,
  BATCH = 8; // 5 batches an epoch, the last one short

const gen0 = new nb.Generator(42);
const X = nb.randn([N, 5], { generator: gen0 });
const Y = nb.randint(0, 3, [N], { generator: gen0 });

interface Run {
  model: nb.nn.Module;
  opt: nb.optim.Adam;
  loader: DataLoader<nb.Tensor[], nb.Tensor[]>;
}

function fresh(ownGenerator: boolean): Run {
  const model = new nb.nn.Sequential(
    new nb.nn.Linear(5, 16),
    new nb.nn.ReLU(),
    new nb.nn.Dropout(0.4),
    new nb.nn.Linear(16, 3),
  );
  const opt = new nb.optim.Adam(model.parameters(), { lr: 0.01 });
  const generator = ownGenerator ? new nb.Generator(7) : undefined;
  const loader = new DataLoader(new TensorDataset(X, Y), { batchSize: BATCH, shuffle: true, generator });
  return { model, opt, loader };
}

/** Trains from `epoch` on; stops after global step `stopAt` (returning the epoch it was in). */
function train(r: Run, losses: number[], epoch: number, stopAt = Infinity): number | null {
  r.model.train();
  for (; epoch < EPOCHS; epoch++) {
    for (const [x, y] of r.loader) {
      r.opt.zeroGrad();
      const loss = nb.nn.functional.crossEntropy(r.model.forward(x) as nb.Tensor, y);
      loss.backward();
      r.opt.step();
      losses.push(loss.item());
      if (losses.length === stopAt) return epoch;
    }
  }
  return null;
}

for (const own of [false, true]) {
  describe(`PyTorch-style resume (${own ? "the loader's own generator" : 'the default generator'})`, () => {
    for (const [stopAt, where] of [
      [7, 'mid-epoch'],
      [10, 'at the end of an epoch'],
    ] as const) {
      test(
        `save at step ${stopAt} (${where}) with nb.save, load into fresh objects, same curve bit for ` + `bit`,
        async () => {
          nb.manualSeed(0);
          const full: number[] = [];
          train(fresh(own), full, 0);
          assert.equal(full.length, EPOCHS * 5);

          const dir = mkdtempSync(join(tmpdir(), 'nabla-resume-'));
          try {
            nb.manualSeed(0);
            const a = fresh(own);
            const losses: number[] = [];
            const epoch = train(a, losses, 0, stopAt)!;
            const path = join(dir, 'ckpt.pt');
            await nb.save(
              {
                model: a.model.stateDict(),
                optimizer: a.opt.stateDict(),
                rng: nb.getRngState(),
                loader: a.loader.stateDict(),
                epoch,
                step: losses.length,
              },
              path,
            );

            nb.manualSeed(999); // a new process: different initial weights and random stream
            const b = fresh(own);
            const ck = await nb.load(path);
            b.model.loadStateDict(ck.model);
            b.opt.loadStateDict(ck.optimizer);
            nb.setRngState(ck.rng);
            b.loader.loadStateDict(ck.loader);
            const finished = ck.loader.batchesYielded === 0;
            train(b, losses, ck.epoch + (finished ? 1 : 0));
            assert.deepEqual(losses, full);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      );
    }
  });
}

test('without the RNG and loader state the resumed run diverges (the test can fail)', () => {
  nb.manualSeed(0);
  const full: number[] = [];
  train(fresh(false), full, 0);
  nb.manualSeed(0);
  const a = fresh(false);
  const losses: number[] = [];
  const epoch = train(a, losses, 0, 7)!;
  const b = fresh(false);
  b.model.loadStateDict(a.model.stateDict());
  b.opt.loadStateDict(a.opt.stateDict());
  train(b, losses, epoch);
  assert.notDeepEqual(losses, full.slice(0, losses.length));
});

test('DataLoader.stateDict/loadStateDict: a resumed epoch yields the remaining batches; bad states are refused', () => {
  const ds = new TensorDataset(nb.arange(10));
  const a = new DataLoader(ds, { batchSize: 3, shuffle: true, generator: new nb.Generator(1) });
  assert.deepEqual(a.stateDict(), {
    batchesYielded: 0,
    epochRngState: null,
    generatorState: Array.from(new nb.Generator(1).getState().toTypedArray()),
  });
  const it = a[Symbol.iterator]();
  const first = [it.next().value, it.next().value].map((b) => Array.from(b![0].toTypedArray()));
  const sd = JSON.parse(JSON.stringify(a.stateDict()));
  assert.equal(sd.batchesYielded, 2);
  const rest = [...{ [Symbol.iterator]: () => it }].map((b) => Array.from(b[0].toTypedArray()));
  const next = [...a].map((b) => Array.from(b[0].toTypedArray()));
  const b = new DataLoader(ds, { batchSize: 3, shuffle: true, generator: new nb.Generator(99) });
  b.loadStateDict(sd);
  assert.deepEqual(
    [...b].map((x) => Array.from(x[0].toTypedArray())),
    rest,
  );
  assert.deepEqual(
    [...b].map((x) => Array.from(x[0].toTypedArray())),
    next,
  );
  assert.deepEqual(
    ([...first, ...rest].flat() as number[]).sort((p, q) => p - q),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.throws(
    () => b.loadStateDict({ ...sd, batchesYielded: 9 }),
    /DataLoader.loadStateDict: batchesYielded 9 exceeds the 4 batches of an epoch/,
  );
  assert.throws(() => b.loadStateDict({ ...sd, batchesYielded: -1 }), /batchesYielded must be a non-negative integer/);
  assert.throws(
    () => b.loadStateDict({ ...sd, epochRngState: [1, 2] }),
    /Generator.setState: invalid state: expected 8 int32 words/,
  );
  assert.throws(
    () => b.loadStateDict({ ...sd, epochRngState: null }),
    /resumes a shuffled epoch but has no epochRngState/,
  );
  assert.throws(
    () => new DataLoader(ds, { shuffle: true }).loadStateDict(sd),
    /has a generatorState but this loader has no generator/,
  );
});
