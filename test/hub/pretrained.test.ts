// fromPretrained by Hub repo id (against the loopback Hub stand-in), AutoModelForCausalLM and
// AutoTokenizer, savePretrained round trips, and train-gpt --init output loading into generate.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitOf, type HubServer, startHubServer } from '../helpers/hub_server.js';
import { REPO_ROOT } from '../helpers/data.js';
import { BYTE_TO_CHAR } from '../../src/text/bytes_to_unicode.js';
import { GPT2Tokenizer } from '../../src/text/bpe.js';
import { GPT2Config, GPT2LMHeadModel } from '../../src/models/gpt2.js';
import { LlamaConfig, LlamaForCausalLM } from '../../src/models/llama.js';
import { AutoModelForCausalLM, AutoTokenizer } from '../../src/models/auto.js';
import { trainGPT } from '../../src/models/train_gpt.js';
import { fromTypedArray } from '../../src/tensor/creation.js';
import { loadSafetensorsMetadata } from '../../src/io/tensors.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'nb-hubpre-'));

/** A byte-level BPE with two merges and <|endoftext|>: 259 ids. */
function tinyTokenizer(): GPT2Tokenizer {
  const vocab: Record<string, number> = Object.fromEntries(BYTE_TO_CHAR.map((c, i) => [c, i]));
  vocab.he = 256;
  vocab.ll = 257;
  vocab['<|endoftext|>'] = 258;
  return new GPT2Tokenizer(vocab, [
    ['h', 'e'],
    ['l', 'l'],
  ]);
}

function tinyGPT2(): GPT2LMHeadModel {
  const c = new GPT2Config({
    vocabSize: 259,
    nPositions: 16,
    nEmbd: 16,
    nLayer: 2,
    nHead: 2,
    bosTokenId: 258,
    eosTokenId: 258,
  });
  return new GPT2LMHeadModel(c, { seed: 3 }).eval();
}

function logits(m: GPT2LMHeadModel | LlamaForCausalLM, ids: number[]): number[] {
  const x = fromTypedArray(Int32Array.from(ids), [1, ids.length]);
  return Array.from(m.forward(x).toTypedArray() as Float32Array);
}

function serveFolder(hub: HubServer, repo: string, dir: string, commit: string): void {
  const files: Record<string, Uint8Array> = {};
  for (const f of readdirSync(dir)) files[f] = new Uint8Array(readFileSync(join(dir, f)));
  hub.repos.set(repo, { commit, files });
}

let hub: HubServer, gptDir: string;
const model = tinyGPT2(),
  tok = tinyTokenizer(),
  ids = [104, 256, 257, 111];

before(async () => {
  hub = await startHubServer();
  gptDir = fresh();
  await model.savePretrained(gptDir);
  tok.savePretrained(gptDir);
  serveFolder(hub, 'org/tiny-gpt2', gptDir, commitOf('gpt2'));
  hub.repos.set('gpt2', hub.repos.get('org/tiny-gpt2')!);
});
after(() => hub.close());

test('savePretrained writes the Hugging Face folder layout', async () => {
  const names = readdirSync(gptDir).sort();
  for (const f of [
    'config.json',
    'generation_config.json',
    'merges.txt',
    'model.safetensors',
    'special_tokens_map.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'vocab.json',
  ])
    assert.ok(names.includes(f), `${f} in ${names}`);
  assert.equal(JSON.parse(readFileSync(join(gptDir, 'config.json'), 'utf8')).model_type, 'gpt2');
  assert.equal(JSON.parse(readFileSync(join(gptDir, 'generation_config.json'), 'utf8')).eos_token_id, 258);
  assert.deepEqual(await loadSafetensorsMetadata(join(gptDir, 'model.safetensors')), { format: 'pt' });
  assert.equal(readFileSync(join(gptDir, 'merges.txt'), 'utf8'), '#version: 0.2\nh e\nl l\n');
  const back = await GPT2LMHeadModel.fromPretrained(gptDir);
  assert.deepEqual(logits(back, ids), logits(model, ids));
  for (const load of [
    () => GPT2Tokenizer.fromPretrained(gptDir),
    () => GPT2Tokenizer.fromTokenizerJson(join(gptDir, 'tokenizer.json')),
  ]) {
    const t = await load();
    assert.deepEqual(t.encode('hello<|endoftext|>'), [256, 257, 111, 258]);
    assert.equal(t.eosTokenId, 258);
  }
});

test('fromPretrained by repo id downloads into the cache; offline it reads the cache back', async () => {
  const cacheDir = fresh();
  const o = { endpoint: hub.endpoint, cacheDir, token: null, progress: false as const };
  const m = await GPT2LMHeadModel.fromPretrained('org/tiny-gpt2', o);
  assert.deepEqual(logits(m, ids), logits(model, ids));
  const snap = join(cacheDir, 'models--org--tiny-gpt2', 'snapshots', commitOf('gpt2'));
  assert.ok(existsSync(join(snap, 'model.safetensors')) && !existsSync(join(snap, 'vocab.json')));
  const n = hub.requests.length;
  const off = await GPT2LMHeadModel.fromPretrained('org/tiny-gpt2', { ...o, offline: true });
  assert.equal(hub.requests.length, n);
  assert.deepEqual(logits(off, ids), logits(model, ids));
  const pinned = await GPT2LMHeadModel.fromPretrained('gpt2', { ...o, revision: commitOf('gpt2') });
  assert.deepEqual(logits(pinned, ids), logits(model, ids));
});

