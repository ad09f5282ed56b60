// Tensors whose ArrayBuffer was detached (structuredClone with transfer, postMessage) or, resizable,
// shrank under them. The fuzz suite (test/fuzz, addon cases "api:*" / "detached-storage") found the JS
// backend reading the length-0 array as undefined -> NaN and returning silently. Every op must
// refuse before a kernel runs, naming the op; on every backend.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import { Layout, Storage } from '../../src/internals.js';
import { backends, withBackend } from '../helpers/backends.js';

const F = nb.nn.functional;

function detach(t: nb.Tensor): void {
  const buf = t.storage.data.buffer as ArrayBuffer;
  structuredClone(buf, { transfer: [buf] });
}

function refuses(fn: () => unknown, op: string, re = /has a detached buffer/): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError), `not a clean Error: ${e}`);
    assert.ok(e.message.startsWith(`${op}: `), `expected the message to name ${op}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

// [the op the error names, the call, the inputs' shape]; `a` is the detached input, `b` an intact one.
type Case = [string, (a: nb.Tensor, b: nb.Tensor) => unknown, number[]?];
const NCHW = [1, 1, 4, 4];
const CASES: Case[] = [
  ['add', (a, b) => nb.add(a, b)],
  ['add', (a, b) => nb.add(b, a)],
  ['mul', (a) => a.mul(2)],
  ['matmul', (a, b) => nb.matmul(a, b)],
  ['matmul', (a, b) => nb.matmul(b, a)],
  ['sum', (a) => nb.sum(a, 1)],
  ['sum', (a) => a.mean()],
  ['amax', (a) => nb.amax(a, 0)],
  ['prod', (a) => nb.prod(a)],
  ['argmax', (a) => nb.argmax(a, 1)],
  ['cumsum', (a) => nb.cumsum(a, 0)],
  ['softmax', (a) => nb.softmax(a, 1)],
  ['logSoftmax', (a) => nb.logSoftmax(a, 1)],
  ['exp', (a) => nb.exp(a)],
  ['relu', (a) => nb.relu(a)],
  ['leakyRelu', (a) => nb.leakyRelu(a)],
  ['isnan', (a) => nb.isnan(a)],
  ['contiguous', (a) => a.contiguous()],
  ['clone', (a) => a.clone()],
  ['to', (a) => a.to('float64')],
  ['toTypedArray', (a) => a.toTypedArray()],
  ['toTypedArray', (a) => a.toArray()],
  ['item', (a) => a.item(), [1]],
  ['where', (a, b) => nb.where(b.gt(0), a, b)],
  ['cat', (a, b) => nb.cat([b, a])],
  ['flip', (a) => nb.flip(a, [0])],
  ['gather', (a) => nb.gather(a, 1, nb.zeros([4, 1], { dtype: 'int32' }))],
  ['sort', (a) => nb.sort(a, 1)],
  ['indexSelect', (a) => nb.indexSelect(a, 0, nb.tensor([0, 1], { dtype: 'int32' }))],
  ['permute', (a) => a.t()],
  ['view', (a) => a.reshape([16])],
  ['slice', (a) => a.narrow(0, 1, 2)],
  ['expand', (a) => a.expand([3, 4, 4])],
  ['unsqueeze', (a) => a.unsqueeze(0)],
  ['detach', (a) => a.detach()],
  ['add_', (a, b) => a.add_(b)],
  ['copy_', (a, b) => b.copy_(a)],
  ['copy_', (a, b) => a.copy_(b)],
  ['conv2d', (a, b) => F.conv2d(b, a), NCHW],
  ['conv2d', (a, b) => F.conv2d(a, b), NCHW],
  ['maxPool2d', (a) => F.maxPool2d(a, 2), NCHW],
  ['avgPool2d', (a) => F.avgPool2d(a, 2), NCHW],
  ['layerNorm', (a) => F.layerNorm(a, [4])],
];

for (const be of backends()) {
  describe(`detached storage [${be}]`, () => {
    for (const [op, call, shape = [4, 4]] of CASES) {
      test(`${op}: ${call.toString().replace(/^\(.*?\) => /, '')}`, () =>
        withBackend(be, () => {
          const a = nb.randn(shape),
            b = nb.randn(shape);
          detach(a);
          refuses(() => call(a, b), op);
        }));
    }

    test('a view whose base was detached after the view was made', () =>
      withBackend(be, () => {
        const a = nb.randn([4, 4]);
        const v = a.t();
        detach(a);
        refuses(() => v.contiguous(), 'contiguous');
        refuses(() => nb.exp(v), 'exp');
      }));

    test('a resizable buffer shrunk below the layout is refused; one covering it is fine', () =>
      withBackend(be, () => {
        // NOTE: resizable ArrayBuffers are ES2024; the compiler's lib is ES2022.
        const buf = new (ArrayBuffer as any)(64, { maxByteLength: 128 }) as ArrayBuffer & { resize(n: number): void };
        const t = nb.fromTypedArray(new Float32Array(buf), [4, 4]);
        const head = t.narrow(0, 0, 1);
        buf.resize(32);
        refuses(
          () => nb.exp(t),
          'exp',
          /no longer fits its buffer \(resized\?\): its layout needs 16 elements but the storage now has 8/,
        );
        assert.deepEqual([...head.toTypedArray()], [0, 0, 0, 0]);
        buf.resize(128);
        assert.equal(nb.exp(t).numel(), 16);
      }));

    test('empty tensors over a detached buffer: an empty result or a clean error', () =>
      withBackend(be, () => {
        const e = nb.zeros([0, 4]);
        detach(e);
        // NOTE: a detached and a zero-byte ArrayBuffer look alike to JS before Node 22 (no .detached); the
        // native addon refuses detached buffers itself.
        try {
          assert.deepEqual(nb.exp(e).shape, [0, 4]);
        } catch (err) {
          assert.ok(be !== 'js' && !(err instanceof TypeError) && /detached/.test((err as Error).message), String(err));
        }
      }));

    test('detached at construction: the Tensor constructor says so', () => {
      const d = new Float32Array(4);
      structuredClone(d.buffer, { transfer: [d.buffer] });
      assert.throws(
        () => new nb.Tensor(new Storage(d), Layout.contiguous([4]), 'float32'),
        /Tensor: Layout\(.*\): the storage's ArrayBuffer was detached/,
      );
    });
  });
}
