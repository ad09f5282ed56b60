// The two entries: 'nabla' (src/index.ts) is the stable API; 'nabla/internals' (src/internals.ts)
// holds what sits under it. Both resolve through package.json "exports".

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';
import * as internals from '../src/internals.js';

test('the main entry has the stable API and none of the internals', () => {
  for (const k of [
    'Tensor',
    'tensor',
    'zeros',
    'randn',
    'matmul',
    'noGrad',
    'autograd',
    'nn',
    'optim',
    'data',
    'datasets',
    'io',
    'load',
    'save',
    'keras',
    'models',
    'text',
    'vision',
    'backend',
    'setBackend',
    'setNumThreads',
    'getNumThreads',
  ]) {
    assert.ok(k in nb, `nb.${k} missing`);
  }
  for (const k of ['Storage', 'Layout', 'registerBackend', 'getBackend', 'UnaryOp']) {
    assert.ok(!(k in nb), `nb.${k} is internal`);
  }
  for (const k of [
    'load',
    'save',
    'loadSafetensors',
    'saveSafetensors',
    'loadTorch',
    'saveTorch',
    'loadNpy',
    'loadNpz',
    'CheckpointError',
  ]) {
    assert.ok(k in nb.io, `nb.io.${k} missing`);
  }
  for (const k of [
    'parseSafetensors',
    'readTorchFile',
    'unpickle',
    'ZipReader',
    'crc32',
    'parseNpy',
    'halfToFloat',
    'BufferSource',
  ]) {
    assert.ok(!(k in nb.io), `nb.io.${k} is internal`);
  }
  for (const k of ['attentionBias', 'causalAttention']) assert.ok(!(k in nb.models), `nb.models.${k} is internal`);
});

test('nabla/internals has the pieces under the API, and they build tensors (#24 reproducers)', () => {
  for (const k of [
    'Storage',
    'Layout',
    'offsets',
    'registerBackend',
    'getBackend',
    'UnaryOp',
    'parseSafetensors',
    'readTorchFile',
    'unpickle',
    'ZipReader',
    'crc32',
    'parseNpy',
    'halfToFloat',
    'attentionBias',
    'causalAttention',
  ]) {
    assert.ok(k in internals, `internals.${k} missing`);
  }
  // a transposed view made by hand: storage [1 2 3 4], shape (2,2), strides (1,2)
  const storage = new internals.Storage(new Float32Array([1, 2, 3, 4]));
  const t = new nb.Tensor(storage, new internals.Layout([2, 2], [1, 2], 0), 'float32');
  assert.deepEqual(t.toArray(), [
    [1, 3],
    [2, 4],
  ]);
  assert.deepEqual([...internals.offsets(t.layout)], [0, 2, 1, 3]);
});

test("package.json exports 'nabla' and 'nabla/internals'", async () => {
  const main = await import('nabla');
  const inner = await import('nabla/internals');
  assert.equal(main.Tensor, nb.Tensor);
  assert.equal(inner.Layout, internals.Layout);
});
