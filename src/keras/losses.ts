// Keras losses by name: categorical / sparse categorical / binary crossentropy (each with
// fromLogits), mse, mae and huber. Each returns one loss per sample, (N); `reduceLoss` then takes
// Keras's "sum over batch size": sum(loss * sampleWeight) / N.
// Glossary: N samples, C classes (last axis), T extra (e.g. time) positions between them.
//
// NOTE on probabilities (fromLogits false): Keras clips them to [eps, 1 - eps] (eps = 1e-7) and
// takes the log. When the predictions come straight from a softmax or sigmoid activation the model
// passes their logits along (see activations.ts), so we take log-softmax / log-sigmoid of the logits instead and
// clamp to [log eps, log(1 - eps)]: the same values and gradients as Keras's clip-then-log,
// without the float32 underflow of computing small probabilities first.

import { Tensor } from '../tensor/tensor.js';
import { fromTypedArray } from '../tensor/creation.js';
import type { OutputLogits } from './activations.js';
import { snakeCase } from './metrics.js';

export const EPSILON = 1e-7;
const LOG_EPS = Math.log(EPSILON),
  LOG_1M_EPS = Math.log1p(-EPSILON);

export interface LossOptions {
  fromLogits?: boolean;
  /** Categorical crossentropy only: y = y * (1 - s) + s / C. */
  labelSmoothing?: number;
  /** Huber only (default 1). */
  delta?: number;
}

/** A loss: name (as logged and saved), options, and the per-sample function. */
export interface Loss {
  readonly name: string;
  readonly options: LossOptions;
  /** yTrue, yPred -> (N); logits: yPred's logits when it came straight from a softmax or sigmoid. */
  call(yTrue: Tensor, yPred: Tensor, logits?: OutputLogits | null): Tensor;
}

export type LossFn = (yTrue: Tensor, yPred: Tensor) => Tensor;
export type LossSpec = string | Loss | LossFn;

/** Mean over every axis but the first: (N, ...) -> (N). */
function perSample(x: Tensor): Tensor {
  return x.ndim <= 1 ? x : x.reshape([x.shape[0], -1]).mean(1);
}

function checkShapes(yTrue: Tensor, yPred: Tensor, op: string): void {
  if (yTrue.numel() !== yPred.numel()) {
    throw new Error(
      `${op}: yTrue shape [${yTrue.shape.join(', ')}] does not match yPred shape [${yPred.shape.join(', ')}]`,
    );
  }
}

/** log p over the last axis of yPred (N, ..., C), per the NOTE above. */
function logProbs(yPred: Tensor, fromLogits: boolean, k: OutputLogits | null): Tensor {
  if (fromLogits) return yPred.logSoftmax(-1);
  if (k?.kind === 'softmax') return k.logits.logSoftmax(-1).clamp(LOG_EPS, LOG_1M_EPS);
  const p = yPred.div(yPred.sum(-1, true));
  return p.clamp(EPSILON, 1 - EPSILON).log();
}

export function categoricalCrossentropy(
  yTrue: Tensor,
  yPred: Tensor,
  opts: LossOptions = {},
  logits: OutputLogits | null = null,
): Tensor {
  checkShapes(yTrue, yPred, 'categorical_crossentropy');
  let t = yTrue.reshape([...yPred.shape]).to(yPred.dtype);
  const s = opts.labelSmoothing ?? 0;
  if (s > 0) t = t.mul(1 - s).add(s / yPred.shape[yPred.ndim - 1]);
  return perSample(
    t
      .mul(logProbs(yPred, opts.fromLogits ?? false, logits))
      .sum(-1)
      .neg(),
  );
}

/**
 * yPred (N, ..., C), yTrue (N, ...) or (N, ..., 1) integer class indices. A label outside [0, C)
 * is an error that names it, its position and C.
 */
