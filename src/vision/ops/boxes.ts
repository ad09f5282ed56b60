// Box geometry as torchvision.ops.boxes (0.14): formats, areas, the IoU family, clipping and
// filtering. Everything is composed of differentiable Tensor ops, so the IoU variants have gradients
// for free (float64 gradchecks in test/vision/box_ops.test.ts).
// Glossary: N, M boxes; boxes (N, 4) as (x1, y1, x2, y2) unless a format says otherwise.
// NOTE: torchvision does not validate boxes; nabla refuses inverted ones (x2 < x1 or y2 < y1) and
// NaN coordinates, naming the op, the box index and its values, because an inverted box silently
// yields negative areas and IoUs outside [0, 1].

import type { Tensor } from '../../tensor/tensor.js';
import { fmtShape } from '../../tensor/layout.js';
import { atan, stack } from '../../ops/functional.js';
import { fromTypedArray } from '../../tensor/creation.js';

export type BoxFormat = 'xyxy' | 'xywh' | 'cxcywh';
const FORMATS: readonly BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];

/** Throws unless `boxes` is (N, 4) (or (4) where `allowFlat`); names the op and the shape. */
export function checkBoxShape(op: string, boxes: Tensor, name = 'boxes', allowFlat = false): void {
  const ok = (boxes.ndim === 2 || (allowFlat && boxes.ndim === 1)) && boxes.shape[boxes.ndim - 1] === 4;
  if (!ok) throw new Error(`${op}: expected ${name} of shape (N, 4), got ${fmtShape(boxes.shape)}`);
  if (boxes.dtype === 'bool') throw new Error(`${op}: ${name} must be numeric, got bool`);
}

/**
 * Throws unless every box of (N, 4) xyxy `boxes` has x1 <= x2 and y1 <= y2 (and no NaN). The error
 * names the op, the index of the first bad box and its coordinates.
 */
export function checkBoxes(op: string, boxes: Tensor, name = 'boxes', allowFlat = false): void {
  checkBoxShape(op, boxes, name, allowFlat);
  const d = boxes.detach().to('float64').contiguous().toTypedArray() as Float64Array;
  for (let i = 0; i < d.length; i += 4) {
    const [x1, y1, x2, y2] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
    if (x2 >= x1 && y2 >= y1) continue;
    const what = Number.isNaN(x1 + y1 + x2 + y2) ? 'has a NaN coordinate' : x2 < x1 ? 'has x2 < x1' : 'has y2 < y1';
    throw new Error(
      `${op}: ${name}[${i / 4}] = (${x1}, ${y1}, ${x2}, ${y2}) ${what}; boxes must be (x1, y1, x2, y2) with ` +
        'x1 <= x2 and y1 <= y2 (convert other formats with boxConvert)',
    );
  }
}

/** Integer boxes become float32 (as torchvision's _upcast does for the IoU ratios). */
function asFloat(b: Tensor): Tensor {
  return b.dtype === 'float32' || b.dtype === 'float64' ? b : b.to('float32');
}

/** boxes (N, 4) -> four (N) columns. */
function cols(b: Tensor): Tensor[] {
  return b.unbind(-1);
}

/**
 * Converts boxes between 'xyxy' (corners), 'xywh' (top-left corner, width, height) and 'cxcywh'
 * (centre, width, height). boxes (N, 4) -> (N, 4). Differentiable.
 * @example nb.vision.ops.boxConvert(nb.tensor([[10, 20, 4, 6]]), 'cxcywh', 'xyxy') // [[8, 17, 12, 23]]
 */
export function boxConvert(boxes: Tensor, inFmt: BoxFormat, outFmt: BoxFormat): Tensor {
  const op = 'boxConvert';
  if (!FORMATS.includes(inFmt) || !FORMATS.includes(outFmt))
    throw new Error(`${op}: unsupported formats '${inFmt}' -> '${outFmt}'; formats are ${FORMATS.join(', ')}`);
  checkBoxShape(op, boxes, 'boxes', true);
  if (inFmt === outFmt) return boxes.clone();
  let [a, b, c, d] = cols(boxes);
  // to xyxy
  if (inFmt === 'xywh') [c, d] = [a.add(c), b.add(d)];
  else if (inFmt === 'cxcywh')
    [a, b, c, d] = [a.sub(c.mul(0.5)), b.sub(d.mul(0.5)), a.add(c.mul(0.5)), b.add(d.mul(0.5))];
  // from xyxy
  if (outFmt === 'xywh') [c, d] = [c.sub(a), d.sub(b)];
  else if (outFmt === 'cxcywh') [a, b, c, d] = [a.add(c).div(2), b.add(d).div(2), c.sub(a), d.sub(b)];
  return stack([a, b, c, d], -1);
}

