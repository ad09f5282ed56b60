// The loops behind Model.fit / evaluate / predict.
// One training step: forward in training mode, loss = sum_k lossWeight_k * mean_i(w_i * loss_k(y_i, pred_i)),
// backward, optimizer.step(); then host-side metric updates. Logs per epoch: loss, each metric,
// and val_* of each when there is validation data. A non-finite loss stops training with a message
// naming the epoch and the batch (as TerminateOnNaN, but always on).
// Glossary: N samples, B batch size, K outputs.

import { noGrad } from '../autograd/grad_mode.js';
import { fromTypedArray } from '../tensor/creation.js';
import { defaultGenerator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { cat } from '../ops/movement.js';
import { Dataset } from '../data/dataset.js';
import { DataLoader } from '../data/dataloader.js';
import { CallbackList, History, type CallbackLike, type Logs } from './callbacks.js';
import {
  checkSameLength,
  isBatchSource,
  iterate,
  sliceRows,
  sourceLength,
  standardize,
  take,
  toTensor,
  unpackBatch,
  type Batch,
  type BatchSource,
  type Data,
} from './data_adapter.js';
import type { OutputLogits } from './activations.js';
import { Mean } from './metrics.js';
import { Progbar, type Clock, type ProgressStream } from './progbar.js';
import { checkOptionNames } from './options.js';
import type { Compiled, Model } from './model.js';
import { process } from '../platform/node.js';
import { distribution, globalLoss, shardRange, startDistributedFit, syncGradients } from './distribution.js';

/**
 * What `fit(x, y, options)` takes (Keras's fit arguments in camelCase). `x` and `y` are tensors or arrays;
 * `fit(dataset, options)` takes an `nb.data.Dataset` (batched with `batchSize`), a `DataLoader` or any
 * iterable of `[x, y]` batches instead.
 * @example
 * ```ts
 * const history = await model.fit(xTrain, yTrain, {
 *   epochs: 5, batchSize: 64, validationSplit: 0.1,
 *   callbacks: [new nb.keras.EarlyStopping({ monitor: 'val_loss', patience: 2 })],
 * });
 * ```
 */
export interface FitOptions {
  /** Samples per gradient step, for arrays and Datasets (default 32). */
  batchSize?: number;
  /** Epochs to train (default 1). */
  epochs?: number;
  /** 0 silent, 1 a progress bar (default), 2 one line per epoch. */
  verbose?: 0 | 1 | 2;
  /** Callbacks (`keras.callbacks`: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, CSVLogger, ...). */
  callbacks?: CallbackLike[];
  /** Fraction of the data (its last samples, taken before shuffling) held out for validation. */
  validationSplit?: number;
  /** [x, y], [x, y, sampleWeight], or a DataLoader / iterable of batches. */
  validationData?: readonly [Data, Data] | readonly [Data, Data, Data] | BatchSource;
  /** Shuffle the training samples each epoch (default true), with nabla's seeded generator. */
  shuffle?: boolean;
  /** Weight of each class in the loss: {0: 1, 1: 5}. */
  classWeight?: Record<number, number>;
  /** Weight of each sample in the loss, (N). */
  sampleWeight?: Data;
  /** Epoch to start at (for resuming): epochs run from initialEpoch to epochs - 1. */
  initialEpoch?: number;
  /** Batches per epoch for a loader (default: all it yields). */
  stepsPerEpoch?: number;
  /** Batches per validation run for a loader (default: all it yields). */
  validationSteps?: number;
  /** Where progress goes (default process.stdout), and its clock (tests inject a fake one). */
  stream?: ProgressStream;
  clock?: Clock;
}

/** What `evaluate(x, y, options)` takes; it returns the loss and metrics, as Keras does. */
export interface EvaluateOptions {
  /** Samples per batch (default 32). */
  batchSize?: number;
  /** 0 silent (default), 1 a progress bar. */
  verbose?: 0 | 1 | 2;
  /** Weight of each sample in the loss, (N). */
  sampleWeight?: Data;
  callbacks?: CallbackLike[];
  /** Return `{loss, accuracy, ...}` instead of `[loss, ...metrics]` (or the loss alone without metrics). */
  returnDict?: boolean;
  /** Batches to evaluate from a loader (default: all it yields). */
  steps?: number;
  stream?: ProgressStream;
  clock?: Clock;
}

/** What `predict(x, options)` takes. */
export interface PredictOptions {
  /** Samples per batch (default 32). */
  batchSize?: number;
}

type Batchy = { xs: Tensor[]; ys: Tensor[]; sw?: Tensor };

const FIT = 'fit';

// NOTE: each list is the keys of its interface above; a key outside it is refused (checkOptionNames).
const FIT_OPTIONS: readonly (keyof FitOptions)[] = [
  'batchSize',
  'epochs',
  'verbose',
  'callbacks',
  'validationSplit',
  'validationData',
  'shuffle',
  'classWeight',
  'sampleWeight',
  'initialEpoch',
  'stepsPerEpoch',
  'validationSteps',
  'stream',
  'clock',
];
const EVALUATE_OPTIONS: readonly (keyof EvaluateOptions)[] = [
  'batchSize',
  'verbose',
  'sampleWeight',
  'callbacks',
  'returnDict',
  'steps',
  'stream',
  'clock',
];
const PREDICT_OPTIONS: readonly (keyof PredictOptions)[] = ['batchSize'];

/** Whether the argument after a loader is the options (a plain object: a loader takes no y). */
function isOptions(v: unknown): boolean {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !('shape' in (v as object))
  );
}

