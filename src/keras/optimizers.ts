// Optimisers for compile(): a name ('adam', 'sgd', 'rmsprop', 'adagrad', 'adamw'), a spec from the
// factories below (`nb.keras.optimizers.adam({learningRate: 1e-2})`), or a ready nb.optim
// Optimizer instance. Names and specs use Keras's defaults (Adam epsilon 1e-7, RMSprop rho 0.9,
// Adagrad initial accumulator 0.1, AdamW weight decay 0.004) and are bound to the model's
// trainable parameters once it is built.

import { Optimizer } from '../optim/optimizer.js';
import { Adam, AdamW } from '../optim/adam.js';
import { SGD } from '../optim/sgd.js';
import { RMSprop } from '../optim/rmsprop.js';
import { Adagrad } from '../optim/adagrad.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { privatize } from './privacy.js';

export interface OptimizerConfig {
  learningRate?: number;
  /** sgd, rmsprop */
  momentum?: number;
  /** sgd */
  nesterov?: boolean;
  /** adam, adamw */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** rmsprop */
  rho?: number;
  /** adagrad */
  initialAccumulatorValue?: number;
  weightDecay?: number;
  /** dpSgd, dpAdam: the per-example clipping norm C (TF Privacy's l2_norm_clip) */
  l2NormClip?: number;
  /** dpSgd, dpAdam: noise std over C */
  noiseMultiplier?: number;
}

/** DP-SGD's settings on top of SGD's or Adam's (TF Privacy's DPKerasSGDOptimizer arguments). */
export interface DPOptimizerConfig extends OptimizerConfig {
  l2NormClip: number;
  noiseMultiplier: number;
}

export interface OptimizerSpec {
  readonly name: string;
  readonly config: OptimizerConfig;
}

export type OptimizerIdentifier = string | OptimizerSpec | Optimizer;

const NAMES = ['adam', 'sgd', 'rmsprop', 'adagrad', 'adamw', 'dpsgd', 'dpadam'];

function spec(name: string, config: OptimizerConfig = {}): OptimizerSpec {
  return { name, config: { ...config } };
}

export const adam = (c?: OptimizerConfig): OptimizerSpec => spec('adam', c);
export const adamw = (c?: OptimizerConfig): OptimizerSpec => spec('adamw', c);
export const sgd = (c?: OptimizerConfig): OptimizerSpec => spec('sgd', c);
export const rmsprop = (c?: OptimizerConfig): OptimizerSpec => spec('rmsprop', c);
export const adagrad = (c?: OptimizerConfig): OptimizerSpec => spec('adagrad', c);
/**
 * DP-SGD (TF Privacy's DPKerasSGDOptimizer): each example's gradient clipped to l2NormClip, Gaussian noise
 * of std noiseMultiplier * l2NormClip added to the sum, then SGD. eps: nb.privacy.computeEpsilon(batch / n,
 * noiseMultiplier, steps, delta) (assuming Poisson sampling at that rate, as TF Privacy's
 * compute_dp_sgd_privacy does). Layers: Dense (other layers with weights are refused, named).
 */
export const dpSgd = (c: DPOptimizerConfig): OptimizerSpec => spec('dpsgd', c);
/** DP-Adam (TF Privacy's DPKerasAdamOptimizer): dpSgd's clipping and noise, then Adam. */
export const dpAdam = (c: DPOptimizerConfig): OptimizerSpec => spec('dpadam', c);

/** Checks the identifier now (compile time), so a typo fails before training. */
export function checkOptimizer(id: OptimizerIdentifier): OptimizerIdentifier {
  if (id instanceof Optimizer) return id;
  const name = typeof id === 'string' ? id : id?.name;
  if (typeof name !== 'string' || !NAMES.includes(name.toLowerCase())) {
    throw new Error(
      `compile: unknown optimizer ${JSON.stringify(typeof id === 'string' ? id : name)} (known: ` +
        `${NAMES.join(', ')}, or an nb.optim optimizer instance)`,
    );
  }
  return id;
}

/** The serialisable form (for the saved config), or null for an instance. */
export function optimizerConfig(id: OptimizerIdentifier): OptimizerSpec | null {
  if (id instanceof Optimizer) {
    const name = id.constructor.name.toLowerCase();
    const g = id.paramGroups[0];
    return NAMES.includes(name) ? { name, config: { learningRate: g.lr } } : null;
  }
  return typeof id === 'string'
    ? { name: id.toLowerCase(), config: {} }
    : { name: id.name.toLowerCase(), config: id.config };
}

/** An nb.optim optimizer over `params` for a name or spec; an instance is returned as is. */
export function makeOptimizer(id: OptimizerIdentifier, params: Tensor[], model?: Module): Optimizer {
  if (id instanceof Optimizer) return id;
  const { name, config: c } =
    typeof id === 'string' ? spec(id.toLowerCase()) : { name: id.name.toLowerCase(), config: id.config };
  if (params.length === 0) throw new Error('compile: the model has no trainable weights to optimise');
  switch (name) {
    case 'dpsgd':
    case 'dpadam':
      if (!model) throw new Error(`compile: optimizer '${name}' needs the model (for per-example gradients)`);
      return privatize(model, makeOptimizer(spec(name.slice(2), c), params), c, name);
    case 'adam':
      return new Adam(params, {
        lr: c.learningRate ?? 1e-3,
        betas: [c.beta1 ?? 0.9, c.beta2 ?? 0.999],
        eps: c.epsilon ?? 1e-7,
        weightDecay: c.weightDecay ?? 0,
      });
    case 'adamw':
      return new AdamW(params, {
        lr: c.learningRate ?? 1e-3,
        betas: [c.beta1 ?? 0.9, c.beta2 ?? 0.999],
        eps: c.epsilon ?? 1e-7,
        weightDecay: c.weightDecay ?? 0.004,
      });
    case 'sgd':
      return new SGD(params, {
        lr: c.learningRate ?? 0.01,
        momentum: c.momentum ?? 0,
        nesterov: c.nesterov ?? false,
        weightDecay: c.weightDecay ?? 0,
      });
    case 'rmsprop':
      return new RMSprop(params, {
        lr: c.learningRate ?? 1e-3,
        alpha: c.rho ?? 0.9,
        eps: c.epsilon ?? 1e-7,
        momentum: c.momentum ?? 0,
        weightDecay: c.weightDecay ?? 0,
      });
    case 'adagrad':
      return new Adagrad(params, {
        lr: c.learningRate ?? 1e-3,
        initialAccumulatorValue: c.initialAccumulatorValue ?? 0.1,
        eps: c.epsilon ?? 1e-7,
        weightDecay: c.weightDecay ?? 0,
      });
    default:
      throw new Error(`compile: unknown optimizer '${name}' (known: ${NAMES.join(', ')})`);
  }
}