export function sparseCategoricalCrossentropy(
  yTrue: Tensor,
  yPred: Tensor,
  opts: LossOptions = {},
  logits: OutputLogits | null = null,
): Tensor {
  const op = 'sparse_categorical_crossentropy';
  const C = yPred.shape[yPred.ndim - 1];
  const M = yPred.numel() / C;
  if (yTrue.numel() !== M) {
    throw new Error(
      `${op}: expected one class index per prediction: yPred has shape [${yPred.shape.join(', ')}] (${M} rows of ` +
        `${C} classes) ` +
        `but yTrue has shape [${yTrue.shape.join(', ')}]; for one-hot labels use categorical_crossentropy`,
    );
  }
  const labels = checkLabels(yTrue, C, op);
  const logp = logProbs(yPred, opts.fromLogits ?? false, logits).reshape([M, C]);
  const nll = logp.gather(1, fromTypedArray(labels, [M, 1])).neg(); // (M, 1)
  return perSample(nll.reshape([yPred.shape[0], -1]));
}

/** The labels as int32, checked to be integers in [0, C). */
export function checkLabels(yTrue: Tensor, C: number, op: string): Int32Array {
  const v = yTrue.toTypedArray();
  const out = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const y = v[i];
    if (!Number.isInteger(y) || y < 0 || y >= C) {
      throw new Error(
        `${op}: label ${y} at index ${i} is out of range: the model's output has ${C} classes, so labels must be ` +
          `integers in [0, ${C - 1}]`,
      );
    }
    out[i] = y;
  }
  return out;
}

export function binaryCrossentropy(
  yTrue: Tensor,
  yPred: Tensor,
  opts: LossOptions = {},
  logits: OutputLogits | null = null,
): Tensor {
  checkShapes(yTrue, yPred, 'binary_crossentropy');
  const t = yTrue.reshape([...yPred.shape]).to(yPred.dtype);
  let logP: Tensor, log1mP: Tensor;
  const k = opts.fromLogits ? { logits: yPred, kind: 'sigmoid' as const } : logits;
  if (k?.kind === 'sigmoid') {
    // log sigmoid(x) = -softplus(-x), log(1 - sigmoid(x)) = -softplus(x); softplus(x) = relu(x) + log1p(exp(-|x|))
    const x = k.logits;
    const tail = x.abs().neg().exp().log1p();
    logP = x.neg().relu().add(tail).neg();
    log1mP = x.relu().add(tail).neg();
    if (!opts.fromLogits) {
      logP = logP.clamp(LOG_EPS, LOG_1M_EPS);
      log1mP = log1mP.clamp(LOG_EPS, LOG_1M_EPS);
    }
  } else {
    const p = yPred.clamp(EPSILON, 1 - EPSILON);
    logP = p.log();
    log1mP = p.neg().add(1).log();
  }
  return perSample(t.mul(logP).add(t.neg().add(1).mul(log1mP)).neg());
}

export function meanSquaredError(yTrue: Tensor, yPred: Tensor): Tensor {
  checkShapes(yTrue, yPred, 'mean_squared_error');
  return perSample(yPred.sub(yTrue.reshape([...yPred.shape]).to(yPred.dtype)).square());
}

export function meanAbsoluteError(yTrue: Tensor, yPred: Tensor): Tensor {
  checkShapes(yTrue, yPred, 'mean_absolute_error');
  return perSample(yPred.sub(yTrue.reshape([...yPred.shape]).to(yPred.dtype)).abs());
}

/** 0.5 e^2 where |e| <= delta, delta (|e| - 0.5 delta) beyond. */
export function huber(yTrue: Tensor, yPred: Tensor, opts: LossOptions = {}): Tensor {
  checkShapes(yTrue, yPred, 'huber');
  const delta = opts.delta ?? 1;
  const a = yPred.sub(yTrue.reshape([...yPred.shape]).to(yPred.dtype)).abs();
  const q = a.clamp(null, delta);
  return perSample(q.square().mul(0.5).add(a.sub(q).mul(delta)));
}

