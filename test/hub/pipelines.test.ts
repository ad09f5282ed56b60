// pipeline(task, model) as in transformers.js: text generation and feature extraction from a Hub
// repo id (the loopback Hub stand-in), image classification with torchvision weights from a file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitOf, type HubServer, startHubServer } from '../helpers/hub_server.js';
import { golden } from '../helpers/data.js';
import { assertClose } from '../helpers/assert.js';
import { BYTE_TO_CHAR } from '../../src/text/bytes_to_unicode.js';
import { GPT2Tokenizer } from '../../src/text/bpe.js';
import { GPT2Config, GPT2LMHeadModel } from '../../src/models/gpt2.js';
import { fromTypedArray } from '../../src/tensor/creation.js';
import { pipeline } from '../../src/pipelines/index.js';

let hub: HubServer, opts: { endpoint: string; cacheDir: string; token: null; progress: false };
const vocab: Record<string, number> = Object.fromEntries(BYTE_TO_CHAR.map((c, i) => [c, i]));
vocab['<|endoftext|>'] = 256;
const tok = new GPT2Tokenizer(vocab, []);
const lm = new GPT2LMHeadModel(
  new GPT2Config({ vocabSize: 257, nPositions: 32, nEmbd: 16, nLayer: 1, nHead: 2, bosTokenId: 256, eosTokenId: 256 }),
  { seed: 5 },
).eval();

before(async () => {
  hub = await startHubServer();
  const dir = mkdtempSync(join(tmpdir(), 'nb-pipe-'));
  await lm.savePretrained(dir);
  tok.savePretrained(dir);
  const files: Record<string, Uint8Array> = {};
  for (const f of readdirSync(dir)) files[f] = new Uint8Array(readFileSync(join(dir, f)));
  hub.repos.set('org/pipe', { commit: commitOf('pipe'), files });
  opts = {
    endpoint: hub.endpoint,
    cacheDir: mkdtempSync(join(tmpdir(), 'nb-pipe-cache-')),
    token: null,
    progress: false,
  };
});
after(() => hub.close());

test('text-generation: greedy text as lm.generate gives it; snake_case options; batches', async () => {
  const gen = await pipeline('text-generation', 'org/pipe', opts);
  const want = tok.decode(lm.generate(tok.encode('Hi'), { maxNewTokens: 5 })[0], { skipSpecialTokens: true });
  assert.deepEqual(await gen('Hi', { maxNewTokens: 5 }), [{ generated_text: want }]);
  assert.deepEqual(await gen('Hi', { max_new_tokens: 5, return_full_text: false }), [
    { generated_text: want.slice(2) },
  ]);
  const batch = await gen(['Hi', 'Hi'], { max_new_tokens: 5 });
  assert.deepEqual(batch, [[{ generated_text: want }], [{ generated_text: want }]]);
  const sampled = await gen('Hi', { max_new_tokens: 5, do_sample: true, seed: 1, num_return_sequences: 2 });
  assert.equal(sampled.length, 2);
});

test('feature-extraction: last hidden states, mean pooled and normalised on request', async () => {
  const extract = await pipeline('feature-extraction', 'org/pipe', opts);
  const ids = tok.encode('Hello');
  const hidden = lm.transformer.call(fromTypedArray(Int32Array.from(ids), [1, ids.length]));
  const all = await extract('Hello');
  assert.deepEqual(all.shape, [1, 5, 16]);
  assertClose(Array.from(all.toTypedArray()), Array.from(hidden.toTypedArray()));
  const pooled = await extract(['Hello', 'Hi'], { pooling: 'mean', normalize: true });
  assert.deepEqual(pooled.shape, [2, 16]);
  const row = Array.from(pooled.toTypedArray()).slice(0, 16);
  assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-5);
  const mean = Array.from(hidden.mean(1).toTypedArray());
  const n = Math.hypot(...mean);
  assertClose(
    row,
    mean.map((v) => v / n),
    { rtol: 1e-5, atol: 1e-6 },
  );
  await assert.rejects(extract(['a', 'bb']), /several texts need pooling/);
});

test("image-classification: torchvision weights from a file give PyTorch's top 5", async () => {
  const want = JSON.parse(readFileSync(golden('resnet18_classify.json'), 'utf8'));
  const classify = await pipeline('image-classification', 'resnet18', { weights: golden('resnet18_strided.pth') });
  const out = await classify(golden(want.image), { top_k: 5 });
  assert.equal(out.length, 5);
  assertClose(
    out.map((p) => p.score),
    want.probs,
    { rtol: 1e-3, atol: 1e-5 },
  );
  await assert.rejects(pipeline('image-classification', 'vgg99'), /not a known architecture/);
  await assert.rejects(pipeline('text-generation' as never, undefined as never), /pass a model/);
  await assert.rejects(pipeline('summarization' as never, 'x'), /unknown task 'summarization'/);
});
