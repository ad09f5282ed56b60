// Box regression and dense classification losses as torchvision.ops (0.14): generalized, distance and
// complete IoU losses over paired boxes, and the sigmoid focal loss (RetinaNet). Composed of
// differentiable Tensor ops; gradchecked in float64 and matched to torchvision by goldens.
// Glossary: N paired boxes; boxes1, boxes2 (N, 4) or (4) xyxy.

import type { Tensor } from '../../tensor/tensor.js';
import { fmtShape } from '../../tensor/layout.js';
import { where } from '../../ops/functional.js';
import { binaryCrossEntropyWithLogits } from '../../nn/functional/losses.js';
import { aspectPenalty, checkBoxes } from './boxes.js';

export type BoxLossReduction = 'none' | 'mean' | 'sum';

function reduce(op: string, loss: Tensor, reduction: BoxLossReduction): Tensor {
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return loss.sum();
  if (reduction === 'mean') return loss.numel() > 0 ? loss.mean() : loss.sum().mul(0);
  throw new Error(`${op}: reduction must be 'none', 'mean' or 'sum', got '${reduction}'`);
}

function paired(op: string, boxes1: Tensor, boxes2: Tensor): [Tensor[], Tensor[]] {
  checkBoxes(op, boxes1, 'boxes1', true);
  checkBoxes(op, boxes2, 'boxes2', true);
  if (boxes1.shape.join() !== boxes2.shape.join())
    throw new Error(`${op}: boxes1 ${fmtShape(boxes1.shape)} and boxes2 ${fmtShape(boxes2.shape)} must pair up`);
  const up = (b: Tensor) => (b.dtype === 'float32' || b.dtype === 'float64' ? b : b.to('float32'));
  return [up(boxes1).unbind(-1), up(boxes2).unbind(-1)];
}

/** Elementwise intersection and union of paired boxes (N) each. */
function interUnion(a: Tensor[], g: Tensor[]): { inter: Tensor; union: Tensor } {
  const [x1, y1, x2, y2] = a;
  const [gx1, gy1, gx2, gy2] = g;
  const iw = x2.minimum(gx2).sub(x1.maximum(gx1));
  const ih = y2.minimum(gy2).sub(y1.maximum(gy1));
  const inter = where(iw.gt(0).logicalAnd(ih.gt(0)), iw.mul(ih), 0);
  const union = x2
    .sub(x1)
    .mul(y2.sub(y1))
    .add(gx2.sub(gx1).mul(gy2.sub(gy1)))
    .sub(inter);
  return { inter, union };
}

/** Width and height of the smallest box enclosing each pair. */
function enclosing(a: Tensor[], g: Tensor[]): [Tensor, Tensor] {
  return [a[2].maximum(g[2]).sub(a[0].minimum(g[0])), a[3].maximum(g[3]).sub(a[1].minimum(g[1]))];
}

export interface BoxLossOptions {
  reduction?: BoxLossReduction;
  eps?: number;
}

/** 1 - GIoU of paired boxes (N, 4) -> (N) (or reduced). Symmetric in its arguments. */
export function generalizedBoxIouLoss(boxes1: Tensor, boxes2: Tensor, o: BoxLossOptions = {}): Tensor {
  const op = 'generalizedBoxIouLoss',
    eps = o.eps ?? 1e-7;
  const [a, g] = paired(op, boxes1, boxes2);
  const { inter, union } = interUnion(a, g);
  const [cw, ch] = enclosing(a, g);
  const areaC = cw.mul(ch);
  const giou = inter.div(union.add(eps)).sub(areaC.sub(union).div(areaC.add(eps)));
  return reduce(op, giou.neg().add(1), o.reduction ?? 'none');
}

function diouLoss(a: Tensor[], g: Tensor[], eps: number): { loss: Tensor; iou: Tensor } {
  const { inter, union } = interUnion(a, g);
  const iou = inter.div(union.add(eps));
  const [cw, ch] = enclosing(a, g);
  const diag2 = cw.square().add(ch.square()).add(eps);
  const dx = a[0].add(a[2]).div(2).sub(g[0].add(g[2]).div(2));
  const dy = a[1].add(a[3]).div(2).sub(g[1].add(g[3]).div(2));
  return { loss: iou.neg().add(1).add(dx.square().add(dy.square()).div(diag2)), iou };
}

/** 1 - IoU + centre distance^2 / enclosing diagonal^2 of paired boxes (N, 4) -> (N) (or reduced). */
export function distanceBoxIouLoss(boxes1: Tensor, boxes2: Tensor, o: BoxLossOptions = {}): Tensor {
  const op = 'distanceBoxIouLoss';
  const [a, g] = paired(op, boxes1, boxes2);
  return reduce(op, diouLoss(a, g, o.eps ?? 1e-7).loss, o.reduction ?? 'none');
}

/** DIoU loss + alpha v (aspect-ratio consistency) of paired boxes (N, 4) -> (N) (or reduced). */
export function completeBoxIouLoss(boxes1: Tensor, boxes2: Tensor, o: BoxLossOptions = {}): Tensor {
  const op = 'completeBoxIouLoss',
    eps = o.eps ?? 1e-7;
  const [a, g] = paired(op, boxes1, boxes2);
  // NOTE: torchvision 0.14 calls _diou_iou_loss without eps here, so its default 1e-7 applies
  const { loss, iou } = diouLoss(a, g, 1e-7);
  const pen = aspectPenalty(a[2].sub(a[0]), a[3].sub(a[1]), g[2].sub(g[0]), g[3].sub(g[1]), iou, eps);
  return reduce(op, loss.add(pen), o.reduction ?? 'none');
}

export interface FocalLossOptions {
  /** Weight of the positives in (0, 1); negatives get 1 - alpha; < 0 turns weighting off. Default 0.25. */
  alpha?: number;
  /** Exponent of the modulating factor (1 - p_t). Default 2. */
  gamma?: number;
  reduction?: BoxLossReduction;
}

/**
 * Sigmoid focal loss (Lin et al. 2017, RetinaNet) as torchvision.ops.sigmoid_focal_loss:
 * BCE-with-logits(inputs, targets) (1 - p_t)^gamma, weighted by alpha_t. inputs, targets (*) -> (*).
 */
export function sigmoidFocalLoss(inputs: Tensor, targets: Tensor, o: FocalLossOptions = {}): Tensor {
  const op = 'sigmoidFocalLoss';
  if (inputs.shape.join() !== targets.shape.join())
    throw new Error(`${op}: inputs ${fmtShape(inputs.shape)} and targets ${fmtShape(targets.shape)} must match`);
  const alpha = o.alpha ?? 0.25,
    gamma = o.gamma ?? 2;
  const p = inputs.sigmoid();
  const ce = binaryCrossEntropyWithLogits(inputs, targets, { reduction: 'none' });
  const pT = p.mul(targets).add(p.neg().add(1).mul(targets.neg().add(1)));
  let loss = ce.mul(pT.neg().add(1).pow(gamma));
  if (alpha >= 0)
    loss = targets
      .mul(alpha)
      .add(
        targets
          .neg()
          .add(1)
          .mul(1 - alpha),
      )
      .mul(loss);
  return reduce(op, loss, o.reduction ?? 'none');
}
