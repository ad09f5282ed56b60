// BatchNormalization and LayerNormalization over one axis (the last by default, channels-last).
// Weights under nn.BatchNorm / nn.LayerNorm's names: weight (gamma), bias (beta), running_mean and
// running_var (Keras's moving mean/variance), num_batches_tracked.
// Keras's momentum m is PyTorch's 1 - m (moving = m * moving + (1 - m) * batch); epsilon defaults to 1e-3.
// NOTE: the running variance is updated with the unbiased batch variance, as nn.BatchNorm does.

import { noGrad } from '../../autograd/grad_mode.js';
import type { Parameter } from '../../nn/module.js';
import { batchNorm, layerNorm } from '../../ops/nn_ops.js';
import { ones, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { initializerName, type InitializerIdentifier } from '../initializers.js';
import { Layer, fmtSym, knownDim, type LayerArgs, type SymShape } from '../layer.js';

export interface BatchNormalizationArgs extends LayerArgs {
  axis?: number;
  momentum?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: InitializerIdentifier;
  gammaInitializer?: InitializerIdentifier;
}

function normAxis(axis: number, rank: number, layer: Layer): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 1 || a >= rank)
    throw new Error(
      `Layer '${layer.name}' (${layer.className}): axis ${axis} is out of range for an input of rank ${rank} (the ` +
        `batch axis 0 cannot be normalised)`,
    );
  return a;
}

export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  declare weight: Parameter | null;
  declare bias: Parameter | null;
  declare running_mean: Tensor;
  declare running_var: Tensor;
  declare num_batches_tracked: Tensor;
  private resolvedAxis = -1;

  constructor(readonly args: BatchNormalizationArgs = {}) {
    super(args, 'batch_normalization');
    this.axis = args.axis ?? -1;
    this.momentum = args.momentum ?? 0.99;
    if (!(this.momentum >= 0 && this.momentum <= 1))
      throw new Error(`batch_normalization: momentum must be in [0, 1], got ${this.momentum}`);
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
  }

  protected override checkedAxes(rank: number): number[] {
    return [normAxis(this.axis, rank, this)];
  }

  override build(s: SymShape): void {
    this.resolvedAxis = normAxis(this.axis, s.length, this);
    const C = knownDim(s, this.resolvedAxis, this);
    if (this.scale) this.addWeight('weight', [C], this.args.gammaInitializer ?? 'ones');
    else this.registerParameter('weight', null);
    if (this.center) this.addWeight('bias', [C], this.args.betaInitializer ?? 'zeros');
    else this.registerParameter('bias', null);
    this.registerBuffer('running_mean', zeros([C]));
    this.registerBuffer('running_var', ones([C]));
    this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int32' }));
  }

  computeOutputShape(s: SymShape): SymShape {
    return s;
  }

  forward(x: Tensor): Tensor {
    const a = this.resolvedAxis;
    if (x.ndim < 2)
      throw new Error(
        `Layer '${this.name}' (BatchNormalization): expected an input of rank >= 2, got ${fmtSym(x.shape)}`,
      );
    // move the normalised axis to position 1: (N, ..., C, ...) -> (N, C, ...)
    const order = [0, a, ...[...Array(x.ndim).keys()].filter((d) => d !== 0 && d !== a)];
    const inv = order.map((_, i) => order.indexOf(i));
    if (this.training) noGrad(() => this.num_batches_tracked.add_(1));
    const y = batchNorm(a === 1 ? x : x.permute(order), this.running_mean, this.running_var, {
      weight: this.weight,
      bias: this.bias,
      training: this.training,
      momentum: 1 - this.momentum,
      eps: this.epsilon,
    });
    return a === 1 ? y : y.permute(inv);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      axis: this.axis,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: initializerName(this.args.betaInitializer, 'zeros'),
      gammaInitializer: initializerName(this.args.gammaInitializer, 'ones'),
    };
  }
}

export interface LayerNormalizationArgs extends LayerArgs {
  /** Only the last axis (-1) is supported. */
  axis?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: InitializerIdentifier;
  gammaInitializer?: InitializerIdentifier;
}

/** Normalises each sample over its last axis: (x - mean) / sqrt(var + eps) * gamma + beta. */
export class LayerNormalization extends Layer {
  readonly className = 'LayerNormalization';
  protected override fixedRank = false;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  declare weight: Parameter | null;
  declare bias: Parameter | null;
  private C = 0;
  constructor(readonly args: LayerNormalizationArgs = {}) {
    super(args, 'layer_normalization');
    if (args.axis !== undefined && args.axis !== -1)
      throw new Error(`layer_normalization: only axis -1 is supported, got ${args.axis}`);
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
  }
  override build(s: SymShape): void {
    this.C = knownDim(s, -1, this);
    if (this.scale) this.addWeight('weight', [this.C], this.args.gammaInitializer ?? 'ones');
    else this.registerParameter('weight', null);
    if (this.center) this.addWeight('bias', [this.C], this.args.betaInitializer ?? 'zeros');
    else this.registerParameter('bias', null);
  }
  computeOutputShape(s: SymShape): SymShape {
    return s;
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, [this.C], this.weight, this.bias, this.epsilon);
  }
  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      axis: -1,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: initializerName(this.args.betaInitializer, 'zeros'),
      gammaInitializer: initializerName(this.args.gammaInitializer, 'ones'),
    };
  }
}