test('offline with nothing cached: one error naming the cache path and the variable to set', async () => {
  const cacheDir = fresh();
  await assert.rejects(GPT2LMHeadModel.fromPretrained('org/tiny-gpt2', { cacheDir, offline: true }), (e: Error) => {
    assert.match(e.message, /^GPT2LMHeadModel\.fromPretrained\('org\/tiny-gpt2'\): hub: offline \(HF_HUB_OFFLINE\)/);
    assert.ok(e.message.includes(join(cacheDir, 'models--org--tiny-gpt2')), e.message);
    assert.match(e.message, /unset HF_HUB_OFFLINE to download/);
    return true;
  });
  await assert.rejects(
    GPT2LMHeadModel.fromPretrained('./no/such/folder'),
    /is not a folder, nor a Hugging Face Hub repo id/,
  );
});

test('a cache laid out by hand as huggingface_hub lays it out loads offline', async () => {
  const cacheDir = fresh();
  const repo = join(cacheDir, 'models--someone--py-made');
  const commit = commitOf('python');
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(join(repo, 'refs'));
  mkdirSync(join(repo, 'snapshots', commit), { recursive: true });
  writeFileSync(join(repo, 'refs', 'main'), commit);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    const data = readFileSync(join(gptDir, f));
    const etag = createHash('sha256').update(data).digest('hex');
    writeFileSync(join(repo, 'blobs', etag), data);
    symlinkSync(join('..', '..', 'blobs', etag), join(repo, 'snapshots', commit, f));
  }
  const o = { cacheDir, offline: true };
  assert.deepEqual(logits(await AutoModelForCausalLM.fromPretrained('someone/py-made', o), ids), logits(model, ids));
  assert.deepEqual((await AutoTokenizer.fromPretrained('someone/py-made', o)).encode('hello'), tok.encode('hello'));
  rmSync(join(repo, 'snapshots', commit, 'model.safetensors'));
  await assert.rejects(
    GPT2LMHeadModel.fromPretrained('someone/py-made', o),
    /^Error: GPT2LMHeadModel\.fromPretrained\('someone\/py-made'\): hub: the repo has none of model\.safetensors/,
  );
});

test('HF_ENDPOINT, HF_HUB_CACHE and HF_HUB_OFFLINE come from the environment', async () => {
  const saved = { ...process.env };
  const cacheDir = fresh();
  try {
    Object.assign(process.env, {
      HF_ENDPOINT: hub.endpoint,
      HF_HUB_CACHE: cacheDir,
      HF_HUB_DISABLE_PROGRESS_BARS: '1',
    });
    delete process.env.HF_TOKEN;
    delete process.env.HF_HUB_OFFLINE;
    const m = await AutoModelForCausalLM.fromPretrained('org/tiny-gpt2');
    assert.ok(m instanceof GPT2LMHeadModel);
    assert.ok(existsSync(join(cacheDir, 'models--org--tiny-gpt2', 'refs', 'main')));
    process.env.HF_HUB_OFFLINE = '1';
    process.env.HF_ENDPOINT = 'http://127.0.0.1:1';
    assert.deepEqual(logits(await AutoModelForCausalLM.fromPretrained('org/tiny-gpt2'), ids), logits(model, ids));
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('AutoTokenizer picks the class from tokenizer_config.json and fetches only tokenizer files', async () => {
  const cacheDir = fresh();
  const t = await AutoTokenizer.fromPretrained('org/tiny-gpt2', {
    endpoint: hub.endpoint,
    cacheDir,
    token: null,
    progress: false,
  });
  assert.ok(t instanceof GPT2Tokenizer);
  assert.deepEqual(t.encode('hello'), tok.encode('hello'));
  const snap = join(cacheDir, 'models--org--tiny-gpt2', 'snapshots', commitOf('gpt2'));
  assert.ok(existsSync(join(snap, 'tokenizer.json')) && !existsSync(join(snap, 'model.safetensors')));
});

test('Llama savePretrained / fromPretrained by repo id round-trips the logits', async () => {
  const config = new LlamaConfig({
    vocabSize: 32,
    hiddenSize: 16,
    intermediateSize: 24,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    maxPositionEmbeddings: 16,
  });
  const llama = new LlamaForCausalLM(config).eval();
  const dir = fresh();
  await llama.savePretrained(dir);
  serveFolder(hub, 'org/tiny-llama', dir, commitOf('llama'));
  const back = await AutoModelForCausalLM.fromPretrained('org/tiny-llama', {
    endpoint: hub.endpoint,
    cacheDir: fresh(),
    token: null,
    progress: false,
  });
  assert.ok(back instanceof LlamaForCausalLM);
  assert.deepEqual(logits(back, [1, 5, 9]), logits(llama, [1, 5, 9]));
});

test('train-gpt --init saves a folder that generate loads as it is', async () => {
  const out = fresh();
  await trainGPT({
    text: 'hello hello help hell '.repeat(40),
    init: gptDir,
    outDir: out,
    maxIters: 2,
    evalInterval: 2,
    evalIters: 1,
    batchSize: 2,
    blockSize: 8,
    sampleTokens: 0,
    log: () => {},
  });
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'vocab.json', 'merges.txt']) {
    assert.ok(existsSync(join(out, f)), `${f} saved`);
  }
  const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
  const r = spawnSync(
    process.execPath,
    [
      join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'),
      'generate',
      '--model',
      out,
      '--prompt',
      'hello',
      '--max-new-tokens',
      '3',
      '--greedy',
      '--json',
    ],
    { encoding: 'utf8', env, timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { promptIds: number[]; ids: number[] };
  assert.deepEqual(j.promptIds, [256, 257, 111]);
  assert.equal(j.ids.length, 6);
});