const TABLE: Record<string, (t: Tensor, p: Tensor, o: LossOptions, logits: OutputLogits | null) => Tensor> = {
  categorical_crossentropy: categoricalCrossentropy,
  sparse_categorical_crossentropy: sparseCategoricalCrossentropy,
  binary_crossentropy: binaryCrossentropy,
  mean_squared_error: meanSquaredError,
  mean_absolute_error: meanAbsoluteError,
  huber,
};
const ALIASES: Record<string, string> = { mse: 'mean_squared_error', mae: 'mean_absolute_error', huber_loss: 'huber' };

function canonicalName(name: string): string {
  const key = snakeCase(name);
  const canonical = ALIASES[key] ?? key;
  if (!TABLE[canonical])
    throw new Error(
      `compile: unknown loss '${name}' (known: ${[...Object.keys(TABLE), ...Object.keys(ALIASES)].join(', ')})`,
    );
  return canonical;
}

/** A built-in loss by name, with options: `new NamedLoss('sparse_categorical_crossentropy', {fromLogits: true})`. */
export class NamedLoss implements Loss {
  readonly name: string;
  constructor(
    name: string,
    readonly options: LossOptions = {},
  ) {
    this.name = canonicalName(name);
  }
  call(yTrue: Tensor, yPred: Tensor, logits: OutputLogits | null = null): Tensor {
    return TABLE[this.name](yTrue, yPred, this.options, logits);
  }
}

/** The loss for a name, e.g. `lossByName('mse')`. */
export function lossByName(name: string, options: LossOptions = {}): Loss {
  return new NamedLoss(name, options);
}

// Keras-style classes.
export class SparseCategoricalCrossentropy extends NamedLoss {
  constructor(o: LossOptions = {}) {
    super('sparse_categorical_crossentropy', o);
  }
}
export class CategoricalCrossentropy extends NamedLoss {
  constructor(o: LossOptions = {}) {
    super('categorical_crossentropy', o);
  }
}
export class BinaryCrossentropy extends NamedLoss {
  constructor(o: LossOptions = {}) {
    super('binary_crossentropy', o);
  }
}
export class MeanSquaredError extends NamedLoss {
  constructor() {
    super('mean_squared_error');
  }
}
export class MeanAbsoluteError extends NamedLoss {
  constructor() {
    super('mean_absolute_error');
  }
}
export class Huber extends NamedLoss {
  constructor(o: LossOptions = {}) {
    super('huber', o);
  }
}

/** A Loss for compile's `loss` argument: a name, a Loss, or a function (yTrue, yPred) -> (N) or scalar. */
export function resolveLoss(spec: LossSpec): Loss {
  if (typeof spec === 'string') return lossByName(spec);
  if (typeof spec === 'function') return { name: spec.name || 'custom', options: {}, call: spec };
  if (spec && typeof spec === 'object' && typeof spec.call === 'function') return spec;
  throw new Error(
    `compile: loss must be a name, a Loss or a function (yTrue, yPred) => Tensor, got ` +
      `${spec === null ? 'null' : typeof spec}`,
  );
}

/** Keras's sum-over-batch-size reduction: sum(loss * w) / N (w defaults to 1). */
export function reduceLoss(perSampleLoss: Tensor, sampleWeight?: Tensor): Tensor {
  if (perSampleLoss.ndim === 0) return perSampleLoss;
  const n = perSampleLoss.shape[0];
  const l = perSampleLoss.reshape([n, -1]).mean(1);
  return (sampleWeight ? l.mul(sampleWeight.reshape([n]).to(l.dtype)) : l).sum().div(Math.max(1, n));
}

export function isLoss(x: unknown): x is Loss {
  return x instanceof Tensor
    ? false
    : typeof x === 'object' &&
        x !== null &&
        typeof (x as Loss).call === 'function' &&
        typeof (x as Loss).name === 'string';
}
