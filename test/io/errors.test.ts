// Hostile and broken files: each gives a CheckpointError naming the file and the problem; none
// crashes, hangs or allocates beyond the file's size. Atomic writes leave existing files alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as io from './io.js';
import { fromTypedArray } from '../../src/tensor/creation.js';
import { rezip } from './helpers.js';

function stFile(header: unknown, data = new Uint8Array(0), lenOverride?: number): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lenOverride ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function throwsNamed(fn: () => unknown, re: RegExp, file = 'bad.bin'): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof io.CheckpointError, `expected a CheckpointError, got ${e}`);
    assert.ok(e.message.startsWith(`nabla.load(${file}): `), e.message);
    assert.match(e.message, re);
    return true;
  });
}
const st = (b: Uint8Array) => () => io.parseSafetensors(b, {}, 'bad.bin');

test('safetensors: truncated, lying and malformed headers', () => {
  const good = io.serializeSafetensors({
    a: { shape: [2], data: new Float32Array([1, 2]) },
    b: { shape: [1], data: new Int32Array([3]) },
  });
  throwsNamed(st(good.subarray(0, 5)), /shorter than the 8-byte header length/);
  throwsNamed(st(good.subarray(0, good.length - 1)), /out of range/);
  throwsNamed(st(stFile('{}', undefined, 5000)), /header length 5000 is larger than the file/);
  throwsNamed(st(stFile('{}', undefined, 2 ** 40)), /exceeds the 100 MB limit/);
  throwsNamed(st(stFile('{"a": {')), /malformed JSON header/);
  throwsNamed(st(stFile('[1]')), /header must begin with '\{'/);
  throwsNamed(
    st(stFile({ a: { dtype: 'Q8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1))),
    /unknown dtype "Q8"/,
  );
  throwsNamed(
    st(stFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 4] } }, new Uint8Array(4))),
    /span 4 bytes but F32 shape \[4\] needs 16/,
  );
  throwsNamed(
    st(stFile({ a: { dtype: 'F32', shape: [1e6, 1e6, 1e6], data_offsets: [0, 4] } }, new Uint8Array(4))),
    /needs more elements than the file holds/,
  );
  throwsNamed(
    st(stFile({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4))),
    /bad dimension -1/,
  );
  throwsNamed(st(stFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(4))), /out of range/);
  throwsNamed(st(stFile({ a: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, new Uint8Array(8))), /out of range/);
  throwsNamed(
    st(
      stFile(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
        },
        new Uint8Array(8),
      ),
    ),
    /overlapping data_offsets/,
  );
  throwsNamed(st(stFile({ __metadata__: { a: 1 } })), /__metadata__\['a'\] is not a string/);
  throwsNamed(() => io.parseSafetensors(good, { names: ['zz'] }, 'bad.bin'), /no tensor named 'zz'/);
});

test('safetensors: empty tensors with large other dimensions are fine', () => {
  const r = io.parseSafetensors(stFile({ e: { dtype: 'F32', shape: [100000, 0], data_offsets: [0, 0] } })).tensors;
  assert.deepEqual(r.e.shape, [100000, 0]);
  assert.equal(r.e.data.length, 0);
});

test('safetensors: a __proto__ tensor name is only a key', () => {
  const b = stFile('{"__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', new Uint8Array(4));
  const r = io.parseSafetensors(b).tensors;
  assert.equal(Object.getPrototypeOf(r), Object.prototype);
  assert.deepEqual(Object.keys(r), ['__proto__']);
});

test('zip: bad central-directory entries', () => {
  const good = Buffer.from(io.serializeNpz({ a: { shape: [2], data: new Float32Array([1, 2]) } }));
  const cdAt = good.readUInt32LE(good.length - 6);
  const bad = (patch: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    patch(b);
    return () => io.parseNpz(b, {}, 'bad.bin');
  };
  throwsNamed(
    bad((b) => b.writeUInt32LE(0x12345678, cdAt)),
    /central directory entry 0 is malformed/,
  );
  throwsNamed(
    bad((b) => b.writeUInt32LE(0x7fffffff, cdAt + 42)),
    /lies outside the file/,
  );
  throwsNamed(
    bad((b) => b.writeUInt16LE(500, b.length - 12)),
    /claims 500 entries/,
  );
  throwsNamed(
    bad((b) => b.writeUInt32LE(0xfffff0, b.length - 6)),
    /central directory .* lies outside the file/,
  );
  throwsNamed(
    bad((b) => b.writeUInt16LE(99, cdAt + 10)),
    /compression method 99/,
  );
  throwsNamed(() => io.parseNpz(good.subarray(0, 30), {}, 'bad.bin'), /no end-of-central-directory record/);
  throwsNamed(() => io.parseTorch(good, {}, 'bad.bin'), /no data\.pkl/);
});

