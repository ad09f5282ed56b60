// Generation shared by every causal LM: the KV cache against full recomputation, batched prompts
// with left padding against one-by-one generation, sampling options, stopping rules, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { golden } from '../helpers/data.js';
import { assertClose } from '../helpers/assert.js';
import { manualSeed, Generator } from '../../src/tensor/random.js';
import { tensor } from '../../src/tensor/creation.js';
import { noGrad } from '../../src/autograd/grad_mode.js';
import { GPT2LMHeadModel } from '../../src/models/gpt2.js';
import { LlamaConfig, LlamaForCausalLM } from '../../src/models/llama.js';
import { sample, argmax, applyRepetitionPenalty, type CausalLM } from '../../src/models/generation.js';

const gpt2 = () => GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny'));

/** A small random Llama with grouped-query attention and an untied head. */
function tinyLlama(): LlamaForCausalLM {
  manualSeed(7);
  return new LlamaForCausalLM(
    new LlamaConfig({
      vocabSize: 50,
      hiddenSize: 32,
      intermediateSize: 48,
      numHiddenLayers: 2,
      numAttentionHeads: 4,
      numKeyValueHeads: 2,
      maxPositionEmbeddings: 64,
      rmsNormEps: 1e-5,
      eosTokenId: null,
    }),
  ).eval();
}

/** Greedy decoding step by step with the cache; each step's logits must equal a full forward. */
function checkCacheSteps(model: CausalLM & { forward: CausalLM['forward'] }, prompt: number[], steps: number): void {
  noGrad(() => {
    const cache = model.createCache(1, prompt.length + steps);
    const seq = prompt.slice();
    let logits = model.forward(tensor([seq], { dtype: 'int32' }), { cache, logitsToKeep: 1 });
    for (let s = 0; s < steps; s++) {
      const full = model.forward(tensor([seq], { dtype: 'int32' }));
      const last = full.narrow(1, seq.length - 1, 1);
      assertClose(logits, last, { atol: 1e-5, rtol: 1e-4 }, `step ${s}`);
      const next = argmax(logits.reshape([-1]).toTypedArray());
      seq.push(next);
      logits = model.forward(tensor([[next]], { dtype: 'int32' }), { cache, logitsToKeep: 1 });
    }
  });
}

test('KV cache: every decoding step equals full recomputation (GPT-2, GQA Llama)', async () => {
  checkCacheSteps(await gpt2(), [3, 14, 15, 92, 65], 12);
  checkCacheSteps(tinyLlama(), [1, 7, 9, 30], 12);
});

test('batched prompts with left padding give what each prompt gives alone', async () => {
  for (const model of [await gpt2(), tinyLlama()]) {
    const prompts = [
      [5, 6, 7, 8, 9, 10],
      [11, 12],
      [13, 14, 15, 16],
    ];
    const batch = model.generate(prompts, { maxNewTokens: 8, eosTokenId: null });
    const alone = prompts.map((p) => model.generate(p, { maxNewTokens: 8, eosTokenId: null })[0]);
    assert.deepEqual(batch, alone);
    // the same with the caller's own left padding and attention mask
    const padded = prompts.map((p) => [...Array(6 - p.length).fill(0), ...p]);
    const mask = prompts.map((p) => [...Array(6 - p.length).fill(0), ...Array(p.length).fill(1)]);
    assert.deepEqual(model.generate(padded, { maxNewTokens: 8, eosTokenId: null, attentionMask: mask }), alone);
  }
});

test('sampling is seeded; numReturnSequences gives distinct rows; greedy is the argmax', async () => {
  const model = await gpt2();
  const opts = {
    maxNewTokens: 15,
    doSample: true,
    temperature: 1.5,
    numReturnSequences: 3,
    seed: 42,
    eosTokenId: null,
  };
  const a = model.generate([1, 2, 3], opts),
    b = model.generate([1, 2, 3], opts);
  assert.deepEqual(a, b);
  assert.equal(a.length, 3);
  assert.ok(a.every((r) => r.length === 18 && r[0] === 1 && r[2] === 3));
  assert.ok(new Set(a.map((r) => r.join())).size > 1, 'three samples at temperature 1.5 should differ');
  assert.notDeepEqual(model.generate([1, 2, 3], { ...opts, seed: 43 }), a);
  // topK 1 and a tiny topP both reduce sampling to greedy
  const greedy = model.generate([1, 2, 3], { maxNewTokens: 15, eosTokenId: null });
  assert.deepEqual(model.generate([1, 2, 3], { ...opts, numReturnSequences: 1, topK: 1 }), greedy);
  assert.deepEqual(model.generate([1, 2, 3], { ...opts, numReturnSequences: 1, topP: 1e-6 }), greedy);
});

