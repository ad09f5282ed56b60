// Half/bfloat16 conversions (exhaustive) and the state-dict key helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floatBitsToBf16, floatBitsToHalf, halfToFloatBits } from '../../src/io/half.js';
import * as io from './io.js';
import { fromTypedArray } from '../../src/tensor/creation.js';

test('every half bit pattern survives half -> float32 -> half', () => {
  for (let h = 0; h < 0x10000; h++) {
    const nanBits = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    const back = floatBitsToHalf(halfToFloatBits(h));
    assert.equal(back, nanBits ? h | 0x200 : h, `half 0x${h.toString(16)}`);
  }
  assert.equal(io.halfToFloat(0x3c00), 1);
  assert.equal(io.halfToFloat(0x0001), 2 ** -24);
  assert.equal(io.floatToHalf(65520), 0x7c00); // rounds to inf
  assert.equal(io.floatToHalf(1 + 2 ** -11), 0x3c00); // tie -> even
  assert.equal(io.floatToHalf(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(io.floatToHalf(2 ** -25), 0); // tie below the smallest subnormal -> even (0)
  assert.equal(io.floatToHalf(-(2 ** -25) * 1.5), 0x8001);
});

test('bfloat16 narrowing rounds to nearest even and round-trips every bf16', () => {
  for (let b = 0; b < 0x10000; b++) {
    const nanBits = (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;
    assert.equal(floatBitsToBf16(b << 16), nanBits ? b | 0x40 : b);
  }
  assert.equal(io.floatToHalf(1 + 2 ** -8, true), 0x3f80);
  assert.equal(io.floatToHalf(1 + 3 * 2 ** -8, true), 0x3f82);
});

test('stripPrefix, addPrefix, renameKeys, transposeKeys', () => {
  const w = fromTypedArray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  const sd = { 'module.fc.weight': w, 'module.fc.bias': fromTypedArray(new Float32Array(3)), other: w };
  assert.deepEqual(Object.keys(io.stripPrefix(sd, 'module.')), ['fc.weight', 'fc.bias', 'other']);
  assert.deepEqual(Object.keys(io.stripPrefix(sd, 'module.', { dropOthers: true })), ['fc.weight', 'fc.bias']);
  assert.deepEqual(Object.keys(io.addPrefix({ a: w }, 'transformer.')), ['transformer.a']);
  assert.deepEqual(Object.keys(io.renameKeys(sd, (k) => (k === 'other' ? null : k.replace('fc', 'head')))), [
    'module.head.weight',
    'module.head.bias',
  ]);
  assert.throws(() => io.renameKeys(sd, () => 'x'), /two keys map to 'x'/);
  const t = io.transposeKeys({ 'h.0.attn.c_attn.weight': w, 'h.0.ln.weight': w }, /c_attn\.weight$/);
  assert.deepEqual([...t['h.0.attn.c_attn.weight'].shape], [3, 2]);
  assert.equal(t['h.0.attn.c_attn.weight'].storage, w.storage, 'a view, no copy');
  assert.deepEqual(Array.from(t['h.0.attn.c_attn.weight'].toTypedArray()), [1, 4, 2, 5, 3, 6]);
  assert.equal(t['h.0.ln.weight'], w);
  assert.throws(() => io.transposeKeys({ b: fromTypedArray(new Float32Array(3)) }, () => true), /expected 2-D/);
});
