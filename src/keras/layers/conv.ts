// Conv1D and Conv2D, channels-last by default (x (N, L, C) / (N, H, W, C)), or channelsFirst.
// weight (filters, C, *kernel) as nn.Conv1d/Conv2d store it (Keras's kernel is (*kernel, C, filters)),
// bias (filters). 'same' padding follows TensorFlow (extra row/column at the bottom/right, any stride).
// Conv2D: (N, H, W, C) -> (N, OH, OW, filters); OH = ceil(H/s) ('same') or floor((H-(k-1)d-1)/s)+1.

import type { Parameter } from '../../nn/module.js';
import { conv2d } from '../../ops/conv.js';
import type { Tensor } from '../../tensor/tensor.js';
import { activationName, getActivation, type ActivationFn, type ActivationIdentifier } from '../activations.js';
import { initializerName, type InitializerIdentifier } from '../initializers.js';
import { Layer, fmtSym, knownDim, type LayerArgs, type SymShape } from '../layer.js';
import { regularizerConfigs, type RegularizerIdentifier } from '../regularizers.js';
import {
  checkDataFormat,
  checkPadding,
  outLen,
  padSame,
  samePad,
  toChannelsFirst,
  toChannelsLast,
  tuple,
  type DataFormat,
  type Padding,
} from './conv_utils.js';

/** keras.layers.Conv1D's and Conv2D's arguments: `conv2d({filters: 32, kernelSize: 3, activation: 'relu'})`. */
export interface ConvArgs extends LayerArgs {
  /** Output channels. */
  filters: number;
  /** One size for every spatial dim, or one per dim. */
  kernelSize: number | readonly number[];
  /** Default 1. */
  strides?: number | readonly number[];
  /** 'valid' (default: no padding) or 'same' (output size = ceil(input / stride)). */
  padding?: Padding;
  /** 'channelsLast' (default, (N, H, W, C) as Keras) or 'channelsFirst' ((N, C, H, W)). */
  dataFormat?: DataFormat;
  /** Default 1. */
  dilationRate?: number | readonly number[];
  /** 'relu', 'softmax', 'sigmoid', 'tanh', ... or a function (default none: linear). */
  activation?: ActivationIdentifier;
  /** Add a bias (default true). */
  useBias?: boolean;
  /** Default 'glorotUniform', as Keras. */
  kernelInitializer?: InitializerIdentifier;
  /** Default 'zeros'. */
  biasInitializer?: InitializerIdentifier;
  /** A penalty on the kernel added to the loss: `nb.keras.regularizers.l2(1e-4)` or 'l2'. */
  kernelRegularizer?: RegularizerIdentifier | null;
  biasRegularizer?: RegularizerIdentifier | null;
}

abstract class Conv extends Layer {
  readonly filters: number;
  readonly kernelSize: number[];
  readonly strides: number[];
  readonly dilationRate: number[];
  readonly padding: Padding;
  readonly dataFormat: DataFormat;
  readonly useBias: boolean;
  private readonly act: ActivationFn;
  declare weight: Parameter;
  declare bias: Parameter | null;

  constructor(
    readonly args: ConvArgs,
    readonly rank: 1 | 2,
    base: string,
  ) {
    super(args, base);
    if (!Number.isInteger(args?.filters) || args.filters <= 0)
      throw new Error(`${base}: filters must be a positive integer, got ${JSON.stringify(args?.filters)}`);
    this.filters = args.filters;
    this.kernelSize = tuple(args.kernelSize, rank, 'kernelSize', base);
    this.strides = tuple(args.strides, rank, 'strides', base, Array(rank).fill(1));
    this.dilationRate = tuple(args.dilationRate, rank, 'dilationRate', base, Array(rank).fill(1));
    this.padding = checkPadding(args.padding, base);
    this.dataFormat = checkDataFormat(args.dataFormat, base);
    this.useBias = args.useBias ?? true;
    this.act = getActivation(args.activation, this.name);
  }

