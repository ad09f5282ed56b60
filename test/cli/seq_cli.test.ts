// The sequence commands end to end: train-lstm writes a folder that generate-lstm samples from;
// translate loads a translator folder, warns once about unknown characters, and names bad options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/data.js';
import { manualSeed } from '../../src/tensor/random.js';
import { LSTMSeq2Seq } from '../../src/models/seq2seq.js';
import { CharVocab, Translator } from '../../src/models/translation.js';

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

function nabla(...args: string[]): { code: number; stdout: string; stderr: string } {
  const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 180_000, env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('train-lstm then generate-lstm', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-cli-lstm-'));
  try {
    writeFileSync(join(dir, 'text.txt'), 'to be or not to be, that is the question. '.repeat(20));
    const out = join(dir, 'model');
    const args = ['--data', join(dir, 'text.txt'), '--out', out, '--max-iters', '3', '--block-size', '8'];
    const t = nabla('train-lstm', ...args, '--hidden-size', '16', '--num-layers', '1', '--eval-interval', '3');
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stderr, /best validation loss \d/);
    const g = nabla('generate-lstm', '--model', out, '--prompt', 'to be', '--max-new-tokens', '12', '--top-k', '5');
    assert.equal(g.code, 0, g.stderr);
    assert.equal(g.stdout.length, 'to be'.length + 12 + 1);
    assert.ok(g.stdout.startsWith('to be'));
    const bad = nabla('generate-lstm', '--model', out, '--prompt', 'Z!');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /character "Z" at position 0 is not in it/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('translate: beams, the unknown-character warning (once), option errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-cli-tr-'));
  try {
    manualSeed(0);
    const m = new LSTMSeq2Seq({ vocabSize: 4 + 5, embeddingDim: 8, hiddenSize: 8 });
    await new Translator(m, new CharVocab(['a', 'b', 'c', 'd', 'e']), 'lstm', 12).save(dir);
    const r = nabla('translate', 'abc', 'dxe', 'xx', '--model', dir, '--num-beams', '3', '--num-return-sequences', '2');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').length, 6);
    assert.equal(r.stderr.match(/outside the vocabulary/g)?.length, 1, r.stderr);
    assert.match(r.stderr, /outside the vocabulary \("x"\) in "dxe" are read as <unk>/);
    const json = nabla('translate', 'abc', '--model', dir, '--json');
    assert.equal(JSON.parse(json.stdout)[0].source, 'abc');
    const few = nabla('translate', 'abc', '--model', dir, '--num-beams', '2', '--num-return-sequences', '3');
    assert.equal(few.code, 1);
    assert.match(few.stderr, /numReturnSequences \(3\) must be <= numBeams \(2\)/);
    const es = nabla('translate', 'abc', '--model', dir, '--early-stopping', 'maybe');
    assert.equal(es.code, 2);
    assert.match(es.stderr, /--early-stopping expects true, false or never/);
    assert.equal(nabla('translate', 'abc').code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
