// The PyTorch-style seed example runs as written and learns.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/data.js';

test('examples/pytorch-style.ts: Net(fc1 32->64, fc2 64->10), CrossEntropyLoss, Adam, the training loop', () => {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'examples', 'pytorch-style.js')], {
    encoding: 'utf8',
    cwd: REPO_ROOT,
  });
  assert.equal(r.status, 0, r.stderr);
  const losses = [...r.stdout.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
  assert.ok(losses.length >= 2 && losses[losses.length - 1] < losses[0] * 0.6, `loss should fall: ${losses}`);
  const acc = Number(/train accuracy (\d+\.\d)%/.exec(r.stdout)?.[1]);
  assert.ok(acc > 70, `train accuracy ${acc}%`);
  assert.match(r.stdout, /\(fc1\): Linear\(in_features=32, out_features=64, bias=True\)/);
});
