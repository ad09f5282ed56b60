// Per-sample normalisations: LayerNorm, GroupNorm and RMSNorm.

import { empty } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { groupNorm, layerNorm, rmsNorm } from '../ops/nn_ops.js';
import { Module, Parameter } from './module.js';
import { ones_, zeros_ } from './init.js';
import { inputError, pyBool, pyFloat, pyTuple } from './util.js';

export interface LayerNormOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  bias?: boolean;
  dtype?: DType;
}

function checkTrailing(m: Module, x: Tensor, ns: number[]): void {
  const k = ns.length;
  if (x.ndim < k || ns.some((d, i) => x.shape[x.ndim - k + i] !== d)) throw inputError(m, `(*, ${ns.join(', ')})`, x);
}

/** Normalises over the trailing normalizedShape dims; weight ones, bias zeros. */
export class LayerNorm extends Module {
  declare weight: Parameter | null;
  declare bias: Parameter | null;
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = opts.eps ?? 1e-5;
    this.elementwiseAffine = opts.elementwiseAffine ?? true;
    const dtype = opts.dtype ?? 'float32';
    this.registerParameter(
      'weight',
      this.elementwiseAffine ? new Parameter(empty(this.normalizedShape, { dtype })) : null,
    );
    this.registerParameter(
      'bias',
      this.elementwiseAffine && (opts.bias ?? true) ? new Parameter(empty(this.normalizedShape, { dtype })) : null,
    );
    this.resetParameters();
  }
  resetParameters(): void {
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }
  forward(x: Tensor): Tensor {
    // x (*, *normalizedShape) -> same shape
    checkTrailing(this, x, this.normalizedShape);
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
  override extraRepr(): string {
    return (
      `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, ` +
      `elementwise_affine=${pyBool(this.elementwiseAffine)}`
    );
  }
}

export interface GroupNormOptions {
  eps?: number;
  affine?: boolean;
  dtype?: DType;
}

/** Normalises each group of numChannels/numGroups channels; per-channel affine. */
export class GroupNorm extends Module {
  declare weight: Parameter | null;
  declare bias: Parameter | null;
  readonly eps: number;
  readonly affine: boolean;
  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    opts: GroupNormOptions = {},
  ) {
    super();
    if (numChannels % numGroups !== 0)
      throw new Error(`GroupNorm: num_channels (${numChannels}) must be divisible by num_groups (${numGroups})`);
    this.eps = opts.eps ?? 1e-5;
    this.affine = opts.affine ?? true;
    const dtype = opts.dtype ?? 'float32';
    this.registerParameter('weight', this.affine ? new Parameter(empty([numChannels], { dtype })) : null);
    this.registerParameter('bias', this.affine ? new Parameter(empty([numChannels], { dtype })) : null);
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }
  forward(x: Tensor): Tensor {
    // x (N, C, *) -> same shape
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) throw inputError(this, `(N, ${this.numChannels}, *)`, x);
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }
  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyBool(this.affine)}`;
  }
}

export interface RMSNormOptions {
  eps?: number | null;
  elementwiseAffine?: boolean;
  dtype?: DType;
}

/** x / sqrt(mean(x^2) + eps) * weight over the trailing dims (eps null: the dtype's machine epsilon). */
export class RMSNorm extends Module {
  declare weight: Parameter | null;
  readonly normalizedShape: number[];
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;
  constructor(normalizedShape: number | readonly number[], opts: RMSNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = opts.eps ?? null;
    this.elementwiseAffine = opts.elementwiseAffine ?? true;
    this.registerParameter(
      'weight',
      this.elementwiseAffine ? new Parameter(empty(this.normalizedShape, { dtype: opts.dtype ?? 'float32' })) : null,
    );
    if (this.weight) ones_(this.weight);
  }
  forward(x: Tensor): Tensor {
    // x (*, *normalizedShape) -> same shape
    checkTrailing(this, x, this.normalizedShape);
    return rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }
  override extraRepr(): string {
    return (
      `${pyTuple(this.normalizedShape)}, eps=${this.eps === null ? 'None' : pyFloat(this.eps)}, ` +
      `elementwise_affine=${pyBool(this.elementwiseAffine)}`
    );
  }
}
