// Regression tests for issue #24's hostile images: PIL's pixel limit checked on the header before
// any decoding, image data checked for completeness (PIL: "truncated"), regular files only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import pngjs from 'pngjs';
import { Image, decodeImage, encodePng, readImage } from '../../src/vision/image.js';

const SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
function chunk(type: string, data: Buffer): Buffer {
  const b = Buffer.alloc(12 + data.length);
  b.writeUInt32BE(data.length, 0);
  b.write(type, 4, 'latin1');
  data.copy(b, 8);
  b.writeUInt32BE(crc32(b.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return b;
}
/** An 8-bit grey PNG with the given IHDR size and (already filtered) image data. */
function greyPng(w: number, h: number, raw: Buffer, interlace = 0): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 0;
  ihdr[12] = interlace;
  return Buffer.concat([SIG, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
/** Rows of `px` (h, w) with filter type 0 in front of each. */
const rows = (px: Uint8Array, w: number, h: number) =>
  Buffer.concat(Array.from({ length: h }, (_, y) => Buffer.concat([Buffer.from([0]), px.subarray(y * w, y * w + w)])));

test("#24.4 a PNG header above PIL's limit is refused before decoding", () => {
  // the reproducer: 1 MB of PNG declaring 16384 x 16384 (3.9 GB peak on main)
  const t0 = performance.now();
  assert.throws(
    () => decodeImage(greyPng(16384, 16384, Buffer.alloc(0)), 'huge.png'),
    /decodeImage\(huge\.png\): .*16384x16384 = 268435456 pixels, more than the limit of 178956970/,
  );
  // just above 2 * PIL's MAX_IMAGE_PIXELS
  assert.throws(() => decodeImage(greyPng(13377, 13378, Buffer.alloc(0))), /more than the limit of 178956970/);
  assert.ok(performance.now() - t0 < 2000);
});

test('#24.5 a PNG whose IHDR lies about its width is truncated, not zero-filled', () => {
  const w = 64,
    h = 64,
    px = new Uint8Array(w * h).fill(0);
  assert.throws(
    () => decodeImage(greyPng(w * 32, h, rows(px, w, h)), 'liar.png'),
    /image data is truncated: 4160 bytes, IHDR 2048x64 needs 131136/,
  );
  const good = greyPng(w, h, rows(px.fill(200), w, h));
  assert.equal(decodeImage(good).data[0], 200);
  // the image data stream cut short
  const short = greyPng(w, h, rows(px, w, h).subarray(0, 1000));
  assert.throws(() => decodeImage(short, 'short.png'), /decodeImage\(short\.png\): .*truncated/);
});

test('PNG: Adam7-interlaced data is sized per pass', () => {
  const W = 13,
    H = 11;
  const px = Uint8Array.from({ length: W * H }, (_, i) => (i * 37) & 0xff);
  const passes = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ];
  const parts: Buffer[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    if (x0 >= W || y0 >= H) continue;
    for (let y = y0; y < H; y += dy) {
      const row = [0];
      for (let x = x0; x < W; x += dx) row.push(px[y * W + x]);
      parts.push(Buffer.from(row));
    }
  }
  const img = decodeImage(greyPng(W, H, Buffer.concat(parts), 1));
  assert.equal(img.mode, 'L');
  assert.deepEqual(Array.from(img.data), Array.from(px));
  // one byte short of the last pass
  assert.throws(() => decodeImage(greyPng(W, H, Buffer.concat(parts).subarray(0, -1), 1)), /truncated/);
});

test('PNG: the in-place 8-bit path matches pngjs for every filter and colour type', () => {
  const W = 17,
    H = 9;
  const png = new pngjs.PNG({ width: W, height: H });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 97 + (i >> 5) * 31) & 0xff;
  for (const colorType of [0, 2, 4, 6] as const) {
    for (const filterType of [0, 1, 2, 3, 4]) {
      const bytes = pngjs.PNG.sync.write(png, { colorType, inputColorType: 6, filterType });
      const ref = pngjs.PNG.sync.read(bytes);
      const rgba = new Image(W, H, 'RGBA', new Uint8Array(ref.data.buffer, ref.data.byteOffset, ref.data.length));
      const want = colorType === 6 ? rgba : rgba.convert(colorType === 2 ? 'RGB' : 'L');
      const got = decodeImage(bytes);
      assert.equal(got.mode, want.mode, `colour type ${colorType}`);
      assert.deepEqual(Array.from(got.data), Array.from(want.data), `colour type ${colorType}, filter ${filterType}`);
    }
  }
});

test('PNG: encodePng round trip still decodes', () => {
  const img = new Image(
    3,
    2,
    'RGB',
    Uint8Array.from({ length: 18 }, (_, i) => i * 13),
  );
  assert.deepEqual(Array.from(decodeImage(encodePng(img)).convert('RGB').data), Array.from(img.data));
});

test('#24.2 readImage reads regular files only', { skip: process.platform === 'win32' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-img-'));
  try {
    const fifo = join(dir, 'x.png');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return;
    assert.throws(() => readImage(fifo), /readImage\(.*x\.png\): not a regular file/);
    const ok = join(dir, 'ok.png');
    writeFileSync(ok, encodePng(new Image(1, 1, 'L', Uint8Array.of(9))));
    assert.equal(readImage(ok).data[0], 9);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
