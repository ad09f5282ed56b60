// Callbacks for fit/evaluate/predict, with Keras's hooks and semantics: History, EarlyStopping,
// ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler, CSVLogger, TerminateOnNaN, and plain
// objects of hooks ({onEpochEnd(epoch, logs) {...}}) for custom callbacks.
// Epochs and batches are 0-based in hooks, as in Keras; printed messages count from 1.
// Every hook may be async; fit awaits each.

import { existsSync, readFileSync, process } from '../platform/node.js';
import { writeTextAtomic } from '../io/atomic.js';
import type { Tensor } from '../tensor/tensor.js';
import { formatValue, type ProgressStream } from './progbar.js';

export type Logs = Record<string, number>;
/** What a callback hook returns: nothing, or a promise that training awaits. */
export type MaybePromise = void | Promise<void>;

/** What a callback may do with the model being trained. */
export interface CallbackModel {
  /** Set to true to end fit after the current batch/epoch. */
  stopTraining: boolean;
  /** Copies of every weight (parameters and buffers, e.g. batch-norm statistics), in a fixed order. */
  getWeights(): Tensor[];
  setWeights(weights: readonly Tensor[]): void;
  /** The optimiser's learning rate (its first parameter group's). */
  learningRate: number;
  /** Saves config + weights to a folder (atomic per file). */
  save(dir: string): Promise<void>;
  /** Saves the weights alone to a .safetensors file (atomic). */
  saveWeights(path: string): Promise<void>;
}

export interface CallbackParams {
  epochs: number;
  /** Batches per epoch, when known. */
  steps?: number;
  verbose: 0 | 1 | 2;
  /** Where callbacks print their messages. */
  stream: ProgressStream;
}

export interface CallbackHooks {
  onTrainBegin?(logs?: Logs): MaybePromise;
  onTrainEnd?(logs?: Logs): MaybePromise;
  onEpochBegin?(epoch: number, logs?: Logs): MaybePromise;
  onEpochEnd?(epoch: number, logs?: Logs): MaybePromise;
  onBatchBegin?(batch: number, logs?: Logs): MaybePromise;
  onBatchEnd?(batch: number, logs?: Logs): MaybePromise;
  onTestBegin?(logs?: Logs): MaybePromise;
  onTestEnd?(logs?: Logs): MaybePromise;
  onTestBatchBegin?(batch: number, logs?: Logs): MaybePromise;
  onTestBatchEnd?(batch: number, logs?: Logs): MaybePromise;
  onPredictBegin?(logs?: Logs): MaybePromise;
  onPredictEnd?(logs?: Logs): MaybePromise;
  onPredictBatchBegin?(batch: number, logs?: Logs): MaybePromise;
  onPredictBatchEnd?(batch: number, logs?: Logs): MaybePromise;
}

export class Callback implements CallbackHooks {
  model!: CallbackModel;
  params: CallbackParams = { epochs: 0, verbose: 0, stream: process.stdout };
  setModel(model: CallbackModel): void {
    this.model = model;
  }
  setParams(params: CallbackParams): void {
    this.params = params;
  }
  /** Writes one line to the fit's stream. */
  protected print(msg: string): void {
    this.params.stream.write(msg + '\n');
  }
  onTrainBegin(_logs?: Logs): MaybePromise {}
  onTrainEnd(_logs?: Logs): MaybePromise {}
  onEpochBegin(_epoch: number, _logs?: Logs): MaybePromise {}
  onEpochEnd(_epoch: number, _logs?: Logs): MaybePromise {}
  onBatchBegin(_batch: number, _logs?: Logs): MaybePromise {}
  onBatchEnd(_batch: number, _logs?: Logs): MaybePromise {}
  onTestBegin(_logs?: Logs): MaybePromise {}
  onTestEnd(_logs?: Logs): MaybePromise {}
  onTestBatchBegin(_batch: number, _logs?: Logs): MaybePromise {}
  onTestBatchEnd(_batch: number, _logs?: Logs): MaybePromise {}
  onPredictBegin(_logs?: Logs): MaybePromise {}
  onPredictEnd(_logs?: Logs): MaybePromise {}
  onPredictBatchBegin(_batch: number, _logs?: Logs): MaybePromise {}
  onPredictBatchEnd(_batch: number, _logs?: Logs): MaybePromise {}
}

