// Poisson sampling for DP-SGD (Opacus's DPDataLoader / UniformWithReplacementSampler): each batch takes
// every example independently with probability q, so batch sizes vary around q * N. The RDP accountant's
// subsampled-Gaussian bound assumes exactly this; shuffled fixed-size batches do not match it.
//
// Glossary: N = dataset size, q = sampleRate, steps = batches per epoch (1/q by default, as Opacus).

import { type CollateFn, type DataLoader, defaultCollate } from '../data/dataloader.js';
import type { Dataset } from '../data/dataset.js';
import { type Generator, defaultGenerator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { checkPositive } from './optimizer.js';

export interface DPDataLoaderOptions<T, B> {
  /** q in (0, 1]: the probability that a given example joins a given batch. */
  sampleRate: number;
  /** Batches per epoch; default round(1 / sampleRate), so an epoch sees N examples on average. */
  steps?: number;
  /** The source of the draws (default: the global generator). */
  generator?: Generator;
  collateFn?: CollateFn<T, B>;
}

/** The indices of one Poisson batch: i joins with probability q, drawn by geometric skips (O(q N) draws). */
export function poissonIndices(n: number, q: number, gen: Generator): number[] {
  const out: number[] = [];
  if (q >= 1) return Array.from({ length: n }, (_, i) => i);
  const logKeep = Math.log1p(-q);
  // the gap before the next chosen index is geometric: floor(log(U) / log(1 - q)), U in (0, 1]
  for (let i = Math.floor(Math.log(1 - gen.random()) / logKeep); i < n; ) {
    out.push(i);
    i += 1 + Math.floor(Math.log(1 - gen.random()) / logKeep);
  }
  return out;
}

/** A batch of zero rows shaped like `like` (tensors narrowed to 0 rows; arrays and objects mapped). */
function emptyLike(like: unknown): unknown {
  if (like instanceof Tensor) return like.narrow(0, 0, 0);
  if (Array.isArray(like)) return like.map(emptyLike);
  if (typeof like === 'object' && like !== null)
    return Object.fromEntries(Object.entries(like).map(([k, v]) => [k, emptyLike(v)]));
  return like;
}

/**
 * Batches by Poisson sampling: each example joins each batch with probability sampleRate. A batch
 * may be empty (its tensors have 0 rows); the DP step must still run then, adding noise only
 * (examples/private-training.ts skips the forward pass of an empty batch and calls optimizer.step()).
 *
 * ```ts
 * const loader = new nb.privacy.DPDataLoader(train, { sampleRate: 256 / train.length });
 * for (const [x, y] of loader) { ... } // ~256 examples a batch, 1/q batches an epoch
 * ```
 */
export class DPDataLoader<T = unknown, B = unknown> implements Iterable<B> {
  readonly sampleRate: number;
  readonly steps: number;
  private readonly generator: Generator | undefined;
  private readonly collateFn: CollateFn<T, B> | null;

  constructor(
    readonly dataset: Dataset<T>,
    opts: DPDataLoaderOptions<T, B>,
  ) {
    const op = 'privacy.DPDataLoader';
    if (!dataset || typeof dataset.getItem !== 'function' || typeof dataset.length !== 'number')
      throw new Error(`${op}: expected a Dataset (an object with getItem(i) and length)`);
    if (dataset.length === 0) throw new Error(`${op}: the dataset is empty`);
    const q = checkPositive(op, 'sampleRate', opts?.sampleRate);
    if (q > 1) throw new Error(`${op}: sampleRate must lie in (0, 1], got ${q}`);
    this.sampleRate = q;
    this.steps = opts.steps ?? Math.max(1, Math.round(1 / q));
    if (!Number.isInteger(this.steps) || this.steps < 1)
      throw new Error(`${op}: steps must be a positive integer, got ${opts.steps}`);
    this.generator = opts.generator;
    this.collateFn = opts.collateFn ?? null;
  }

  /**
   * The Poisson counterpart of a DataLoader (Opacus's DPDataLoader.from_data_loader): the same dataset
   * and collate, sampleRate = 1 / loader.length, as many batches an epoch.
   */
  static fromDataLoader<T, B>(loader: DataLoader<T, B>, opts: { generator?: Generator } = {}): DPDataLoader<T, B> {
    const n = loader.length;
    if (n < 1) throw new Error('privacy.DPDataLoader.fromDataLoader: the loader has no batches');
    return new DPDataLoader<T, B>(loader.dataset, { sampleRate: 1 / n, steps: n, generator: opts.generator });
  }

  /** Batches per epoch. */
  get length(): number {
    return this.steps;
  }

  /** The mean batch size, sampleRate * N (DP-SGD divides the noisy sum by it). */
  get expectedBatchSize(): number {
    return this.sampleRate * this.dataset.length;
  }

  private fetch(idx: number[]): B {
    const items = idx.map((i) => this.dataset.getItem(i));
    if (this.collateFn) return this.collateFn(items);
    if (idx.length && this.dataset.getBatch) return this.dataset.getBatch(idx) as unknown as B;
    if (idx.length) return defaultCollate(items) as B;
    return emptyLike(defaultCollate([this.dataset.getItem(0)])) as B;
  }

  *[Symbol.iterator](): Iterator<B> {
    const gen = this.generator ?? defaultGenerator();
    const n = this.dataset.length;
    for (let s = 0; s < this.steps; s++) yield this.fetch(poissonIndices(n, this.sampleRate, gen));
  }
}
