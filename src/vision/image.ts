// Images: decoding PNG (pngjs) and JPEG (jpeg-js) into an 8-bit, channels-last `Image`, and
// converting between modes the way PIL does (torchvision's ImageFolder loads with .convert('RGB')).
// Glossary: H height, W width, C channels (1 = 'L', 3 = 'RGB', 4 = 'RGBA').

import { readFileSync } from 'node:fs';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { Tensor } from '../tensor/tensor.js';
import { fromTypedArray } from '../tensor/creation.js';

export type ImageMode = 'L' | 'RGB' | 'RGBA';

const CHANNELS: Record<ImageMode, number> = { L: 1, RGB: 3, RGBA: 4 };
/** The most pixels a decoded image may have (a 16k x 16k picture); larger headers are rejected before decoding. */
const MAX_PIXELS = 16384 * 16384;

/** An 8-bit image stored channels-last: data (H, W, C). */
export class Image {
  constructor(readonly width: number, readonly height: number, readonly mode: ImageMode, readonly data: Uint8Array) {
    const n = width * height * CHANNELS[mode];
    if (data.length !== n) throw new Error(`Image: ${mode} ${width}x${height} needs ${n} bytes, got ${data.length}`);
  }

  get channels(): number { return CHANNELS[this.mode]; }
  get size(): [number, number] { return [this.width, this.height]; }

  /** Converts between L, RGB and RGBA as PIL does (L = ITU-R 601-2 luma, rounded; alpha dropped, not composited). */
  convert(mode: ImageMode): Image {
    if (mode === this.mode) return this;
    const n = this.width * this.height, c = this.channels, oc = CHANNELS[mode];
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
    const { width: W, height: H } = this, C = this.channels;
    const out = new Float32Array(C * H * W);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
      out[(c * H + y) * W + x] = this.data[(y * W + x) * C + c] / 255;
    }
    return fromTypedArray(out, [C, H, W]);
  }

  /** An image from a (C, H, W) tensor in [0, 1] (or an 8-bit (H, W, C) buffer). */
  static fromTensor(t: Tensor): Image {
    if (t.ndim !== 3 || ![1, 3, 4].includes(t.shape[0])) {
      throw new Error(`Image.fromTensor: expected a (C, H, W) tensor with C in {1, 3, 4}, got shape [${t.shape.join(', ')}]`);
    }
    const [C, H, W] = t.shape;
    const v = t.toTypedArray();
    const out = new Uint8Array(C * H * W);
    for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) {
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
    throw new Error(`decodeImage(${name}): unsupported image format (first bytes ${head || 'none'}); PNG and JPEG are supported`);
  }
  try {
    if (fmt === 'png') return decodePng(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
    const j = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
    return new Image(j.width, j.height, 'RGB', j.data as Uint8Array);
  } catch (e) {
    throw new Error(`decodeImage(${name}): corrupt or truncated ${fmt.toUpperCase()} file: ${(e as Error).message}`);
  }
}

function decodePng(buf: Buffer): Image {
  // IHDR: width and height are big-endian u32 at bytes 16 and 20; check them before pngjs allocates
  if (buf.length < 33) throw new Error('file too short for a PNG header');
  const w = buf.readUInt32BE(16), h = buf.readUInt32BE(20);
  if (w === 0 || h === 0 || w * h > MAX_PIXELS) throw new Error(`PNG header declares a ${w}x${h} image`);
  const png = pngjs.PNG.sync.read(buf);
  const rgba = new Image(png.width, png.height, 'RGBA', new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length));
  // colorType bit 2 = alpha, bit 1 = colour
  const ct = png.colorType ?? 6;
  if ((ct & 2) === 0) return rgba.convert('L');
  return (ct & 4) === 0 ? rgba.convert('RGB') : rgba;
}

/** Reads and decodes an image file; `mode` converts it (torchvision's default loader uses 'RGB'). */
export function readImage(path: string, mode?: ImageMode): Image {
  let buf: Buffer;
  try { buf = readFileSync(path); } catch (e) { throw new Error(`readImage(${path}): ${(e as Error).message}`); }
  const img = decodeImage(buf, path);
  return mode ? img.convert(mode) : img;
}

/** Encodes an image as PNG bytes (RGBA or RGB or L). */
export function encodePng(img: Image): Buffer {
  const rgba = img.convert('RGBA');
  const png = new pngjs.PNG({ width: img.width, height: img.height });
  Buffer.from(rgba.data.buffer, rgba.data.byteOffset, rgba.data.length).copy(png.data);
  return pngjs.PNG.sync.write(png);
}