/** A callback from a plain object of hooks (tfjs's CustomCallback). */
export class LambdaCallback extends Callback {
  constructor(hooks: CallbackHooks) {
    super();
    for (const [k, f] of Object.entries(hooks)) {
      if (typeof f !== 'function' || !k.startsWith('on'))
        throw new Error(`callbacks: '${k}' is not a hook (expected onTrainBegin, onEpochEnd, onBatchEnd, ...)`);
      (this as unknown as Record<string, unknown>)[k] = f;
    }
  }
}

export type CallbackLike = Callback | CallbackHooks;

/** Runs hooks on each callback in order, awaiting each. */
export class CallbackList {
  readonly callbacks: Callback[];
  constructor(cbs: readonly CallbackLike[] = []) {
    this.callbacks = cbs.map((c) => (c instanceof Callback ? c : new LambdaCallback(c)));
  }
  setModel(m: CallbackModel): void {
    for (const c of this.callbacks) c.setModel(m);
  }
  setParams(p: CallbackParams): void {
    for (const c of this.callbacks) c.setParams(p);
  }
  async call<K extends keyof CallbackHooks>(
    hook: K,
    ...args: Parameters<NonNullable<CallbackHooks[K]>>
  ): Promise<void> {
    for (const c of this.callbacks) {
      const f = c[hook] as ((...a: unknown[]) => MaybePromise) | undefined;
      if (f) await f.apply(c, args);
    }
  }
}

/** Records each epoch's logs: `history.history.loss[e]`, `history.history.val_accuracy[e]`. */
export class History extends Callback {
  epoch: number[] = [];
  history: Record<string, number[]> = {};
  /** Why training stopped early, if it did (a NaN loss, EarlyStopping, ...). */
  stopReason?: string;
  override onTrainBegin(): void {
    /* keeps earlier epochs, as Keras does for repeated fit calls on one History */
  }
  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) {
      this.history[k] ??= [];
      this.history[k].push(v);
    }
  }
}

export type Mode = 'auto' | 'min' | 'max';

/** 'max' for accuracy-like names (acc, auc, precision, recall), else 'min', as Keras decides 'auto'. */
export function resolveMode(mode: Mode, monitor: string): 'min' | 'max' {
  if (mode === 'min' || mode === 'max') return mode;
  if (mode !== 'auto') throw new Error(`callbacks: mode must be 'auto', 'min' or 'max', got '${String(mode)}'`);
  return /acc|auc|precision|recall|fmeasure/.test(monitor) ? 'max' : 'min';
}

export interface EarlyStoppingOptions {
  monitor?: string;
  minDelta?: number;
  patience?: number;
  mode?: Mode;
  baseline?: number;
  restoreBestWeights?: boolean;
  startFromEpoch?: number;
  verbose?: 0 | 1;
}

