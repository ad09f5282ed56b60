// End to end on the WebGPU backend in headless Chromium (SwiftShader): one epoch of a digits MLP and
// CNN trains to the CPU's accuracy; GPT-2-tiny logits and stories260K greedy tokens equal the CPU's.
// The CPU side runs in the same page on the JS backend, from the same seeded init or weights.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type Harness, openWebGPUPage } from './harness.js';
import {
  type PlainTensor,
  type StepResult,
  type StepSpec,
  gpt2Logits,
  llamaGreedy,
  trainDigits,
  trainStepParity,
} from './page_models.js';
import { golden, sharedData, skipUnlessShared } from '../helpers/data.js';
import { DIGITS_TRAIN_SIZE } from '../../src/data/datasets.js';
import { GPT2LMHeadModel } from '../../src/models/gpt2.js';
import { LlamaForCausalLM } from '../../src/models/llama.js';
import type { Module } from '../../src/nn/module.js';
import { type BenchResult, benchWebGPU } from '../../bench/webgpu_core.js';

let h: Harness;
before(async () => {
  h = await openWebGPUPage();
});
after(async () => {
  await h?.close();
});

function plainStateDict(m: Module): Record<string, PlainTensor> {
  const out: Record<string, PlainTensor> = {};
  for (const [k, t] of Object.entries(m.stateDict()))
    out[k] = { shape: [...t.shape], data: Array.from(t.toTypedArray()) };
  return out;
}

test('digits: one epoch of an MLP and a CNN on webgpu reaches the CPU accuracy', async (t) => {
  if (!h.page) return t.skip(h.skip ?? 'no page');
  // the bundled digits (IDX, uncompressed): 16-byte image header, 8-byte label header
  const imgs = readFileSync('data/digits/digits-images-idx3-ubyte'),
    labs = readFileSync('data/digits/digits-labels-idx1-ubyte');
  const n = labs.length - 8,
    nt = DIGITS_TRAIN_SIZE;
  const px = Array.from(imgs.subarray(16, 16 + n * 64)),
    y = Array.from(labs.subarray(8));
  const d = { trainX: px.slice(0, nt * 64), trainY: y.slice(0, nt), testX: px.slice(nt * 64), testY: y.slice(nt) };
  const res = await h.page.evaluate(trainDigits, d);
  for (const kind of ['mlp', 'cnn']) {
    const cpu = res.find((r) => r.kind === kind && r.device === 'cpu')!,
      gpu = res.find((r) => r.kind === kind && r.device === 'webgpu')!;
    console.log(`digits ${kind}: cpu ${JSON.stringify(cpu)} webgpu ${JSON.stringify(gpu)}`);
    // the same init and batches: the first loss agrees closely, the epoch ends at the same accuracy
    assert.ok(
      Math.abs(cpu.firstLoss - gpu.firstLoss) < 1e-4,
      `${kind} first loss ${cpu.firstLoss} vs ${gpu.firstLoss}`,
    );
    assert.ok(gpu.lastLoss < 0.7 * gpu.firstLoss, `${kind} webgpu loss ${gpu.firstLoss} -> ${gpu.lastLoss}`);
    assert.ok(gpu.accuracy >= cpu.accuracy - 0.02, `${kind} accuracy webgpu ${gpu.accuracy} vs cpu ${cpu.accuracy}`);
    assert.ok(gpu.accuracy > 0.6, `${kind} webgpu accuracy ${gpu.accuracy} (chance: 0.1)`);
  }
});

test('gpt2-tiny: logits on webgpu equal the CPU logits', async (t) => {
  if (!h.page) return t.skip(h.skip ?? 'no page');
  const m = await GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny'));
  const prompt = [5, 17, 42, 3, 99, 0, 63, 7, 21];
  const r = await h.page.evaluate(gpt2Logits, { config: { ...m.config }, sd: plainStateDict(m), prompt });
  assert.equal(r.device, 'webgpu');
  assert.ok(r.maxAbs > 0.01, `logits of scale ${r.maxAbs}`);
  assert.ok(r.maxDiff < 1e-4 * Math.max(1, r.maxAbs), `max |cpu - webgpu| ${r.maxDiff} (logits up to ${r.maxAbs})`);
});

const needs = skipUnlessShared('stories260K.bin');
test('stories260K: greedy tokens on webgpu equal the CPU tokens', { skip: needs }, async (t) => {
  if (!h.page) return t.skip(h.skip ?? 'no page');
  const m = LlamaForCausalLM.fromLlama2c(sharedData('stories260K.bin'));
  const r = await h.page.evaluate(llamaGreedy, {
    config: { ...m.config },
    sd: plainStateDict(m),
    prompt: [1],
    steps: 12,
  });
  console.log(
    `stories260K: ${r.gpu.length - 1} greedy tokens, cpu ${r.ms[0].toFixed(0)} ms, ` +
      `webgpu ${r.ms[1].toFixed(0)} ms (the first use compiles the pipelines)`,
  );
  assert.equal(r.gpu.length, 13);
  assert.deepEqual(r.gpu, r.cpu);
});

