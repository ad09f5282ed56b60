// Keras metrics: stateful accumulators with update(yTrue, yPred, sampleWeight?) / result() / reset().
// They run on the host, on typed arrays, after each batch (no gradients). Inputs may be Tensors,
// typed arrays or (nested) number arrays. Glossary: N samples, C classes (last axis of yPred).
//
// `resolveMetric('accuracy', lossName, outputShape)` picks binary, sparse categorical or categorical
// accuracy as Keras does.

import { Tensor } from '../tensor/tensor.js';

export interface Dense {
  data: ArrayLike<number>;
  shape: readonly number[];
}

export type MetricInput = Tensor | Dense | ArrayLike<number> | number[][];

/** A host view (values, shape) of a tensor, typed array or nested array. */
export function toDense(x: MetricInput): Dense {
  if (x instanceof Tensor) return { data: x.toTypedArray(), shape: x.shape };
  if (typeof x === 'object' && x !== null && 'shape' in x && 'data' in x) return x as Dense;
  const a = x as ArrayLike<number> | number[][];
  if (a.length > 0 && Array.isArray((a as number[][])[0])) {
    const rows = a as number[][];
    const c = rows[0].length;
    const data = new Float64Array(rows.length * c);
    rows.forEach((r, i) => {
      data.set(r, i * c);
    });
    return { data, shape: [rows.length, c] };
  }
  return { data: a as ArrayLike<number>, shape: [a.length] };
}

function lastDim(d: Dense): number {
  return d.shape.length > 1 ? d.shape[d.shape.length - 1] : 1;
}

function weights(sw: MetricInput | undefined, n: number, op: string): ArrayLike<number> | null {
  if (sw === undefined) return null;
  const w = toDense(sw).data;
  if (w.length !== n) throw new Error(`${op}: sampleWeight has ${w.length} entries but there are ${n} samples`);
  return w;
}

/** Argmax of row i of a (N, C) view. */
function argmaxRow(d: ArrayLike<number>, i: number, c: number): number {
  let best = 0,
    bv = -Infinity;
  for (let j = 0; j < c; j++) {
    const v = d[i * c + j];
    if (v > bv || Number.isNaN(v)) {
      bv = v;
      best = j;
      if (Number.isNaN(v)) break;
    }
  }
  return best;
}

export abstract class Metric {
  constructor(public name: string) {}
  abstract update(yTrue: MetricInput, yPred: MetricInput, sampleWeight?: MetricInput): void;
  abstract result(): number;
  abstract reset(): void;
  /** Stateless use: reset, update once, result. */
  compute(yTrue: MetricInput, yPred: MetricInput, sampleWeight?: MetricInput): number {
    this.reset();
    this.update(yTrue, yPred, sampleWeight);
    return this.result();
  }
}

/** A weighted mean of per-sample values (total / count), Keras's MeanMetricWrapper. */
export abstract class MeanMetric extends Metric {
  protected total = 0;
  protected count = 0;
  /** One value per sample. */
  protected abstract values(t: Dense, p: Dense): Float64Array;
  update(yTrue: MetricInput, yPred: MetricInput, sampleWeight?: MetricInput): void {
    const v = this.values(toDense(yTrue), toDense(yPred));
    const w = weights(sampleWeight, v.length, this.name);
    for (let i = 0; i < v.length; i++) {
      const wi = w ? w[i] : 1;
      this.total += v[i] * wi;
      this.count += wi;
    }
  }
  result(): number {
    return this.count === 0 ? 0 : this.total / this.count;
  }
  reset(): void {
    this.total = 0;
    this.count = 0;
  }
}

