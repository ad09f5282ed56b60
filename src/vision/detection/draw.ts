// Drawing detections, as torchvision.utils.draw_bounding_boxes (without text: labels go to the
// caller's legend): box outlines of a given width in a colour per class, on an RGB copy of the image,
// optionally enlarged (nearest) first so that small scenes stay readable.

import { Image } from '../image.js';
import { fmtShape } from '../../tensor/layout.js';
import type { Tensor } from '../../tensor/tensor.js';
import { checkBoxes } from '../ops/boxes.js';

/** A palette of 20 distinct colours (tab20). */
export const PALETTE: readonly [number, number, number][] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [188, 189, 34],
  [23, 190, 207],
  [255, 187, 120],
  [152, 223, 138],
  [255, 152, 150],
  [197, 176, 213],
  [196, 156, 148],
  [247, 182, 210],
  [219, 219, 141],
  [158, 218, 229],
  [174, 199, 232],
  [127, 127, 127],
  [255, 255, 255],
];

export interface DrawBoxesOptions {
  /** Class id of each box (picks its colour); default all 0. */
  labels?: readonly number[];
  /** Outline width in output pixels. Default 1. */
  width?: number;
  /** Integer enlargement of the image (and boxes) before drawing. Default 1. */
  scale?: number;
}

/** An RGB image with the xyxy boxes (n, 4), in the image's pixel coordinates, outlined. */
export function drawBoundingBoxes(image: Image, boxes: Tensor, o: DrawBoxesOptions = {}): Image {
  const op = 'drawBoundingBoxes';
  checkBoxes(op, boxes);
  const scale = o.scale ?? 1,
    lw = o.width ?? 1;
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`${op}: scale must be a positive integer, got ${scale}`);
  if (o.labels && o.labels.length !== boxes.shape[0])
    throw new Error(`${op}: ${o.labels.length} labels for boxes ${fmtShape(boxes.shape)}`);
  const src = image.convert('RGB');
  const W = src.width * scale,
    H = src.height * scale;
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const s = (Math.floor(y / scale) * src.width + Math.floor(x / scale)) * 3;
      out.set(src.data.subarray(s, s + 3), (y * W + x) * 3);
    }
  const b = boxes.detach().to('float64').contiguous().toTypedArray() as Float64Array;
  const put = (x: number, y: number, c: readonly number[]) => {
    if (x >= 0 && x < W && y >= 0 && y < H) out.set(c, (y * W + x) * 3);
  };
  for (let i = 0; i < b.length / 4; i++) {
    const c = PALETTE[(o.labels?.[i] ?? 0) % PALETTE.length];
    const [x1, y1, x2, y2] = [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]].map((v) => Math.round(v * scale));
    for (let t = 0; t < lw; t++) {
      for (let x = x1; x < x2; x++) {
        put(x, y1 + t, c);
        put(x, y2 - 1 - t, c);
      }
      for (let y = y1; y < y2; y++) {
        put(x1 + t, y, c);
        put(x2 - 1 - t, y, c);
      }
    }
  }
  return new Image(W, H, 'RGB', out);
}
