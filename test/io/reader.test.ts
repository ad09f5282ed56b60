// Reader mechanics: selective safetensors reads touch only the header and the chosen tensors;
// zip64 archives; big-endian torch archives; format sniffing for unknown extensions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as io from './io.js';
import { readSafetensors } from '../../src/io/safetensors.js';

/** A BufferSource that counts the bytes handed out. */
class CountingSource extends io.BufferSource {
  bytesRead = 0;
  override read(pos: number, len: number, what?: string): Uint8Array {
    this.bytesRead += len;
    return super.read(pos, len, what);
  }
  override readInto(pos: number, dest: Uint8Array, what?: string): void {
    this.bytesRead += dest.byteLength;
    super.readInto(pos, dest, what);
  }
}

test('safetensors: reading one tensor reads the header and that tensor only', () => {
  const big = new Float32Array(1 << 18); // 1 MiB
  const buf = io.serializeSafetensors({
    big: { shape: [big.length], data: big },
    small: { shape: [3], data: new Float32Array([1, 2, 3]) },
    half: { shape: [2], data: new Float32Array([1, 2]), as: 'F16' },
  });
  const header = io.parseSafetensorsHeader(new io.BufferSource(buf));
  const src = new CountingSource(buf);
  const r = readSafetensors(src, { names: ['small', 'half'] });
  assert.deepEqual(Array.from(r.tensors.small.data), [1, 2, 3]);
  assert.deepEqual(Array.from(r.tensors.half.data), [1, 2]);
  assert.equal(src.bytesRead, header.dataStart + 12 + 4);
  // tensor by tensor from one parsed header
  const e = header.entries.find((x) => x.name === 'small')!;
  const before = src.bytesRead;
  assert.deepEqual(Array.from(io.readSafetensorsEntry(src, e).data), [1, 2, 3]);
  assert.equal(src.bytesRead - before, 12);
});

test('zip64 archives (as torch writes above 4 GB) read back', () => {
  const members = [
    { name: 'a.npy', data: [io.serializeNpy({ shape: [2], data: new Float32Array([1, 2]) })] },
    { name: 'b.npy', data: [io.serializeNpy({ shape: [1], data: new Int32Array([7]) })] },
  ];
  const z = Buffer.concat([...io.zipChunks(members, 64, { forceZip64: true })]);
  const zr = new io.ZipReader(new io.BufferSource(z));
  assert.deepEqual(
    zr.entries.map((e) => e.name),
    ['a.npy', 'b.npy'],
  );
  const npz = io.parseNpz(z);
  assert.deepEqual(Array.from(npz.a.data), [1, 2]);
  assert.deepEqual(Array.from(npz.b.data), [7]);
});

test('torch archives marked byteorder=big are byte-swapped', () => {
  const be = new Uint8Array(8);
  new DataView(be.buffer).setFloat32(0, 1.5, false);
  new DataView(be.buffer).setFloat32(4, -2, false);
  const leaf = (x: unknown) => (x && typeof x === 'object' && 'strides' in x ? (x as any) : undefined);
  const little = io.serializeTorch(
    { w: { storage: { data: new Float32Array(2) }, offset: 0, shape: [2], strides: [1] } },
    leaf,
  );
  const zr = new io.ZipReader(new io.BufferSource(little));
  const members = zr.entries.map((e) => ({
    name: e.name,
    data: [
      e.name.endsWith('byteorder') ? new TextEncoder().encode('big') : e.name.endsWith('data/0') ? be : zr.readAll(e),
    ],
  }));
  const big = Buffer.concat([...io.zipChunks(members, 64)]);
  const sd = io.parseTorch(big) as Record<string, io.TorchTensorRef>;
  assert.deepEqual(Array.from(sd.w.storage.data!), [1.5, -2]);
});

test('tensor data is read without blocking the event loop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-io-'));
  try {
    const data = new Float32Array(1 << 16).fill(3);
    writeFileSync(join(dir, 'a.safetensors'), io.serializeSafetensors({ a: { shape: [data.length], data } }));
    writeFileSync(
      join(dir, 'a.pth'),
      io.serializeTorch({ a: { storage: { data }, offset: 0, shape: [data.length], strides: [1] } }, (x) =>
        x && typeof x === 'object' && 'strides' in x ? (x as any) : undefined,
      ),
    );
    writeFileSync(join(dir, 'a.npy'), io.serializeNpy({ shape: [data.length], data }));
    for (const f of ['a.safetensors', 'a.pth', 'a.npy']) {
      let ticked = false;
      setImmediate(() => {
        ticked = true;
      });
      const got = await io.load(join(dir, f));
      assert.ok(ticked, `${f}: the event loop ran while the data was read`);
      assert.equal((got.a ?? got).data[100], 3);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('load() recognises formats by content when the extension is unknown', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-io-'));
  try {
    writeFileSync(join(dir, 'x.weights'), io.serializeSafetensors({ a: { shape: [1], data: new Float32Array([4]) } }));
    writeFileSync(join(dir, 'y.data'), io.serializeNpy({ shape: [1], data: new Float32Array([5]) }));
    assert.equal((await io.load(join(dir, 'x.weights'))).a.item(), 4);
    assert.equal((await io.load(join(dir, 'y.data'))).item(), 5);
    await assert.rejects(
      io.load(join(dir, 'missing.safetensors')),
      /nabla\.load\(.*missing\.safetensors\): cannot open/,
    );
    await assert.rejects(io.load(dir), /: not a regular file/);
    // issue 23: a file that is none of the formats names the formats tried, not a safetensors parse error
    writeFileSync(join(dir, 'notes.txt'), 'hello, this is not a checkpoint\n');
    writeFileSync(join(dir, 'empty.dat'), '');
    for (const f of ['notes.txt', 'empty.dat']) {
      await assert.rejects(io.load(join(dir, f)), (e: Error) => {
        assert.match(e.message, /nabla\.load\(.*: not a recognised checkpoint format \(first bytes: /);
        assert.match(e.message, /Tried safetensors .*PyTorch zip .*PyTorch legacy pickle .*NumPy \.npy .*\.npz/);
        assert.doesNotMatch(e.message, /exceeds the 100 MB limit/);
        return true;
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('crc32: zlib and the table fallback agree, also when continued', async () => {
  const { crc32Table } = await import('../../src/io/zip.js');
  const b = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7919) & 0xff);
  assert.equal(io.crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32Table(b), io.crc32(b));
  assert.equal(crc32Table(b.subarray(777), crc32Table(b.subarray(0, 777))), io.crc32(b));
});
