// LLM weight-only quantization: perplexity of int8 (per row) and int4 (Q4_0-style groups) models on
// held-out text within 1% and 5% of float32, the quantized layer against its dequantized float weight
// (int4: and its input quantized to int8 per group), and quantized checkpoints: a save/load round trip
// and the error for a wrong int4 group size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad } from '../../src/autograd/grad_mode.js';
import { tensor, randn } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { crossEntropy } from '../../src/nn/functional/losses.js';
import { Linear } from '../../src/nn/linear.js';
import { GPT2LMHeadModel } from '../../src/models/gpt2.js';
import { LlamaForCausalLM } from '../../src/models/llama.js';
import { WeightOnlyLinear, loadQuantized, quantizeWeights, saveQuantized } from '../../src/models/quantize.js';
import { LlamaTokenizer } from '../../src/text/sentencepiece.js';
import { dequantizeWeight, quantizeActivationGroups } from '../../src/util/quant.js';
import { golden, sharedData, skipUnlessShared } from '../helpers/data.js';
import { assertClose } from '../helpers/assert.js';

type LM = GPT2LMHeadModel | LlamaForCausalLM;

/** exp(mean cross-entropy of ids[1:] given ids[:-1]). */
function perplexity(model: LM, ids: number[]): number {
  return noGrad(() => {
    const logits = model.forward(tensor([ids.slice(0, -1)], { dtype: 'int32' })) as Tensor; // (1, T, V)
    const V = logits.shape[2];
    const loss = crossEntropy(logits.reshape([-1, V]), tensor(ids.slice(1), { dtype: 'int32' }));
    return Math.exp(loss.item() as number);
  });
}

// A story in the style of TinyStories, written for this test (not from the model's training data).
const HELD_OUT =
  'Tom had a small red boat. Every morning he took it to the pond near his house. One day the wind was ' +
  'strong and the boat went far away. Tom was sad, but his sister Amy ran around the pond and caught it. ' +
  'Tom smiled and said, "Thank you, Amy! You are the best sister." They played with the boat until the sun went down.';

const needs = skipUnlessShared('stories260K.bin', 'tok512.bin');

test('stories260K: int8 perplexity within 1% of float32, int4 within 5%', { skip: needs }, () => {
  const tok = LlamaTokenizer.fromLlama2c(sharedData('tok512.bin'));
  const ids = tok.encode(HELD_OUT);
  const base = perplexity(LlamaForCausalLM.fromLlama2c(sharedData('stories260K.bin')), ids);
  const q8 = perplexity(quantizeWeights(LlamaForCausalLM.fromLlama2c(sharedData('stories260K.bin')), { bits: 8 }), ids);
  const q4 = perplexity(quantizeWeights(LlamaForCausalLM.fromLlama2c(sharedData('stories260K.bin')), { bits: 4 }), ids);
  console.log(`stories260K perplexity: float32 ${base.toFixed(4)}, int8 ${q8.toFixed(4)}, int4 ${q4.toFixed(4)}`);
  assert.ok(base < 30, `a trained model: float perplexity ${base}`);
  assert.ok(Math.abs(q8 / base - 1) <= 0.01, `int8 ${q8} vs ${base}`);
  assert.ok(Math.abs(q4 / base - 1) <= 0.05, `int4 ${q4} vs ${base}`);
});

test('GPT-2-tiny (random weights, test/golden/gpt2-tiny): int8 within 1%, int4 within 5%', async () => {
  // NOTE: no trained GPT-2 small enough to ship exists here (shared/data/README); the tiny golden model
  // is random, so this checks that quantization leaves the distribution where it was.
  const load = () => GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny'));
  const text = readFileSync(golden('../golden/gpt2-tiny/config.json'), 'utf8');
  const ids = Array.from(text.slice(0, 60), (c) => c.charCodeAt(0) % 100);
  const base = perplexity(await load(), ids);
  const q8 = perplexity(quantizeWeights(await load(), { bits: 8 }), ids);
  const q4 = perplexity(quantizeWeights(await load(), { bits: 4, groupSize: 32 }), ids);
  console.log(`gpt2-tiny perplexity: float32 ${base.toFixed(4)}, int8 ${q8.toFixed(4)}, int4 ${q4.toFixed(4)}`);
  assert.ok(Math.abs(q8 / base - 1) <= 0.01, `int8 ${q8} vs ${base}`);
  assert.ok(Math.abs(q4 / base - 1) <= 0.05, `int4 ${q4} vs ${base}`);
});

test('WeightOnlyLinear equals a float Linear holding its dequantized weight', () => {
  const lin = new Linear(70, 19);
  const x = randn([3, 5, 70]);
  for (const [bits, G] of [
    [8, 0],
    [4, 32],
    [4, 64],
  ] as const) {
    const q = WeightOnlyLinear.fromFloat(lin.weight, lin.bias, { bits, groupSize: G || undefined });
    const ref = new Linear(70, 19);
    noGrad(() => {
      ref.weight.copy_(tensor(dequantizeWeight(q.q, q.scales, bits, 19, 70, G)).reshape([19, 70]));
      ref.bias!.copy_(lin.bias!);
    });
    // int4 multiplies x quantized to int8 per group of G (Q4_0 x Q8_0): the float layer gets those values
    const xs = x.toTypedArray() as Float32Array;
    if (bits === 4)
      for (let r = 0; r < 15; r++) {
        const { codes, d } = quantizeActivationGroups(xs, 70, G, r * 70);
        for (let k = 0; k < 70; k++) xs[r * 70 + k] = codes[k] * d[Math.floor(k / G)];
      }
    assertClose(
      noGrad(() => q.call(x) as Tensor),
      noGrad(() => ref.call(tensor(xs).reshape([3, 5, 70])) as Tensor),
      { rtol: 1e-5, atol: 1e-5 },
    );
  }
  assert.throws(
    () => WeightOnlyLinear.fromFloat(lin.weight, null, { bits: 4, groupSize: 48 }),
    /group size must be a positive multiple of 32.*48/,
  );
});

test('a quantized checkpoint reads back equal; a wrong int4 group size is named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-quant-'));
  try {
    const model = quantizeWeights(await GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny')), { bits: 4 });
    saveQuantized(model, join(dir, 'q4'), golden('gpt2-tiny'));
    const back = loadQuantized(join(dir, 'q4'));
    const ids = [[1, 5, 9, 33, 2]];
    assert.deepEqual(
      noGrad(() => (back.forward(tensor(ids, { dtype: 'int32' })) as Tensor).toArray()),
      noGrad(() => (model.forward(tensor(ids, { dtype: 'int32' })) as Tensor).toArray()),
    );
    const cfgPath = join(dir, 'q4', 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.quantization_config.group_size = 64;
    writeFileSync(cfgPath, JSON.stringify(cfg));
    assert.throws(
      () => loadQuantized(join(dir, 'q4')),
      /model\.safetensors: 'transformer\.h\.0\.attn\.c_attn\.weight' has shape \[96,16\] but a 4-bit layer of 96 outputs and 32 inputs with group_size 64 needs \[96,32\]/,
    );
    cfg.quantization_config.group_size = 40;
    writeFileSync(cfgPath, JSON.stringify(cfg));
    assert.throws(
      () => loadQuantized(join(dir, 'q4')),
      /group_size: int4 group size must be a positive multiple of 32/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