  private channelAxis(rank: number): number {
    return this.dataFormat === 'channelsLast' ? rank - 1 : 1;
  }
  protected override checkedAxes(rank: number): number[] {
    return [this.channelAxis(rank)];
  }

  override build(s: SymShape): void {
    if (s.length !== this.rank + 2) {
      throw new Error(
        `Layer '${this.name}' (${this.className}): expected an input of rank ${this.rank + 2} ` +
          `(${this.dataFormat === 'channelsLast' ? 'batch, spatial..., channels' : 'batch, channels, spatial...'}), ` +
          `got shape ${fmtSym(s)}`,
      );
    }
    const C = knownDim(s, this.channelAxis(s.length), this);
    const a = this.args;
    this.addWeight(
      'weight',
      [this.filters, C, ...this.kernelSize],
      a.kernelInitializer ?? 'glorotUniform',
      true,
      a.kernelRegularizer,
    );
    if (this.useBias) this.addWeight('bias', [this.filters], a.biasInitializer ?? 'zeros', true, a.biasRegularizer);
    else this.registerParameter('bias', null);
  }

  computeOutputShape(s: SymShape): SymShape {
    const last = this.dataFormat === 'channelsLast';
    const spatial = last ? s.slice(1, -1) : s.slice(2);
    const out = spatial.map((n, i) =>
      outLen(n, this.kernelSize[i], this.strides[i], this.dilationRate[i], this.padding),
    );
    if (out.some((d) => d !== null && d < 1)) {
      throw new Error(
        `Layer '${this.name}' (${this.className}): input ${fmtSym(s)} is smaller than the kernel ` +
          `${fmtSym(this.kernelSize)} with padding 'valid'`,
      );
    }
    return last ? [s[0], ...out, this.filters] : [s[0], this.filters, ...out];
  }

  forward(x: Tensor): Tensor {
    return this.act(this.preActivation(x));
  }
  protected override splitActivation() {
    return { pre: (x: Tensor) => this.preActivation(x), act: this.act };
  }

  private preActivation(x: Tensor): Tensor {
    let xc = this.dataFormat === 'channelsLast' ? toChannelsFirst(x) : x;
    // 'same' pads inside the conv when TensorFlow's padding is symmetric (odd kernels), else explicitly
    let pads =
      this.padding === 'same'
        ? xc.shape.slice(2).map((n, i) => samePad(n, this.kernelSize[i], this.strides[i], this.dilationRate[i]))
        : [];
    if (pads.some(([a, b]) => a !== b)) {
      xc = padSame(xc, this.kernelSize, this.strides, this.dilationRate);
      pads = [];
    }
    const inner = pads.map(([a]) => a);
    // (N, C, H, W) -> (N, F, OH, OW); conv1d runs as conv2d over a height-1 image
    let y: Tensor;
    if (this.rank === 2) {
      y = conv2d(
        xc,
        this.weight,
        this.bias,
        this.strides as [number, number],
        inner.length ? (inner as [number, number]) : 0,
        this.dilationRate as [number, number],
      );
    } else {
      y = conv2d(
        xc.unsqueeze(2),
        this.weight.unsqueeze(2),
        this.bias,
        [1, this.strides[0]],
        [0, inner[0] ?? 0],
        [1, this.dilationRate[0]],
      ).squeeze(2);
    }
    return this.dataFormat === 'channelsLast' ? toChannelsLast(y) : y;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dataFormat: this.dataFormat,
      dilationRate: this.dilationRate,
      activation: activationName(this.args.activation),
      useBias: this.useBias,
      kernelInitializer: initializerName(this.args.kernelInitializer, 'glorotUniform'),
      biasInitializer: initializerName(this.args.biasInitializer, 'zeros'),
      ...regularizerConfigs(this.args, ['kernelRegularizer', 'biasRegularizer']),
    };
  }
}

export class Conv2D extends Conv {
  readonly className = 'Conv2D';
  constructor(args: ConvArgs) {
    super(args, 2, 'conv2d');
  }
}

export class Conv1D extends Conv {
  readonly className = 'Conv1D';
  constructor(args: ConvArgs) {
    super(args, 1, 'conv1d');
  }
}