/** Stops when `monitor` has not improved by more than minDelta for `patience` epochs. */
export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly mode: 'min' | 'max';
  wait = 0;
  stoppedEpoch = -1;
  bestEpoch = 0;
  best = Infinity;
  private bestWeights: Tensor[] | null = null;
  private warned = false;

  constructor(private readonly opts: EarlyStoppingOptions = {}) {
    super();
    this.monitor = opts.monitor ?? 'val_loss';
    this.minDelta = Math.abs(opts.minDelta ?? 0);
    this.patience = opts.patience ?? 0;
    if (!(this.patience >= 0)) throw new Error(`EarlyStopping: patience must be >= 0, got ${this.patience}`);
    this.mode = resolveMode(opts.mode ?? 'auto', this.monitor);
  }

  private improved(current: number, reference: number): boolean {
    return this.mode === 'min' ? current + this.minDelta < reference : current - this.minDelta > reference;
  }

  override onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = -1;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.bestWeights = null;
    this.bestEpoch = 0;
  }

  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    const current = logs[this.monitor];
    if (current === undefined) {
      if (!this.warned)
        this.print(
          `EarlyStopping: '${this.monitor}' is not in the logs (available: ${Object.keys(logs).join(', ')}); not ` +
            `stopping`,
        );
      this.warned = true;
      return;
    }
    if (epoch < (this.opts.startFromEpoch ?? 0)) return;
    if (this.opts.restoreBestWeights && this.bestWeights === null) this.bestWeights = this.model.getWeights();
    this.wait++;
    if (this.improved(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.opts.restoreBestWeights) this.bestWeights = this.model.getWeights();
      if (this.opts.baseline === undefined || this.improved(current, this.opts.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      this.model.stopTraining = true;
      if (this.opts.restoreBestWeights && this.bestWeights) {
        if (this.opts.verbose)
          this.print(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
        this.model.setWeights(this.bestWeights);
      }
    }
  }

  override onTrainEnd(): void {
    if (this.stoppedEpoch >= 0 && this.opts.verbose) this.print(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
  }
}

export interface ModelCheckpointOptions {
  monitor?: string;
  /** Save only when `monitor` improves. */
  saveBestOnly?: boolean;
  /** Write only model.safetensors-style weights to `filepath` (a file), not a model folder. */
  saveWeightsOnly?: boolean;
  mode?: Mode;
  verbose?: 0 | 1;
}

/**
 * Saves the model after each epoch to `filepath`, a folder (or, with saveWeightsOnly, a
 * .safetensors file) whose name may hold {epoch}, {epoch:02d}, {val_loss:.4f} style fields.
 * Each file is written to a temporary name and renamed: a crash never leaves a partial file.
 */
export class ModelCheckpoint extends Callback {
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  best: number;
  private warned = false;
  constructor(
    readonly filepath: string,
    private readonly opts: ModelCheckpointOptions = {},
  ) {
    super();
    this.monitor = opts.monitor ?? 'val_loss';
    this.mode = resolveMode(opts.mode ?? 'auto', this.monitor);
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  override async onEpochEnd(epoch: number, logs: Logs = {}): Promise<void> {
    const path = formatPath(this.filepath, epoch + 1, logs);
    if (this.opts.saveBestOnly) {
      const current = logs[this.monitor];
      if (current === undefined) {
        if (!this.warned)
          this.print(
            `ModelCheckpoint: '${this.monitor}' is not in the logs (available: ${Object.keys(logs).join(', ')}); ` +
              `skipping`,
          );
        this.warned = true;
        return;
      }
      const better = this.mode === 'min' ? current < this.best : current > this.best;
      if (!better) {
        if (this.opts.verbose)
          this.print(`Epoch ${epoch + 1}: ${this.monitor} did not improve from ${formatValue(this.best)}`);
        return;
      }
      if (this.opts.verbose)
        this.print(
          `Epoch ${epoch + 1}: ${this.monitor} improved from ${formatValue(this.best)} to ${formatValue(current)}, ` +
            `saving model to ${path}`,
        );
      this.best = current;
    } else if (this.opts.verbose) {
      this.print(`Epoch ${epoch + 1}: saving model to ${path}`);
    }
    if (this.opts.saveWeightsOnly) await this.model.saveWeights(path);
    else await this.model.save(path);
  }
}

/** Fills {epoch}, {epoch:03d}, {name} and {name:.4f} from the epoch (1-based) and logs. */
export function formatPath(template: string, epoch: number, logs: Logs): string {
  return template.replace(/\{(\w+)(?::([^}]*))?\}/g, (m, key: string, fmt?: string) => {
    const v = key === 'epoch' ? epoch : logs[key];
    if (v === undefined)
      throw new Error(
        `ModelCheckpoint: filepath '${template}' names '${key}', which is not in the logs ` +
          `(${['epoch', ...Object.keys(logs)].join(', ')})`,
      );
    if (!fmt) return String(v);
    const d = /^0?(\d+)d$/.exec(fmt);
    if (d) return String(Math.round(v)).padStart(Number(d[1]), fmt.startsWith('0') ? '0' : ' ');
    const f = /^\.(\d+)f$/.exec(fmt);
    if (f) return v.toFixed(Number(f[1]));
    throw new Error(`ModelCheckpoint: unsupported format '${m}' (use {epoch}, {epoch:02d} or {val_loss:.4f})`);
  });
}

export interface ReduceLROnPlateauOptions {
  monitor?: string;
  factor?: number;
  patience?: number;
  mode?: Mode;
  minDelta?: number;
  cooldown?: number;
  minLr?: number;
  verbose?: 0 | 1;
}

/** Multiplies the learning rate by `factor` when `monitor` stalls for `patience` epochs. */
export class ReduceLROnPlateau extends Callback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly mode: 'min' | 'max';
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLr: number;
  best = Infinity;
  wait = 0;
  cooldownCounter = 0;
  constructor(private readonly opts: ReduceLROnPlateauOptions = {}) {
    super();
    this.monitor = opts.monitor ?? 'val_loss';
    this.factor = opts.factor ?? 0.1;
    if (!(this.factor < 1 && this.factor >= 0))
      throw new Error(`ReduceLROnPlateau: factor must be in [0, 1), got ${this.factor}`);
    this.patience = opts.patience ?? 10;
    this.mode = resolveMode(opts.mode ?? 'auto', this.monitor);
    this.minDelta = opts.minDelta ?? 1e-4;
    this.cooldown = opts.cooldown ?? 0;
    this.minLr = opts.minLr ?? 0;
  }
  override onTrainBegin(): void {
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.wait = 0;
    this.cooldownCounter = 0;
  }
  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    logs.learning_rate = this.model.learningRate;
    const current = logs[this.monitor];
    if (current === undefined) return;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.wait = 0;
    }
    const better = this.mode === 'min' ? current < this.best - this.minDelta : current > this.best + this.minDelta;
    if (better) {
      this.best = current;
      this.wait = 0;
      return;
    }
    if (this.cooldownCounter > 0) return;
    this.wait++;
    if (this.wait >= this.patience) {
      const old = this.model.learningRate;
      if (old > this.minLr) {
        const lr = Math.max(old * this.factor, this.minLr);
        this.model.learningRate = lr;
        if (this.opts.verbose) this.print(`Epoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${lr}.`);
        this.cooldownCounter = this.cooldown;
        this.wait = 0;
      }
    }
  }
}

