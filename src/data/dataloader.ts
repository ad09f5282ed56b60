// DataLoader (torch.utils.data.DataLoader): batches of a map-style dataset, optionally shuffled by
// a seeded Generator, collated into tensors. Iterate it with `for (const [x, y] of loader)` or
// `for await (...)`; each iteration is one epoch (a fresh shuffle).
//
// stateDict()/loadStateDict() (as torchdata's StatefulDataLoader) resume an epoch in the middle:
// the state is the generator state from before the epoch's shuffle, the batches already yielded,
// and the loader's own generator (when it has one; the default generator is saved with
// nb.getRngState()). A loaded loader's next iteration replays that shuffle on a scratch generator,
// skips the yielded batches and goes on, so the run continues with the same batches in order.
//
// defaultCollate, for a batch of B items all shaped like the first:
//   Tensor (*)              -> stack -> (B, *)
//   number                  -> int32 (B) if every value is an integer, else float32 (B)
//                              (PyTorch makes int64 / float64; nabla's default integer dtype is
//                              int32 and it trains in float32. NOTE: an all-integer batch of a
//                              float target becomes int32, so return float targets as tensors.)
//   boolean                 -> bool (B)
//   Float32Array/Float64Array/Int32Array -> stacked as tensors of their dtype
//   string                  -> string[] (as given)
//   array [a, b, ...]       -> [collate(a's), collate(b's), ...] (a tuple of fields)
//   plain object {k: v}     -> {k: collate(v's)}
//   anything else           -> the list of items, unchanged

import { Tensor } from '../tensor/tensor.js';
import { fmtShape } from '../tensor/layout.js';
import { stack } from '../ops/movement.js';
import { tensor } from '../tensor/creation.js';
import { Generator, defaultGenerator } from '../tensor/random.js';
import type { Dataset } from './dataset.js';
import { setImmediate } from '../platform/node.js';

export type CollateFn<T, B> = (items: T[]) => B;

export interface DataLoaderOptions<T, B> {
  /** Items per batch (default 1); null yields single items without collating. */
  batchSize?: number | null;
  /** Reshuffle the order at the start of every epoch. */
  shuffle?: boolean;
  /** The source of shuffles; the default generator when omitted. Seed it for a repeatable order. */
  generator?: Generator;
  /** Drop the last batch when it is smaller than batchSize. */
  dropLast?: boolean;
  collateFn?: CollateFn<T, B>;
  /** A custom order of indices per epoch (overrides shuffle). */
  sampler?: Iterable<number>;
}

