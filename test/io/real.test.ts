// Real pretrained weights from ../shared/data (see its README): names and shapes as documented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as io from './io.js';
import { sharedData, skipUnlessShared } from '../helpers/data.js';

const shapes = (sd: Record<string, { shape: readonly number[] }>) =>
  Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, [...v.shape]]));

test('mnist-mlp-dlfs: W1..W3, b1..b3', { skip: skipUnlessShared('mnist-mlp-dlfs.safetensors') }, async () => {
  const sd = await io.load(sharedData('mnist-mlp-dlfs.safetensors'));
  const want: Record<string, number[]> = { W1: [784, 50], b1: [50], W2: [50, 100], b2: [100], W3: [100, 10], b3: [10] };
  for (const [k, s] of Object.entries(want)) assert.deepEqual([...sd[k].shape], s, k);
  assert.equal(Object.keys(sd).length, 6);
  assert.equal(sd.W1.dtype, 'float32');
});

test('mnist-simpleconvnet-dlfs and mnist-deepconvnet-dlfs', {
  skip: skipUnlessShared('mnist-simpleconvnet-dlfs.safetensors', 'mnist-deepconvnet-dlfs.safetensors'),
}, async () => {
  const a = shapes(await io.loadSafetensors(sharedData('mnist-simpleconvnet-dlfs.safetensors')));
  assert.deepEqual(a.W1, [30, 1, 5, 5]);
  assert.deepEqual(a.W2, [4320, 100]);
  assert.deepEqual(a.W3, [100, 10]);
  const b = shapes(await io.loadSafetensors(sharedData('mnist-deepconvnet-dlfs.safetensors')));
  const ch = [16, 16, 32, 32, 64, 64];
  ch.forEach((c, i) => {
    assert.deepEqual(b[`W${i + 1}`], [c, i === 0 ? 1 : ch[i - 1], 3, 3], `W${i + 1}`);
  });
  assert.deepEqual(b.W7, [1024, 50]);
  assert.deepEqual(b.W8, [50, 10]);
});

test('cifar10-resnet20: torchvision-style names and shapes, selective read', {
  skip: skipUnlessShared('cifar10-resnet20.safetensors'),
}, async () => {
  const path = sharedData('cifar10-resnet20.safetensors');
  const sd = shapes(await io.loadSafetensors(path));
  assert.deepEqual(sd['conv1.weight'], [16, 3, 3, 3]);
  for (const k of ['weight', 'bias', 'running_mean', 'running_var']) assert.deepEqual(sd[`bn1.${k}`], [16]);
  const width = [16, 32, 64];
  for (let l = 1; l <= 3; l++) {
    for (let b = 0; b < 3; b++) {
      const c = width[l - 1],
        cin = b === 0 && l > 1 ? width[l - 2] : c;
      assert.deepEqual(sd[`layer${l}.${b}.conv1.weight`], [c, cin, 3, 3]);
      assert.deepEqual(sd[`layer${l}.${b}.conv2.weight`], [c, c, 3, 3]);
      assert.deepEqual(sd[`layer${l}.${b}.bn2.running_var`], [c]);
    }
  }
  assert.deepEqual(sd['linear.weight'], [10, 64]);
  assert.deepEqual(sd['linear.bias'], [10]);
  assert.equal(Object.keys(sd).length, 1 + 4 + 3 * 3 * 2 * 5 + 2);
  const meta = await io.loadSafetensorsMetadata(path);
  assert.ok(Object.keys(meta).length > 0, 'architecture notes in __metadata__');
  const one = await io.loadSafetensors(path, { names: ['linear.bias'] });
  assert.deepEqual(Object.keys(one), ['linear.bias']);
});