test('sample: top-k and top-p keep only the allowed tokens, with the right frequencies', () => {
  const logits = Float64Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
  const g = new Generator(3);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[sample(logits.slice(), 0, 0.7, g)]++;
  assert.equal(counts[2] + counts[3], 0, 'topP 0.7 keeps tokens 0 and 1 (0.5 + 0.3 >= 0.7)');
  assert.ok(Math.abs(counts[0] / 4000 - 0.625) < 0.03, `token 0 frequency ${counts[0] / 4000}`);
  const k2 = [0, 0, 0, 0];
  for (let i = 0; i < 2000; i++) k2[sample(logits.slice(), 2, 1, g)]++;
  assert.equal(k2[2] + k2[3], 0);
  const x = Float64Array.from([2, -2, 1]);
  applyRepetitionPenalty(x, [0, 1, 1], 2);
  assert.deepEqual([...x], [1, -4, 1]);
});

test('stopping: eos ends a row (others go on), stop strings, maxLength, streaming callback', async () => {
  const model = await gpt2();
  const free = model.generate(
    [
      [1, 2, 3],
      [4, 5],
    ],
    { maxNewTokens: 10, eosTokenId: null },
  );
  const eos = free[0][5]; // the third new token of row 0 becomes "eos"
  const out = model.generate(
    [
      [1, 2, 3],
      [4, 5],
    ],
    { maxNewTokens: 10, eosTokenId: eos },
  );
  assert.deepEqual(out[0], free[0].slice(0, free[0].indexOf(eos) + 1));
  if (!free[1].slice(2).includes(eos)) assert.deepEqual(out[1], free[1]);
  assert.equal(model.generate([1, 2, 3], { maxLength: 7, eosTokenId: null })[0].length, 7);
  const seen: [number, number][] = [];
  const streamed = model.generate([1, 2, 3], {
    maxNewTokens: 5,
    eosTokenId: null,
    streamer: (t, row) => seen.push([t, row]),
  });
  assert.deepEqual(
    seen,
    streamed[0].slice(3).map((t) => [t, 0]),
  );
  // stop strings: decode ids as letters; stop when the text contains the 4th generated letter
  const decode = (ids: number[]) => ids.map((i) => String.fromCharCode(65 + (i % 26))).join('');
  const full = free[0].slice(3);
  const stop = decode(full.slice(2, 4));
  const cut = model
    .generate([1, 2, 3], { maxNewTokens: 10, eosTokenId: null, stopStrings: [stop], decode })[0]
    .slice(3);
  assert.ok(decode(cut).includes(stop) && !decode(cut.slice(0, -1)).includes(stop));
});

test('bad input gives clear errors', async () => {
  const model = await gpt2();
  assert.throws(
    () => model.generate([1, 2], { doSample: true, temperature: 0 }),
    /temperature must be > 0 when sampling/,
  );
  assert.throws(() => model.generate([1, 200]), /token id 200 at position 1 of prompt 0 is out of range \[0, 100\)/);
  assert.throws(() => model.generate([[1, -1]]), /out of range/);
  assert.throws(() => model.generate(Array(65).fill(1)), /65 tokens, more than the model's context window of 64/);
  assert.throws(() => model.generate([1], { topP: 0 }), /topP must be in \(0, 1\]/);
  assert.throws(() => model.forward([[1, 100]]), /token id 100 .* out of range \[0, 100\)/);
  assert.throws(() => model.forward([Array(65).fill(1)]), /position 64 is outside the context window of 64/);
  assert.throws(() => model.generate([1], { stopStrings: ['x'] }), /stopStrings need a decode function/);
  // the context window caps generation instead of failing mid-way
  assert.equal(model.generate(Array(60).fill(1), { maxNewTokens: 10, eosTokenId: null })[0].length, 64);
});