/**
 * fit(x, {epochs: 5}) with array x: the options landed where y goes. True when `y` is a plain object
 * whose keys are all option names and no options follow it (a y record names the model's outputs).
 */
function looksLikeOptions(y: unknown, opts: unknown, names: readonly string[]): boolean {
  if (opts !== undefined || !isOptions(y)) return false;
  const keys = Object.keys(y as object);
  return keys.length > 0 && keys.every((k) => names.includes(k));
}

function checkBatchSize(b: number | undefined, op: string): number {
  const v = b ?? 32;
  if (!Number.isInteger(v) || v <= 0)
    throw new Error(`${op}: batchSize must be a positive integer, got ${JSON.stringify(b)}`);
  return v;
}

/** Arrays of x/y as tensors, checked for length and against the model's inputs. */
function arrays(model: Model, x: Data, y: Data | undefined, sw: Data | undefined, op: string): Batchy {
  if (!model.inputs.length) {
    // a Sequential model without inputShape learns it here
    const probe = standardize(x, ['input'], 'x', op);
    model.ensureBuiltFor(probe);
  }
  const xs = standardize(x, model.inputNames, 'x', op);
  const ys = y === undefined ? [] : standardize(y, model.outputNames, 'y', op);
  const swt = sw === undefined ? undefined : toTensor(sw, 'sampleWeight', op);
  const groups = [
    { name: 'x', tensors: xs },
    ...(ys.length ? [{ name: 'y', tensors: ys }] : []),
    ...(swt ? [{ name: 'sampleWeight', tensors: [swt] }] : []),
  ];
  checkSameLength(groups, op);
  model.checkInputs(xs, op);
  return { xs, ys, sw: swt };
}

/** Per-sample weights from classWeight: the weight of each sample's class (sparse label or argmax of one-hot). */
function classWeights(y: Tensor, cw: Record<number, number>, op: string): Tensor {
  const n = y.shape[0];
  const v = y.toTypedArray();
  const width = y.numel() / Math.max(1, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let cls: number;
    if (width === 1) cls = v[i];
    else {
      cls = 0;
      for (let j = 1; j < width; j++) if (v[i * width + j] > v[i * width + cls]) cls = j;
    }
    const w = cw[cls];
    if (w === undefined)
      throw new Error(`${op}: classWeight has no weight for class ${cls} (sample ${i}); give a weight for every class`);
    out[i] = w;
  }
  return fromTypedArray(out, [n]);
}

/** Forward + total loss of one batch (graph recorded when grad mode is on). */
function batchLoss(model: Model, b: Batchy): { outs: Tensor[]; loss: Tensor; parts: Tensor[] } {
  const logits: (OutputLogits | null)[] = [];
  const outs = model.run(b.xs, logits);
  if (b.ys.length !== outs.length)
    throw new Error(
      `${FIT}: the model has ${outs.length} outputs (${model.outputNames.join(', ')}) but y has ${b.ys.length} arrays`,
    );
  const parts = model.computeLoss(b.xs, b.ys, outs, logits, b.sw);
  // NOTE: as in Keras, the regularization penalties count in the loss that is minimised and reported.
  const loss = [...parts.slice(1), ...model.losses].reduce((p, q) => p.add(q), parts[0]);
  return { outs, loss, parts };
}

