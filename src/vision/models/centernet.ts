// CenterNet (Zhou et al. 2019, "Objects as Points"), small: a single-stage anchor-free detector that
// predicts, at stride 4, a heatmap of object centres per class, the box size and the sub-cell offset
// of the centre. The backbone is a three-stage conv net with one top-down merge (stride 8 -> 4).
// Glossary: B batch, S input side, K classes, W base width, F = S/4 output side.

import { Module } from '../../nn/module.js';
import { Conv2d } from '../../nn/conv.js';
import { BatchNorm2d } from '../../nn/batch_norm.js';
import { ReLU } from '../../nn/activations.js';
import { Sequential } from '../../nn/containers.js';
import { interpolate } from '../../ops/conv.js';
import { constant_ } from '../../nn/init.js';
import type { Tensor } from '../../tensor/tensor.js';

/** conv 3x3 (stride s) + BN + ReLU. */
export function convBnRelu(cin: number, cout: number, stride = 1): Module[] {
  return [new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false }), new BatchNorm2d(cout), new ReLU()];
}

/** A head: conv 3x3 + ReLU + conv 1x1 to `out` channels. */
function head(cin: number, out: number, bias = 0): Sequential {
  const last = new Conv2d(cin, out, 1);
  constant_(last.bias!, bias);
  return new Sequential(new Conv2d(cin, cin, 3, { padding: 1 }), new ReLU(), last);
}

export interface CenterNetOutput {
  /** centre logits (B, K, F, F) */
  heatmap: Tensor;
  /** box width and height in input pixels / SIZE_SCALE (B, 2, F, F) */
  wh: Tensor;
  /** centre offset within its cell, in cells (B, 2, F, F) */
  offset: Tensor;
}

/** Box sizes are regressed in units of this many pixels, so that targets are about 1. */
export const SIZE_SCALE = 16;
export const CENTERNET_STRIDE = 4;

export class CenterNet extends Module {
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly lateral: Conv2d;
  readonly fuse: Sequential;
  readonly hm: Sequential;
  readonly wh: Sequential;
  readonly reg: Sequential;
  constructor(
    readonly numClasses: number,
    readonly width = 32,
  ) {
    super();
    const w = width;
    this.layer1 = new Sequential(...convBnRelu(1, w, 2), ...convBnRelu(w, w)); // S/2
    this.layer2 = new Sequential(...convBnRelu(w, 2 * w, 2), ...convBnRelu(2 * w, 2 * w)); // S/4
    this.layer3 = new Sequential(...convBnRelu(2 * w, 4 * w, 2), ...convBnRelu(4 * w, 4 * w)); // S/8
    this.lateral = new Conv2d(4 * w, 2 * w, 1);
    this.fuse = new Sequential(...convBnRelu(2 * w, 2 * w));
    // NOTE: the heatmap bias starts at -2.19 (sigmoid 0.1) as in CenterNet, so the focal loss of the
    // many background cells does not swamp the first steps
    this.hm = head(2 * w, numClasses, -2.19);
    this.wh = head(2 * w, 2);
    this.reg = head(2 * w, 2);
  }

  /** x (B, 1, S, S), S a multiple of 8 -> heatmap logits, sizes and offsets at (F, F) = (S/4, S/4). */
  forward(x: Tensor): CenterNetOutput {
    const c2 = this.layer2.call(this.layer1.call(x)) as Tensor; // (B, 2W, S/4, S/4)
    const c3 = this.layer3.call(c2) as Tensor; // (B, 4W, S/8, S/8)
    const up = interpolate(this.lateral.call(c3) as Tensor, { scaleFactor: 2, mode: 'nearest' });
    const f = this.fuse.call(up.add(c2)) as Tensor; // (B, 2W, F, F)
    return { heatmap: this.hm.call(f) as Tensor, wh: this.wh.call(f) as Tensor, offset: this.reg.call(f) as Tensor };
  }

  override extraRepr(): string {
    return `numClasses=${this.numClasses}, width=${this.width}`;
  }
}