/** Mean of values passed in directly (the running loss). */
export class Mean extends Metric {
  private total = 0;
  private count = 0;
  constructor(name = 'mean') {
    super(name);
  }
  update(value: MetricInput | number, _unused?: MetricInput, weight?: MetricInput | number): void {
    const w = typeof weight === 'number' ? weight : 1;
    if (typeof value === 'number') {
      this.total += value * w;
      this.count += w;
      return;
    }
    const d = toDense(value).data;
    for (let i = 0; i < d.length; i++) {
      this.total += d[i] * w;
      this.count += w;
    }
  }
  result(): number {
    return this.count === 0 ? 0 : this.total / this.count;
  }
  reset(): void {
    this.total = 0;
    this.count = 0;
  }
}

function checkRows(t: Dense, p: Dense, op: string, sameWidth: boolean): number {
  const n = p.shape.length ? p.shape[0] : 1;
  const tn = t.shape.length ? t.shape[0] : 1;
  if (tn !== n)
    throw new Error(`${op}: yTrue has ${tn} samples but yPred has ${n} (shapes [${t.shape}] and [${p.shape}])`);
  if (sameWidth && t.data.length !== p.data.length) {
    throw new Error(`${op}: yTrue shape [${t.shape}] does not match yPred shape [${p.shape}]`);
  }
  return n;
}

/** yPred (N, C) scores, yTrue (N) or (N, 1) class indices: argmax(yPred) == yTrue. */
export class SparseCategoricalAccuracy extends MeanMetric {
  constructor(name = 'sparse_categorical_accuracy') {
    super(name);
  }
  protected values(t: Dense, p: Dense): Float64Array {
    const n = checkRows(t, p, this.name, false),
      c = lastDim(p);
    if (t.data.length !== n)
      throw new Error(`${this.name}: expected one label per sample, got yTrue of shape [${t.shape}] for ${n} samples`);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = argmaxRow(p.data, i, c) === t.data[i] ? 1 : 0;
    return out;
  }
}

/** One-hot (or probability) yTrue and yPred, both (N, C): argmax equal. */
export class CategoricalAccuracy extends MeanMetric {
  constructor(name = 'categorical_accuracy') {
    super(name);
  }
  protected values(t: Dense, p: Dense): Float64Array {
    const n = checkRows(t, p, this.name, true),
      c = lastDim(p);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = argmaxRow(p.data, i, c) === argmaxRow(t.data, i, c) ? 1 : 0;
    return out;
  }
}

/** Elementwise (yPred > threshold) == yTrue, averaged over the last axis per sample. */
export class BinaryAccuracy extends MeanMetric {
  constructor(
    name = 'binary_accuracy',
    readonly threshold = 0.5,
  ) {
    super(name);
  }
  protected values(t: Dense, p: Dense): Float64Array {
    const n = checkRows(t, p, this.name, true),
      c = p.data.length / Math.max(1, n);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < c; j++)
        s += (p.data[i * c + j] > this.threshold ? 1 : 0) === (t.data[i * c + j] > 0.5 ? 1 : 0) ? 1 : 0;
      out[i] = s / c;
    }
    return out;
  }
}

/** Whether the true class is among the k highest scores; yTrue one-hot (N, C) or, sparse, (N). */
export class TopKCategoricalAccuracy extends MeanMetric {
  constructor(
    readonly k = 5,
    name = 'top_k_categorical_accuracy',
    readonly sparse = false,
  ) {
    super(name);
  }
  protected values(t: Dense, p: Dense): Float64Array {
    const n = checkRows(t, p, this.name, !this.sparse),
      c = lastDim(p);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const label = this.sparse ? t.data[i] : argmaxRow(t.data, i, c);
      const v = p.data[i * c + label];
      // rank = number of classes scoring strictly higher (ties count in favour, as tf.math.in_top_k)
      let higher = 0;
      for (let j = 0; j < c; j++) if (p.data[i * c + j] > v) higher++;
      out[i] = higher < this.k ? 1 : 0;
    }
    return out;
  }
}

function perSample(t: Dense, p: Dense, op: string, f: (d: number) => number): Float64Array {
  const n = checkRows(t, p, op, true),
    c = p.data.length / Math.max(1, n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += f(p.data[i * c + j] - t.data[i * c + j]);
    out[i] = s / c;
  }
  return out;
}