function updateMetrics(c: Compiled, b: Batchy, outs: Tensor[]): void {
  noGrad(() =>
    c.metrics.forEach((ms, k) => {
      if (!ms.length) return;
      const pred = outs[k].detach();
      for (const m of ms) m.update(b.ys[k], pred, b.sw);
    }),
  );
}

function metricLogs(c: Compiled, lossMean: Mean, partMeans: Mean[], names: string[], prefix = ''): Logs {
  const logs: Logs = { [`${prefix}loss`]: lossMean.result() };
  if (partMeans.length > 1)
    partMeans.forEach((m, k) => {
      logs[`${prefix}${names[k]}_loss`] = m.result();
    });
  for (const ms of c.metrics) for (const m of ms) logs[`${prefix}${m.name}`] = m.result();
  return logs;
}

function resetMetrics(c: Compiled): void {
  for (const ms of c.metrics) for (const m of ms) m.reset();
}

/** Batches of in-memory arrays: a permutation (or the identity), B rows at a time. */
function* arrayBatches(data: Batchy, n: number, batchSize: number, shuffle: boolean): Generator<Batchy> {
  const perm = shuffle ? defaultGenerator().permutation(n) : null;
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    if (perm) {
      const idx = fromTypedArray(perm.slice(s, e), [e - s]);
      yield { xs: take(data.xs, idx), ys: take(data.ys, idx), sw: data.sw && take([data.sw], idx)[0] };
    } else {
      yield { xs: sliceRows(data.xs, s, e), ys: sliceRows(data.ys, s, e), sw: data.sw?.narrow(0, s, e - s) };
    }
  }
}

async function* sourceBatches(model: Model, src: BatchSource, op: string, maxSteps?: number): AsyncGenerator<Batchy> {
  let k = 0;
  for await (const raw of iterate(src)) {
    if (maxSteps !== undefined && k >= maxSteps) break;
    const [x, y, sw] = unpackBatch(raw, op);
    yield arrays(model, x as Data, y as Data | undefined, sw as Data | undefined, op);
    k++;
  }
}

function sliceBatch(b: Batchy, lo: number, hi: number): Batchy {
  return { xs: sliceRows(b.xs, lo, hi), ys: sliceRows(b.ys, lo, hi), sw: b.sw?.narrow(0, lo, hi - lo) };
}

function batchCount(b: Batchy): number {
  return b.xs[0].shape[0];
}

/**
 * A map-style Dataset of samples ([x, y] items, as TensorDataset yields) batched the way Keras batches
 * arrays: batchSize samples per batch, reshuffled each epoch when `shuffle`. Anything else is returned as is.
 */
function batchDataset<T>(x: T, batchSize: number, shuffle: boolean): T {
  return (x instanceof Dataset ? new DataLoader(x, { batchSize, shuffle }) : x) as T;
}

