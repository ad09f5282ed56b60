// Layer behaviour beyond the PyTorch goldens: options PyTorch 1.13 lacks or that are random
// (RMSNorm, Dropout, isCausal), shape layers, masks, and that small CNN and LSTM classifiers learn
// the 8x8 digits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from './nb.js';
import { Adam } from '../../src/optim/index.js';
import { digits } from '../../src/data/datasets.js';
import { crossEntropy } from '../../src/nn/functional/losses.js';
import { assertClose } from '../helpers/assert.js';

const { nn } = nb;
type T = nb.Tensor;

test('Identity, Flatten, Unflatten, Softmax with implicit dim, activations', () => {
  const x = nb.randn([2, 3, 4, 5]);
  assert.equal(new nn.Identity().call(x), x);
  assert.deepEqual(new nn.Flatten().call(x).shape, [2, 60]);
  assert.deepEqual(new nn.Flatten(0, 2).call(x).shape, [24, 5]);
  assert.deepEqual(new nn.Unflatten(1, [3, 4]).call(nb.randn([2, 12])).shape, [2, 3, 4]);
  assert.throws(
    () => new nn.Unflatten(1, [3, 5]).call(nb.randn([2, 12])),
    /Unflatten\(dim=1, unflattened_size=\(3, 5\)\): expected input with 15 elements in dim 1, got \[2, 12\]/,
  );
  assertClose(new nn.Softmax().call(x), x.softmax(1));
  assertClose(new nn.Softmax().call(nb.randn([4])).sum(), 1);
  assertClose(new nn.LogSoftmax(-1).call(x).exp().sum(-1), nb.ones([2, 3, 4]), { atol: 1e-5 });
});

test('Dropout module: train scales, eval is the identity', () => {
  const d = new nn.Dropout(0.25);
  const x = nb.ones([400]);
  nb.manualSeed(1);
  const y = d.call(x).toTypedArray();
  assert.ok(y.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6));
  d.eval();
  assert.equal(d.call(x), x);
  assert.throws(() => new nn.Dropout(1.5), /between 0 and 1/);
});

test('RMSNorm and GroupNorm modules', () => {
  const r = new nn.RMSNorm([4], { eps: 1e-6 }).double();
  const x = nb.randn([3, 4], { dtype: 'float64' });
  assertClose(r.call(x), x.div(x.square().mean(-1, true).add(1e-6).sqrt()), { rtol: 1e-12 });
  assert.deepEqual(Object.keys(r.stateDict()), ['weight']);
  const g = new nn.GroupNorm(3, 6, { affine: false });
  assert.equal(g.parameters().length, 0);
  const y = g.call(nb.randn([2, 6, 5]));
  assertClose(y.reshape([2, 3, -1]).mean(-1), nb.zeros([2, 3]), { atol: 1e-5 });
});

test('BatchNorm without running stats always uses batch statistics', () => {
  const bn = new nn.BatchNorm1d(3, { trackRunningStats: false, affine: false });
  assert.deepEqual(Object.keys(bn.stateDict()), []);
  bn.eval();
  const y = bn.call(nb.randn([8, 3]).mul(5).add(2));
  assertClose(y.mean(0), nb.zeros([3]), { atol: 1e-5 });
  assert.throws(() => new nn.BatchNorm1d(3).call(nb.randn([1, 3])), /more than 1 value per channel when training/);
});

test('Conv padding modes and ConvTranspose2d inverts the shape of a strided conv', () => {
  for (const mode of ['reflect', 'replicate', 'circular'] as const) {
    const c = new nn.Conv2d(2, 3, 3, { padding: 1, paddingMode: mode });
    assert.deepEqual(c.call(nb.randn([1, 2, 5, 6])).shape, [1, 3, 5, 6]);
  }
  const down = new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 }),
    up = new nn.ConvTranspose2d(8, 3, 3, { stride: 2, padding: 1, outputPadding: 1 });
  assert.deepEqual(up.call(down.call(nb.randn([2, 3, 8, 8]))).shape, [2, 3, 8, 8]);
  assert.deepEqual(
    new nn.Conv1d(4, 2, 5, { padding: 'same', dilation: 2 }).call(nb.randn([3, 4, 11])).shape,
    [3, 2, 11],
  );
});

test('Embedding gives no gradient to the padding row; Bilinear; Upsample; pools', () => {
  const e = new nn.Embedding(5, 2, { paddingIdx: -1 });
  assert.equal(e.paddingIdx, 4);
  e.call(
    nb.tensor(
      [
        [4, 0],
        [4, 1],
      ],
      { dtype: 'int32' },
    ),
  )
    .sum()
    .backward();
  assert.deepEqual(e.weight.grad!.toArray(), [
    [1, 1],
    [1, 1],
    [0, 0],
    [0, 0],
    [0, 0],
  ]);
  assert.deepEqual(new nn.Bilinear(3, 4, 5).call(nb.randn([2, 7, 3]), nb.randn([2, 7, 4])).shape, [2, 7, 5]);
  assert.deepEqual(new nn.Upsample({ scaleFactor: 3, mode: 'linear' }).call(nb.randn([1, 2, 4])).shape, [1, 2, 12]);
  const [v, i] = new nn.MaxPool1d(2, { returnIndices: true }).call(nb.tensor([[[3, 1, 2, 5]]])) as [T, T];
  assert.deepEqual([v.toArray(), i.toArray()], [[[[3, 5]]], [[[0, 3]]]]);
  assertClose(new nn.AdaptiveAvgPool2d(1).call(nb.ones([2, 3, 5, 5])), nb.ones([2, 3, 1, 1]));
});

