// Convolution layers: Conv1d, Conv2d (padding_mode 'zeros' | 'reflect' | 'replicate' | 'circular') and
// ConvTranspose2d. Glossary: N batch, C_in/C_out channels, K kernel, G groups, H,W,L sizes.

import { empty } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { conv1d, conv2d, convTranspose2d } from '../ops/conv.js';
import { pad, type PadMode } from '../ops/indexing.js';
import { Module, Parameter } from './module.js';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init.js';
import { inputError, ntuple, pyTuple } from './util.js';

export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface ConvOptions {
  stride?: number | readonly number[];
  padding?: number | readonly number[] | 'same' | 'valid';
  dilation?: number | readonly number[];
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
  dtype?: DType;
}

export interface ConvTransposeOptions extends Omit<ConvOptions, 'padding' | 'paddingMode'> {
  padding?: number | readonly number[];
  outputPadding?: number | readonly number[];
}

/** Shared by the conv layers: weight, bias, PyTorch's default initialisation and repr. */
abstract class ConvNd extends Module {
  declare weight: Parameter;
  declare bias: Parameter | null;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'same' | 'valid';
  readonly dilation: number[];
  readonly outputPadding: number[];
  readonly groups: number;
  readonly paddingMode: PaddingMode;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | readonly number[],
    k: number,
    transposed: boolean,
    opts: ConvOptions & { outputPadding?: number | readonly number[] },
  ) {
    super();
    const name = this.constructor.name;
    this.groups = opts.groups ?? 1;
    if (inChannels % this.groups !== 0)
      throw new Error(`${name}: in_channels (${inChannels}) must be divisible by groups (${this.groups})`);
    if (outChannels % this.groups !== 0)
      throw new Error(`${name}: out_channels (${outChannels}) must be divisible by groups (${this.groups})`);
    this.kernelSize = ntuple(kernelSize, k, `${name} kernelSize`);
    this.stride = ntuple(opts.stride ?? 1, k, `${name} stride`);
    const p = opts.padding ?? 0;
    this.padding = typeof p === 'string' ? p : ntuple(p, k, `${name} padding`);
    if (this.padding === 'same' && this.stride.some((s) => s !== 1))
      throw new Error(`${name}: padding='same' is not supported for strided convolutions`);
    this.dilation = ntuple(opts.dilation ?? 1, k, `${name} dilation`);
    this.outputPadding = ntuple(opts.outputPadding ?? 0, k, `${name} outputPadding`);
    this.paddingMode = opts.paddingMode ?? 'zeros';
    const dtype = opts.dtype ?? 'float32';
    const wShape = transposed
      ? [inChannels, outChannels / this.groups, ...this.kernelSize]
      : [outChannels, inChannels / this.groups, ...this.kernelSize];
    this.weight = new Parameter(empty(wShape, { dtype }));
    this.registerParameter('bias', (opts.bias ?? true) ? new Parameter(empty([outChannels], { dtype })) : null);
    this.resetParameters();
  }
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const [fanIn] = calculateFanInAndFanOut(this.weight);
      if (fanIn !== 0) uniform_(this.bias, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
    }
  }
  /** The input with padding_mode applied for non-zeros modes (then the conv itself pads nothing). */
  padInput(x: Tensor): Tensor {
    const k = this.kernelSize.length,
      flat: number[] = [];
    for (let i = k - 1; i >= 0; i--) {
      if (this.padding === 'valid') flat.push(0, 0);
      else if (this.padding === 'same') {
        // as PyTorch: an odd total puts the extra element at the end
        const total = this.dilation[i] * (this.kernelSize[i] - 1),
          lo = total >> 1;
        flat.push(lo, total - lo);
      } else flat.push(this.padding[i], this.padding[i]);
    }
    return pad(x, flat, this.paddingMode as PadMode);
  }
  protected checkInput(x: Tensor, spatial: string): void {
    const k = this.kernelSize.length;
    if ((x.ndim !== k + 2 && x.ndim !== k + 1) || x.shape[x.ndim - k - 1] !== this.inChannels) {
      throw inputError(this, `(N, ${this.inChannels}, ${spatial}) or (${this.inChannels}, ${spatial})`, x);
    }
  }
  override extraRepr(): string {
    let s =
      `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, ` +
      `stride=${pyTuple(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding.some((v) => v !== 0)) s += `, padding=${pyTuple(this.padding)}`;
    if (this.dilation.some((v) => v !== 1)) s += `, dilation=${pyTuple(this.dilation)}`;
    if (this.outputPadding.some((v) => v !== 0)) s += `, output_padding=${pyTuple(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=False';
    if (this.paddingMode !== 'zeros') s += `, padding_mode=${this.paddingMode}`;
    return s;
  }
}

/** 1-D convolution over (N, C_in, L); weight (C_out, C_in/G, K). */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly number[], opts: ConvOptions = {}) {
    super(inChannels, outChannels, kernelSize, 1, false, opts);
  }
  forward(x: Tensor): Tensor {
    // x (N, C_in, L) -> (N, C_out, OL)
    this.checkInput(x, 'L');
    if (this.paddingMode !== 'zeros') {
      return conv1d(this.padInput(x), this.weight, this.bias, this.stride[0], 0, this.dilation[0], this.groups);
    }
    const p = typeof this.padding === 'string' ? this.padding : this.padding[0];
    return conv1d(x, this.weight, this.bias, this.stride[0], p, this.dilation[0], this.groups);
  }
}

/**
 * 2-D convolution over (N, C_in, H, W); weight (C_out, C_in/G, KH, KW).
 * @example new Conv2d(1, 16, 3, {padding: 1}) // (N, 1, 8, 8) -> (N, 16, 8, 8)
 */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly number[], opts: ConvOptions = {}) {
    super(inChannels, outChannels, kernelSize, 2, false, opts);
  }
  forward(x: Tensor): Tensor {
    // x (N, C_in, H, W) -> (N, C_out, OH, OW)
    this.checkInput(x, 'H, W');
    const [s, d] = [this.stride as [number, number], this.dilation as [number, number]];
    if (this.paddingMode !== 'zeros') {
      return conv2d(this.padInput(x), this.weight, this.bias, s, 0, d, this.groups);
    }
    const p = typeof this.padding === 'string' ? this.padding : (this.padding as [number, number]);
    return conv2d(x, this.weight, this.bias, s, p, d, this.groups);
  }
}

/** Transposed 2-D convolution; weight (C_in, C_out/G, KH, KW). */
export class ConvTranspose2d extends ConvNd {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | readonly number[],
    opts: ConvTransposeOptions = {},
  ) {
    super(inChannels, outChannels, kernelSize, 2, true, opts);
  }
  forward(x: Tensor): Tensor {
    // x (N, C_in, H, W) -> (N, C_out, (H-1)*s - 2p + d*(K-1) + op + 1, ...)
    this.checkInput(x, 'H, W');
    return convTranspose2d(
      x,
      this.weight,
      this.bias,
      this.stride as [number, number],
      this.padding as [number, number],
      this.outputPadding as [number, number],
      this.groups,
      this.dilation as [number, number],
    );
  }
}
