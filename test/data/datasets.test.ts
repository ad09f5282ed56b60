// IDX reader (shared MNIST/Fashion-MNIST files, hostile and truncated buffers), the bundled
// digits, MNIST/FashionMNIST root-folder loading, CharDataset and the CSV reader.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, copyFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseIdx, readIdx, CharDataset, parseCsv, readCsv, DataLoader } from '../../src/data/index.js';
import { digits, MNIST, FashionMNIST, bundledDigitsRoot } from '../../src/data/datasets.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { SHARED_DATA, sharedData, skipUnlessShared } from '../helpers/data.js';

/** An IDX buffer: magic [0, 0, type, ndim], big-endian dims, then the given payload bytes. */
function idx(type: number, dims: number[], payload: number[] | Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(head.buffer);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => {
    v.setUint32(4 + 4 * i, d, false);
  });
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

describe('IDX reader', () => {
  it('reads uint8, int16, int32, float32 and float64 big-endian, gzip or not', () => {
    assert.deepEqual([...parseIdx(idx(0x08, [2, 2], [1, 2, 3, 255])).data], [1, 2, 3, 255]);
    const a = parseIdx(gzipSync(idx(0x08, [3], [7, 8, 9])));
    assert.deepEqual(a.shape, [3]);
    assert.deepEqual([...a.data], [7, 8, 9]);
    assert.deepEqual([...parseIdx(idx(0x0b, [2], [0xff, 0xfe, 0x01, 0x00])).data], [-2, 256]);
    assert.deepEqual([...parseIdx(idx(0x0c, [1], [0, 1, 0, 0])).data], [65536]);
    assert.deepEqual([...parseIdx(idx(0x0d, [1], [0x3f, 0xc0, 0, 0])).data], [1.5]);
    assert.deepEqual([...parseIdx(idx(0x0e, [1], [0xc0, 0, 0, 0, 0, 0, 0, 0])).data], [-2]);
    assert.equal(parseIdx(idx(0x09, [1], [0xff])).data[0], -1);
  });
  it('rejects hostile and truncated input with the reason', () => {
    assert.throws(() => parseIdx(new Uint8Array([0, 0])), /truncated header: 2 bytes/);
    assert.throws(() => parseIdx(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0])), /bad magic number 0x504b0304/);
    assert.throws(() => parseIdx(new Uint8Array([0, 0, 0x07, 1, 0, 0, 0, 1, 0])), /unknown element type 0x07/);
    assert.throws(() => parseIdx(new Uint8Array([0, 0, 8, 0])), /zero dimensions/);
    assert.throws(
      () => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1])),
      /truncated header: 3 dims need 16 bytes, the file has 8/,
    );
    assert.throws(
      () => parseIdx(idx(0x08, [2, 3], [1, 2, 3])),
      /truncated: dims \[2, 3\] need 6 bytes of uint8 data, the file has 3/,
    );
    assert.throws(
      () => parseIdx(idx(0x08, [2], [1, 2, 3])),
      /dims \[2\] need 2 bytes .* \(1 trailing bytes\): the dims disagree with the file size/,
    );
    assert.throws(() => parseIdx(idx(0x08, [0xffffffff, 0xffffffff], [])), /more than a tensor can hold/);
    const gz = gzipSync(idx(0x08, [100], new Uint8Array(100)));
    assert.throws(() => parseIdx(gz.subarray(0, gz.length - 10), 'x.gz'), /readIdx: x.gz: corrupt gzip stream/);
    assert.throws(() => readIdx('/nonexistent/file-idx1-ubyte'), /readIdx: cannot read \/nonexistent\/file-idx1-ubyte/);
  });
  it('reads the shared MNIST test set', {
    skip: skipUnlessShared('mnist-t10k-images-idx3-ubyte.gz', 'mnist-t10k-labels-idx1-ubyte.gz'),
  }, () => {
    const im = readIdx(sharedData('mnist-t10k-images-idx3-ubyte.gz'));
    const lb = readIdx(sharedData('mnist-t10k-labels-idx1-ubyte.gz'));
    assert.deepEqual(im.shape, [10000, 28, 28]);
    assert.equal(im.type, 'uint8');
    assert.deepEqual([...lb.data.subarray(0, 10)], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  });
});

