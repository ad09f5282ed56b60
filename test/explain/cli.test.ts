// `nabla explain` end to end on the real CIFAR-10 ResNet-20: a Grad-CAM overlay PNG, and clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nb from 'nabla';
import { REPO_ROOT, sharedData, skipUnlessShared } from '../helpers/data.js';

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

function nabla(...args: string[]): { code: number; stdout: string; stderr: string } {
  // NOTE: without NODE_TEST_CONTEXT, which would make the child report to this test runner.
  const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 180_000, env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('nabla explain --method gradcam writes a 32x32 overlay; a bad --layer lists the conv layers', {
  skip: skipUnlessShared('cifar10-resnet20.safetensors'),
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nb-explain-'));
  const out = join(dir, 'cam.png');
  const img = join(REPO_ROOT, 'test', 'golden', 'vision', 'rgb.png');
  const w = sharedData('cifar10-resnet20.safetensors');
  const r = nabla('explain', img, '--arch', 'cifar-resnet20', '--weights', w, '--method', 'gradcam', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /gradcam at layer3\.2\.conv2 for class \d+ \(\w+\)/);
  const png = nb.vision.decodeImage(readFileSync(out));
  assert.deepEqual(png.size, [32, 32]);
  const bad = nabla('explain', img, '--arch', 'cifar-resnet20', '--weights', w, '--layer', 'nope', '--out', out);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /no layer 'nope' in the model; conv layers: .*layer3\.2\.conv2/);
  assert.equal(
    nabla('explain', img, '--arch', 'cifar-resnet20', '--weights', w, '--method', 'x', '--out', out).code,
    2,
  );
});

test('nabla explain --method attention: stories260K attention over a prompt as a PNG, rollout too', {
  skip: skipUnlessShared('stories260K.bin', 'tok512.bin'),
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nb-explain-attn-'));
  const out = join(dir, 'attn.png');
  const lm = ['--model', sharedData('stories260K.bin'), '--tokenizer', sharedData('tok512.bin')];
  const r = nabla('explain', '--method', 'attention', ...lm, '--prompt', 'Once upon a time', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /attention \(layer 4\) over \d+ tokens of 5 layers/);
  assert.ok(nb.vision.decodeImage(readFileSync(out)).width > 100);
  const roll = nabla('explain', '--method', 'attention', ...lm, '--prompt', 'Once', '--layer', 'rollout', '--out', out);
  assert.equal(roll.code, 0, roll.stderr);
  const bad = nabla('explain', '--method', 'attention', ...lm, '--prompt', 'Once', '--head', '99', '--out', out);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /head 99 is not in \[0, 8\)/);
  assert.equal(nabla('explain', '--method', 'attention', '--prompt', 'x', '--out', out).code, 2);
});
