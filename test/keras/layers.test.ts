// Keras layers against nn: the weights are nn Parameters under PyTorch's names and layouts, so a
// state dict moves between a Keras layer and the matching nn module and both compute the same thing.
// Also: lazy building, channelsLast/channelsFirst, TensorFlow 'same' padding, pooling, batch norm,
// embedding, recurrent layers and Bidirectional.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from './nb.js';
import { assertClose } from '../helpers/assert.js';

const L = nb.keras.layers;
type T = nb.Tensor;
const tol = { rtol: 1e-4, atol: 1e-5 };

test('dense is built on its first call; its weights are nn Parameters loadable into nn.Linear', () => {
  nb.manualSeed(0);
  const d = L.dense({ units: 4, activation: 'relu' });
  assert.equal(d.built, false);
  assert.equal(d.parameters().length, 0);
  const x = nb.randn([3, 5]);
  const y = d.call(x) as T;
  assert.deepEqual([...y.shape], [3, 4]);
  assert.deepEqual(Object.keys(d.stateDict()), ['weight', 'bias']);
  assert.ok(d.weight instanceof nb.nn.Parameter);
  assert.deepEqual([...d.weight.shape], [4, 5]);
  const lin = new nb.nn.Linear(5, 4);
  lin.loadStateDict(d.stateDict());
  assertClose(y, lin.forward(x).relu(), tol);
  // glorot uniform kernel: |w| <= sqrt(6 / (5 + 4)); zero bias
  const lim = Math.sqrt(6 / 9);
  assert.ok(d.weight.toTypedArray().every((v) => Math.abs(v) <= lim));
  assert.ok(d.bias!.toTypedArray().every((v) => v === 0));
  assert.throws(
    () => d.call(nb.randn([3, 6])),
    /Layer 'dense(_\d+)?' \(Dense\): expected input shape \[null, 5\], got \[null, 6\]/,
  );
});

test('conv2d channelsLast equals nn.Conv2d on permuted input; channelsFirst equals it directly', () => {
  nb.manualSeed(1);
  const x = nb.randn([2, 6, 7, 3]); // NHWC
  const kc = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same' });
  const y = kc.call(x) as T;
  assert.deepEqual([...y.shape], [2, 6, 7, 4]);
  const tc = new nb.nn.Conv2d(3, 4, 3, { padding: 1 });
  tc.loadStateDict(kc.stateDict());
  const ref = tc.forward(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1);
  assertClose(y, ref, tol);
  const kf = L.conv2d({ filters: 4, kernelSize: [3, 2], strides: [1, 2], dataFormat: 'channelsFirst' });
  const xf = nb.randn([2, 3, 6, 7]);
  const yf = kf.call(xf) as T;
  const tf = new nb.nn.Conv2d(3, 4, [3, 2], { stride: [1, 2] });
  tf.loadStateDict(kf.stateDict());
  assertClose(yf, tf.forward(xf), tol);
  assert.deepEqual([...kf.computeOutputShape([null, 3, 6, 7])], [null, 4, 4, 3]);
});

test("'same' padding follows TensorFlow for strides and even sizes (extra row/column at the bottom/right)", () => {
  nb.manualSeed(2);
  const x = nb.randn([1, 8, 8, 2]);
  const k = L.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', useBias: false });
  const y = k.call(x) as T;
  assert.deepEqual([...y.shape], [1, 4, 4, 3]);
  // TF: out 4, total pad (4-1)*2 + 3 - 8 = 1 -> 0 before, 1 after
  const xp = nb.nn.functional.pad(x.permute(0, 3, 1, 2), [0, 1, 0, 1]);
  const ref = nb.nn.functional.conv2d(xp, k.weight, null, 2, 0).permute(0, 2, 3, 1);
  assertClose(y, ref, tol);
  const p = L.maxPooling2d({ poolSize: 2, padding: 'same' });
  assert.deepEqual([...(p.call(nb.randn([1, 5, 5, 2])) as T).shape], [1, 3, 3, 2]);
  // average pooling 'same' averages only the real positions
  const a = L.averagePooling2d({ poolSize: 2, padding: 'same' }).call(nb.ones([1, 3, 3, 1])) as T;
  assertClose(a, nb.ones([1, 2, 2, 1]));
  const g = L.globalAveragePooling2d().call(nb.arange(0, 8).reshape([1, 2, 2, 2]).float()) as T;
  assertClose(g, [[3, 4]]);
});

test('conv1d channelsLast equals nn.Conv1d', () => {
  nb.manualSeed(3);
  const x = nb.randn([2, 9, 3]); // (N, L, C)
  const k = L.conv1d({ filters: 5, kernelSize: 3, padding: 'same' });
  const y = k.call(x) as T;
  const t = new nb.nn.Conv1d(3, 5, 3, { padding: 1 });
  t.loadStateDict(k.stateDict());
  assertClose(y, t.forward(x.permute(0, 2, 1)).permute(0, 2, 1), tol);
});

