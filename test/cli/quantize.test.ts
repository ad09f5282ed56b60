// `nabla quantize` and `nabla generate --quantize` end to end on stories260K (llama2.c .bin): the int8
// model still continues the prompt as the float one does, the int4 folder loads back through generate,
// and bad arguments are usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, sharedData, skipUnlessShared } from '../helpers/data.js';

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

function nabla(...args: string[]): { code: number; stdout: string; stderr: string } {
  // NOTE: without NODE_TEST_CONTEXT, which would make the child report to this test runner.
  const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 180_000, env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('quantize --bits 4 writes a folder generate reads; generate --quantize int8', {
  skip: skipUnlessShared('stories260K.bin', 'tok512.bin'),
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-cli-quant-'));
  try {
    const q = nabla('quantize', sharedData('stories260K.bin'), join(dir, 'q4'), '--bits', '4');
    assert.equal(q.code, 0, q.stderr);
    const cfg = JSON.parse(readFileSync(join(dir, 'q4', 'config.json'), 'utf8'));
    assert.deepEqual(cfg.quantization_config, { quant_method: 'nabla_weight_only', bits: 4, group_size: 32 });
    assert.ok(existsSync(join(dir, 'q4', 'model.safetensors')));
    const tok = ['--tokenizer', sharedData('tok512.bin'), '--greedy', '--max-new-tokens', '12', '--json'];
    const g4 = nabla('generate', '--model', join(dir, 'q4'), ...tok, '--prompt', 'Once upon a time');
    assert.equal(g4.code, 0, g4.stderr);
    assert.ok(JSON.parse(g4.stdout).text.startsWith('Once upon a time, there was'), g4.stdout);
    const g8 = nabla(
      'generate',
      '--model',
      sharedData('stories260K.bin'),
      ...tok,
      '--quantize',
      'int8',
      '--prompt',
      'Once',
    );
    assert.equal(g8.code, 0, g8.stderr);
    assert.ok(JSON.parse(g8.stdout).text.startsWith('Once upon a time, there was'), g8.stdout);
    const bad = nabla('generate', '--model', sharedData('stories260K.bin'), ...tok, '--quantize', 'int3');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--quantize expects int8 or int4, got 'int3'/);
    const badBits = nabla('quantize', sharedData('stories260K.bin'), join(dir, 'x'), '--bits', '3');
    assert.equal(badBits.code, 2);
    assert.match(badBits.stderr, /usage: nabla quantize IN OUT --bits 8\|4/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