test('MultiheadAttention: isCausal equals an explicit mask; needWeights false; float padding mask', () => {
  nb.manualSeed(2);
  const m = new nn.MultiheadAttention(8, 2);
  const x = nb.randn([5, 3, 8]);
  const causal = nn.Transformer.generateSquareSubsequentMask(5);
  const [a] = m.call(x, x, x, { isCausal: true });
  const [b, w] = m.call(x, x, x, { attnMask: causal });
  assertClose(a, b, { atol: 1e-6 });
  assertClose(w!.triu(1), nb.zeros([3, 5, 5]));
  assert.equal(m.call(x, x, x, { needWeights: false })[1], null);
  const pad = nb.tensor([
    [0, 0, 0, 0, -Infinity],
    [0, 0, 0, 0, 0],
    [0, 0, 0, -Infinity, -Infinity],
  ]);
  const [, w2] = m.call(x, x, x, { keyPaddingMask: pad });
  assertClose(w2!.select(0, 0).select(1, 4), nb.zeros([5]));
  const [, w3] = m.call(x, x, x, { keyPaddingMask: pad.eq(-Infinity) });
  assertClose(w3!, w2!);
});

test('RNN: dropout between layers only in training; initial states; cells match one step of the layer', () => {
  nb.manualSeed(4);
  const lstm = new nn.LSTM(3, 4, { numLayers: 2, dropout: 0.5 });
  const x = nb.randn([6, 2, 3]);
  lstm.eval();
  const [o1] = lstm.call(x),
    [o2] = lstm.call(x);
  assertClose(o1, o2);
  lstm.train();
  nb.manualSeed(1);
  const [o3] = lstm.call(x);
  assert.notDeepEqual(o3.toArray(), o1.toArray());
  const gru = new nn.GRU(3, 4),
    cell = new nn.GRUCell(3, 4);
  const sd = gru.stateDict();
  cell.loadStateDict({
    weight_ih: sd.weight_ih_l0,
    weight_hh: sd.weight_hh_l0,
    bias_ih: sd.bias_ih_l0,
    bias_hh: sd.bias_hh_l0,
  });
  const h0 = nb.randn([1, 2, 4]);
  const [out, hn] = gru.call(x.narrow(0, 0, 1), h0);
  assertClose(out.select(0, 0), cell.call(x.select(0, 0), h0.select(0, 0)), { atol: 1e-6 });
  assertClose(hn, out, { atol: 1e-6 });
});

function digitTensors(train: boolean): [T, T] {
  const ds = digits({ train });
  return ds.getBatch!([...Array(ds.length).keys()]) as unknown as [T, T];
}

function fit(model: nb.nn.Module, epochs: number, lr: number): number {
  const [xtr, ytr] = digitTensors(true),
    [xte, yte] = digitTensors(false);
  const opt = new Adam(model.parameters(), { lr });
  const g = new nb.Generator(0);
  for (let ep = 0; ep < epochs; ep++) {
    const perm = g.permutation(1500);
    for (let i = 0; i < 1500; i += 32) {
      const idx = nb.tensor(perm.subarray(i, i + 32), { dtype: 'int32' });
      opt.zeroGrad();
      crossEntropy(model.forward(xtr.indexSelect(0, idx)), ytr.indexSelect(0, idx)).backward();
      opt.step();
    }
  }
  model.eval();
  return nb.noGrad(() => model.forward(xte).argmax(1).eq(yte).float().mean().item());
}

test('a small CNN learns the digits (the issue recipe, 2 epochs)', () => {
  nb.manualSeed(0);
  const cnn = new nn.Sequential(
    new nn.Conv2d(1, 16, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.Flatten(),
    new nn.Linear(512, 10),
  );
  const acc = fit(cnn, 2, 1e-3);
  assert.ok(acc > 0.7, `test accuracy ${acc}`);
});

test('an LSTM classifier learns the digits row by row (8 steps of 8 features)', () => {
  nb.manualSeed(0);
  class RowLSTM extends nn.Module {
    declare lstm: nb.nn.LSTM;
    declare fc: nb.nn.Linear;
    constructor() {
      super();
      this.lstm = new nn.LSTM(8, 32, { batchFirst: true });
      this.fc = new nn.Linear(32, 10);
    }
    forward(x: T): T {
      // x (N, 1, 8, 8) -> rows (N, 8, 8) -> h_n (1, N, 32) -> (N, 10)
      const [, [h]] = this.lstm.call(x.reshape([-1, 8, 8]));
      return this.fc.call(h.select(0, 0));
    }
  }
  const acc = fit(new RowLSTM(), 2, 1e-2);
  assert.ok(acc > 0.6, `test accuracy ${acc}`);
});
