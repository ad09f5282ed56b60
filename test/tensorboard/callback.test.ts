// The Keras TensorBoard callback on a tiny fit: epoch metrics split into train/ and validation/ runs.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import * as nb from 'nabla';
import { REPO_ROOT } from '../helpers/data.js';

const Event = protobuf
  .loadSync(join(REPO_ROOT, 'test', 'tensorboard', 'proto', 'event.proto'))
  .lookupType('tensorflow.Event');

function tags(dir: string): string[] {
  const f = readdirSync(dir).find((n) => n.startsWith('events.out.tfevents.'))!;
  const b = readFileSync(join(dir, f));
  const out: string[] = [];
  for (let o = 0; o < b.length; ) {
    const n = Number(b.readBigUInt64LE(o));
    const e = Event.toObject(Event.decode(b.subarray(o + 12, o + 12 + n)), { longs: Number });
    if (e.summary) out.push(`${e.summary.value[0].tag}@${e.step ?? 0}`);
    o += 16 + n;
  }
  return out;
}

test('keras TensorBoard callback writes epoch_ and batch_ scalars and weight histograms', async () => {
  nb.manualSeed(0);
  const L = nb.keras.layers;
  const m = nb.keras.sequential([L.dense({ units: 3, inputShape: [2] })]);
  m.compile({ optimizer: 'sgd', loss: 'mse' });
  const dir = mkdtempSync(join(tmpdir(), 'nb-tbcb-'));
  const cb = new nb.tensorboard.TensorBoard({ logDir: dir, updateFreq: 2, histogramFreq: 1 });
  await m.fit(nb.randn([8, 2]), nb.randn([8, 3]), {
    epochs: 2,
    batchSize: 2,
    verbose: 0,
    validationSplit: 0.5,
    callbacks: [cb],
  });
  const train = tags(join(dir, 'train'));
  assert.deepEqual(
    train.filter((t) => t.startsWith('epoch_')),
    ['epoch_loss@0', 'epoch_loss@1'],
  );
  assert.deepEqual(
    train.filter((t) => t.startsWith('batch_')),
    ['batch_loss@2', 'batch_loss@4'],
  );
  assert.deepEqual(
    train.filter((t) => t.startsWith('weight_')),
    ['weight_0@0', 'weight_1@0', 'weight_0@1', 'weight_1@1'],
  );
  assert.deepEqual(tags(join(dir, 'validation')), ['epoch_loss@0', 'epoch_loss@1']);
  assert.throws(
    () => new nb.tensorboard.TensorBoard({ updateFreq: 0 }),
    /updateFreq must be 'epoch', 'batch' or a positive/,
  );
});