/** Areas of xyxy boxes (N, 4) -> (N). */
export function boxArea(boxes: Tensor): Tensor {
  checkBoxes('boxArea', boxes);
  return area(boxes);
}

function area(b: Tensor): Tensor {
  const [x1, y1, x2, y2] = cols(b);
  return x2.sub(x1).mul(y2.sub(y1));
}

/** Pairwise intersection and union of (N, 4) and (M, 4) -> (N, M) each. */
function interUnion(b1: Tensor, b2: Tensor): { inter: Tensor; union: Tensor } {
  const lt = b1
    .narrow(1, 0, 2)
    .unsqueeze(1)
    .maximum(b2.narrow(1, 0, 2)); // (N, M, 2)
  const rb = b1
    .narrow(1, 2, 2)
    .unsqueeze(1)
    .minimum(b2.narrow(1, 2, 2));
  const wh = rb.sub(lt).clamp(0);
  const inter = wh.select(2, 0).mul(wh.select(2, 1));
  const union = area(b1).unsqueeze(1).add(area(b2)).sub(inter);
  return { inter, union };
}

/** The smallest box enclosing each pair: its width and height (N, M, 2). */
function enclosingWh(b1: Tensor, b2: Tensor): Tensor {
  const lti = b1
    .narrow(1, 0, 2)
    .unsqueeze(1)
    .minimum(b2.narrow(1, 0, 2));
  const rbi = b1
    .narrow(1, 2, 2)
    .unsqueeze(1)
    .maximum(b2.narrow(1, 2, 2));
  return rbi.sub(lti).clamp(0);
}

function pairArgs(op: string, boxes1: Tensor, boxes2: Tensor): [Tensor, Tensor] {
  checkBoxes(op, boxes1, 'boxes1');
  checkBoxes(op, boxes2, 'boxes2');
  return [asFloat(boxes1), asFloat(boxes2)];
}

/**
 * Pairwise intersection over union of xyxy boxes1 (N, 4) and boxes2 (M, 4) -> (N, M).
 * @example nb.vision.ops.boxIou(nb.tensor([[0, 0, 2, 2]]), nb.tensor([[1, 1, 3, 3]])) // [[1/7]]
 */
export function boxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  const [b1, b2] = pairArgs('boxIou', boxes1, boxes2);
  const { inter, union } = interUnion(b1, b2);
  return inter.div(union);
}

/** Generalized IoU (Rezatofighi et al. 2019): IoU - (enclosing - union) / enclosing. (N, 4), (M, 4) -> (N, M). */
export function generalizedBoxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  const [b1, b2] = pairArgs('generalizedBoxIou', boxes1, boxes2);
  const { inter, union } = interUnion(b1, b2);
  const whi = enclosingWh(b1, b2);
  const areai = whi.select(2, 0).mul(whi.select(2, 1));
  return inter.div(union).sub(areai.sub(union).div(areai));
}

/** Distance IoU and IoU of every pair (N, M). */
function diouIou(b1: Tensor, b2: Tensor, eps: number): { diou: Tensor; iou: Tensor } {
  const { inter, union } = interUnion(b1, b2);
  const iou = inter.div(union);
  const whi = enclosingWh(b1, b2);
  const diag2 = whi.select(2, 0).square().add(whi.select(2, 1).square()).add(eps);
  const [x1, y1, x2, y2] = cols(b1);
  const [gx1, gy1, gx2, gy2] = cols(b2);
  const dx = x1.add(x2).div(2).unsqueeze(1).sub(gx1.add(gx2).div(2));
  const dy = y1.add(y2).div(2).unsqueeze(1).sub(gy1.add(gy2).div(2));
  return { diou: iou.sub(dx.square().add(dy.square()).div(diag2)), iou };
}