/** A DataLoader's position (stateDict): plain numbers, so it saves as JSON or with nb.save (.pt). */
export interface DataLoaderState {
  /** Batches of the current epoch already yielded (0: no epoch in progress). */
  batchesYielded: number;
  /** The shuffling generator's state before the current epoch's shuffle (null: no shuffle or no epoch in progress). */
  epochRngState: number[] | null;
  /** The loader's own generator's state now (null when it shuffles with the default generator). */
  generatorState: number[] | null;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Merges a list of items into a batch (see the table at the top of this file). */
export function defaultCollate(items: unknown[]): unknown {
  return collate(items, 'batch');
}

function collate(items: unknown[], path: string): unknown {
  if (items.length === 0) throw new Error('defaultCollate: cannot collate an empty batch');
  const first = items[0];
  if (first instanceof Tensor) {
    items.forEach((t, i) => {
      if (!(t instanceof Tensor))
        throw new Error(`defaultCollate: ${path}: item 0 is a Tensor but item ${i} is ${typeof t}`);
      if (t.ndim !== first.ndim || t.shape.some((d, k) => d !== first.shape[k])) {
        throw new Error(
          `defaultCollate: ${path}: stack expects each tensor to be equal size, but got ${fmtShape(first.shape)} at ` +
            `entry 0 and ${fmtShape(t.shape)} at entry ${i}`,
        );
      }
    });
    return stack(items as Tensor[]);
  }
  if (typeof first === 'number') {
    const xs = items as number[];
    xs.forEach((x, i) => {
      if (typeof x !== 'number')
        throw new Error(`defaultCollate: ${path}: item 0 is a number but item ${i} is ${typeof x}`);
    });
    return tensor(xs, { dtype: xs.every(Number.isInteger) ? 'int32' : 'float32' });
  }
  if (typeof first === 'boolean') return tensor(items as boolean[]);
  if (first instanceof Float32Array || first instanceof Float64Array || first instanceof Int32Array) {
    return collate(
      items.map((a) => tensor(a as Float32Array)),
      path,
    );
  }
  if (typeof first === 'string') return items;
  if (Array.isArray(first)) {
    const n = first.length;
    items.forEach((it, i) => {
      if (!Array.isArray(it) || it.length !== n) {
        throw new Error(
          `defaultCollate: ${path}: each element in list of batch should be of equal size (item 0 has ${n} fields, ` +
            `item ${i} has ${Array.isArray(it) ? it.length : typeof it})`,
        );
      }
    });
    return Array.from({ length: n }, (_, k) =>
      collate(
        items.map((it) => (it as unknown[])[k]),
        `${path}[${k}]`,
      ),
    );
  }
  if (isPlainObject(first)) {
    const keys = Object.keys(first);
    return Object.fromEntries(
      keys.map((k) => [
        k,
        collate(
          items.map((it, i) => {
            if (!isPlainObject(it) || !(k in it))
              throw new Error(`defaultCollate: ${path}: item ${i} has no key '${k}'`);
            return it[k];
          }),
          `${path}.${k}`,
        ),
      ]),
    );
  }
  return items;
}

/**
 * @example
 * const loader = new nb.data.DataLoader(ds, {batchSize: 32, shuffle: true, generator: new nb.Generator(0)});
 * for (const [x, y] of loader) { ... }
 */
export class DataLoader<T = unknown, B = T> implements Iterable<B>, AsyncIterable<B> {
  readonly batchSize: number | null;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator | undefined;
  private readonly collateFn: CollateFn<T, B> | null;
  private readonly sampler: Iterable<number> | undefined;
  /** The epoch being iterated: where its shuffle came from and how far it got. */
  private progress: { epochRngState: number[] | null; yielded: number; total: number } | null = null;
  /** Set by loadStateDict: the epoch the next iteration resumes. */
  private pending: { epochRngState: number[] | null; skip: number } | null = null;

