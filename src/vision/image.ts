// Images: decoding PNG (pngjs) and JPEG (jpeg-js) into an 8-bit, channels-last `Image`, and
// converting between modes the way PIL does (torchvision's ImageFolder loads with .convert('RGB')).
// Glossary: H height, W width, C channels (1 = 'L', 3 = 'RGB', 4 = 'RGBA').

import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  createRequire,
  inflateSync,
  process,
  Buffer,
  IS_NODE,
} from '../platform/node.js';
import jpeg from 'jpeg-js';
import { asBytes, type Bytes } from '../util/bytes.js';
import type { Tensor } from '../tensor/tensor.js';
import { fromTypedArray } from '../tensor/creation.js';

/** PIL's modes: 'L' 8-bit grey (1 channel), 'RGB' (3 channels), 'RGBA' (4 channels). */
export type ImageMode = 'L' | 'RGB' | 'RGBA';

const CHANNELS: Record<ImageMode, number> = { L: 1, RGB: 3, RGBA: 4 };
/**
 * PIL's decompression-bomb limits: above MAX_IMAGE_PIXELS a warning, above twice that an error, both
 * from the header before anything is decoded (PIL's Image.MAX_IMAGE_PIXELS and DecompressionBombError).
 */
export const MAX_IMAGE_PIXELS = 89_478_485;

function checkPixels(w: number, h: number, fmt: string, warn = true): void {
  if (w === 0 || h === 0) throw new Error(`${fmt} header declares a ${w}x${h} image`);
  const n = w * h;
  if (n > 2 * MAX_IMAGE_PIXELS) {
    const limit = 2 * MAX_IMAGE_PIXELS;
    throw new Error(
      `${fmt} header declares ${w}x${h} = ${n} pixels, more than the limit of ${limit} (decompression bomb?)`,
    );
  }
  if (warn && n > MAX_IMAGE_PIXELS) {
    const msg = `image of ${n} pixels exceeds ${MAX_IMAGE_PIXELS} pixels (could be a decompression bomb)`;
    process.emitWarning(msg, 'DecompressionBombWarning');
  }
}

/** An 8-bit image stored channels-last: data (H, W, C). */
export class Image {
  constructor(
    readonly width: number,
    readonly height: number,
    readonly mode: ImageMode,
    readonly data: Uint8Array,
  ) {
    const n = width * height * CHANNELS[mode];
    if (data.length !== n) throw new Error(`Image: ${mode} ${width}x${height} needs ${n} bytes, got ${data.length}`);
  }

  get channels(): number {
    return CHANNELS[this.mode];
  }
  get size(): [number, number] {
    return [this.width, this.height];
  }

  /** Converts between L, RGB and RGBA as PIL does (L = ITU-R 601-2 luma, rounded; alpha dropped, not composited). */
  convert(mode: ImageMode): Image {
    if (mode === this.mode) return this;
    const n = this.width * this.height,
      c = this.channels,
      oc = CHANNELS[mode];
    const out = new Uint8Array(n * oc);
    const d = this.data;
    for (let i = 0; i < n; i++) {
      if (mode === 'L') {
        // PIL: L = R * 299/1000 + G * 587/1000 + B * 114/1000, in fixed point with rounding
        out[i] = c === 1 ? d[i] : (d[i * c] * 19595 + d[i * c + 1] * 38470 + d[i * c + 2] * 7471 + 0x8000) >> 16;
        continue;
      }
      for (let k = 0; k < 3; k++) out[i * oc + k] = c === 1 ? d[i] : d[i * c + k];
      if (oc === 4) out[i * oc + 3] = c === 4 ? d[i * c + 3] : 255;
    }
    return new Image(this.width, this.height, mode, out);
  }