/** Distance IoU (Zheng et al. 2019): IoU - centre distance^2 / enclosing diagonal^2. (N, 4), (M, 4) -> (N, M). */
export function distanceBoxIou(boxes1: Tensor, boxes2: Tensor, eps = 1e-7): Tensor {
  const [b1, b2] = pairArgs('distanceBoxIou', boxes1, boxes2);
  return diouIou(b1, b2, eps).diou;
}

/** The aspect-ratio term v = 4/pi^2 (atan(wg/hg) - atan(w/h))^2 and its no-grad weight alpha. */
export function aspectPenalty(w: Tensor, h: Tensor, wg: Tensor, hg: Tensor, iou: Tensor, eps: number): Tensor {
  const v = atan(wg.div(hg))
    .sub(atan(w.div(h)))
    .square()
    .mul(4 / Math.PI ** 2);
  const alpha = v.detach().div(iou.detach().neg().add(1).add(v.detach()).add(eps));
  return alpha.mul(v);
}

/** Complete IoU (Zheng et al. 2020): DIoU - alpha v, v the aspect-ratio term. (N, 4), (M, 4) -> (N, M). */
export function completeBoxIou(boxes1: Tensor, boxes2: Tensor, eps = 1e-7): Tensor {
  const [b1, b2] = pairArgs('completeBoxIou', boxes1, boxes2);
  const { diou, iou } = diouIou(b1, b2, eps);
  const [x1, y1, x2, y2] = cols(b1).map((c) => c.unsqueeze(1));
  const [gx1, gy1, gx2, gy2] = cols(b2);
  // NOTE: torchvision's complete_box_iou has v = (atan(w/h) - atan(wg/hg))^2: the same square.
  return diou.sub(aspectPenalty(x2.sub(x1), y2.sub(y1), gx2.sub(gx1), gy2.sub(gy1), iou, eps));
}

/** Clips xyxy boxes (..., 4) to an image of size [height, width]. Differentiable (clamp). */
export function clipBoxesToImage(boxes: Tensor, size: readonly [number, number]): Tensor {
  const op = 'clipBoxesToImage';
  if (boxes.ndim < 1 || boxes.shape[boxes.ndim - 1] !== 4)
    throw new Error(`${op}: expected boxes of shape (..., 4), got ${fmtShape(boxes.shape)}`);
  const [h, w] = size;
  if (!(h >= 0 && w >= 0)) throw new Error(`${op}: size must be [height, width] >= 0, got [${size.join(', ')}]`);
  const [x1, y1, x2, y2] = cols(boxes);
  return stack([x1.clamp(0, w), y1.clamp(0, h), x2.clamp(0, w), y2.clamp(0, h)], -1);
}

/** Indices (int32, ascending) of the boxes (N, 4) whose width and height are both >= minSize. */
export function removeSmallBoxes(boxes: Tensor, minSize: number): Tensor {
  checkBoxShape('removeSmallBoxes', boxes);
  const [x1, y1, x2, y2] = cols(boxes);
  const keep = x2.sub(x1).ge(minSize).logicalAnd(y2.sub(y1).ge(minSize)).toTypedArray();
  const idx: number[] = [];
  keep.forEach((k, i) => {
    if (k) idx.push(i);
  });
  return fromTypedArray(Int32Array.from(idx));
}

/**
 * The xyxy box around each mask: masks (N, H, W), nonzero = inside -> (N, 4) float32, with x2, y2 the
 * last covered column and row (as torchvision: a one-pixel mask gives a zero-size box). An empty mask
 * is an error naming its index.
 */
export function masksToBoxes(masks: Tensor): Tensor {
  const op = 'masksToBoxes';
  if (masks.ndim !== 3) throw new Error(`${op}: expected masks (N, H, W), got ${fmtShape(masks.shape)}`);
  const [n, h, w] = masks.shape;
  const d = masks.to('float64').contiguous().toTypedArray() as Float64Array;
  const out = new Float32Array(n * 4);
  for (let k = 0; k < n; k++) {
    let x1 = w,
      y1 = h,
      x2 = -1,
      y2 = -1;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        if (d[(k * h + y) * w + x] === 0) continue;
        x1 = Math.min(x1, x);
        x2 = Math.max(x2, x);
        y1 = Math.min(y1, y);
        y2 = Math.max(y2, y);
      }
    if (x2 < 0) throw new Error(`${op}: masks[${k}] is empty; it has no box`);
    out.set([x1, y1, x2, y2], k * 4);
  }
  return fromTypedArray(out, [n, 4]);
}
