// Datasets (torch.utils.data): the abstract map-style Dataset, TensorDataset, Subset,
// ConcatDataset and randomSplit. A dataset may also implement getBatch(indices), a fast path that
// DataLoader uses with the default collate (it must return what collating the items would).

import { Tensor } from '../tensor/tensor.js';
import { fmtShape } from '../tensor/layout.js';
import { type Generator, defaultGenerator } from '../tensor/random.js';
import { wrapInt32 } from './util.js';

/** A map-style dataset: `length` items, read by index. */
export abstract class Dataset<T = unknown> {
  abstract getItem(index: number): T;
  abstract get length(): number;
  /** Optional fast path: what defaultCollate would make of these items, built directly. */
  getBatch?(indices: readonly number[]): unknown;

  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.length; i++) yield this.getItem(i);
  }
}

/** Resolves a possibly negative index and checks it, naming the dataset. */
export function checkIndex(i: number, n: number, what: string): number {
  if (!Number.isInteger(i)) throw new Error(`${what}: index must be an integer, got ${i}`);
  const j = i < 0 ? i + n : i;
  if (j < 0 || j >= n) throw new Error(`${what}: index ${i} is out of range for a dataset of length ${n}`);
  return j;
}

/** Rows of tensors that share their first dim: item i = [t0[i], t1[i], ...]. */
export class TensorDataset extends Dataset<Tensor[]> {
  readonly tensors: Tensor[];
  constructor(...tensors: Tensor[]) {
    super();
    if (tensors.length === 0) throw new Error('TensorDataset: expected at least one tensor');
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new Error(`TensorDataset: argument ${i} is not a Tensor`);
      if (t.ndim === 0)
        throw new Error(`TensorDataset: argument ${i} is a 0-dim tensor; each needs a first dim to index`);
      if (t.shape[0] !== tensors[0].shape[0]) {
        throw new Error(
          `TensorDataset: size mismatch between tensors: ${tensors.map((x) => fmtShape(x.shape)).join(', ')} (first ` +
            `dims must agree)`,
        );
      }
    });
    this.tensors = tensors;
  }
  get length(): number {
    return this.tensors[0].shape[0];
  }
  getItem(index: number): Tensor[] {
    const i = checkIndex(index, this.length, 'TensorDataset');
    return this.tensors.map((t) => t.select(0, i));
  }
  override getBatch(indices: readonly number[]): Tensor[] {
    const idx = wrapInt32(indices.map((i) => checkIndex(i, this.length, 'TensorDataset')));
    return this.tensors.map((t) => t.indexSelect(0, idx));
  }
}

/** The items of `dataset` at `indices`, in that order. */
export class Subset<T> extends Dataset<T> {
  readonly indices: number[];
  constructor(
    readonly dataset: Dataset<T>,
    indices: Iterable<number>,
  ) {
    super();
    this.indices = [...indices];
    for (const i of this.indices) checkIndex(i, dataset.length, 'Subset');
    // NOTE: the fast path exists only when the underlying dataset has one, so DataLoader's check is exact.
    if (dataset.getBatch) {
      this.getBatch = (idx) => dataset.getBatch!(idx.map((i) => this.indices[checkIndex(i, this.length, 'Subset')]));
    }
  }
  get length(): number {
    return this.indices.length;
  }
  getItem(index: number): T {
    return this.dataset.getItem(this.indices[checkIndex(index, this.length, 'Subset')]);
  }
}

/** Datasets one after another. */
export class ConcatDataset<T> extends Dataset<T> {
  readonly datasets: Dataset<T>[];
  readonly cumulativeSizes: number[];
  constructor(datasets: Iterable<Dataset<T>>) {
    super();
    this.datasets = [...datasets];
    if (this.datasets.length === 0) throw new Error('ConcatDataset: datasets should not be an empty iterable');
    let s = 0;
    this.cumulativeSizes = this.datasets.map((d) => (s += d.length));
  }
  get length(): number {
    return this.cumulativeSizes[this.cumulativeSizes.length - 1];
  }
  getItem(index: number): T {
    const i = checkIndex(index, this.length, 'ConcatDataset');
    let d = 0;
    while (i >= this.cumulativeSizes[d]) d++;
    return this.datasets[d].getItem(d === 0 ? i : i - this.cumulativeSizes[d - 1]);
  }
}

/**
 * Splits a dataset into non-overlapping random subsets of the given lengths, or of the given
 * fractions of its length (floors, with the remainder dealt round-robin, as PyTorch 1.13).
 * @example const [train, val] = nb.data.randomSplit(ds, [0.8, 0.2], new nb.Generator(42));
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: readonly number[], generator?: Generator): Subset<T>[] {
  const n = dataset.length;
  let sizes = [...lengths];
  const sum = sizes.reduce((a, b) => a + b, 0);
  // PyTorch's rule: lengths summing to 1 (and not more than the dataset holds) are fractions
  if (Math.abs(sum - 1) <= 1e-9 && sum <= n) {
    sizes.forEach((f, i) => {
      if (f < 0 || f > 1) throw new Error(`randomSplit: fraction at index ${i} is not between 0 and 1`);
    });
    sizes = lengths.map((f) => Math.floor(n * f));
    const rest = n - sizes.reduce((a, b) => a + b, 0);
    for (let i = 0; i < rest; i++) sizes[i % sizes.length] += 1;
  }
  sizes.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 0)
      throw new Error(`randomSplit: length at index ${i} must be a non-negative integer, got ${s}`);
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total !== n)
    throw new Error(
      `randomSplit: sum of input lengths (${total}) does not equal the length of the input dataset (${n})`,
    );
  const perm = (generator ?? defaultGenerator()).permutation(n);
  let off = 0;
  return sizes.map((s) => {
    const sub = new Subset(dataset, perm.subarray(off, off + s));
    off += s;
    return sub;
  });
}
