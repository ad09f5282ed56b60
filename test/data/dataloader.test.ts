// Datasets and DataLoader: TensorDataset/Subset/ConcatDataset/randomSplit, batching, seeded
// shuffles, dropLast, collate of numbers/tensors/nested objects, sync and async iteration.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../optim/core.js';
import {
  ConcatDataset,
  DataLoader,
  Dataset,
  Subset,
  TensorDataset,
  defaultCollate,
  randomSplit,
} from '../../src/data/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';

class Squares extends Dataset<{ x: number; pair: [number, Tensor]; name: string; v: number }> {
  constructor(readonly n: number) {
    super();
  }
  get length(): number {
    return this.n;
  }
  getItem(i: number) {
    return { x: i, pair: [i * 0.5, nb.tensor([i, i * i])] as [number, Tensor], name: `s${i}`, v: i * i };
  }
}

const flat = (t: Tensor) => Array.from(t.toTypedArray());

describe('datasets', () => {
  const X = nb.arange(10).reshape([5, 2]).float(),
    Y = nb.arange(5);
  it('TensorDataset items, length, negative indices and errors', () => {
    const ds = new TensorDataset(X, Y);
    assert.equal(ds.length, 5);
    const [x, y] = ds.getItem(-1);
    assert.deepEqual(x.toArray(), [8, 9]);
    assert.equal(y.item(), 4);
    assert.throws(() => ds.getItem(5), /TensorDataset: index 5 is out of range for a dataset of length 5/);
    assert.throws(
      () => new TensorDataset(X, nb.arange(4)),
      /TensorDataset: size mismatch between tensors: \[5, 2\], \[4\]/,
    );
    assert.equal([...ds].length, 5);
  });
  it('Subset and ConcatDataset', () => {
    const ds = new TensorDataset(X, Y);
    const sub = new Subset(ds, [4, 0]);
    assert.equal(sub.length, 2);
    assert.equal(sub.getItem(0)[1].item(), 4);
    const cat = new ConcatDataset([sub, ds]);
    assert.equal(cat.length, 7);
    assert.equal(cat.getItem(1)[1].item(), 0);
    assert.equal(cat.getItem(2)[1].item(), 0);
    assert.equal(cat.getItem(6)[1].item(), 4);
    assert.throws(() => new Subset(ds, [5]), /Subset: index 5 is out of range/);
  });
  it('randomSplit by lengths and fractions is a seeded partition', () => {
    const ds = new TensorDataset(nb.arange(10));
    const [a, b] = randomSplit(ds, [7, 3], new nb.Generator(1));
    const [c, d] = randomSplit(ds, [0.7, 0.3], new nb.Generator(1));
    assert.deepEqual(a.indices, c.indices);
    assert.deepEqual(b.indices, d.indices);
    assert.deepEqual(
      [...a.indices, ...b.indices].sort((p, q) => p - q),
      [...Array(10).keys()],
    );
    const parts = randomSplit(ds, [0.34, 0.33, 0.33], new nb.Generator(0));
    assert.deepEqual(
      parts.map((p) => p.length),
      [4, 3, 3],
    ); // floors 3,3,3 + remainder round-robin
    assert.throws(
      () => randomSplit(ds, [5, 4]),
      /sum of input lengths \(9\) does not equal the length of the input dataset \(10\)/,
    );
  });
});