// A tiny protocol-2 pickle builder for hand-made hostile pickles.
const P = (...parts: (number[] | string)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

test('pickle: disallowed globals, bad opcodes, stack underflow, truncation', () => {
  const up = (b: Uint8Array) => () => io.unpickle(b, { file: 'bad.bin' });
  throwsNamed(up(P([0x80, 2], 'cos\nsystem\n', [0x2e])), /refusing to load global 'os\.system'/);
  throwsNamed(
    up(P([0x80, 4, 0x8c, 8], 'builtins', [0x8c, 4], 'eval', [0x93, 0x2e])),
    /refusing to load global 'builtins\.eval'/,
  );
  throwsNamed(
    up(P([0x80, 2], 'ctorch._utils\n_rebuild_tensor_v2\n', [0x2e])),
    /refusing to load global 'torch\._utils\._rebuild_tensor_v2'/,
  );
  throwsNamed(up(P([0x80, 2, 0xff])), /unknown opcode \(opcode 0xff at byte 2\)/);
  throwsNamed(up(P([0x80, 2, 0x2e])), /stack underflow/);
  throwsNamed(up(P([0x80, 2, 0x74])), /stack underflow: no MARK/);
  throwsNamed(up(P([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x41])), /truncated data/);
  throwsNamed(up(P([0x80, 2, 0x4b, 1])), /no STOP opcode/);
  throwsNamed(up(P([0x80, 2, 0x68, 7, 0x2e])), /memo key 7 is not defined/);
  throwsNamed(up(P([0x80, 2, 0x4b, 0, 0x4b, 1, 0x4b, 2, 0x73, 0x2e])), /SETITEM on number, not a dict/);
  throwsNamed(up(P([0x80, 2], 'i', 'os\nsystem\n')), /INST\/OBJ opcodes/);
  throwsNamed(up(P([0x80, 2, 0x4e, 0x51, 0x2e])), /persistent id found/);
  throwsNamed(up(P([0x80, 2, 0x4b, 1, 0x4b, 1, 0x62, 0x2e])), /BUILD on number is not supported/);
  // the same pickle through torch.load's path: the error names the file
  const zip = Buffer.concat([
    ...io.zipChunks([{ name: 'archive/data.pkl', data: [P([0x80, 2], 'cposix\nsystem\n', [0x2e])] }]),
  ]);
  throwsNamed(() => io.parseTorch(zip, {}, 'evil.pth'), /refusing to load global 'posix\.system'/, 'evil.pth');
});

test('pickle: numpy object arrays and odd dtypes are refused inside a torch file', () => {
  const arr = (dtype: string, raw: number[]) =>
    P(
      [0x80, 2],
      'cnumpy.core.multiarray\n_reconstruct\n',
      'cnumpy\nndarray\n',
      [0x4b, 0, 0x85, 0x43, 1, 0x62, 0x87, 0x52],
      [0x28, 0x4b, 1, 0x4b, 1, 0x85],
      'cnumpy\ndtype\n',
      [0x8c, dtype.length],
      dtype,
      [0x89, 0x88, 0x87, 0x52],
      [0x89],
      raw,
      [0x74, 0x62, 0x2e],
    );
  const torchZip = (pkl: Uint8Array) => Buffer.concat([...io.zipChunks([{ name: 'archive/data.pkl', data: [pkl] }])]);
  const ok = io.parseTorch(torchZip(arr('f4', [0x43, 4, 0, 0, 0xc0, 0x3f])), {}, 'bad.bin') as {
    record: { data: Float32Array };
  };
  assert.deepEqual(Array.from(ok.record.data), [1.5]);
  throwsNamed(() => io.parseTorch(torchZip(arr('O8', [0x5d])), {}, 'bad.bin'), /numpy\.dtype "O8" is not supported/);
  throwsNamed(() => io.parseTorch(torchZip(arr('f4', [0x5d])), {}, 'bad.bin'), /only numeric arrays with raw data/);
  throwsNamed(() => io.parseTorch(torchZip(arr('f4', [0x43, 2, 0, 0])), {}, 'bad.bin'), /2 bytes for 1 F32 elements/);
});

test('pickle: legal values, __proto__ keys and shared references', () => {
  // {'__proto__': [], 'b': <the same list>}
  const v = io.unpickle(
    P([0x80, 2, 0x7d, 0x28, 0x58, 9, 0, 0, 0], '__proto__', [0x5d, 0x71, 1, 0x8c, 1], 'b', [0x68, 1, 0x75, 0x2e]),
  ) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ['__proto__', 'b']);
  assert.equal(v.b, Object.getOwnPropertyDescriptor(v, '__proto__')?.value);
  // protocol 0 text values
  assert.deepEqual(io.unpickle(P("(F1.5\nFinf\nF-inf\nI01\nL12345678901234567890L\nS'ab'\nl.")), [
    1.5,
    Infinity,
    -Infinity,
    true,
    12345678901234567890n,
    'ab',
  ]);
  assert.throws(() => io.unpickle(P('F1.5x\n.')), /bad float literal/);
});

