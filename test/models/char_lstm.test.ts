// The character LSTM language model: training on a small periodic text lowers the validation loss to
// near zero in seconds; sampling probabilities (temperature, top-k, top-p) by hand; seeded sampling
// through multinomial; save/load; PyTorch's parameter names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CharLSTM,
  loadCharLSTM,
  sampleCharLSTM,
  samplingProbs,
  trainCharLSTM,
  windowLoss,
} from '../../src/models/char_lstm.js';
import type { LSTM } from '../../src/nn/rnn.js';
import { manualSeed } from '../../src/tensor/random.js';
import { tensor } from '../../src/tensor/creation.js';
import { noGrad } from '../../src/autograd/grad_mode.js';
import { assertClose } from '../helpers/assert.js';

const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(60);

test('trainCharLSTM learns a periodic text: validation loss from ~ln(V) to below 0.3 nats', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-lstm-'));
  try {
    const r = await trainCharLSTM({
      text: TEXT,
      embeddingDim: 16,
      hiddenSize: 32,
      numLayers: 1,
      blockSize: 12,
      batchSize: 8,
      maxIters: 100,
      lr: 1e-2,
      minLr: 1e-3,
      warmupIters: 10,
      evalInterval: 50,
      evalWindows: 16,
      outDir: dir,
    });
    const first = r.evals[0].val,
      last = r.evals[r.evals.length - 1].val;
    assert.ok(first > 2.5, `untrained loss ${first}`);
    assert.ok(last < 0.3, `trained validation loss ${last}`);
    // greedy continuation (topK 1) recites the text
    const ids = sampleCharLSTM(r.model, r.encode('the quick '), { maxNewTokens: 20, topK: 1 });
    assert.equal(r.decode(ids), 'the quick brown fox jumps over');
    // the saved folder reloads to the same predictions
    const loaded = await loadCharLSTM(dir);
    assert.deepEqual(loaded.encode('fox'), r.encode('fox'));
    const x = tensor([r.encode('the lazy dog')], { dtype: 'int32' });
    const v = windowLoss((t) => loaded.model.forward(t)[0], r.val, 16, 16, 8);
    assert.ok(v <= last + 1e-6, `reloaded ${v} vs best ${last}`);
    noGrad(() => assertClose(loaded.model.forward(x)[0], loaded.model.forward(x)[0], { atol: 0, rtol: 0 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CharLSTM keeps nn.LSTM parameters (PyTorch names) and computes what nn.LSTM computes', () => {
  manualSeed(0);
  const m = new CharLSTM({ vocabSize: 7, embeddingDim: 5, hiddenSize: 6, numLayers: 2 }).eval();
  assert.deepEqual(Object.keys(m.stateDict()).sort(), [
    'embedding.weight',
    'fc.bias',
    'fc.weight',
    'lstm.bias_hh_l0',
    'lstm.bias_hh_l1',
    'lstm.bias_ih_l0',
    'lstm.bias_ih_l1',
    'lstm.weight_hh_l0',
    'lstm.weight_hh_l1',
    'lstm.weight_ih_l0',
    'lstm.weight_ih_l1',
  ]);
  const ids = tensor(
    [
      [1, 2, 3, 4],
      [6, 5, 0, 2],
    ],
    { dtype: 'int32' },
  );
  noGrad(() => {
    const [logits, [h, c]] = m.forward(ids);
    const lstm = m.lstm as LSTM;
    const [out, [h2, c2]] = lstm.forward(m.embedding.forward(ids));
    assertClose(logits, m.fc.forward(out), { atol: 1e-6, rtol: 1e-5 });
    assertClose(h, h2, { atol: 1e-6, rtol: 1e-5 });
    assertClose(c, c2, { atol: 1e-6, rtol: 1e-5 });
    // stepping with the state equals one pass
    const [a, s] = m.forward(ids.narrow(1, 0, 2));
    const [b] = m.forward(ids.narrow(1, 2, 2), s);
    assertClose(a, logits.narrow(1, 0, 2), { atol: 1e-6, rtol: 1e-5 });
    assertClose(b, logits.narrow(1, 2, 2), { atol: 1e-6, rtol: 1e-5 });
  });
});

test('samplingProbs: temperature, top-k and top-p by hand', () => {
  const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];
  const near = (a: Float32Array, b: number[]) =>
    assert.ok(
      b.every((v, i) => Math.abs(a[i] / a.reduce((s, x) => s + x, 0) - v) < 1e-6),
      `${Array.from(a)} vs ${b}`,
    );
  near(samplingProbs(logits), [0.5, 0.3, 0.15, 0.05]);
  near(samplingProbs(logits, 1, 2), [0.5 / 0.8, 0.3 / 0.8, 0, 0]);
  // top-p 0.79: 0.5 + 0.3 reaches it, so two stay
  near(samplingProbs(logits, 1, 0, 0.79), [0.5 / 0.8, 0.3 / 0.8, 0, 0]);
  near(samplingProbs(logits, 1, 0, 0.81), [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0]);
  // temperature 0.5 squares the probabilities (before renormalising)
  const sq = [0.25, 0.09, 0.0225, 0.0025],
    z = sq.reduce((a, b) => a + b);
  near(
    samplingProbs(logits, 0.5),
    sq.map((v) => v / z),
  );
  assert.throws(() => samplingProbs(logits, 0), /temperature must be > 0/);
  assert.throws(() => samplingProbs(logits, 1, 0, 1.5), /topP must be in \(0, 1\]/);
});

test('sampleCharLSTM: the same seed gives the same text; the draws follow the probabilities', () => {
  manualSeed(1);
  const m = new CharLSTM({ vocabSize: 4, embeddingDim: 3, hiddenSize: 4, numLayers: 1 });
  const a = sampleCharLSTM(m, [0], { maxNewTokens: 30, seed: 5 });
  const b = sampleCharLSTM(m, [0], { maxNewTokens: 30, seed: 5 });
  assert.deepEqual(a, b);
  assert.equal(a.length, 31);
  // with topK 1 every draw is the argmax
  const g = sampleCharLSTM(m, [0], { maxNewTokens: 10, topK: 1, seed: 9 });
  const h = sampleCharLSTM(m, [0], { maxNewTokens: 10, topK: 1, seed: 10 });
  assert.deepEqual(g, h);
  assert.throws(() => sampleCharLSTM(m, [], {}), /at least one character/);
});