describe('DataLoader', () => {
  const ds = new TensorDataset(nb.arange(20).reshape([10, 2]).float(), nb.arange(10));
  it('batches in order, with a short last batch or dropLast; length agrees', () => {
    const l = new DataLoader(ds, { batchSize: 4 });
    const batches = [...l];
    assert.equal(l.length, 3);
    assert.deepEqual(
      batches.map(([x]) => x.shape),
      [
        [4, 2],
        [4, 2],
        [2, 2],
      ],
    );
    assert.deepEqual(flat(batches[2][1]), [8, 9]);
    const d = new DataLoader(ds, { batchSize: 4, dropLast: true });
    assert.equal(d.length, 2);
    assert.equal([...d].length, 2);
  });
  it('a seeded shuffle is repeatable, differs per epoch and covers every item', () => {
    const order = (l: DataLoader<Tensor[]>) => [...l].flatMap(([, y]) => flat(y));
    const a = new DataLoader(ds, { batchSize: 3, shuffle: true, generator: new nb.Generator(42) });
    const b = new DataLoader(ds, { batchSize: 3, shuffle: true, generator: new nb.Generator(42) });
    const e1 = order(a),
      e2 = order(a);
    assert.deepEqual(e1, order(b));
    assert.notDeepEqual(e1, e2);
    assert.deepEqual(
      [...e1].sort((p, q) => p - q),
      [...Array(10).keys()],
    );
    assert.notDeepEqual(e1, [...Array(10).keys()]);
  });
  it('the TensorDataset fast path equals collating items', () => {
    const fast = [...new DataLoader(ds, { batchSize: 4 })];
    const slow = [...new DataLoader(ds, { batchSize: 4, collateFn: defaultCollate as (b: Tensor[][]) => Tensor[] })];
    fast.forEach((f, i) => {
      assert.deepEqual(f[0].toArray(), slow[i][0].toArray());
      assert.deepEqual(f[1].toArray(), slow[i][1].toArray());
    });
  });
  it('collates numbers, tensors, strings, tuples and nested objects', () => {
    const [batch] = [...new DataLoader(new Squares(3), { batchSize: 3 })] as unknown as Record<string, unknown>[];
    const b = batch as { x: Tensor; pair: [Tensor, Tensor]; name: string[]; v: Tensor };
    assert.equal(b.x.dtype, 'int32');
    assert.deepEqual(flat(b.x), [0, 1, 2]);
    assert.equal(b.pair[0].dtype, 'float32');
    assert.deepEqual(flat(b.pair[0]), [0, 0.5, 1]);
    assert.deepEqual(b.pair[1].toArray(), [
      [0, 0],
      [1, 1],
      [2, 4],
    ]);
    assert.deepEqual(b.name, ['s0', 's1', 's2']);
    assert.deepEqual(
      defaultCollate([true, false]) instanceof nb.Tensor && (defaultCollate([true, false]) as Tensor).dtype,
      'bool',
    );
  });
  it('collate errors name the path', () => {
    assert.throws(
      () => defaultCollate([{ a: nb.zeros([2]) }, { a: nb.zeros([3]) }]),
      /defaultCollate: batch\.a: stack expects each tensor to be equal size, but got \[2\] at entry 0 and \[3\] at entry 1/,
    );
    assert.throws(() => defaultCollate([[1, 2], [1]]), /each element in list of batch should be of equal size/);
  });
  it('batchSize null yields single items; options are validated', () => {
    const l = new DataLoader(ds, { batchSize: null });
    assert.equal(l.length, 10);
    assert.deepEqual([...l][3][0].shape, [2]);
    assert.throws(
      () => new DataLoader(ds, { batchSize: 0 }),
      /batchSize should be a positive integer value, but got batchSize=0/,
    );
    assert.throws(
      () => new DataLoader(ds, { sampler: [1, 2], shuffle: true }),
      /sampler option is mutually exclusive with shuffle/,
    );
    assert.deepEqual(
      [...new DataLoader(ds, { sampler: [9, 1], batchSize: 2 })].map(([, y]) => flat(y)),
      [[9, 1]],
    );
  });
  it('is async-iterable with the same batches', async () => {
    const l = new DataLoader(ds, { batchSize: 4, shuffle: true, generator: new nb.Generator(7) });
    const got: number[][] = [];
    for await (const [, y] of l) got.push(flat(y));
    const again = new DataLoader(ds, { batchSize: 4, shuffle: true, generator: new nb.Generator(7) });
    assert.deepEqual(
      got,
      [...again].map(([, y]) => flat(y)),
    );
  });
  it('destructures in a for-of training loop', () => {
    let n = 0;
    for (const [x, y] of new DataLoader(ds, { batchSize: 5 })) {
      n += x.shape[0];
      assert.equal(y.dtype, 'int32');
    }
    assert.equal(n, 10);
  });
});