/** fit: see Model.fit. */
export async function fitModel(
  model: Model,
  x: Data | BatchSource | Dataset,
  yOrOpts?: Data | FitOptions,
  maybeOpts?: FitOptions,
): Promise<History> {
  const fromSource = isBatchSource(x);
  let y: Data | undefined;
  let opts: FitOptions;
  if (fromSource && (yOrOpts === undefined || isOptions(yOrOpts))) {
    opts = (yOrOpts as FitOptions) ?? maybeOpts ?? {};
  } else {
    y = yOrOpts as Data;
    opts = maybeOpts ?? {};
  }
  if (!fromSource && (y === undefined || looksLikeOptions(y, maybeOpts, FIT_OPTIONS)))
    throw new Error(
      `${FIT}: y is missing${y === undefined ? '' : ' (the second argument holds fit options)'}; call ` +
        'fit(x, y, options), or fit(dataset, options) with a Dataset, DataLoader or iterable of [x, y] batches',
    );
  checkOptionNames(opts, FIT_OPTIONS, FIT);
  const epochs = opts.epochs ?? 1;
  if (!Number.isInteger(epochs) || epochs < 0)
    throw new Error(`${FIT}: epochs must be a non-negative integer, got ${JSON.stringify(opts.epochs)}`);
  const initialEpoch = opts.initialEpoch ?? 0;
  const batchSize = checkBatchSize(opts.batchSize, FIT);
  // NOTE: a Dataset is iterable item by item; without this, each sample would be taken for a batch.
  x = batchDataset(x, batchSize, opts.shuffle ?? true);
  const dist = distribution();
  const verbose = opts.verbose ?? (dist && dist.rank > 0 ? 0 : 1);
  const stream = opts.stream ?? process.stdout;
  const clock = opts.clock;
  if (opts.validationSplit !== undefined && !(opts.validationSplit >= 0 && opts.validationSplit < 1)) {
    throw new Error(`${FIT}: validationSplit must be in [0, 1), got ${opts.validationSplit}`);
  }

  // ---- data ----
  let train: Batchy | null = null,
    n = 0;
  let val: Batchy | BatchSource | null = null;
  if (!fromSource) {
    train = arrays(model, x as Data, y, opts.sampleWeight, FIT);
    n = train.xs[0].shape[0];
    if (opts.classWeight) {
      if (train.ys.length !== 1) throw new Error(`${FIT}: classWeight needs a single-output model`);
      const cw = classWeights(train.ys[0], opts.classWeight, FIT);
      train.sw = train.sw ? train.sw.mul(cw) : cw;
    }
    if (opts.validationSplit && !opts.validationData) {
      const nVal = Math.floor(n * opts.validationSplit);
      if (nVal === 0 || nVal === n)
        throw new Error(
          `${FIT}: validationSplit ${opts.validationSplit} of ${n} samples leaves ` +
            `${nVal === 0 ? 'no validation' : 'no training'} samples`,
        );
      const split = n - nVal;
      val = {
        xs: sliceRows(train.xs, split, n),
        ys: sliceRows(train.ys, split, n),
        sw: train.sw?.narrow(0, split, nVal),
      };
      train = {
        xs: sliceRows(train.xs, 0, split),
        ys: sliceRows(train.ys, 0, split),
        sw: train.sw?.narrow(0, 0, split),
      };
      n = split;
    }
    if (n === 0) throw new Error(`${FIT}: no training samples`);
  }
  if (opts.validationData) {
    const vd = batchDataset(opts.validationData, batchSize, false);
    if (isBatchSource(vd)) val = vd;
    else {
      if (!Array.isArray(vd) || vd.length < 2)
        throw new Error(
          `${FIT}: validationData must be [xVal, yVal], [xVal, yVal, sampleWeight] or a loader of batches`,
        );
      val = arrays(model, vd[0] as Data, vd[1] as Data, vd[2] as Data | undefined, `${FIT} (validationData)`);
    }
  }

  const c = model.resolveCompile();
  const optimizer = c.optimizer!;
  const trainable = model.parameters().filter((p) => p.requiresGrad);
  if (dist) startDistributedFit([...model.parameters(), ...model.buffers()]);
  const steps = fromSource ? (opts.stepsPerEpoch ?? sourceLength(x as BatchSource)) : Math.ceil(n / batchSize);
  const history = new History();
  // History last, as in Keras: it records what the other callbacks added to the logs (learning_rate)
  const cbs = new CallbackList([...(opts.callbacks ?? []), history]);
  cbs.setModel(model);
  cbs.setParams({ epochs, steps, verbose, stream });
  model.stopTraining = false;
  const lossMean = new Mean('loss');
  const partMeans = c.losses.map(() => new Mean());
  const names = model.outputNames;

  await cbs.call('onTrainBegin', {});
  for (let epoch = initialEpoch; epoch < epochs && !model.stopTraining; epoch++) {
    model.train();
    resetMetrics(c);
    lossMean.reset();
    partMeans.forEach((m) => {
      m.reset();
    });
    await cbs.call('onEpochBegin', epoch, {});
    const label = `Epoch ${epoch + 1}/${epochs}`;
    const bar = new Progbar({ target: steps, verbose, stream, clock, label });
    if (verbose === 1 && bar.isTTY) stream.write(label + '\n');
    const batches = fromSource
      ? sourceBatches(model, x as BatchSource, FIT, opts.stepsPerEpoch)
      : arrayBatches(train!, n, batchSize, opts.shuffle ?? true);
    let step = 0;
    for await (const whole of batches as AsyncIterable<Batchy>) {
      await cbs.call('onBatchBegin', step, { batch: step, size: batchCount(whole) });
      optimizer.zeroGrad();
      // under a distribution, this rank's rows of the global batch (possibly none at the tail)
      const [lo, hi] = dist ? shardRange(batchCount(whole)) : [0, batchCount(whole)];
      const b = dist ? sliceBatch(whole, lo, hi) : whole;
      const { outs, loss, parts } = hi > lo ? batchLoss(model, b) : { outs: [], loss: null, parts: [] };
      const value = dist ? globalLoss(loss ? loss.item() : 0, hi - lo, batchCount(whole)) : loss!.item();
      if (!Number.isFinite(value)) {
        const msg =
          `${label}, batch ${step + 1}${steps !== undefined ? `/${steps}` : ''}: the loss is ${value}; stopping ` +
          `training. ` +
          'Check the inputs for NaN/Inf values, lower the learning rate, or use fromLogits for logits.';
        bar.update(step, undefined, false);
        stream.write((verbose === 1 && bar.isTTY ? '\n' : '') + msg + '\n');
        history.stopReason = msg;
        model.stopTraining = true;
        break;
      }
      loss?.backward();
      if (dist) syncGradients(trainable, hi - lo, batchCount(whole));
      optimizer.step();
      const bs = batchCount(whole);
      lossMean.update(value, undefined, bs);
      parts.forEach((p, k) => {
        partMeans[k].update(p.item(), undefined, bs);
      });
      if (hi > lo) updateMetrics(c, b, outs);
      step++;
      const logs = metricLogs(c, lossMean, partMeans, names);
      bar.update(step, logs);
      await cbs.call('onBatchEnd', step - 1, { batch: step - 1, size: bs, ...logs });
      if (model.stopTraining) break;
    }
    // a non-finite loss ends training at once: the epoch has no meaningful logs
    if (history.stopReason) break;
    const logs = metricLogs(c, lossMean, partMeans, names);
    if (val) {
      await cbs.call('onTestBegin', {});
      const vl = await runEvaluation(model, c, val, batchSize, `${FIT} (validation)`, opts.validationSteps, cbs);
      await cbs.call('onTestEnd', vl);
      for (const [k, v] of Object.entries(vl)) logs[`val_${k}`] = v;
    }
    bar.update(step, logs, true);
    await cbs.call('onEpochEnd', epoch, logs);
  }
  await cbs.call('onTrainEnd', {});
  return history;
}

