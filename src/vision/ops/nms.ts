// Non-maximum suppression as torchvision.ops.nms / batched_nms (0.14): greedy, by decreasing score,
// dropping every box whose IoU with a kept box is strictly greater than the threshold.
// Glossary: N boxes; boxes (N, 4) xyxy, scores (N), idxs (N) category of each box.
// NOTE: equal scores keep their input order (a stable sort); torchvision leaves the order of ties
// unspecified.

import type { Tensor } from '../../tensor/tensor.js';
import { fromTypedArray } from '../../tensor/creation.js';
import { fmtShape } from '../../tensor/layout.js';
import { checkBoxes } from './boxes.js';

function f64(t: Tensor): Float64Array {
  return t.detach().to('float64').contiguous().toTypedArray() as Float64Array;
}

function checkScores(op: string, boxes: Tensor, scores: Tensor, iouThreshold: number): void {
  checkBoxes(op, boxes);
  if (scores.ndim !== 1 || scores.shape[0] !== boxes.shape[0]) {
    const got = `boxes ${fmtShape(boxes.shape)} and scores ${fmtShape(scores.shape)}`;
    throw new Error(`${op}: expected scores (N) for boxes (N, 4), got ${got}`);
  }
  if (typeof iouThreshold !== 'number' || Number.isNaN(iouThreshold))
    throw new Error(`${op}: iouThreshold must be a number, got ${iouThreshold}`);
}

/** Greedy NMS over box rows `order` (already sorted by decreasing score) of b; returns kept rows. */
function greedy(b: Float64Array, order: number[], thr: number): number[] {
  const keep: number[] = [];
  const dead = new Uint8Array(b.length / 4);
  for (let a = 0; a < order.length; a++) {
    const i = order[a];
    if (dead[i]) continue;
    keep.push(i);
    const ax1 = b[4 * i],
      ay1 = b[4 * i + 1],
      ax2 = b[4 * i + 2],
      ay2 = b[4 * i + 3];
    const areaI = (ax2 - ax1) * (ay2 - ay1);
    for (let c = a + 1; c < order.length; c++) {
      const j = order[c];
      if (dead[j]) continue;
      const w = Math.max(0, Math.min(ax2, b[4 * j + 2]) - Math.max(ax1, b[4 * j]));
      const h = Math.max(0, Math.min(ay2, b[4 * j + 3]) - Math.max(ay1, b[4 * j + 1]));
      const inter = w * h;
      const iou = inter / (areaI + (b[4 * j + 2] - b[4 * j]) * (b[4 * j + 3] - b[4 * j + 1]) - inter);
      if (iou > thr) dead[j] = 1;
    }
  }
  return keep;
}

function byScore(s: Float64Array, rows: number[]): number[] {
  return rows.sort((a, b) => s[b] - s[a] || a - b);
}

/**
 * Non-maximum suppression: indices (int32) of the boxes kept, by decreasing score.
 * boxes (N, 4) xyxy, scores (N) -> (K).
 * @example nb.vision.ops.nms(boxes, scores, 0.5)
 */
export function nms(boxes: Tensor, scores: Tensor, iouThreshold: number): Tensor {
  checkScores('nms', boxes, scores, iouThreshold);
  const s = f64(scores);
  const order = byScore(
    s,
    Array.from(s, (_, i) => i),
  );
  return fromTypedArray(Int32Array.from(greedy(f64(boxes), order, iouThreshold)));
}

/**
 * NMS within each category: boxes of different idxs never suppress each other. Returns the kept
 * indices (int32) by decreasing score. boxes (N, 4), scores (N), idxs (N) -> (K).
 */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  const op = 'batchedNms';
  checkScores(op, boxes, scores, iouThreshold);
  if (idxs.ndim !== 1 || idxs.shape[0] !== boxes.shape[0])
    throw new Error(`${op}: expected idxs (N) for boxes (N, 4), got idxs ${fmtShape(idxs.shape)}`);
  const s = f64(scores),
    b = f64(boxes),
    cls = f64(idxs);
  const groups = new Map<number, number[]>();
  cls.forEach((c, i) => {
    const g = groups.get(c);
    if (g) g.push(i);
    else groups.set(c, [i]);
  });
  const keep: number[] = [];
  for (const rows of groups.values()) keep.push(...greedy(b, byScore(s, rows), iouThreshold));
  return fromTypedArray(Int32Array.from(byScore(s, keep)));
}
