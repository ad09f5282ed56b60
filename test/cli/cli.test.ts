// The nabla CLI end to end: generate on stories260K (llama2.c .bin) and on a tiny GPT-2 folder with
// the real GPT-2 tokenizer files; train-gpt writes a checkpoint that generate can load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, sharedData, skipUnlessShared } from '../helpers/data.js';
import { saveSafetensors } from '../../src/io/tensors.js';
import { GPT2Tokenizer } from '../../src/text/bpe.js';
import { GPT2Config, GPT2LMHeadModel } from '../../src/models/gpt2.js';

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

function nabla(...args: string[]): { code: number; stdout: string; stderr: string } {
  // NOTE: without NODE_TEST_CONTEXT, which would make the child report to this test runner.
  const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 180_000, env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('generate: stories260K greedy streams the published sample; --json gives ids and text', {
  skip: skipUnlessShared('stories260K.bin', 'tok512.bin'),
}, () => {
  const common = [
    'generate',
    '--model',
    sharedData('stories260K.bin'),
    '--tokenizer',
    sharedData('tok512.bin'),
    '--greedy',
    '--max-new-tokens',
    '30',
  ];
  const streamed = nabla(...common, '--prompt', 'Once upon a time');
  assert.equal(streamed.code, 0, streamed.stderr);
  assert.ok(
    streamed.stdout.startsWith(
      'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.',
    ),
    streamed.stdout,
  );
  assert.match(streamed.stderr, /30 tokens in .* tokens\/s/);
  const json = nabla(...common, '--prompt', 'Once upon a time', '--json');
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout) as { promptIds: number[]; ids: number[]; text: string };
  assert.equal(out.promptIds[0], 1);
  assert.deepEqual(out.ids.slice(0, out.promptIds.length), out.promptIds);
  assert.equal(out.ids.length, out.promptIds.length + 30);
  assert.equal(`${out.text}\n`, streamed.stdout);
  // sampling: seeded, so two runs agree; another seed differs
  const s1 = nabla(...common.filter((a) => a !== '--greedy'), '--temperature', '0.9', '--seed', '5', '--json');
  const s2 = nabla(...common.filter((a) => a !== '--greedy'), '--temperature', '0.9', '--seed', '5', '--json');
  const s3 = nabla(...common.filter((a) => a !== '--greedy'), '--temperature', '0.9', '--seed', '6', '--json');
  assert.equal(s1.stdout, s2.stdout);
  assert.notEqual(s1.stdout, s3.stdout);
});

test('generate: a GPT-2 folder with the real GPT-2 tokenizer', {
  skip: skipUnlessShared('gpt2-encoder.json', 'gpt2-vocab.bpe'),
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-cli-'));
  try {
    const config = new GPT2Config({ nPositions: 64, nEmbd: 8, nLayer: 1, nHead: 2 });
    const model = new GPT2LMHeadModel(config, { seed: 3 }).eval();
    const { 'lm_head.weight': _tied, ...weights } = model.stateDict();
    await saveSafetensors(weights, join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config.toJSON()));
    for (const f of ['gpt2-encoder.json', 'gpt2-vocab.bpe']) copyFileSync(sharedData(f), join(dir, f));
    const tok = await GPT2Tokenizer.fromPretrained(dir);
    const r = nabla(
      'generate',
      '--model',
      dir,
      '--prompt',
      'Hello, world',
      '--greedy',
      '--max-new-tokens',
      '12',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { promptIds: number[]; ids: number[]; text: string };
    assert.deepEqual(out.promptIds, tok.encode('Hello, world'));
    assert.deepEqual(out.ids, model.generate(out.promptIds, { maxNewTokens: 12 })[0]);
    assert.equal(out.text, tok.decode(out.ids, { skipSpecialTokens: true }));
    const streamed = nabla(
      'generate',
      '--model',
      dir,
      '--prompt',
      'Hello, world',
      '--greedy',
      '--max-new-tokens',
      '12',
    );
    assert.equal(streamed.stdout, `${out.text}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train-gpt: a few steps write a checkpoint that generate loads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-cli-'));
  try {
    writeFileSync(join(dir, 'text.txt'), 'to be or not to be, that is the question. '.repeat(40));
    const out = join(dir, 'ckpt');
    const r = nabla(
      'train-gpt',
      '--data',
      join(dir, 'text.txt'),
      '--out',
      out,
      '--max-iters',
      '6',
      '--eval-interval',
      '3',
      '--eval-iters',
      '1',
      '--batch-size',
      '4',
      '--block-size',
      '16',
      '--n-layer',
      '1',
      '--n-embd',
      '16',
      '--n-head',
      '2',
      '--sample-tokens',
      '10',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /step 6: train loss [\d.]+, val loss [\d.]+/);
    assert.match(r.stderr, /done: val loss .* tok\/s/);
    const g = nabla('generate', '--model', out, '--prompt', 'to be', '--greedy', '--max-new-tokens', '5', '--json');
    assert.equal(g.code, 0, g.stderr);
    const res = JSON.parse(g.stdout) as { ids: number[]; text: string };
    assert.equal(res.ids.length, 10);
    assert.ok(res.text.startsWith('to be') && res.text.length === 10, res.text);
    // --resume continues the run in --out from its last evaluation, and refuses a different run
    const common = [
      '--data',
      join(dir, 'text.txt'),
      '--out',
      out,
      '--eval-interval',
      '3',
      '--eval-iters',
      '1',
      '--block-size',
      '16',
      '--n-layer',
      '1',
      '--n-embd',
      '16',
      '--n-head',
      '2',
      '--sample-tokens',
      '0',
      '--resume',
    ];
    const again = nabla('train-gpt', ...common, '--max-iters', '6', '--batch-size', '4');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /resuming .*resume\.safetensors at iteration 6/);
    const other = nabla('train-gpt', ...common, '--max-iters', '6', '--batch-size', '8');
    assert.equal(other.code, 1);
    assert.match(other.stderr, /the run differs in batchSize \(saved 4, now 8\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors exit with code 2 and say what is wrong', () => {
  assert.match(nabla('generate').stderr, /generate needs --model PATH/);
  assert.equal(nabla('frobnicate').code, 2);
  assert.match(nabla('generate', '--model', '/nonexistent').stderr, /does not exist/);
  assert.match(
    nabla('generate', '--model', '/tmp', '--max-new-tokens', 'ten').stderr,
    /--max-new-tokens expects an integer, got 'ten'/,
  );
  assert.match(nabla('generate', '--bogus').stderr, /Unknown option '--bogus'/);
  assert.match(nabla('--help').stdout, /nabla generate --model PATH --prompt TEXT/);
  const classify = nabla('classify', 'cat.png', '--arch', 'resnet18');
  assert.equal(classify.code, 2);
  assert.match(classify.stderr, /^classify: --weights is required: .*IMAGENET1K_V1/);
  assert.match(nabla('classify', '--weights', 'IMAGENET1K_V1').stderr, /^classify: no IMAGE given/);
});