/** Loss and metrics over data in evaluation mode; restores the previous training mode. */
async function runEvaluation(
  model: Model,
  c: Compiled,
  data: Batchy | BatchSource,
  batchSize: number,
  op: string,
  maxSteps?: number,
  hooks?: CallbackList,
  bar?: Progbar,
): Promise<Logs> {
  const wasTraining = model.training;
  model.eval();
  const lossMean = new Mean('loss');
  const partMeans = c.losses.map(() => new Mean());
  // NOTE: evaluation must not disturb the training metrics' state; use fresh copies of their accumulators.
  const saved = c.metrics.map((ms) => ms.map((m) => ({ m, snap: structuredCloneMetric(m) })));
  resetMetrics(c);
  try {
    const batches = isBatchSource(data)
      ? sourceBatches(model, data, op, maxSteps)
      : arrayBatches(data, data.xs[0].shape[0], batchSize, false);
    let step = 0;
    for await (const b of batches as AsyncIterable<Batchy>) {
      await hooks?.call('onTestBatchBegin', step, { batch: step, size: batchCount(b) });
      const { outs, loss, parts } = noGrad(() => batchLoss(model, b));
      const bs = batchCount(b);
      lossMean.update(loss.item(), undefined, bs);
      parts.forEach((p, k) => {
        partMeans[k].update(p.item(), undefined, bs);
      });
      updateMetrics(c, b, outs);
      step++;
      const logs = metricLogs(c, lossMean, partMeans, model.outputNames);
      bar?.update(step, logs);
      await hooks?.call('onTestBatchEnd', step - 1, { batch: step - 1, size: bs, ...logs });
    }
    if (step === 0) throw new Error(`${op}: no data to evaluate on`);
    return metricLogs(c, lossMean, partMeans, model.outputNames);
  } finally {
    for (const list of saved) for (const { m, snap } of list) Object.assign(m, snap);
    model.train(wasTraining);
  }
}

/** A shallow snapshot of a metric's own fields (typed arrays copied). */
function structuredCloneMetric(m: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) out[k] = ArrayBuffer.isView(v) ? (v as Float64Array).slice() : v;
  return out;
}