/** Sets the learning rate at the start of each epoch to schedule(epoch, currentLr). */
export class LearningRateScheduler extends Callback {
  constructor(
    readonly schedule: (epoch: number, lr: number) => number,
    private readonly verbose: 0 | 1 = 0,
  ) {
    super();
  }
  override onEpochBegin(epoch: number): void {
    const lr = this.schedule(epoch, this.model.learningRate);
    if (typeof lr !== 'number' || !Number.isFinite(lr))
      throw new Error(
        `LearningRateScheduler: the schedule returned ${String(lr)} for epoch ${epoch}; expected a finite number`,
      );
    this.model.learningRate = lr;
    if (this.verbose) this.print(`Epoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${lr}.`);
  }
  override onEpochEnd(_epoch: number, logs: Logs = {}): void {
    logs.learning_rate = this.model.learningRate;
  }
}

/**
 * Writes epoch logs as CSV rows (epoch, then the log keys sorted). The whole file is rewritten
 * atomically after each epoch, so a reader never sees a half-written row.
 */
export class CSVLogger extends Callback {
  private rows: string[] = [];
  private keys: string[] | null = null;
  constructor(
    readonly filename: string,
    private readonly opts: { separator?: string; append?: boolean } = {},
  ) {
    super();
  }
  override onTrainBegin(): void {
    this.rows = [];
    this.keys = null;
    if (this.opts.append && existsSync(this.filename)) {
      const text = readFileSync(this.filename, 'utf8').replace(/\n$/, '');
      if (text) {
        this.rows = text.split('\n');
        this.keys = this.rows[0].split(this.opts.separator ?? ',').slice(1);
      }
    }
  }
  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    const sep = this.opts.separator ?? ',';
    if (!this.keys) {
      this.keys = Object.keys(logs).sort();
      this.rows.push(['epoch', ...this.keys].join(sep));
    }
    this.rows.push(
      [String(epoch), ...this.keys.map((k) => (logs[k] === undefined ? 'NA' : String(logs[k])))].join(sep),
    );
    writeTextAtomic(this.filename, this.rows.join('\n') + '\n');
  }
}

/** Stops training when a batch's loss is NaN or infinite (fit also does this on its own). */
export class TerminateOnNaN extends Callback {
  override onBatchEnd(batch: number, logs: Logs = {}): void {
    const loss = logs.loss;
    if (loss !== undefined && !Number.isFinite(loss)) {
      this.print(`Batch ${batch}: Invalid loss, terminating training`);
      this.model.stopTraining = true;
    }
  }
}
