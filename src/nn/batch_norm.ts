// Batch normalisation: BatchNorm1d over (N, C) or (N, C, L), BatchNorm2d over (N, C, H, W).
// Training normalises with batch statistics and updates running_mean / running_var (unbiased) and
// num_batches_tracked (int32); eval uses the running statistics.

import { ones, zeros, empty } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/grad_mode.js';
import { batchNormAct } from '../ops/nn_ops.js';
import { Module, Parameter } from './module.js';
import { ones_, zeros_ } from './init.js';
import { inputError, pyBool, pyFloat } from './util.js';

export interface BatchNormOptions {
  eps?: number;
  /** null: cumulative moving average (1 / num_batches_tracked). */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
  dtype?: DType;
}

abstract class BatchNormBase extends Module {
  declare weight: Parameter | null;
  declare bias: Parameter | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(
    readonly numFeatures: number,
    opts: BatchNormOptions,
  ) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    const dtype = opts.dtype ?? 'float32';
    this.registerParameter('weight', this.affine ? new Parameter(empty([numFeatures], { dtype })) : null);
    this.registerParameter('bias', this.affine ? new Parameter(empty([numFeatures], { dtype })) : null);
    const track = this.trackRunningStats;
    this.registerBuffer('running_mean', track ? zeros([numFeatures], { dtype }) : null);
    this.registerBuffer('running_var', track ? ones([numFeatures], { dtype }) : null);
    this.registerBuffer('num_batches_tracked', track ? zeros([], { dtype: 'int32' }) : null);
    this.resetParameters();
  }
  get runningMean(): Tensor | null {
    return this.running_mean;
  }
  get runningVar(): Tensor | null {
    return this.running_var;
  }
  get numBatchesTracked(): Tensor | null {
    return this.num_batches_tracked;
  }

  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    noGrad(() => {
      this.running_mean!.zero_();
      this.running_var!.fill_(1);
      this.num_batches_tracked!.zero_();
    });
  }
  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }
  protected abstract checkInput(x: Tensor): void;

  forward(x: Tensor): Tensor {
    // x (N, C, *) -> same shape
    return this.forwardAct(x, null, false);
  }

  /**
   * act(this.forward(x) + residual), act relu or identity, as one fused kernel in training where the
   * backend has it (the fused ConvBn2d of nn.utils.fuse uses it). Forward hooks are the caller's concern.
   */
  forwardAct(x: Tensor, residual: Tensor | null, relu: boolean): Tensor {
    // x, residual (N, C, *) -> same shape
    this.checkInput(x);
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.num_batches_tracked) {
      noGrad(() => this.num_batches_tracked!.add_(1));
      if (this.momentum === null) factor = 1 / this.num_batches_tracked.item();
    }
    const useBatch = this.training || (this.running_mean === null && this.running_var === null);
    const track = !this.training || this.trackRunningStats;
    return batchNormAct(
      x,
      track ? this.running_mean : null,
      track ? this.running_var : null,
      {
        weight: this.weight,
        bias: this.bias,
        training: useBatch,
        momentum: factor,
        eps: this.eps,
      },
      residual,
      relu,
    );
  }
  override extraRepr(): string {
    return (
      `${this.numFeatures}, eps=${pyFloat(this.eps)}, ` +
      `momentum=${this.momentum === null ? 'None' : pyFloat(this.momentum)}, ` +
      `affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`
    );
  }
}

/** Batch normalisation over (N, C) or (N, C, L). */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts);
  }
  protected checkInput(x: Tensor): void {
    if ((x.ndim !== 2 && x.ndim !== 3) || x.shape[1] !== this.numFeatures)
      throw inputError(this, `(N, ${this.numFeatures}) or (N, ${this.numFeatures}, L)`, x);
  }
}

/** Batch normalisation over (N, C, H, W). */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts);
  }
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4 || x.shape[1] !== this.numFeatures) throw inputError(this, `(N, ${this.numFeatures}, H, W)`, x);
  }
}
