// MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D, channels-last by default.
// (N, H, W, C) -> (N, OH, OW, C); strides default to poolSize. 'same' pads as TensorFlow and, as
// there, padded positions never win a max and never count in an average.
// Global: (N, H, W, C) -> (N, C) (or (N, 1, 1, C) with keepdims).

import { avgPool2d, maxPool2d } from '../../ops/conv.js';
import { onesLike } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, fmtSym, type LayerArgs, type SymShape } from '../layer.js';
import {
  checkDataFormat,
  checkPadding,
  outLen,
  padSame,
  toChannelsFirst,
  toChannelsLast,
  tuple,
  type DataFormat,
  type Padding,
} from './conv_utils.js';

export interface Pooling2DArgs extends LayerArgs {
  poolSize?: number | readonly number[];
  strides?: number | readonly number[] | null;
  padding?: Padding;
  dataFormat?: DataFormat;
}

abstract class Pooling2D extends Layer {
  readonly poolSize: number[];
  readonly strides: number[];
  readonly padding: Padding;
  readonly dataFormat: DataFormat;
  constructor(args: Pooling2DArgs, base: string) {
    super(args, base);
    this.poolSize = tuple(args.poolSize, 2, 'poolSize', base, [2, 2]);
    this.strides = args.strides == null ? this.poolSize : tuple(args.strides, 2, 'strides', base);
    this.padding = checkPadding(args.padding, base);
    this.dataFormat = checkDataFormat(args.dataFormat, base);
  }
  protected override checkedAxes(): number[] {
    return [];
  }
  override build(s: SymShape): void {
    if (s.length !== 4)
      throw new Error(
        `Layer '${this.name}' (${this.className}): expected a 4-D input (batch, rows, cols, channels), got ` +
          `${fmtSym(s)}`,
      );
  }
  computeOutputShape(s: SymShape): SymShape {
    const last = this.dataFormat === 'channelsLast';
    const sp = last ? s.slice(1, 3) : s.slice(2, 4);
    const out = sp.map((n, i) => outLen(n, this.poolSize[i], this.strides[i], 1, this.padding));
    if (out.some((d) => d !== null && d < 1))
      throw new Error(
        `Layer '${this.name}' (${this.className}): input ${fmtSym(s)} is smaller than the pool ` +
          `${fmtSym(this.poolSize)}`,
      );
    return last ? [s[0], ...out, s[3]] : [s[0], s[1], ...out];
  }
  protected abstract pool(x: Tensor): Tensor;
  forward(x: Tensor): Tensor {
    const xc = this.dataFormat === 'channelsLast' ? toChannelsFirst(x) : x;
    const y = this.pool(xc);
    return this.dataFormat === 'channelsLast' ? toChannelsLast(y) : y;
  }
  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      poolSize: this.poolSize,
      strides: this.strides,
      padding: this.padding,
      dataFormat: this.dataFormat,
    };
  }
}

export class MaxPooling2D extends Pooling2D {
  readonly className = 'MaxPooling2D';
  constructor(args: Pooling2DArgs = {}) {
    super(args, 'max_pooling2d');
  }
  protected pool(x: Tensor): Tensor {
    const xp = this.padding === 'same' ? padSame(x, this.poolSize, this.strides, [1, 1], -Infinity) : x;
    return maxPool2d(xp, this.poolSize as [number, number], this.strides as [number, number]);
  }
}

export class AveragePooling2D extends Pooling2D {
  readonly className = 'AveragePooling2D';
  constructor(args: Pooling2DArgs = {}) {
    super(args, 'average_pooling2d');
  }
  protected pool(x: Tensor): Tensor {
    const k = this.poolSize as [number, number],
      s = this.strides as [number, number];
    if (this.padding === 'valid') return avgPool2d(x, k, s);
    // mean over the real positions only: pooled sums of x over pooled counts of ones
    const sums = avgPool2d(padSame(x, k, s, [1, 1]), k, s);
    const counts = avgPool2d(padSame(onesLike(x), k, s, [1, 1]), k, s);
    return sums.div(counts);
  }
}

export interface GlobalPooling2DArgs extends LayerArgs {
  dataFormat?: DataFormat;
  keepdims?: boolean;
}

export class GlobalAveragePooling2D extends Layer {
  readonly className = 'GlobalAveragePooling2D';
  readonly dataFormat: DataFormat;
  readonly keepdims: boolean;
  constructor(args: GlobalPooling2DArgs = {}) {
    super(args, 'global_average_pooling2d');
    this.dataFormat = checkDataFormat(args.dataFormat, 'global_average_pooling2d');
    this.keepdims = args.keepdims ?? false;
  }
  protected override checkedAxes(): number[] {
    return [];
  }
  override build(s: SymShape): void {
    if (s.length !== 4)
      throw new Error(`Layer '${this.name}' (GlobalAveragePooling2D): expected a 4-D input, got ${fmtSym(s)}`);
  }
  computeOutputShape(s: SymShape): SymShape {
    const last = this.dataFormat === 'channelsLast';
    const C = last ? s[3] : s[1];
    if (!this.keepdims) return [s[0], C];
    return last ? [s[0], 1, 1, C] : [s[0], C, 1, 1];
  }
  forward(x: Tensor): Tensor {
    const axes = this.dataFormat === 'channelsLast' ? [1, 2] : [2, 3];
    return x.mean(axes, this.keepdims);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), dataFormat: this.dataFormat, keepdims: this.keepdims };
  }
}