  /** (C, H, W) float32 in [0, 1], as torchvision's ToTensor. */
  toTensor(): Tensor {
    const { width: W, height: H } = this,
      C = this.channels;
    const out = new Float32Array(C * H * W);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < C; c++) {
          out[(c * H + y) * W + x] = this.data[(y * W + x) * C + c] / 255;
        }
    return fromTypedArray(out, [C, H, W]);
  }

  /** An image from a (C, H, W) tensor in [0, 1] (or an 8-bit (H, W, C) buffer). */
  static fromTensor(t: Tensor): Image {
    if (t.ndim !== 3 || ![1, 3, 4].includes(t.shape[0])) {
      throw new Error(
        `Image.fromTensor: expected a (C, H, W) tensor with C in {1, 3, 4}, got shape [${t.shape.join(', ')}]`,
      );
    }
    const [C, H, W] = t.shape;
    const v = t.toTypedArray();
    const out = new Uint8Array(C * H * W);
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H * W; i++) {
        out[i * C + c] = Math.min(255, Math.max(0, Math.round(v[c * H * W + i] * 255)));
      }
    return new Image(W, H, C === 1 ? 'L' : C === 3 ? 'RGB' : 'RGBA', out);
  }
}

type Format = 'png' | 'jpeg';

function sniff(buf: Uint8Array): Format | null {
  if (buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47) return 'png';
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  return null;
}

/** Decodes PNG or JPEG bytes. `name` (a path) goes into error messages. */
export function decodeImage(buf: Uint8Array, name = '<buffer>'): Image {
  const fmt = sniff(buf);
  if (fmt === null) {
    const head = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(
      `decodeImage(${name}): unsupported image format (first bytes ${head || 'none'}); PNG and JPEG are supported`,
    );
  }
  if (fmt === 'png' && !IS_NODE) {
    throw new Error(
      `decodeImage(${name}): PNG decoding needs Node.js (zlib); in the browser pass a JPEG, or draw the image ` +
        'on a canvas and build a tensor from its ImageData',
    );
  }
  try {
    if (fmt === 'png') return decodePng(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
    const sof = jpegSize(buf);
    if (sof) checkPixels(sof[0], sof[1], 'JPEG');
    // NOTE: tolerantDecoding: false refuses scans with missing blocks instead of leaving them zero.
    const j = jpeg.decode(buf, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxResolutionInMP: (2 * MAX_IMAGE_PIXELS) / 1e6,
      maxMemoryUsageInMB: 2048,
    });
    return new Image(j.width, j.height, 'RGB', j.data as Uint8Array);
  } catch (e) {
    throw new Error(`decodeImage(${name}): corrupt or truncated ${fmt.toUpperCase()} file: ${(e as Error).message}`);
  }
}

/** Width and height from a JPEG's first start-of-frame marker, if one is found. */
function jpegSize(b: Uint8Array): [number, number] | undefined {
  let p = 2;
  while (p + 9 < b.length) {
    if (b[p] !== 0xff) return undefined;
    const m = b[p + 1];
    if (m === 0xff) {
      p++;
      continue;
    }
    const len = (b[p + 2] << 8) | b[p + 3];
    const sof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (sof) return [(b[p + 7] << 8) | b[p + 8], (b[p + 5] << 8) | b[p + 6]]; // [width, height]
    if (m === 0xda) return undefined;
    p += 2 + len;
  }
  return undefined;
}

// pngjs's own pieces, run by decodePngData so that the inflated image data can be checked for
// completeness (pngjs's sync reader zero-fills a short stream: an IHDR that lies about the width
// decoded to an all-zero picture where PIL says "truncated").
// biome-ignore lint/suspicious/noExplicitAny: pngjs's internal modules ship no types
type Untyped = any;
// NOTE: loaded on first use, not at import: pngjs needs Node's zlib and streams, and a browser bundle
// must load this module (JPEG decoding, Image) without them.
let pngLib: Record<'PNG' | 'Parser' | 'Reader' | 'filter' | 'bitmapper' | 'normalise' | 'interlace', Untyped>;
function png(): typeof pngLib {
  if (pngLib) return pngLib;
  const req = createRequire(import.meta.url);
  pngLib = {
    PNG: req('pngjs').PNG,
    Parser: req('pngjs/lib/parser.js'),
    Reader: req('pngjs/lib/sync-reader.js'),
    filter: req('pngjs/lib/filter-parse-sync.js'),
    bitmapper: req('pngjs/lib/bitmapper.js'),
    normalise: req('pngjs/lib/format-normaliser.js'),
    interlace: req('pngjs/lib/interlace.js'),
  };
  return pngLib;
}

