// module.loadStateDict(await nb.load(path)) with a PyTorch checkpoint, and nabla's own state
// dicts through every writable format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as io from './io.js';
import { Sequential } from '../../src/nn/containers.js';
import { Linear } from '../../src/nn/linear.js';
import { ReLU } from '../../src/nn/activations.js';
import type { Module } from '../../src/nn/module.js';
import { Conv2d } from '../../src/nn/conv.js';
import { BatchNorm2d } from '../../src/nn/batch_norm.js';
import { sharedData, skipUnlessShared } from '../helpers/data.js';
import { ioGolden } from './helpers.js';

const mlp = () => new Sequential(new Linear(3, 2), new ReLU(), new Linear(2, 1));

test('a torch.save checkpoint loads into the matching nabla module', async () => {
  const ck = await io.load(ioGolden('checkpoint.pth'));
  const m = mlp();
  m.loadStateDict(ck.model);
  const sd = m.stateDict();
  for (const k of ['0.weight', '0.bias', '2.weight', '2.bias'])
    assert.deepEqual(sd[k].toArray(), ck.model[k].toArray(), k);
  // DataParallel-style prefixes come off with stripPrefix
  const m2 = mlp();
  m2.loadStateDict(io.stripPrefix(io.addPrefix(ck.model, 'module.'), 'module.'));
  assert.deepEqual(m2.stateDict()['2.weight'].toArray(), ck.model['2.weight'].toArray());
});

test('nabla state dicts round-trip through .safetensors, .pth and .npz', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-io-'));
  try {
    const a = mlp();
    for (const ext of ['safetensors', 'pth', 'npz']) {
      const path = join(dir, `m.${ext}`);
      await io.save(a.stateDict(), path);
      const b = mlp();
      b.loadStateDict(await io.load(path));
      for (const [k, v] of Object.entries(a.stateDict()))
        assert.deepEqual(b.stateDict()[k].toArray(), v.toArray(), `${ext}: ${k}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** ResNet-20's parameter layout (akamaster/pytorch_resnet_cifar10; option-A shortcuts hold no weights). */
function resnet20Layout(): Module {
  const block = (cin: number, c: number, stride: number) =>
    new Sequential({
      conv1: new Conv2d(cin, c, 3, { stride, padding: 1, bias: false }),
      bn1: new BatchNorm2d(c),
      conv2: new Conv2d(c, c, 3, { padding: 1, bias: false }),
      bn2: new BatchNorm2d(c),
    });
  const layer = (cin: number, c: number, stride: number) =>
    new Sequential(block(cin, c, stride), block(c, c, 1), block(c, c, 1));
  return new Sequential({
    conv1: new Conv2d(3, 16, 3, { padding: 1, bias: false }),
    bn1: new BatchNorm2d(16),
    layer1: layer(16, 16, 1),
    layer2: layer(16, 32, 2),
    layer3: layer(32, 64, 2),
    linear: new Linear(64, 10),
  });
}

test('the real CIFAR-10 ResNet-20 weights load into nabla modules by name', {
  skip: skipUnlessShared('cifar10-resnet20.safetensors'),
}, async () => {
  const sd = await io.load(sharedData('cifar10-resnet20.safetensors'));
  const net = resnet20Layout();
  const r = net.loadStateDict(sd, { strict: false });
  // the file dropped BatchNorm's num_batches_tracked counters; nothing else may be missing
  assert.deepEqual(r.unexpectedKeys, []);
  assert.ok(
    r.missingKeys.length > 0 && r.missingKeys.every((k) => k.endsWith('num_batches_tracked')),
    r.missingKeys.join(', '),
  );
  assert.deepEqual(net.stateDict()['layer3.2.bn2.running_var'].toArray(), sd['layer3.2.bn2.running_var'].toArray());
});