test('torch: views past their storage and lying storage sizes are refused', () => {
  const sd = { w: { storage: { data: new Float32Array(4) }, offset: 0, shape: [2, 2], strides: [2, 1] } };
  const conv = (x: unknown) => (x && typeof x === 'object' && 'storage' in x ? (x as any) : undefined);
  const good = io.serializeTorch(sd, conv);
  assert.equal((io.parseTorch(good) as any).w.shape[0], 2);
  const far = io.serializeTorch({ w: { ...sd.w, offset: 1 } }, conv);
  throwsNamed(() => io.parseTorch(far, {}, 'bad.bin'), /reaches element 4 of storage '0' with 4 elements/);
  const big300 = io.serializeTorch(
    { w: { storage: { data: new Float32Array(300) }, offset: 0, shape: [300], strides: [1] } },
    conv,
  );
  const big = rezip(big300, (name, b) => {
    // numel 300 is pickled as BININT2 0x2c 0x01 right after 'cpu'; claim 301 elements
    if (name.endsWith('data.pkl')) b[b.indexOf(Buffer.from([0x4d, 0x2c, 0x01])) + 1] = 0x2d;
  });
  throwsNamed(() => io.parseTorch(big, {}, 'bad.bin'), /holds 1200 bytes, storage '0' needs 1204/);
});

test('torch legacy: a wrong magic number, even a float, is a clear error', () => {
  throwsNamed(
    () => io.parseTorch(P([0x80, 2, 0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x2e]), {}, 'bad.bin'),
    /bad magic number/,
  );
  throwsNamed(() => io.parseTorch(P([0x80, 2, 0x4b, 7, 0x2e]), {}, 'bad.bin'), /bad magic number/);
});

test('npy: bad magic, lying shape, truncated data', () => {
  const good = Buffer.from(io.serializeNpy({ shape: [2, 2], data: new Float64Array(4) }));
  throwsNamed(
    () => io.parseNpy(good.subarray(0, good.length - 1), {}, 'bad.bin'),
    /needs 32 bytes of data, the file has 31/,
  );
  throwsNamed(() => io.parseNpy(Buffer.from('hello world!'), {}, 'bad.bin'), /bad magic/);
  const lie = Buffer.from(good.toString('latin1').replace('(2, 2)', '(9, 9)'), 'latin1');
  throwsNamed(() => io.parseNpy(lie, {}, 'bad.bin'), /more elements than the file holds/);
  const obj = Buffer.from(good.toString('latin1').replace("'<f8'", "'|O8'"), 'latin1');
  throwsNamed(() => io.parseNpy(obj, {}, 'bad.bin'), /unhandled dtype '\|O8'/);
});

test('writes are atomic: a failing save leaves the existing file untouched and no temp file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-io-'));
  try {
    const path = join(dir, 'm.safetensors');
    writeFileSync(path, 'precious');
    const bad = { a: fromTypedArray(new Float32Array([1.5])) };
    await assert.rejects(io.saveSafetensors(bad, path, {}, { dtypes: { a: 'I8' } }), /does not fit in I8/);
    assert.equal(readFileSync(path, 'utf8'), 'precious');
    assert.deepEqual(readdirSync(dir), ['m.safetensors']);
    await io.save(bad, path);
    assert.deepEqual(Array.from((await io.load(path)).a.toTypedArray()), [1.5]);
    assert.deepEqual(readdirSync(dir), ['m.safetensors']);
    await assert.rejects(io.save(bad, join(dir, 'm.xyz')), /unknown extension/);
    await assert.rejects(io.save(bad, join(dir, 'no', 'such', 'dir', 'm.pth')), /save\(.*m\.pth\): ENOENT/);
    assert.equal(existsSync(join(dir, 'm.xyz')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
