// `nabla train-private` end to end on a slice of Fashion-MNIST: eps reported, weights saved with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nb from 'nabla';
import { REPO_ROOT, SHARED_DATA, skipUnlessShared } from '../helpers/data.js';

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

function nabla(...args: string[]): { code: number; stdout: string; stderr: string } {
  // NOTE: without NODE_TEST_CONTEXT, which would make the child report to this test runner.
  const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 300_000, env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('nabla train-private trains on a slice at the target eps and saves the weights with eps', {
  skip: skipUnlessShared('fashion-train-images-idx3-ubyte.gz'),
}, async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'nb-dp-')), 'dp.safetensors');
  const data = SHARED_DATA;
  const r = nabla('train-private', '--data', data, '--subset', '600', '--epochs', '2', '--batch-size', '200');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /noise multiplier \d+\.\d+/);
  const eps = [...r.stdout.matchAll(/epoch \d: test accuracy (\d\.\d+), eps (\d\.\d+)/g)].map((m) => Number(m[2]));
  assert.equal(eps.length, 2);
  assert.ok(eps[0] < eps[1] && eps[1] <= 2.9, `eps ${eps}`);
  const r2 = nabla('train-private', '--data', data, '--subset', '300', '--epochs', '1', '--out', out);
  assert.equal(r2.code, 0, r2.stderr);
  const meta = await nb.io.loadSafetensorsMetadata(out);
  assert.ok(Number(meta.eps) > 0 && Number(meta.delta) === 1e-5, JSON.stringify(meta));
  const bad = nabla('train-private', '--data', data, '--dataset', 'cifar');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--dataset must be fashion or mnist/);
});
