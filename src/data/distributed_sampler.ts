// DistributedSampler (torch.utils.data.distributed.DistributedSampler): each rank iterates its own
// 1/W of the dataset's indices, so the ranks of a DistributedDataParallel job see disjoint samples.
// Indices are padded by repeating from the start to a multiple of W (or trimmed with dropLast), shuffled
// the same way on every rank from seed + epoch (call setEpoch each epoch), then rank r takes r, r+W, ...

import { getRank, getWorldSize, isInitialized } from '../distributed/process_group.js';
import { Generator } from '../tensor/random.js';

export interface DistributedSamplerOptions {
  /** The world size; default from the process group. */
  numReplicas?: number;
  /** This rank; default from the process group. */
  rank?: number;
  shuffle?: boolean;
  seed?: number;
  /** Drop the tail that does not divide evenly instead of padding it. */
  dropLast?: boolean;
}

/**
 * @example
 * const sampler = new nb.data.DistributedSampler(dataset);
 * const loader = new nb.data.DataLoader(dataset, { batchSize: 32, sampler });
 * for (let epoch = 0; epoch < 10; epoch++) { sampler.setEpoch(epoch); for (const b of loader) ... }
 */
export class DistributedSampler implements Iterable<number> {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Samples this rank yields per epoch. */
  readonly numSamples: number;
  readonly totalSize: number;
  private epoch = 0;

  constructor(
    readonly dataset: { length: number },
    opts: DistributedSamplerOptions = {},
  ) {
    const needGroup = opts.numReplicas === undefined || opts.rank === undefined;
    if (needGroup && !isInitialized())
      throw new Error('DistributedSampler: pass numReplicas and rank, or initialize the process group first');
    this.numReplicas = opts.numReplicas ?? getWorldSize();
    this.rank = opts.rank ?? getRank();
    if (!Number.isInteger(this.numReplicas) || this.numReplicas < 1)
      throw new Error(`DistributedSampler: numReplicas must be a positive integer, got ${this.numReplicas}`);
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.numReplicas)
      throw new Error(
        `DistributedSampler: invalid rank ${this.rank}, rank should be in the interval [0, ${this.numReplicas - 1}]`,
      );
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    const n = dataset.length;
    this.numSamples =
      this.dropLast && n % this.numReplicas !== 0
        ? Math.ceil((n - this.numReplicas) / this.numReplicas)
        : Math.ceil(n / this.numReplicas);
    this.totalSize = this.numSamples * this.numReplicas;
  }

  /** Sets the epoch, which reseeds the shuffle: call it before each epoch so that the order changes. */
  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  get length(): number {
    return this.numSamples;
  }

  *[Symbol.iterator](): Iterator<number> {
    const n = this.dataset.length;
    let idx: number[] = this.shuffle
      ? [...new Generator(this.seed + this.epoch).permutation(n)]
      : Array.from({ length: n }, (_, i) => i);
    if (!this.dropLast) {
      const pad = this.totalSize - idx.length;
      if (pad > 0) {
        const base = idx.slice();
        for (let i = 0; i < pad; i++) idx.push(base[i % base.length]);
      }
    } else idx = idx.slice(0, this.totalSize);
    for (let i = this.rank; i < this.totalSize; i += this.numReplicas) yield idx[i];
  }
}
