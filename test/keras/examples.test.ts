// The examples run as written: the seed's Keras-style example, and `npm start` (one epoch, into a
// temporary folder) which must exit 0 and write the model and both PNGs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('examples/keras-style.ts (the seed example) runs and prints one line per epoch', () => {
  const r = spawnSync(process.execPath, [join(dist, 'examples', 'keras-style.js')], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('Epoch '));
  assert.equal(lines.length, 5, r.stdout);
  assert.match(lines[4], /^Epoch 5\/5 - 32\/32 - \d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4}$/);
});

test('examples/start.ts (npm start) trains, reports, saves, plots and exits 0', () => {
  const out = mkdtempSync(join(tmpdir(), 'nabla-start-'));
  const r = spawnSync(process.execPath, [join(dist, 'examples', 'start.js'), out], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, EPOCHS: '1' },
  });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Total params: 9,930/);
  assert.match(r.stdout, /test accuracy: \d+\.\d\d% \(\d+\/297\)/);
  assert.match(r.stdout, /confusion matrix/);
  for (const f of ['model/config.json', 'model/model.safetensors', 'curves.png', 'misclassified.png'])
    assert.ok(existsSync(join(out, f)), f);
  const png = readFileSync(join(out, 'curves.png'));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.match(r.stdout, new RegExp(`output in ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});

test('npm start -- --help prints the usage; an unknown option is an error, not an output folder', () => {
  const start = (arg: string) =>
    spawnSync(process.execPath, [join(dist, 'examples', 'start.js'), arg], { encoding: 'utf8', timeout: 60_000 });
  const help = start('--help');
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: npm start \[-- OUT_DIR\]/);
  const bad = start('--epochs');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^start: unknown option '--epochs'/);
});