export class MeanSquaredError extends MeanMetric {
  constructor(name = 'mean_squared_error') {
    super(name);
  }
  protected values(t: Dense, p: Dense): Float64Array {
    return perSample(t, p, this.name, (d) => d * d);
  }
}

export class MeanAbsoluteError extends MeanMetric {
  constructor(name = 'mean_absolute_error') {
    super(name);
  }
  protected values(t: Dense, p: Dense): Float64Array {
    return perSample(t, p, this.name, Math.abs);
  }
}

export interface ConfusionOptions {
  /** Decision threshold on yPred (default 0.5). */
  threshold?: number;
  /** Only this class (column of yPred / one-hot yTrue) counts. */
  classId?: number;
}

/** True/false positives and negatives over every element (Keras treats each as a binary decision). */
abstract class ConfusionMetric extends Metric {
  protected tp = 0;
  protected fp = 0;
  protected fn = 0;
  protected tn = 0;
  constructor(
    name: string,
    readonly opts: ConfusionOptions = {},
  ) {
    super(name);
  }
  update(yTrue: MetricInput, yPred: MetricInput, sampleWeight?: MetricInput): void {
    const t = toDense(yTrue),
      p = toDense(yPred);
    const n = checkRows(t, p, this.name, true),
      c = p.data.length / Math.max(1, n);
    const w = weights(sampleWeight, n, this.name);
    const th = this.opts.threshold ?? 0.5;
    for (let i = 0; i < n; i++) {
      const wi = w ? w[i] : 1;
      for (let j = 0; j < c; j++) {
        if (this.opts.classId !== undefined && j !== this.opts.classId) continue;
        const pos = p.data[i * c + j] > th,
          truth = t.data[i * c + j] > 0.5;
        if (pos && truth) this.tp += wi;
        else if (pos) this.fp += wi;
        else if (truth) this.fn += wi;
        else this.tn += wi;
      }
    }
  }
  reset(): void {
    this.tp = this.fp = this.fn = this.tn = 0;
  }
}

export class Precision extends ConfusionMetric {
  constructor(opts: ConfusionOptions & { name?: string } = {}) {
    super(opts.name ?? 'precision', opts);
  }
  result(): number {
    return this.tp + this.fp === 0 ? 0 : this.tp / (this.tp + this.fp);
  }
}

export class Recall extends ConfusionMetric {
  constructor(opts: ConfusionOptions & { name?: string } = {}) {
    super(opts.name ?? 'recall', opts);
  }
  result(): number {
    return this.tp + this.fn === 0 ? 0 : this.tp / (this.tp + this.fn);
  }
}

/**
 * Area under the ROC curve, approximated as Keras does: counts at `numThresholds` evenly spaced
 * thresholds in [0, 1] (plus ±epsilon at the ends), then the trapezoidal rule over (FPR, TPR).
 */
