// keras.datasets: loadData from a local folder (../shared/data), from Keras's download folder (a
// stand-in served on loopback: Fashion-MNIST's IDX .gz files), mnist.npz's parser, and get_file's
// cache, sha256 check, atomic write and offline error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import * as nb from './nb.js';
import { serializeNpz } from '../../src/io/npy.js';
import { SHARED_DATA, skipUnlessShared } from '../helpers/data.js';

const D = nb.keras.datasets;

/** IDX bytes: magic (0, 0, 0x08 = uint8, rank), big-endian dims, then the data. */
function idx(shape: number[], data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * shape.length);
  const v = new DataView(head.buffer);
  v.setUint8(2, 0x08);
  v.setUint8(3, shape.length);
  shape.forEach((d, i) => {
    v.setUint32(4 + 4 * i, d);
  });
  return Buffer.concat([head, data]);
}

async function serve(files: Record<string, Uint8Array>): Promise<{ server: Server; url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    const name = (req.url ?? '').replace(/^\/mirror\//, '');
    hits.push(name);
    const body = files[name];
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mirror/`, hits };
}

test('fashionMnist.loadData({root}) reads ../shared/data: 60,000 + 10,000 images 28x28, pixel values 0..255', {
  skip: skipUnlessShared('fashion-train-images-idx3-ubyte.gz', 'fashion-t10k-labels-idx1-ubyte.gz'),
}, async () => {
  const [[xTrain, yTrain], [xTest, yTest]] = await D.fashionMnist.loadData({ root: SHARED_DATA });
  assert.deepEqual(
    [xTrain.shape, yTrain.shape, xTest.shape, yTest.shape],
    [[60000, 28, 28], [60000], [10000, 28, 28], [10000]],
  );
  assert.equal(xTrain.max().item(), 255);
  assert.equal(yTest.dtype, 'int32');
  assert.deepEqual(yTrain.narrow(0, 0, 5).tolist(), [9, 0, 0, 3, 0]);
});

test('fashionMnist.loadData downloads the four IDX files into KERAS_HOME once, then reads the cache', async () => {
  const pix = (n: number, k: number) => Uint8Array.from({ length: n * 4 }, (_, i) => (i * k) % 256);
  const files = {
    'train-images-idx3-ubyte.gz': gzipSync(idx([3, 2, 2], pix(3, 7))),
    'train-labels-idx1-ubyte.gz': gzipSync(idx([3], Uint8Array.of(4, 1, 9))),
    't10k-images-idx3-ubyte.gz': gzipSync(idx([2, 2, 2], pix(2, 3))),
    't10k-labels-idx1-ubyte.gz': gzipSync(idx([2], Uint8Array.of(0, 5))),
  };
  const { server, url, hits } = await serve(files);
  try {
    const cacheDir = mkdtempSync(join(tmpdir(), 'nabla-kds-'));
    const [[x, y], [xt, yt]] = await D.fashionMnist.loadData({ origin: url, cacheDir, progress: false });
    assert.deepEqual(x.shape, [3, 2, 2]);
    assert.deepEqual(x.reshape([-1]).tolist(), Array.from(pix(3, 7)));
    assert.deepEqual(y.tolist(), [4, 1, 9]);
    assert.deepEqual(
      [xt.shape, yt.tolist()],
      [
        [2, 2, 2],
        [0, 5],
      ],
    );
    assert.deepEqual(readdirSync(join(cacheDir, 'fashion-mnist')).sort(), Object.keys(files).sort());
    assert.equal(hits.length, 4);
    await D.fashionMnist.loadData({ origin: url, cacheDir });
    assert.equal(hits.length, 4, 'the second load reads the cache');
  } finally {
    server.close();
  }
});

test('getFile checks the sha256 and leaves no file behind on a mismatch; offline names the folder', async () => {
  const body = new TextEncoder().encode('mnist stand-in');
  const good = createHash('sha256').update(body).digest('hex');
  const { server, url } = await serve({ 'a.bin': body });
  const cacheDir = mkdtempSync(join(tmpdir(), 'nabla-kds-'));
  try {
    await assert.rejects(
      D.getFile('a.bin', `${url}a.bin`, { cacheDir, fileHash: '0'.repeat(64), progress: false }),
      /invalid hash value .*sha256 [0-9a-f]{64}, expected 0{64}; the download was removed/,
    );
    assert.deepEqual(readdirSync(cacheDir), []);
    const p = await D.getFile('a.bin', `${url}a.bin`, { cacheDir, fileHash: good, progress: false });
    assert.equal(p, join(cacheDir, 'a.bin'));
    await assert.rejects(D.getFile('b.bin', `${url}b.bin`, { cacheDir }), /HTTP 404[\s\S]*put b\.bin in /);
  } finally {
    server.close();
  }
  await assert.rejects(
    D.mnist.loadData({ origin: 'http://127.0.0.1:9/', cacheDir: join(cacheDir, 'empty') }),
    /cannot download http:\/\/127\.0\.0\.1:9\/mnist\.npz[\s\S]*put mnist\.npz in .*empty \(KERAS_HOME moves it\)/,
  );
});

test('parseMnistNpz reads x_train/y_train/x_test/y_test and names a missing array', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-kds-'));
  const u8 = (shape: number[], n: number) => ({
    shape,
    data: Uint8Array.from({ length: n }, (_, i) => i),
    as: 'U8' as const,
  });
  const arrays = { x_train: u8([2, 2, 2], 8), y_train: u8([2], 2), x_test: u8([1, 2, 2], 4), y_test: u8([1], 1) };
  writeFileSync(join(dir, 'm.npz'), serializeNpz(arrays));
  const [[x, y], [xt, yt]] = D.parseMnistNpz(join(dir, 'm.npz'));
  assert.deepEqual([x.shape, y.tolist(), xt.shape, yt.tolist()], [[2, 2, 2], [0, 1], [1, 2, 2], [0]]);
  const { y_test: _drop, ...partial } = arrays;
  writeFileSync(join(dir, 'p.npz'), serializeNpz(partial));
  assert.throws(() => D.parseMnistNpz(join(dir, 'p.npz')), /p\.npz has no 'y_test' array/);
});
