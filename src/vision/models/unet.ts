// U-Net (Ronneberger et al. 2015), small: an encoder of four conv stages with 2x2 max pooling, a
// decoder that upsamples with transposed convolutions and concatenates the encoder's features at each
// scale, and a 1x1 classifier per pixel.
// Glossary: B batch, C input channels, H, W image size (multiples of 8), K classes, W0 base width.

import { Module } from '../../nn/module.js';
import { Conv2d, ConvTranspose2d } from '../../nn/conv.js';
import { MaxPool2d } from '../../nn/pooling.js';
import { Sequential } from '../../nn/containers.js';
import { cat } from '../../ops/functional.js';
import type { Tensor } from '../../tensor/tensor.js';
import { convBnRelu } from './centernet.js';

/** Two conv 3x3 + BN + ReLU: U-Net's double convolution. */
function doubleConv(cin: number, cout: number): Sequential {
  return new Sequential(...convBnRelu(cin, cout), ...convBnRelu(cout, cout));
}

export class UNet extends Module {
  readonly inc: Sequential;
  readonly down1: Sequential;
  readonly down2: Sequential;
  readonly down3: Sequential;
  readonly up0: ConvTranspose2d;
  readonly conv0: Sequential;
  readonly up1: ConvTranspose2d;
  readonly conv1: Sequential;
  readonly up2: ConvTranspose2d;
  readonly conv2: Sequential;
  readonly outc: Conv2d;
  constructor(
    readonly inChannels: number,
    readonly numClasses: number,
    readonly width = 16,
  ) {
    super();
    const w = width;
    this.inc = doubleConv(inChannels, w);
    this.down1 = new Sequential(new MaxPool2d(2), doubleConv(w, 2 * w));
    this.down2 = new Sequential(new MaxPool2d(2), doubleConv(2 * w, 4 * w));
    this.down3 = new Sequential(new MaxPool2d(2), doubleConv(4 * w, 8 * w));
    this.up0 = new ConvTranspose2d(8 * w, 4 * w, 2, { stride: 2 });
    this.conv0 = doubleConv(8 * w, 4 * w);
    this.up1 = new ConvTranspose2d(4 * w, 2 * w, 2, { stride: 2 });
    this.conv1 = doubleConv(4 * w, 2 * w);
    this.up2 = new ConvTranspose2d(2 * w, w, 2, { stride: 2 });
    this.conv2 = doubleConv(2 * w, w);
    this.outc = new Conv2d(w, numClasses, 1);
  }

  /** x (B, C, H, W) -> per-pixel class logits (B, K, H, W). */
  forward(x: Tensor): Tensor {
    const x1 = this.inc.call(x) as Tensor; // (B, W0, H, W)
    const x2 = this.down1.call(x1) as Tensor; // (B, 2W0, H/2, W/2)
    const x3 = this.down2.call(x2) as Tensor; // (B, 4W0, H/4, W/4)
    const x4 = this.down3.call(x3) as Tensor; // (B, 8W0, H/8, W/8)
    const u0 = this.conv0.call(cat([x3, this.up0.call(x4) as Tensor], 1)) as Tensor; // (B, 4W0, H/4, W/4)
    const u1 = this.conv1.call(cat([x2, this.up1.call(u0) as Tensor], 1)) as Tensor; // (B, 2W0, H/2, W/2)
    const u2 = this.conv2.call(cat([x1, this.up2.call(u1) as Tensor], 1)) as Tensor; // (B, W0, H, W)
    return this.outc.call(u2) as Tensor;
  }

  override extraRepr(): string {
    return `inChannels=${this.inChannels}, numClasses=${this.numClasses}, width=${this.width}`;
  }
}
