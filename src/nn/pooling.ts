// Pooling layers: MaxPool1d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d. stride defaults to kernelSize.
// Glossary: N batch, C channels, H,W,L sizes, OH,OW,OL pooled sizes.

import type { Tensor } from '../tensor/tensor.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool1d, maxPool2d, type Pair } from '../ops/conv.js';
import { Module } from './module.js';
import { inputError, pyBool, pyRepr } from './util.js';

export interface MaxPoolOptions<P> {
  stride?: P | null;
  padding?: P;
  dilation?: P;
  returnIndices?: boolean;
  ceilMode?: boolean;
}

function checkRank(m: Module, x: Tensor, k: number, what: string): void {
  if (x.ndim !== k + 1 && x.ndim !== k + 2) throw inputError(m, what, x);
}

abstract class MaxPoolNd<P extends Pair> extends Module {
  readonly stride: P;
  readonly padding: P;
  readonly dilation: P;
  readonly returnIndices: boolean;
  readonly ceilMode: boolean;
  constructor(
    readonly kernelSize: P,
    opts: MaxPoolOptions<P>,
  ) {
    super();
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? (0 as P);
    this.dilation = opts.dilation ?? (1 as P);
    this.returnIndices = opts.returnIndices ?? false;
    this.ceilMode = opts.ceilMode ?? false;
  }
  override extraRepr(): string {
    return (
      `kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}, padding=${pyRepr(this.padding)}, ` +
      `dilation=${pyRepr(this.dilation)}, ceil_mode=${pyBool(this.ceilMode)}`
    );
  }
}

/** Max over windows of (N, C, L); with returnIndices, forward returns [values, indices]. */
export class MaxPool1d extends MaxPoolNd<number> {
  constructor(kernelSize: number, opts: MaxPoolOptions<number> = {}) {
    super(kernelSize, opts);
  }
  forward(x: Tensor): Tensor | [Tensor, Tensor] {
    // x (N, C, L) -> (N, C, OL)
    checkRank(this, x, 1, '(N, C, L) or (C, L)');
    // indices only when asked for (or for a backward): the values alone take a faster pass
    if (this.returnIndices)
      return maxPool1d(x, this.kernelSize, this.stride, this.padding, this.dilation, this.ceilMode, true);
    return maxPool1d(x, this.kernelSize, this.stride, this.padding, this.dilation, this.ceilMode);
  }
}

/** Max over windows of (N, C, H, W); with returnIndices, forward returns [values, indices]. */
export class MaxPool2d extends MaxPoolNd<Pair> {
  constructor(kernelSize: Pair, opts: MaxPoolOptions<Pair> = {}) {
    super(kernelSize, opts);
  }
  forward(x: Tensor): Tensor | [Tensor, Tensor] {
    // x (N, C, H, W) -> (N, C, OH, OW)
    checkRank(this, x, 2, '(N, C, H, W) or (C, H, W)');
    // indices only when asked for (or for a backward): the values alone take a faster pass
    if (this.returnIndices)
      return maxPool2d(x, this.kernelSize, this.stride, this.padding, this.dilation, this.ceilMode, true);
    return maxPool2d(x, this.kernelSize, this.stride, this.padding, this.dilation, this.ceilMode);
  }
}

export interface AvgPoolOptions {
  stride?: Pair | null;
  padding?: Pair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
}

/** Mean over windows of (N, C, H, W). */
export class AvgPool2d extends Module {
  readonly stride: Pair;
  readonly padding: Pair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  constructor(
    readonly kernelSize: Pair,
    opts: AvgPoolOptions = {},
  ) {
    super();
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.ceilMode = opts.ceilMode ?? false;
    this.countIncludePad = opts.countIncludePad ?? true;
  }
  forward(x: Tensor): Tensor {
    // x (N, C, H, W) -> (N, C, OH, OW)
    checkRank(this, x, 2, '(N, C, H, W) or (C, H, W)');
    return avgPool2d(x, this.kernelSize, this.stride, this.padding, this.ceilMode, this.countIncludePad);
  }
  override extraRepr(): string {
    return `kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}, padding=${pyRepr(this.padding)}`;
  }
}

/** Average pooling to a fixed output size (null keeps that input size). */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | readonly [number | null, number | null]) {
    super();
  }
  forward(x: Tensor): Tensor {
    // x (N, C, H, W) -> (N, C, OH, OW)
    checkRank(this, x, 2, '(N, C, H, W) or (C, H, W)');
    return adaptiveAvgPool2d(x, this.outputSize);
  }
  override extraRepr(): string {
    const o = this.outputSize;
    return `output_size=${typeof o === 'number' ? o : `(${o.map((v) => (v === null ? 'None' : v)).join(', ')})`}`;
  }
}