/** Asserts one training step on webgpu equals the CPU's: losses, every gradient, parameters and buffers after SGD. */
function checkStep(what: string, r: StepResult, tol = 1e-3): void {
  console.log(
    `${what} training step: loss cpu ${r.loss[0]} webgpu ${r.loss[1]}, after SGD ${r.loss2[0]} / ${r.loss2[1]}; ` +
      `${r.grads} grads, worst ${r.worst.name} at ${r.worst.err.toExponential(2)}; cpu ${r.ms[0]} ms, ` +
      `webgpu ${r.ms[1]} ms (SwiftShader, AMD EPYC, loaded)`,
  );
  // every parameter has a gradient on both devices, and every float tensor is compared
  assert.deepEqual(r.missing, []);
  assert.ok(r.grads > 0);
  for (const [c, g] of [r.loss, r.loss2]) assert.ok(Math.abs(c - g) <= 1e-4 * Math.max(1, Math.abs(c)), `${c} vs ${g}`);
  assert.ok(r.worst.err <= tol, `${what}: ${r.worst.name} differs by ${r.worst.err} of its scale`);
}

const step = async (spec: StepSpec) => h.page!.evaluate(trainStepParity, spec);

// NOTE: 48x48 images leave layer4 2x2 maps: with 1x1 maps and batch 2, batch norm normalises two values
// per channel, and a near tie amplifies float32 rounding by up to 1/sqrt(eps)
test('resnet18 (torchvision shape): a training step on webgpu equals the CPU step', async (t) => {
  if (!h.page) return t.skip(h.skip ?? 'no page');
  const r = await step({ kind: 'resnet18', inputShape: [2, 3, 48, 48], targets: [1, 7] });
  checkStep('resnet18', r);
});

test('CIFAR ResNet-20: a training step on webgpu equals the CPU step', async (t) => {
  if (!h.page) return t.skip(h.skip ?? 'no page');
  const r = await step({ kind: 'cifar-resnet20', inputShape: [2, 3, 16, 16], targets: [3, 9] });
  checkStep('cifar-resnet20', r);
});

test('gpt2-tiny: a training step (dropout on) on webgpu equals the CPU step', async (t) => {
  if (!h.page) return t.skip(h.skip ?? 'no page');
  const m = await GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny'));
  const ids = [
    [5, 17, 42, 3, 99, 0, 63, 7, 21, 8],
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  ];
  const targets = ids.map((r) => [...r.slice(1), 11]);
  const config = { ...m.config, residPdrop: 0.1, embdPdrop: 0.1, attnPdrop: 0 };
  const r = await step({ kind: 'gpt2', config, sd: plainStateDict(m), ids, targets });
  checkStep('gpt2-tiny', r);
});

test('tiny Llama (grouped-query heads): a training step on webgpu equals the CPU step', async (t) => {
  if (!h.page) return t.skip(h.skip ?? 'no page');
  const config = {
    vocabSize: 61,
    hiddenSize: 48,
    intermediateSize: 72,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    maxPositionEmbeddings: 64,
  };
  const ids = [[1, 5, 7, 9, 3, 2, 40, 33, 12, 60, 18, 4, 4, 27, 50, 8, 19]];
  const r = await step({ kind: 'llama', config, ids, targets: [[...ids[0].slice(1), 0]] });
  checkStep('tiny llama', r);
});

test('stories260K: a training step on webgpu equals the CPU step', { skip: needs }, async (t) => {
  if (!h.page) return t.skip(h.skip ?? 'no page');
  const m = LlamaForCausalLM.fromLlama2c(sharedData('stories260K.bin'));
  const ids = [[1, 403, 407, 261, 378, 384, 261, 279, 342, 281, 260, 354, 402, 375, 263, 447, 275]];
  const r = await step({
    kind: 'llama',
    config: { ...m.config },
    sd: plainStateDict(m),
    ids,
    targets: [[...ids[0].slice(1), 2]],
  });
  checkStep('stories260K', r);
});

test('bench:webgpu body: validated figures on SwiftShader (small sizes, correctness only)', async (t) => {
  if (!h.page) return t.skip(h.skip ?? 'no page');
  const opts = {
    gemmN: 96,
    repeats: 2,
    gpt2: { nLayer: 2, nEmbd: 32, nHead: 2, vocabSize: 100, nPositions: 64 },
    prompt: 8,
    decode: 5,
  };
  // the same function `npm run bench:webgpu` runs in Node, evaluated in the page with its nb
  const r = (await h.page.evaluate(
    `(${benchWebGPU.toString()})(globalThis.nb, ${JSON.stringify(opts)})`,
  )) as BenchResult;
  assert.ok(r.gemm.maxRelErr < 1e-5 && r.gemm.tflops > 0, JSON.stringify(r.gemm));
  assert.equal(r.gpt2.tokens.length, opts.decode);
  assert.ok(r.gpt2.logitsMaxDiff < 1e-3 && r.gpt2.prefillMs > 0 && r.gpt2.decodeTokPerS > 0, JSON.stringify(r.gpt2));
});
