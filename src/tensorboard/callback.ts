// The Keras TensorBoard callback: epoch metrics into logDir/train and logDir/validation (val_ prefix
// dropped, tags epoch_<metric>, as Keras), batch metrics every updateFreq batches (tags batch_<metric>),
// and weight histograms every histogramFreq epochs.
import { Callback, type Logs } from '../keras/callbacks.js';
import { join } from '../platform/node.js';
import { SummaryWriter } from './writer.js';

export interface TensorBoardOptions {
  /** Default 'logs', as Keras. */
  logDir?: string;
  /** 'epoch' (default), 'batch', or a number of batches between writes. */
  updateFreq?: 'epoch' | 'batch' | number;
  /** Write histograms of every weight each N epochs (0, the default, never). */
  histogramFreq?: number;
}

export class TensorBoard extends Callback {
  readonly logDir: string;
  private readonly updateFreq: 'epoch' | number;
  private readonly histogramFreq: number;
  private train: SummaryWriter | null = null;
  private val: SummaryWriter | null = null;
  private step = 0;

  constructor(opts: TensorBoardOptions = {}) {
    super();
    this.logDir = opts.logDir ?? 'logs';
    const f = opts.updateFreq ?? 'epoch';
    this.updateFreq = f === 'batch' ? 1 : f;
    if (this.updateFreq !== 'epoch' && !(Number.isInteger(this.updateFreq) && this.updateFreq >= 1)) {
      throw new Error(
        `keras.callbacks.TensorBoard: updateFreq must be 'epoch', 'batch' or a positive integer, got ${f}`,
      );
    }
    this.histogramFreq = opts.histogramFreq ?? 0;
    if (!(Number.isInteger(this.histogramFreq) && this.histogramFreq >= 0)) {
      throw new Error(`keras.callbacks.TensorBoard: histogramFreq must be an integer >= 0, got ${this.histogramFreq}`);
    }
  }

  override onTrainBegin(): void {
    this.train = new SummaryWriter(join(this.logDir, 'train'));
    this.val = new SummaryWriter(join(this.logDir, 'validation'));
    this.step = 0;
  }

  override onBatchEnd(_batch: number, logs: Logs = {}): void {
    this.step++;
    if (this.updateFreq === 'epoch' || this.step % this.updateFreq !== 0) return;
    for (const [k, v] of Object.entries(logs)) {
      if (typeof v === 'number' && k !== 'batch' && k !== 'size') this.train?.addScalar(`batch_${k}`, v, this.step);
    }
  }

  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    for (const [k, v] of Object.entries(logs)) {
      if (typeof v !== 'number') continue;
      if (k.startsWith('val_')) this.val?.addScalar(`epoch_${k.slice(4)}`, v, epoch);
      else this.train?.addScalar(`epoch_${k}`, v, epoch);
    }
    if (this.histogramFreq > 0 && epoch % this.histogramFreq === 0 && this.model) {
      this.model.getWeights().forEach((w, i) => {
        this.train?.addHistogram(`weight_${i}`, w, epoch);
      });
    }
    this.train?.flush();
    this.val?.flush();
  }

  override onTrainEnd(): void {
    this.train?.close();
    this.val?.close();
  }
}
