// torchvision.utils.make_grid and save_image: a batch of images tiled into one, written as PNG.
// Glossary: B images, C channels (1 or 3), H W image size, nrow images per row.

import type { Tensor } from '../tensor/tensor.js';
import { fromTypedArray } from '../tensor/creation.js';
import { writeAtomic } from '../io/atomic.js';
import { Image, encodePng } from './image.js';

export interface MakeGridOptions {
  /** Images per row (default 8). */
  nrow?: number;
  /** Pixels between and around the images (default 2). */
  padding?: number;
  /** Value of the padding pixels (default 0). */
  padValue?: number;
}

/**
 * Tiles images (B, C, H, W) into one (C', rows * (H + p) + p, nrow * (W + p) + p), C' = 3 as torchvision
 * (a 1-channel batch is repeated to RGB). Values are kept as they are.
 */
export function makeGrid(images: Tensor, opts: MakeGridOptions = {}): Tensor {
  if (images.ndim !== 4 || (images.shape[1] !== 1 && images.shape[1] !== 3))
    throw new Error(`makeGrid: expected images (B, 1 or 3, H, W), got [${images.shape}]`);
  const [B, C, H, W] = images.shape;
  if (B === 0) throw new Error('makeGrid: no images to tile (B = 0)');
  const nrow = opts.nrow ?? 8,
    p = opts.padding ?? 2;
  if (!Number.isInteger(nrow) || nrow < 1) throw new Error(`makeGrid: nrow must be a positive integer, got ${nrow}`);
  if (!Number.isInteger(p) || p < 0) throw new Error(`makeGrid: padding must be a non-negative integer, got ${p}`);
  const cols = Math.min(nrow, B),
    rows = Math.ceil(B / cols);
  const GH = rows * (H + p) + p,
    GW = cols * (W + p) + p;
  const src = images.contiguous().float().toTypedArray() as Float32Array;
  const out = new Float32Array(3 * GH * GW).fill(opts.padValue ?? 0);
  for (let b = 0; b < B; b++) {
    const oy = p + Math.floor(b / cols) * (H + p),
      ox = p + (b % cols) * (W + p);
    for (let c = 0; c < 3; c++) {
      const sc = C === 1 ? 0 : c;
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) out[(c * GH + oy + y) * GW + ox + x] = src[((b * C + sc) * H + y) * W + x];
    }
  }
  return fromTypedArray(out, [3, GH, GW]);
}

/** An image tensor (C, H, W) with values in [0, 1] (clamped) as an 8-bit Image, rounded as torchvision's save_image. */
export function toImage(t: Tensor): Image {
  if (t.ndim !== 3 || (t.shape[0] !== 1 && t.shape[0] !== 3))
    throw new Error(`toImage: expected an image (1 or 3, H, W), got [${t.shape}]`);
  const [C, H, W] = t.shape;
  const v = t.contiguous().float().toTypedArray() as Float32Array;
  const data = new Uint8Array(H * W * C);
  for (let c = 0; c < C; c++)
    for (let i = 0; i < H * W; i++) data[i * C + c] = Math.round(Math.min(1, Math.max(0, v[c * H * W + i])) * 255);
  return new Image(W, H, C === 1 ? 'L' : 'RGB', data);
}

/** Writes images (B, C, H, W) in [0, 1] as one PNG grid (torchvision.utils.save_image), atomically. */
export function saveImage(images: Tensor, path: string, opts: MakeGridOptions = {}): void {
  const grid = images.ndim === 3 ? images : makeGrid(images, opts);
  writeAtomic(path, [encodePng(toImage(grid))]);
}
