// Format rules the fuzz suite (test/fuzz) caught nabla accepting: safetensors files that the reference
// reader's `validate` refuses (leading whitespace, holes, trailing bytes, duplicate names, a header
// length that lies) and .npy headers whose key set numpy refuses. Each case is a fuzz reproducer cut
// down by hand; each must give a CheckpointError naming the file and what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as io from './io.js';

/** A safetensors file from header text (as is, so whitespace and duplicate keys survive) and data. */
function stFile(text: string, data = new Uint8Array(0), lenOverride?: number): Uint8Array {
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lenOverride ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** The header entry of an F32 tensor of n elements at data offset b. */
const f32 = (name: string, n: number, b: number) =>
  `"${name}": {"dtype": "F32", "shape": [${n}], "data_offsets": [${b}, ${b + 4 * n}]}`;

function refuses(b: Uint8Array, re: RegExp): void {
  assert.throws(
    () => io.parseSafetensors(b, {}, 'bad.safetensors'),
    (e: Error) => {
      assert.ok(e instanceof io.CheckpointError, `expected a CheckpointError, got ${e}`);
      assert.ok(e.message.startsWith('nabla.load(bad.safetensors): safetensors: '), e.message);
      assert.match(e.message, re);
      return true;
    },
  );
}

test('safetensors: the header must begin with {, may end with spaces', () => {
  const data = new Uint8Array(8);
  refuses(stFile(` {${f32('a', 2, 0)}}`, data), /header must begin with '\{', found byte 0x20/);
  refuses(stFile(`\n{${f32('a', 2, 0)}}`, data), /found byte 0x0a/);
  refuses(stFile('', data), /begin with '\{', found an empty header/);
  const two = new Uint8Array(new Float32Array([1, 2]).buffer);
  const padded = io.parseSafetensors(stFile(`{${f32('a', 2, 0)}}     `, two));
  assert.deepEqual([...padded.tensors.a.data], [1, 2]);
});

test('safetensors: invalid UTF-8 in the header is refused', () => {
  const b = stFile(`{"__metadata__": {"k": "xx"}, ${f32('a', 1, 0)}}`, new Uint8Array(4));
  const at = Buffer.from(b).indexOf('xx');
  b[at] = 0xff;
  refuses(b, /not valid UTF-8/);
});

test('safetensors: the tensors must cover the data section exactly', () => {
  // Trailing bytes after the last tensor (the fuzz's "st:trailing-bytes").
  refuses(stFile(`{${f32('a', 1, 0)}}`, new Uint8Array(7)), /3 trailing bytes after the last tensor/);
  // A hole between two tensors, and one before the first.
  refuses(
    stFile(`{${f32('a', 1, 0)}, ${f32('b', 1, 8)}}`, new Uint8Array(12)),
    /bytes 4 to 8 .* belong to no tensor \(hole before 'b'/,
  );
  refuses(stFile(`{${f32('a', 1, 4)}}`, new Uint8Array(8)), /bytes 0 to 4 .*\(hole before 'a'/);
  // Overlaps, including an empty tensor inside another one's bytes.
  refuses(
    stFile(`{${f32('a', 2, 0)}, ${f32('b', 1, 4)}}`, new Uint8Array(12)),
    /'a' and 'b' have overlapping data_offsets/,
  );
  refuses(stFile(`{${f32('a', 2, 0)}, ${f32('e', 0, 4)}}`, new Uint8Array(8)), /'a' and 'e' have overlapping/);
  // Data but no tensors at all.
  refuses(stFile('{}', new Uint8Array(4)), /4 trailing bytes/);
  // Empty tensors at the boundaries, in any order in the header, are fine.
  const ok = io.parseSafetensors(
    stFile(
      `{${f32('b', 1, 4)}, ${f32('e', 0, 8)}, ${f32('a', 1, 0)}, ${f32('z', 0, 0)}}`,
      new Uint8Array(new Float32Array([5, 6]).buffer),
    ),
  );
  assert.deepEqual(Object.keys(ok.tensors).sort(), ['a', 'b', 'e', 'z']);
  assert.deepEqual([...ok.tensors.b.data], [6]);
});

test('safetensors: a header length that lies is refused', () => {
  const text = `{${f32('a', 1, 0)}}`;
  const data = new Uint8Array(4);
  // Longer than the file.
  refuses(stFile(text, data, text.length + 5), /header length \d+ is larger than the file/);
  // Longer by a little: the header swallows the data, which then misses the tensor's bytes.
  refuses(stFile(text, data, text.length + 4), /malformed JSON header|out of range/);
  // Shorter: the JSON is cut.
  refuses(stFile(text, data, text.length - 1), /malformed JSON header/);
});

test('safetensors: a name given twice is refused', () => {
  refuses(stFile(`{${f32('a', 1, 0)}, ${f32('a', 1, 4)}}`, new Uint8Array(8)), /names "a" twice/);
  refuses(
    stFile(`{"__metadata__": {}, ${f32('a', 1, 0)}, "__metadata__": {}}`, new Uint8Array(4)),
    /names "__metadata__" twice/,
  );
  // Equal keys nested deeper, or spelled with escapes, are still told apart correctly.
  const ok = stFile(`{"__metadata__": {"a": "x", "b": "\\"a\\": {"}, ${f32('a', 1, 0)}}`, new Uint8Array(4));
  assert.deepEqual(io.parseSafetensors(ok).metadata, { a: 'x', b: '"a": {' });
  refuses(stFile(`{${f32('a', 1, 0)}, ${f32('\\u0061', 1, 4)}}`, new Uint8Array(8)), /names "a" twice/);
});

test('safetensors: __metadata__ may be null, as the reference reader allows', () => {
  const r = io.parseSafetensors(stFile(`{"__metadata__": null, ${f32('a', 1, 0)}}`, new Uint8Array(4)));
  assert.deepEqual(r.metadata, {});
  assert.deepEqual(Object.keys(r.tensors), ['a']);
});

test('safetensors: what nabla writes still reads back', () => {
  const b = io.serializeSafetensors(
    {
      a: { shape: [3], data: new Float32Array([1, 2, 3]) },
      e: { shape: [0], data: new Float32Array(0) },
      i: { shape: [1], data: new Int32Array([7]) },
    },
    { k: 'v' },
  );
  const r = io.parseSafetensors(b);
  assert.deepEqual([...r.tensors.a.data], [1, 2, 3]);
  assert.deepEqual([...r.tensors.i.data], [7]);
  assert.deepEqual(r.metadata, { k: 'v' });
});

/** An .npy with this header dict (padded to 64 as numpy does) and data. */
function npy(dict: string, data: Uint8Array): Uint8Array {
  const padded = dict + ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + padded.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, padded.length, true);
  out.set(Buffer.from(padded, 'latin1'), 10);
  out.set(data, 10 + padded.length);
  return out;
}

test('npy: the header keys must be exactly descr, fortran_order and shape', () => {
  const data = new Uint8Array(new Float32Array([1, 2]).buffer);
  const head = /^nabla\.load\(bad\.npy\): npy: header keys must be exactly 'descr', 'fortran_order' and 'shape', got /;
  const parse = (dict: string) => () => io.parseNpy(npy(dict, data), {}, 'bad.npy');
  const bad = (dict: string, re: RegExp) =>
    assert.throws(parse(dict), (e: Error) => {
      assert.ok(e instanceof io.CheckpointError, `expected a CheckpointError, got ${e}`);
      assert.match(e.message, head);
      assert.match(e.message, re);
      return true;
    });
  bad(
    `{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1, }`,
    /got 'descr', 'extra', 'fortran_order', 'shape'$/,
  );
  bad(`{'descr': '<f4', 'shape': (2,), }`, /got 'descr', 'shape'$/);
  bad('{}', /got none$/);
  bad(`{'descr,fortran_order': 1, 'shape': (2,), }`, /got 'descr,fortran_order', 'shape'$/);
  // Any order of the three is fine.
  const r = io.parseNpy(npy(`{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}`, data));
  assert.deepEqual([...r.data], [1, 2]);
});
