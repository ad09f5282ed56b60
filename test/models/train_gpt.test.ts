// trainGPT: a handful of steps lower the loss, the checkpoint reloads to the same model, the LR
// schedule is warmup + cosine, and fine-tuning a GPT-2 folder goes through the same path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedData, skipUnlessShared } from '../helpers/data.js';
import { assertClose } from '../helpers/assert.js';
import { saveSafetensors } from '../../src/io/tensors.js';
import { GPT2Config, GPT2LMHeadModel } from '../../src/models/gpt2.js';
import { gptLearningRate, loadCharVocab, trainGPT } from '../../src/models/train_gpt.js';

const TEXT = 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n'.repeat(30);

test('char-level GPT: the loss goes down in a few steps; the checkpoint reloads to the same logits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-train-'));
  try {
    const r = await trainGPT({
      text: TEXT,
      outDir: dir,
      maxIters: 30,
      evalInterval: 15,
      evalIters: 2,
      batchSize: 8,
      blockSize: 32,
      nLayer: 2,
      nHead: 2,
      nEmbd: 32,
      lr: 3e-3,
      warmupIters: 5,
      sampleTokens: 20,
      log: () => {},
    });
    assert.equal(r.losses.length, 30);
    const first = r.losses.slice(0, 3).reduce((a, b) => a + b) / 3,
      last = r.losses.slice(-3).reduce((a, b) => a + b) / 3;
    assert.ok(last < first - 0.5, `training loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
    assert.ok(r.evals[2].val < r.evals[0].val, `val loss ${r.evals[0].val} -> ${r.evals[2].val}`);
    assert.ok(r.tokensPerSecond > 0 && r.sample.length > 1);
    assert.ok(existsSync(join(dir, 'model.safetensors')) && existsSync(join(dir, 'config.json')));
    const back = await GPT2LMHeadModel.fromPretrained(dir);
    const ids = [loadCharVocab(dir).encode('Speak, speak.')];
    const best = r.evals.reduce((a, b) => (b.val < a.val ? b : a));
    if (best === r.evals[r.evals.length - 1])
      assertClose(back.forward(ids), r.model.forward(ids), { atol: 1e-6, rtol: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('learning rate: linear warmup, cosine decay to minLr, then flat', () => {
  const o = { lr: 1, minLr: 0.1, warmupIters: 10, lrDecayIters: 110 };
  assert.ok(Math.abs(gptLearningRate(0, o) - 1 / 11) < 1e-12);
  assert.ok(Math.abs(gptLearningRate(10, o) - 1) < 1e-12);
  assert.ok(Math.abs(gptLearningRate(60, o) - 0.55) < 1e-12);
  assert.ok(Math.abs(gptLearningRate(110, o) - 0.1) < 1e-12);
  assert.equal(gptLearningRate(500, o), 0.1);
});

test('fine-tuning a GPT-2 folder (BPE tokens) goes through the same path', {
  skip: skipUnlessShared('gpt2-encoder.json', 'gpt2-vocab.bpe'),
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-finetune-'));
  try {
    const config = new GPT2Config({ nPositions: 32, nEmbd: 16, nLayer: 1, nHead: 2 });
    const { 'lm_head.weight': _tied, ...weights } = new GPT2LMHeadModel(config, { seed: 4 }).stateDict();
    await saveSafetensors(weights, join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config.toJSON()));
    for (const f of ['gpt2-encoder.json', 'gpt2-vocab.bpe']) copyFileSync(sharedData(f), join(dir, f));
    const r = await trainGPT({
      text: TEXT,
      init: dir,
      maxIters: 8,
      evalInterval: 8,
      evalIters: 1,
      batchSize: 2,
      blockSize: 8,
      lr: 2e-2,
      warmupIters: 2,
      sampleTokens: 0,
      log: () => {},
    });
    assert.equal(r.model.config.vocabSize, 50257);
    assert.ok(
      r.losses[r.losses.length - 1] < r.losses[0] - 1,
      `fine-tuning loss ${r.losses[0]} -> ${r.losses[r.losses.length - 1]}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'resume: a run killed mid-way continues from resume.safetensors with the same loss curve, bit for ' + 'bit',
  async () => {
    const base = mkdtempSync(join(tmpdir(), 'nabla-resume-gpt-'));
    const opts = {
      text: TEXT,
      maxIters: 8,
      evalInterval: 4,
      evalIters: 2,
      batchSize: 4,
      blockSize: 16,
      nLayer: 1,
      nHead: 2,
      nEmbd: 16,
      dropout: 0.2,
      lr: 3e-3,
      warmupIters: 2,
      sampleTokens: 0,
      log: () => {},
    };
    try {
      const full = await trainGPT({ ...opts, outDir: join(base, 'a') });
      assert.equal(full.losses.length, 8);
      const dir = join(base, 'b');
      // the process "dies" during iteration 7, after the checkpoint of the evaluation at iteration 4
      const kill = (line: string) => {
        if (line.includes('iter 7/8')) throw new Error('killed');
      };
      await assert.rejects(trainGPT({ ...opts, outDir: dir, log: kill }), /killed/);
      assert.ok(existsSync(join(dir, 'resume.safetensors')));
      const resumed = await trainGPT({ ...opts, outDir: dir, resume: true });
      assert.deepEqual(resumed.losses, full.losses);
      assert.deepEqual(resumed.evals, full.evals);
      assertClose(resumed.model.forward([[1, 2, 3]]), full.model.forward([[1, 2, 3]]), { atol: 0, rtol: 0 });
      // a different run cannot resume it; a missing checkpoint is named
      await assert.rejects(
        trainGPT({ ...opts, outDir: dir, resume: true, batchSize: 8 }),
        /cannot resume .*resume\.safetensors: the run differs in batchSize \(saved 4, now 8\)/,
      );
      await assert.rejects(
        trainGPT({ ...opts, outDir: join(base, 'none'), resume: true }),
        /cannot resume: .*none\/resume\.safetensors does not exist/,
      );
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  },
);