describe('nb.datasets.digits (bundled)', () => {
  it('loads 1797 8x8 images with the documented class counts, scaled into [0, 1]', () => {
    const ds = digits();
    assert.equal(ds.length, 1797);
    const counts = Array(10).fill(0);
    for (const y of ds.labels) counts[y]++;
    assert.deepEqual(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    const [x, y] = ds.getItem(0) as [Tensor, number];
    assert.deepEqual(x.shape, [1, 8, 8]);
    assert.equal(x.dtype, 'float32');
    assert.equal(y, 0);
    const all = Array.from(ds.images);
    assert.equal(Math.max(...all), 16);
    assert.equal(Math.max(...Array.from(x.toTypedArray())) <= 1, true);
  });
  it('train = first 1500, test = the other 297; the loader batches float32 (B,1,8,8) and int32 (B)', () => {
    const tr = digits({ train: true }),
      te = digits({ train: false });
    assert.equal(tr.length, 1500);
    assert.equal(te.length, 297);
    assert.equal(te.labels[0], digits().labels[1500]);
    const [x, y] = [...new DataLoader(tr, { batchSize: 32 })][0] as unknown as [Tensor, Tensor];
    assert.deepEqual(x.shape, [32, 1, 8, 8]);
    assert.equal(y.dtype, 'int32');
    assert.deepEqual([...y.toTypedArray()].slice(0, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
  it('the bundled copy equals the shared one, and a transform applies per item', {
    skip: skipUnlessShared('digits-images-idx3-ubyte'),
  }, () => {
    assert.deepEqual(
      readFileSync(join(bundledDigitsRoot(), 'digits-images-idx3-ubyte')),
      readFileSync(sharedData('digits-images-idx3-ubyte')),
    );
    const ds = digits({ root: SHARED_DATA, transform: (x) => x.flatten() });
    assert.deepEqual((ds.getItem(3)[0] as Tensor).shape, [64]);
    assert.equal(ds.getBatch, undefined);
  });
});

describe('nb.datasets.MNIST / FashionMNIST from a root folder', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nabla-mnist-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  it('reads the shared-data names (mnist-t10k-..., fashion-t10k-...)', {
    skip: skipUnlessShared('mnist-t10k-images-idx3-ubyte.gz', 'fashion-t10k-labels-idx1-ubyte.gz'),
  }, () => {
    const m = MNIST({ root: SHARED_DATA, train: false });
    assert.equal(m.length, 10000);
    const [x, y] = m.getItem(0) as [Tensor, number];
    assert.deepEqual(x.shape, [1, 28, 28]);
    assert.equal(y, 7);
    const v = Array.from(x.toTypedArray());
    assert.ok(Math.min(...v) >= 0 && Math.max(...v) === 1);
    const f = FashionMNIST({ root: SHARED_DATA, train: false });
    assert.equal(f.length, 10000);
    assert.equal(f.classes[9], 'Ankle boot');
    assert.equal(f.targets.dtype, 'int32');
  });
  it("reads torchvision's raw names under root/MNIST/raw, gzip or not", () => {
    const raw = join(dir, 'MNIST', 'raw');
    mkdirSync(raw, { recursive: true });
    const img = idx(0x08, [2, 28, 28], new Uint8Array(2 * 784).fill(51));
    const lab = idx(0x08, [2], [3, 4]);
    writeFileSync(join(raw, 'train-images-idx3-ubyte.gz'), gzipSync(img));
    writeFileSync(join(raw, 'train-labels-idx1-ubyte'), lab);
    const m = MNIST({ root: dir });
    assert.equal(m.length, 2);
    assert.ok(Math.abs((m.getItem(1)[0] as Tensor).toTypedArray()[0] - 0.2) < 1e-7);
    assert.equal(m.getItem(1)[1], 4);
  });
  it('a missing file lists every path it looked for; download is refused', () => {
    assert.throws(
      () => FashionMNIST({ root: dir, train: false }),
      (e: Error) =>
        /FashionMNIST: cannot find the t10k images; looked for:/.test(e.message) &&
        e.message.includes(join(dir, 't10k-images-idx3-ubyte.gz')) &&
        e.message.includes(join(dir, 'FashionMNIST', 'raw', 'fashion-t10k-images-idx3-ubyte.gz')),
    );
    assert.throws(() => MNIST({ root: dir, download: true }), /MNIST: download is not supported/);
  });
  it('a truncated images file names the file', { skip: skipUnlessShared('mnist-t10k-labels-idx1-ubyte.gz') }, () => {
    const d = mkdtempSync(join(tmpdir(), 'nabla-mnist-bad-'));
    try {
      copyFileSync(sharedData('mnist-t10k-labels-idx1-ubyte.gz'), join(d, 't10k-labels-idx1-ubyte.gz'));
      writeFileSync(join(d, 't10k-images-idx3-ubyte'), idx(0x08, [10000, 28, 28], new Uint8Array(100)));
      assert.throws(
        () => MNIST({ root: d, train: false }),
        /t10k-images-idx3-ubyte: truncated: dims \[10000, 28, 28\] need 7840000 bytes/,
      );
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('CharDataset', () => {
  it('vocabulary, shifted int32 pairs, encode/decode, batches', () => {
    const ds = new CharDataset('hello world', 4);
    assert.deepEqual(ds.itos, [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
    assert.equal(ds.length, 7);
    const [x, y] = ds.getItem(1);
    assert.equal(ds.decode(x), 'ello');
    assert.equal(ds.decode(y), 'llo ');
    assert.equal(x.dtype, 'int32');
    assert.equal(ds.decode(ds.encode('world')), 'world');
    assert.throws(() => ds.encode('!'), /character "!" at position 0 is not in the vocabulary/);
    const [bx, by] = [...new DataLoader(ds, { batchSize: 3 })][0];
    assert.deepEqual(bx.shape, [3, 4]);
    assert.equal(ds.decode(by.select(0, 2)), 'lo w');
    assert.throws(() => new CharDataset('abc', 3), /needs at least 4/);
  });
  it('tinyshakespeare: 65 characters', { skip: skipUnlessShared('tinyshakespeare.txt') }, () => {
    const ds = CharDataset.fromFile(sharedData('tinyshakespeare.txt'), 8);
    assert.equal(ds.vocabSize, 65);
    assert.equal(ds.length, 1115394 - 8);
    assert.equal(ds.decode(ds.getItem(0)[0]), 'First Ci');
  });
});

describe('CSV', () => {
  it('quotes, escaped quotes, embedded newlines, CRLF, BOM; toTensor', () => {
    const t = parseCsv('\ufeffa,b,name\r\n1,2.5,"x, ""y"""\r\n3,-4,"multi\nline"\n');
    assert.deepEqual(t.header, ['a', 'b', 'name']);
    assert.deepEqual(t.column('name'), ['x, "y"', 'multi\nline']);
    assert.deepEqual(t.toTensor(['a', 'b']).toArray(), [
      [1, 2.5],
      [3, -4],
    ]);
    assert.deepEqual(parseCsv('1;2\n3;4', { header: false, delimiter: ';' }).toTensor(undefined, 'int32').toArray(), [
      [1, 2],
      [3, 4],
    ]);
  });
  it('errors name the row, column and line', () => {
    assert.throws(() => parseCsv('a,b\n1,2\n3\n'), /row 2 has 1 fields, expected 2 \(as the header\)/);
    assert.throws(() => parseCsv('a\n"oops\n'), /unterminated quoted field starting on line 2/);
    assert.throws(() => parseCsv('a,b\n1,x\n').toTensor(), /row 1, column 'b': 'x' is not a number/);
    assert.throws(() => parseCsv('a\n1\n').column('z'), /no column named 'z' \(columns: a\)/);
  });
  it('reads the shared digits.csv (1797 rows of 64 pixels and a label)', {
    skip: skipUnlessShared('digits.csv'),
  }, () => {
    const t = readCsv(sharedData('digits.csv'));
    assert.equal(t.numRows, 1797);
    assert.equal(t.header!.length, 65);
    const lab = t.toTensor(['label'], 'int32');
    assert.deepEqual(Array.from(lab.toTypedArray()), Array.from(digits().labels));
  });
});