export class AUC extends Metric {
  private tp: Float64Array;
  private fp: Float64Array;
  private fn: Float64Array;
  private tn: Float64Array;
  private readonly thresholds: Float64Array;
  constructor(opts: { numThresholds?: number; name?: string } = {}) {
    super(opts.name ?? 'auc');
    const k = opts.numThresholds ?? 200;
    if (!(k > 1)) throw new Error(`AUC: numThresholds must be > 1, got ${k}`);
    this.thresholds = new Float64Array(k);
    for (let i = 0; i < k; i++) this.thresholds[i] = i / (k - 1);
    this.thresholds[0] = -1e-7;
    this.thresholds[k - 1] = 1 + 1e-7;
    this.tp = new Float64Array(k);
    this.fp = new Float64Array(k);
    this.fn = new Float64Array(k);
    this.tn = new Float64Array(k);
  }
  update(yTrue: MetricInput, yPred: MetricInput, sampleWeight?: MetricInput): void {
    const t = toDense(yTrue),
      p = toDense(yPred);
    const n = checkRows(t, p, this.name, true),
      c = p.data.length / Math.max(1, n);
    const w = weights(sampleWeight, n, this.name);
    for (let i = 0; i < n * c; i++) {
      const wi = w ? w[Math.floor(i / c)] : 1;
      const v = p.data[i],
        truth = t.data[i] > 0.5;
      for (let k = 0; k < this.thresholds.length; k++) {
        const pos = v > this.thresholds[k];
        if (pos && truth) this.tp[k] += wi;
        else if (pos) this.fp[k] += wi;
        else if (truth) this.fn[k] += wi;
        else this.tn[k] += wi;
      }
    }
  }
  result(): number {
    let area = 0;
    const tpr = (k: number) => (this.tp[k] + this.fn[k] === 0 ? 0 : this.tp[k] / (this.tp[k] + this.fn[k]));
    const fpr = (k: number) => (this.fp[k] + this.tn[k] === 0 ? 0 : this.fp[k] / (this.fp[k] + this.tn[k]));
    for (let k = 0; k + 1 < this.thresholds.length; k++) {
      area += ((fpr(k) - fpr(k + 1)) * (tpr(k) + tpr(k + 1))) / 2;
    }
    return area;
  }
  reset(): void {
    this.tp.fill(0);
    this.fp.fill(0);
    this.fn.fill(0);
    this.tn.fill(0);
  }
}

export type MetricSpec = string | Metric;

const FACTORIES: Record<string, () => Metric> = {
  sparse_categorical_accuracy: () => new SparseCategoricalAccuracy(),
  categorical_accuracy: () => new CategoricalAccuracy(),
  binary_accuracy: () => new BinaryAccuracy(),
  top_k_categorical_accuracy: () => new TopKCategoricalAccuracy(5),
  sparse_top_k_categorical_accuracy: () => new TopKCategoricalAccuracy(5, 'sparse_top_k_categorical_accuracy', true),
  mse: () => new MeanSquaredError('mse'),
  mean_squared_error: () => new MeanSquaredError(),
  mae: () => new MeanAbsoluteError('mae'),
  mean_absolute_error: () => new MeanAbsoluteError(),
  precision: () => new Precision(),
  recall: () => new Recall(),
  auc: () => new AUC(),
};

/** camelCase (tfjs) and snake_case (Keras) names alike: 'sparseCategoricalAccuracy' -> 'sparse_categorical_accuracy'.
 * */
export function snakeCase(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * A fresh metric for a name. 'accuracy'/'acc' follows Keras: binary accuracy for binary crossentropy
 * or a one-unit output, sparse categorical accuracy for sparse categorical crossentropy, else
 * categorical accuracy. The metric keeps the name it was asked by ('accuracy' stays 'accuracy').
 */
export function resolveMetric(spec: MetricSpec, lossName?: string, outputShape?: readonly (number | null)[]): Metric {
  if (spec instanceof Metric) return spec;
  if (typeof spec !== 'string') throw new Error(`compile: a metric must be a name or a Metric, got ${typeof spec}`);
  const key = snakeCase(spec);
  if (key === 'accuracy' || key === 'acc') {
    const loss = lossName ? snakeCase(lossName) : '';
    const last = outputShape?.[outputShape.length - 1];
    if (loss === 'binary_crossentropy' || (loss !== 'sparse_categorical_crossentropy' && last === 1))
      return new BinaryAccuracy(spec);
    if (loss === 'sparse_categorical_crossentropy') return new SparseCategoricalAccuracy(spec);
    return new CategoricalAccuracy(spec);
  }
  const f = FACTORIES[key];
  if (!f) throw new Error(`compile: unknown metric '${spec}' (known: accuracy, ${Object.keys(FACTORIES).join(', ')})`);
  const m = f();
  m.name = spec;
  return m;
}