interface PngMeta {
  width: number;
  height: number;
  depth: number;
  bpp: number;
  interlace: boolean;
  colorType: number;
  data?: Buffer;
}

/** Bytes of filtered image data an IHDR implies: a filter byte plus the packed pixels per row, per pass. */
function pngDataSize(m: PngMeta): number {
  const passes: { width: number; height: number }[] = m.interlace
    ? png().interlace.getImagePasses(m.width, m.height)
    : [m];
  let n = 0;
  for (const p of passes) n += (((p.width * m.bpp * m.depth + 7) >> 3) + 1) * p.height;
  return n;
}

/**
 * pngjs's PNG.sync.read, with the pixel limit checked at IHDR and the image data's length checked;
 * the common 8-bit formats come back as an `image` directly (unfilter8).
 */
function decodePngData(buf: Buffer): { meta: PngMeta; image?: Image } {
  let err: Error | undefined;
  let meta: PngMeta | undefined;
  const idat: Buffer[] = [];
  const reader = new (png().Reader)(buf);
  const parser = new (png().Parser)(
    {},
    {
      read: reader.read.bind(reader),
      error: (e: Error) => {
        err = e;
      },
      metadata: (m: PngMeta) => {
        meta = m;
        checkPixels(m.width, m.height, 'PNG', false);
      },
      gamma: () => {},
      palette: (p: unknown) => {
        (meta as Untyped).palette = p;
      },
      transColor: (t: unknown) => {
        (meta as Untyped).transColor = t;
      },
      inflateData: (d: Buffer) => {
        idat.push(d);
      },
      simpleTransparency: () => {
        (meta as Untyped).alpha = true;
      },
    },
  );
  parser.start();
  reader.process();
  if (err) throw err;
  if (!meta) throw new Error('no IHDR chunk');
  const need = pngDataSize(meta);
  let data: Buffer;
  try {
    // NOTE: one output chunk just above the size: a single buffer, no concatenation at the end.
    data = inflateSync(Buffer.concat(idat), { maxOutputLength: need, chunkSize: Math.max(64, need + 1) });
  } catch (e) {
    throw new Error(`image data: ${(e as Error).message} (IHDR: ${meta.width}x${meta.height} needs ${need} bytes)`);
  }
  idat.length = 0;
  if (data.length !== need) {
    throw new Error(`image data is truncated: ${data.length} bytes, IHDR ${meta.width}x${meta.height} needs ${need}`);
  }
  if (meta.depth === 8 && !meta.interlace && meta.colorType !== 3) return { meta, image: unfilter8(data, meta) };
  const bitmap = png().bitmapper.dataToBitMap(png().filter.process(data, meta), meta);
  meta.data = png().normalise(bitmap, meta, false);
  return { meta };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * The common PNG (8-bit grey, grey+alpha, RGB or RGBA, not interlaced): the filters are undone in
 * place in the inflated data and the rows copied once into the image, so decoding holds two copies
 * of the picture at most (pngjs's general path holds five: lines, their concatenation, RGBA...).
 * Grey+alpha becomes L, dropping alpha, as the general path does.
 */
function unfilter8(d: Buffer, m: PngMeta): Image {
  const W = m.width,
    H = m.height,
    bpp = m.bpp,
    stride = W * bpp;
  for (let y = 0; y < H; y++) {
    const at = y * (stride + 1),
      row = at + 1,
      up = row - stride - 1,
      f = d[at];
    if (f === 0) continue;
    if (f === 1) {
      for (let i = bpp; i < stride; i++) d[row + i] = (d[row + i] + d[row + i - bpp]) & 255;
    } else if (f === 2) {
      if (y > 0) for (let i = 0; i < stride; i++) d[row + i] = (d[row + i] + d[up + i]) & 255;
    } else if (f === 3) {
      for (let i = 0; i < stride; i++) {
        const left = i >= bpp ? d[row + i - bpp] : 0,
          above = y > 0 ? d[up + i] : 0;
        d[row + i] = (d[row + i] + ((left + above) >> 1)) & 255;
      }
    } else if (f === 4) {
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? d[row + i - bpp] : 0,
          b = y > 0 ? d[up + i] : 0,
          c = i >= bpp && y > 0 ? d[up + i - bpp] : 0;
        const p = a + b - c,
          pa = Math.abs(p - a),
          pb = Math.abs(p - b),
          pc = Math.abs(p - c);
        d[row + i] = (d[row + i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
      }
    } else {
      throw new Error(`unknown filter type ${f} in row ${y}`);
    }
  }
  const mode: ImageMode = m.colorType === 2 ? 'RGB' : m.colorType === 6 ? 'RGBA' : 'L';
  const out = new Uint8Array(W * H * CHANNELS[mode]);
  for (let y = 0; y < H; y++) {
    const row = y * (stride + 1) + 1;
    if (m.colorType === 4) for (let x = 0; x < W; x++) out[y * W + x] = d[row + 2 * x];
    else out.set(d.subarray(row, row + stride), y * stride);
  }
  return new Image(W, H, mode, out);
}

function decodePng(buf: Buffer): Image {
  // IHDR: width and height are big-endian u32 at bytes 16 and 20; check them before pngjs allocates
  if (buf.length < 33) throw new Error('file too short for a PNG header');
  checkPixels(buf.readUInt32BE(16), buf.readUInt32BE(20), 'PNG');
  const { meta, image } = decodePngData(buf);
  if (image) return image;
  const d = meta.data!;
  const rgba = new Image(meta.width, meta.height, 'RGBA', new Uint8Array(d.buffer, d.byteOffset, d.length));
  // colorType bit 2 = alpha, bit 1 = colour
  const ct = meta.colorType ?? 6;
  if ((ct & 2) === 0) return rgba.convert('L');
  return (ct & 4) === 0 ? rgba.convert('RGB') : rgba;
}

/**
 * Reads and decodes an image file, a path or its bytes (nb.io.fetchBytes); `mode` converts it
 * (torchvision's default loader uses 'RGB'). In the browser JPEG decodes, PNG needs Node's zlib.
 * Without `mode` the file's own mode is kept: 'L' for grey PNGs, 'RGB' for JPEGs and colour PNGs,
 * 'RGBA' for PNGs with alpha. `image.toTensor()` (or `transforms.ToTensor()`) gives float32 (C, H, W) in [0, 1].
 * @example
 * ```ts
 * const img = nb.vision.readImage('cat.jpg', 'RGB');   // Image, img.width x img.height
 * const x = img.toTensor().unsqueeze(0);               // (1, 3, H, W)
 * ```
 */
export function readImage(path: string | Bytes, mode?: ImageMode): Image {
  const bytes = typeof path === 'string' ? undefined : asBytes(path);
  if (typeof path !== 'string' && !bytes)
    throw new TypeError(`readImage: expected a path or bytes, got ${typeof path}`);
  const img = bytes ? decodeImage(bytes) : decodeImage(readRegularFile(path as string), path as string);
  return mode ? img.convert(mode) : img;
}

/**
 * The bytes of a regular file. NOTE: O_NONBLOCK and fstat on the open descriptor, so a FIFO or a
 * device (endless /dev/zero) is refused instead of blocking the event loop or filling memory.
 */
function readRegularFile(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new Error(`readImage(${path}): ${(e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`readImage(${path}): not a regular file; only regular files are read`);
    const buf = Buffer.allocUnsafe(st.size);
    let done = 0;
    while (done < buf.length) {
      const n = readSync(fd, buf, done, buf.length - done, done);
      if (n === 0) throw new Error(`readImage(${path}): the file shrank while being read`);
      done += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/**
 * Encodes an image as PNG bytes (RGBA or RGB or L). It is a Node Buffer, typed as Uint8Array so that
 * nabla's .d.ts files need no @types/node.
 */
export function encodePng(img: Image): Uint8Array {
  const rgba = img.convert('RGBA');
  const out = new (png().PNG)({ width: img.width, height: img.height });
  Buffer.from(rgba.data.buffer, rgba.data.byteOffset, rgba.data.length).copy(out.data);
  return png().PNG.sync.write(out);
}
