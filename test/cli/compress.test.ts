// `nabla prune` and `nabla quantize-static` end to end on the real pretrained MNIST MLP: the sparsity
// report, accuracy at two sparsities with the PNG, the int8 accuracies; and clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nb from 'nabla';
import { REPO_ROOT, SHARED_DATA, sharedData, skipUnlessShared } from '../helpers/data.js';

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const FILES = ['mnist-mlp-dlfs.safetensors', 'mnist-t10k-images-idx3-ubyte.gz', 'mnist-t10k-labels-idx1-ubyte.gz'];

function nabla(...args: string[]): { code: number; stdout: string; stderr: string } {
  // NOTE: without NODE_TEST_CONTEXT, which would make the child report to this test runner.
  const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 300_000, env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('nabla prune: sparsity report, accuracy vs sparsity and its PNG; nabla quantize-static', {
  skip: skipUnlessShared(...FILES),
}, () => {
  const out = join(mkdtempSync(join(tmpdir(), 'nb-prune-')), 'acc.png');
  const w = sharedData(FILES[0]);
  const r = nabla('prune', '--arch', 'mlp', '--weights', w, '--data', SHARED_DATA, '--levels', '0,0.5', '--png', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /net\.1\.weight\s+39200\s+\d+\s+[\d.]+%/);
  assert.match(r.stdout, /total\s+45200\s+22600\s+50\.00%/);
  assert.match(r.stdout, /sparsity {3}0\.00% {2}test accuracy 93\.52%/);
  const acc = Number(/sparsity {2}50\.00% {2}test accuracy ([\d.]+)%/.exec(r.stdout)?.[1]);
  assert.ok(acc > 92 && acc < 94, `${acc}`);
  assert.deepEqual(nb.vision.decodeImage(readFileSync(out)).size, [640, 400]);
  const q = nabla('quantize-static', '--arch', 'mlp', '--weights', w, '--data', SHARED_DATA);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /float 93\.52%[\s\S]*int8 dynamic.*9\d\.\d\d%[\s\S]*int8 static.*9\d\.\d\d%/);
  const bad = nabla('prune', '--arch', 'vgg', '--weights', w);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown --arch 'vgg' \(one of mlp, simpleconvnet, deepconvnet\)/);
  assert.match(nabla('prune', '--arch', 'mlp', '--weights', w, '--levels', '2').stderr, /--levels must be fractions/);
});