test('batchNormalization: running statistics in training, used in evaluation; nn.BatchNorm1d names', () => {
  nb.manualSeed(4);
  const bn = L.batchNormalization({ momentum: 0.9 });
  const x = nb.randn([16, 3]).mul(2).add(5);
  bn.train();
  bn.call(x);
  assert.deepEqual(Object.keys(bn.stateDict()), [
    'weight',
    'bias',
    'running_mean',
    'running_var',
    'num_batches_tracked',
  ]);
  const tbn = new nb.nn.BatchNorm1d(3, { momentum: 0.1, eps: 1e-3 });
  tbn.train();
  tbn.forward(x);
  assertClose(bn.running_mean, tbn.runningMean!, tol);
  assertClose(bn.running_var, tbn.runningVar!, tol);
  bn.eval();
  tbn.eval();
  assertClose(bn.call(x) as T, tbn.forward(x), tol);
  const c = bn.countParams();
  assert.deepEqual(c, { trainable: 6, nonTrainable: 6 });
  // channels-last 4-D input normalises the last axis
  const bn4 = L.batchNormalization();
  const y = bn4.call(nb.randn([4, 3, 3, 2]).add(3)) as T;
  assertClose(y.mean([0, 1, 2]), [0, 0], { atol: 1e-4 });
});

test('layerNormalization, dropout, flatten, reshape, activation', () => {
  nb.manualSeed(5);
  const ln = L.layerNormalization();
  const x = nb.randn([2, 3, 4]);
  assertClose(ln.call(x) as T, nb.nn.functional.layerNorm(x, [4], null, null, 1e-3), tol);
  const dr = L.dropout({ rate: 0.5 });
  dr.eval();
  assert.equal(dr.call(x), x);
  dr.train();
  const z = (dr.call(nb.ones([1000])) as T).toTypedArray();
  assert.ok(z.every((v) => v === 0 || v === 2));
  assert.deepEqual([...(L.flatten().call(x) as T).shape], [2, 12]);
  assert.deepEqual([...(L.reshape({ targetShape: [4, -1] }).call(x) as T).shape], [2, 4, 3]);
  assertClose(L.activation({ activation: 'softmax' }).call(x) as T, x.softmax(-1), tol);
  assert.throws(() => L.activation({ activation: 'swishy' }), /unknown activation 'swishy'/);
});

test('embedding: nn.Embedding layout, float indices accepted, out-of-range index named', () => {
  nb.manualSeed(6);
  const e = L.embedding({ inputDim: 10, outputDim: 3 });
  const y = e.call(
    nb.tensor([
      [1, 2],
      [9, 0],
    ]),
  ) as T;
  assert.deepEqual([...y.shape], [2, 2, 3]);
  assertClose(y.select(0, 1).select(0, 0), e.weight.select(0, 9));
  assert.ok(e.weight.toTypedArray().every((v) => Math.abs(v) <= 0.05));
  assert.throws(
    () => e.call(nb.tensor([[1, 10]])),
    /Layer 'embedding(_\d+)?' \(Embedding\): index 10 at position 1 is out of range \[0, 9\]/,
  );
  assert.throws(() => e.call(nb.tensor([[1.5, 2]])), /index 1\.5/);
});

function rnnPair(kind: 'lstm' | 'gru' | 'simpleRNN', returnSequences: boolean) {
  const k = L[kind]({ units: 4, returnSequences });
  const x = nb.randn([3, 5, 2]);
  const y = k.call(x) as T;
  const ctor = kind === 'lstm' ? nb.nn.LSTM : kind === 'gru' ? nb.nn.GRU : nb.nn.RNN;
  const t = new ctor(2, 4, { batchFirst: true });
  t.loadStateDict(k.stateDict());
  const [out] = t.forward(x) as [T, unknown];
  return { y, ref: returnSequences ? out : out.select(1, 4), k };
}

test('simpleRNN, lstm and gru compute what nn.RNN / nn.LSTM / nn.GRU compute with the same state dict', () => {
  nb.manualSeed(7);
  for (const kind of ['simpleRNN', 'lstm', 'gru'] as const) {
    for (const rs of [false, true]) {
      const { y, ref } = rnnPair(kind, rs);
      assertClose(y, ref, tol, `${kind} returnSequences=${rs}`);
    }
  }
  const { k } = rnnPair('lstm', false);
  assert.deepEqual(Object.keys(k.stateDict()), ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']);
  // unit forget bias
  assertClose(k.stateDict().bias_ih_l0.narrow(0, 4, 4), [1, 1, 1, 1]);
});

test('bidirectional(lstm) equals a bidirectional nn.LSTM', () => {
  nb.manualSeed(8);
  const x = nb.randn([2, 6, 3]);
  const bi = L.bidirectional({ layer: L.lstm({ units: 5, returnSequences: true }) });
  const y = bi.call(x) as T;
  assert.deepEqual([...y.shape], [2, 6, 10]);
  const t = new nb.nn.LSTM(3, 5, { batchFirst: true, bidirectional: true });
  t.loadStateDict(bi.stateDict());
  const [out, [hn]] = t.forward(x);
  assertClose(y, out, tol);
  const last = L.bidirectional({ layer: L.gru({ units: 5 }), mergeMode: 'concat' });
  const yl = last.call(x) as T;
  const tg = new nb.nn.GRU(3, 5, { batchFirst: true, bidirectional: true });
  tg.loadStateDict(last.stateDict());
  const [, hg] = tg.forward(x);
  assertClose(
    yl,
    nb.nn.functional.pad(hg.select(0, 0), [0, 5]).add(nb.nn.functional.pad(hg.select(0, 1), [5, 0])),
    tol,
  );
  assert.deepEqual([...bi.computeOutputShape([null, 6, 3])], [null, 6, 10]);
  void hn;
});