/** evaluate: see Model.evaluate. */
export async function evaluateModel(
  model: Model,
  x: Data | BatchSource | Dataset,
  yOrOpts?: Data | EvaluateOptions,
  maybeOpts?: EvaluateOptions,
): Promise<number | number[] | Record<string, number>> {
  const op = 'evaluate';
  const fromSource = isBatchSource(x);
  let y: Data | undefined, opts: EvaluateOptions;
  if (fromSource && (yOrOpts === undefined || isOptions(yOrOpts)))
    opts = (yOrOpts as EvaluateOptions) ?? maybeOpts ?? {};
  else {
    y = yOrOpts as Data;
    opts = maybeOpts ?? {};
  }
  if (!fromSource && (y === undefined || looksLikeOptions(y, maybeOpts, EVALUATE_OPTIONS)))
    throw new Error(
      `${op}: y is missing${y === undefined ? '' : ' (the second argument holds evaluate options)'}; call ` +
        'evaluate(x, y, options), or evaluate(dataset, options) with a Dataset, DataLoader or iterable of batches',
    );
  checkOptionNames(opts, EVALUATE_OPTIONS, op);
  const batchSize = checkBatchSize(opts.batchSize, op);
  x = batchDataset(x, batchSize, false);
  const data: Batchy | BatchSource = fromSource
    ? (x as BatchSource)
    : arrays(model, x as Data, y, opts.sampleWeight, op);
  const c = model.resolveCompile();
  const verbose = opts.verbose ?? 0;
  const stream = opts.stream ?? process.stdout;
  const steps = fromSource
    ? (opts.steps ?? sourceLength(x as BatchSource))
    : Math.ceil((data as Batchy).xs[0].shape[0] / batchSize);
  const cbs = new CallbackList(opts.callbacks ?? []);
  cbs.setModel(model);
  cbs.setParams({ epochs: 1, steps, verbose, stream });
  const bar = new Progbar({ target: steps, verbose, stream, clock: opts.clock });
  await cbs.call('onTestBegin', {});
  const logs = await runEvaluation(model, c, data, batchSize, op, opts.steps, cbs, bar);
  bar.update(steps ?? 0, logs, true);
  await cbs.call('onTestEnd', logs);
  if (opts.returnDict) return logs;
  const vals = Object.values(logs);
  return vals.length === 1 ? vals[0] : vals;
}

/** predict: see Model.predict. */
export function predictModel(
  model: Model,
  x: Data | BatchSource | Dataset,
  opts: PredictOptions = {},
): Tensor | Tensor[] {
  const op = 'predict';
  checkOptionNames(opts, PREDICT_OPTIONS, op);
  const batchSize = checkBatchSize(opts.batchSize, op);
  const src = batchDataset(x, batchSize, false);
  // The inputs of each batch: row slices of arrays, or the x of each [x, y?] batch of a loader.
  let batches: Iterable<Tensor[]>;
  if (isBatchSource(src)) {
    if (!(Symbol.iterator in src))
      throw new Error(
        `${op}: predict is synchronous and cannot read an async iterable; pass arrays, a Dataset, a ` +
          'DataLoader or a sync iterable of batches',
      );
    batches = (function* () {
      for (const raw of src as Iterable<Batch>)
        yield arrays(model, unpackBatch(raw, op)[0] as Data, undefined, undefined, op).xs;
    })();
  } else {
    const data = arrays(model, src as Data, undefined, undefined, op);
    const n = data.xs[0].shape[0];
    batches = (function* () {
      for (let s = 0; s < n; s += batchSize) yield sliceRows(data.xs, s, Math.min(n, s + batchSize));
    })();
  }
  const wasTraining = model.training;
  model.eval();
  try {
    const chunks: Tensor[][] = model.outputs.map(() => []);
    noGrad(() => {
      for (const xs of batches) {
        model.run(xs).forEach((o, k) => {
          chunks[k].push(o);
        });
      }
    });
    if (chunks[0].length === 0) throw new Error(`${op}: no data to predict on`);
    const outs = chunks.map((cs) => (cs.length === 1 ? cs[0].contiguous() : cat(cs, 0)));
    return model.returnsSingle ? outs[0] : outs;
  } finally {
    model.train(wasTraining);
  }
}