  constructor(
    readonly dataset: Dataset<T>,
    opts: DataLoaderOptions<T, B> = {},
  ) {
    if (!dataset || typeof dataset.getItem !== 'function' || typeof dataset.length !== 'number') {
      throw new Error('DataLoader: expected a Dataset (an object with getItem(i) and length)');
    }
    const bs = opts.batchSize === undefined ? 1 : opts.batchSize;
    if (bs !== null && (!Number.isInteger(bs) || bs <= 0))
      throw new Error(`DataLoader: batchSize should be a positive integer value, but got batchSize=${bs}`);
    if (opts.sampler && opts.shuffle) throw new Error('DataLoader: sampler option is mutually exclusive with shuffle');
    if (bs === null && opts.dropLast)
      throw new Error(
        'DataLoader: batchSize=null option disables auto-batching and is mutually exclusive with dropLast',
      );
    this.batchSize = bs;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.generator = opts.generator;
    this.collateFn = opts.collateFn ?? null;
    this.sampler = opts.sampler;
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.sampler ? [...this.sampler].length : this.dataset.length;
    if (this.batchSize === null) return n;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The index order of one epoch, shuffled by `gen`. */
  private order(gen: Generator): ArrayLike<number> {
    if (this.sampler) return [...this.sampler];
    const n = this.dataset.length;
    if (this.shuffle) return gen.permutation(n);
    return Int32Array.from({ length: n }, (_, i) => i);
  }

  private get shuffles(): boolean {
    return this.shuffle && !this.sampler;
  }

  /** The index lists of one epoch's batches (the rest of a resumed epoch after loadStateDict). */
  *batchIndices(): IterableIterator<number[]> {
    const gen = this.generator ?? defaultGenerator();
    const resume = this.pending;
    this.pending = null;
    const epochRngState = resume
      ? resume.epochRngState
      : this.shuffles
        ? Array.from(gen.getState().toTypedArray())
        : null;
    // NOTE: a resumed shuffle is replayed on a scratch generator: the real one already moved past it.
    const order = this.order(resume && epochRngState ? new Generator().setState(epochRngState) : gen);
    const bs = this.batchSize ?? 1;
    const total = this.dropLast ? Math.floor(order.length / bs) : Math.ceil(order.length / bs);
    const progress = { epochRngState, yielded: resume ? Math.min(resume.skip, total) : 0, total };
    // NOTE: kept when the caller breaks out of the epoch, so stateDict() after the break still
    // says where it stopped; the next iteration starts a new epoch and replaces it.
    this.progress = progress;
    for (let b = progress.yielded; b < total; b++) {
      const s = b * bs;
      progress.yielded = b + 1;
      yield Array.from({ length: Math.min(bs, order.length - s) }, (_, k) => order[s + k]);
    }
    if (this.progress === progress) this.progress = null;
  }

  /** The loader's position, for an exact resume (see DataLoaderState). */
  stateDict(): DataLoaderState {
    const p = this.progress;
    // an epoch whose every batch was yielded counts as finished: the run resumes with the next one
    const inEpoch = p !== null && p.yielded < p.total;
    return {
      batchesYielded: inEpoch ? p.yielded : 0,
      epochRngState: inEpoch && p.epochRngState ? [...p.epochRngState] : null,
      generatorState: this.generator ? Array.from(this.generator.getState().toTypedArray()) : null,
    };
  }

  /** Restores stateDict(): the next iteration continues the saved epoch after its yielded batches. */
  loadStateDict(sd: DataLoaderState): void {
    const op = 'DataLoader.loadStateDict';
    if (typeof sd !== 'object' || sd === null) {
      throw new Error(`${op}: expected an object from stateDict(), got ${sd === null ? 'null' : typeof sd}`);
    }
    const k = sd.batchesYielded;
    if (!Number.isInteger(k) || k < 0) {
      throw new Error(`${op}: batchesYielded must be a non-negative integer, got ${String(k)}`);
    }
    if (k > this.length) throw new Error(`${op}: batchesYielded ${k} exceeds the ${this.length} batches of an epoch`);
    const toWords = (v: unknown, what: string): number[] | null => {
      if (v === null || v === undefined) return null;
      if (typeof v !== 'object' || typeof (v as ArrayLike<number>).length !== 'number') {
        throw new Error(`${op}: ${what} must be an array of numbers, got ${typeof v}`);
      }
      const w = Array.from(v as ArrayLike<number>);
      new Generator().setState(w); // throws unless it is a generator state (size, tag, words)
      return w;
    };
    const epochRngState = toWords(sd.epochRngState, 'epochRngState');
    if (k > 0 && this.shuffles && !epochRngState) {
      throw new Error(`${op}: the state resumes a shuffled epoch but has no epochRngState`);
    }
    const genState = toWords(sd.generatorState, 'generatorState');
    if (genState && !this.generator) {
      throw new Error(
        `${op}: the state has a generatorState but this loader has no generator (pass one in the ` + `options)`,
      );
    }
    if (genState) this.generator!.setState(genState);
    this.pending = k > 0 ? { epochRngState, skip: k } : null;
  }

  private fetch(idx: number[]): B {
    if (this.batchSize === null) return this.dataset.getItem(idx[0]) as unknown as B;
    if (this.collateFn) return this.collateFn(idx.map((i) => this.dataset.getItem(i)));
    if (this.dataset.getBatch) return this.dataset.getBatch(idx) as unknown as B;
    return defaultCollate(idx.map((i) => this.dataset.getItem(i))) as B;
  }

  *[Symbol.iterator](): Iterator<B> {
    for (const idx of this.batchIndices()) yield this.fetch(idx);
  }

  /** Yields to the event loop between batches, so a long epoch does not starve timers and I/O. */
  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    for (const idx of this.batchIndices()) {
      yield this.fetch(idx);
      await new Promise<void>((r) => setImmediate(r));
    }
  }
}
