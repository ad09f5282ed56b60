// Keras metrics (stateful, on tensors and typed arrays) and losses by name, against values worked
// out by hand, Keras's clip-to-[eps, 1-eps] convention and nn's PyTorch-parity losses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from './nb.js';
import { assertClose } from '../helpers/assert.js';

const M = nb.keras.metrics;
const Lo = nb.keras.losses;

test(
  'accuracy metrics: sparse, categorical, binary, top-k; stateful over batches; typed arrays and nested ' + 'arrays',
  () => {
    const p = nb.tensor([
      [0.1, 0.7, 0.2],
      [0.8, 0.1, 0.1],
      [0.3, 0.3, 0.4],
      [0.2, 0.5, 0.3],
    ]);
    const sparse = new M.SparseCategoricalAccuracy();
    sparse.update(nb.tensor([1, 0], { dtype: 'int32' }), p.narrow(0, 0, 2));
    sparse.update(new Int32Array([1, 1]), { data: p.narrow(0, 2, 2).toTypedArray(), shape: [2, 3] });
    assert.equal(sparse.result(), 0.75);
    sparse.reset();
    assert.equal(sparse.result(), 0);
    assert.equal(
      new M.CategoricalAccuracy().compute(
        [
          [0, 1, 0],
          [1, 0, 0],
          [0, 0, 1],
          [1, 0, 0],
        ],
        p,
      ),
      0.75,
    );
    assert.equal(new M.BinaryAccuracy().compute([[1], [0], [1], [0]], [[0.9], [0.2], [0.4], [0.6]]), 0.5);
    assert.equal(
      new M.TopKCategoricalAccuracy(2).compute(
        [
          [0, 0, 1],
          [0, 1, 0],
          [1, 0, 0],
          [1, 0, 0],
        ],
        p,
      ),
      0.75,
    );
    assert.equal(new M.SparseCategoricalAccuracy().compute([1, 0, 2, 0], p, [1, 1, 2, 0]), 1, 'sample weights');
  },
);

test("'accuracy' resolves as Keras does, and keeps its name", () => {
  assert.ok(M.resolveMetric('accuracy', 'sparse_categorical_crossentropy') instanceof M.SparseCategoricalAccuracy);
  assert.ok(M.resolveMetric('acc', 'binary_crossentropy') instanceof M.BinaryAccuracy);
  assert.ok(M.resolveMetric('accuracy', 'mse', [null, 1]) instanceof M.BinaryAccuracy);
  assert.ok(M.resolveMetric('accuracy', 'categorical_crossentropy', [null, 4]) instanceof M.CategoricalAccuracy);
  assert.equal(M.resolveMetric('accuracy', 'categorical_crossentropy').name, 'accuracy');
  assert.ok(M.resolveMetric('sparseCategoricalAccuracy') instanceof M.SparseCategoricalAccuracy);
  assert.throws(() => M.resolveMetric('accuracyy'), /unknown metric 'accuracyy'/);
});

test('mse, mae, precision, recall, AUC', () => {
  assertClose(
    new M.MeanSquaredError().compute(
      [
        [1, 2],
        [3, 4],
      ],
      [
        [1, 0],
        [3, 5],
      ],
    ),
    (4 / 2 + 1 / 2) / 2,
  );
  assertClose(
    new M.MeanAbsoluteError().compute(
      [
        [1, 2],
        [3, 4],
      ],
      [
        [1, 0],
        [3, 5],
      ],
    ),
    (2 / 2 + 1 / 2) / 2,
  );
  const t = [1, 0, 1, 1, 0, 0],
    s = [0.9, 0.6, 0.4, 0.8, 0.1, 0.7];
  assertClose(new M.Precision().compute(t, s), 2 / 4);
  assertClose(new M.Recall().compute(t, s), 2 / 3);
  // exact AUC = P(score of a positive > score of a negative) = 7/9 here; the threshold version is close
  assertClose(new M.AUC().compute(t, s), 7 / 9, { atol: 0.01 });
  assertClose(new M.AUC().compute([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 1, { atol: 1e-6 });
  const prec = new M.Precision({ classId: 1 });
  prec.update(
    [
      [1, 0],
      [0, 1],
    ],
    [
      [0.3, 0.7],
      [0.4, 0.6],
    ],
  );
  assertClose(prec.result(), 0.5);
});

test('crossentropies: fromLogits agrees with nn, probabilities are clipped to [1e-7, 1 - 1e-7] as in Keras', () => {
  nb.manualSeed(3);
  const logits = nb.randn([5, 4]);
  const y = nb.tensor([0, 3, 1, 2, 3], { dtype: 'int32' });
  const torchLoss = nb.nn.functional.crossEntropy(logits, y).item();
  const sce = Lo.reduceLoss(new Lo.SparseCategoricalCrossentropy({ fromLogits: true }).call(y, logits));
  assertClose(sce.item(), torchLoss, { rtol: 1e-5 });
  // from a softmax activation whose logits the model passes along: computed from the logits (stable), same value
  const probs = nb.keras.activations.softmax(logits);
  const known = { logits, kind: 'softmax' as const };
  const sceKnown = Lo.lossByName('sparse_categorical_crossentropy').call(y, probs, known);
  assertClose(Lo.reduceLoss(sceKnown).item(), torchLoss, { rtol: 1e-5 });
  // plain probabilities (no known logits): same value too
  assertClose(
    Lo.reduceLoss(Lo.lossByName('sparse_categorical_crossentropy').call(y, logits.softmax(-1))).item(),
    torchLoss,
    { rtol: 1e-5 },
  );
  // categorical with one-hot labels equals sparse
  const oneHot = nb.nn.functional.oneHot(y, 4).to('float32');
  const cceKnown = Lo.lossByName('categoricalCrossentropy').call(oneHot, probs, known);
  assertClose(Lo.reduceLoss(cceKnown).item(), torchLoss, { rtol: 1e-5 });
  assertClose(Lo.reduceLoss(Lo.lossByName('categoricalCrossentropy').call(oneHot, probs)).item(), torchLoss, {
    rtol: 1e-5,
  });
  // saturated softmax: Keras's clip gives -log(1e-7) = 16.118..., never Infinity, and a finite gradient
  const big = nb.tensor([[0, 200]], { requiresGrad: true });
  const l = Lo.lossByName('sparse_categorical_crossentropy').call(
    nb.tensor([0], { dtype: 'int32' }),
    nb.keras.activations.softmax(big),
    { logits: big, kind: 'softmax' },
  );
  assertClose(l.item(), -Math.log(1e-7), { rtol: 1e-5 });
  l.sum().backward();
  assert.ok(big.grad!.toTypedArray().every(Number.isFinite));
  const lp = Lo.lossByName('sparse_categorical_crossentropy').call(
    nb.tensor([0], { dtype: 'int32' }),
    nb.tensor([[0, 1]]),
  );
  assertClose(lp.item(), -Math.log(1e-7), { rtol: 1e-5 });
});

test('binary crossentropy, mse, mae, huber by name; per-sample losses and the batch reduction', () => {
  const yt = nb.tensor([[1], [0], [1]]),
    logits = nb.tensor([[2], [-1], [-0.5]]);
  const p = logits.sigmoid();
  const expected = [-Math.log(p.toTypedArray()[0]), -Math.log(1 - p.toTypedArray()[1]), -Math.log(p.toTypedArray()[2])];
  assertClose(Lo.lossByName('binary_crossentropy', { fromLogits: true }).call(yt, logits), expected, { rtol: 1e-5 });
  const sig = nb.keras.activations.sigmoid(logits);
  const bceKnown = Lo.lossByName('binary_crossentropy').call(yt, sig, { logits, kind: 'sigmoid' });
  assertClose(bceKnown, expected, { rtol: 1e-5 });
  assertClose(Lo.lossByName('binary_crossentropy').call(yt, p), expected, { rtol: 1e-5 });
  assertClose(Lo.lossByName('binary_crossentropy').call(nb.tensor([[1]]), nb.tensor([[0]])), [-Math.log(1e-7)], {
    rtol: 1e-4,
  });
  const t = nb.tensor([
      [1, 2],
      [3, 4],
    ]),
    q = nb.tensor([
      [1.5, 0],
      [3, 7],
    ]);
  assertClose(Lo.lossByName('mse').call(t, q), [(0.25 + 4) / 2, 9 / 2]);
  assertClose(Lo.lossByName('mae').call(t, q), [(0.5 + 2) / 2, 3 / 2]);
  assertClose(Lo.lossByName('huber').call(t, q), [(0.125 + 1.5) / 2, 2.5 / 2]);
  assertClose(Lo.lossByName('huber', { delta: 3 }).call(t, q), [(0.125 + 2) / 2, 4.5 / 2]);
  assertClose(Lo.reduceLoss(nb.tensor([1, 2, 3, 4]), nb.tensor([1, 0, 0, 2])).item(), (1 + 8) / 4);
  assert.throws(() => Lo.lossByName('cross_entropy'), /unknown loss 'cross_entropy'/);
});

test('a model hands its losses the logits behind softmax and sigmoid outputs (Layer.callWithLogits)', async () => {
  nb.manualSeed(8);
  const L = nb.keras.layers;
  const x = nb.randn([6, 4]).mul(3),
    y = nb.tensor([0, 2, 1, 2, 0, 1], { dtype: 'int32' });
  const soft = nb.keras.sequential([L.dense({ units: 3, activation: 'softmax', inputShape: [4] })]);
  const viaLayer = nb.keras.sequential([
    L.dense({ units: 3, inputShape: [4] }),
    L.activation({ activation: 'softmax' }),
  ]);
  const plain = nb.keras.sequential([L.dense({ units: 3, activation: 'relu', inputShape: [4] })]);
  for (const m of [soft, viaLayer]) {
    const logits: ({ logits: nb.Tensor; kind: 'softmax' | 'sigmoid' } | null)[] = [];
    const [p] = m.run([x], logits);
    assert.equal(logits[0]?.kind, 'softmax');
    assertClose(logits[0]!.logits.softmax(-1), p, { rtol: 1e-6, atol: 1e-7 });
    m.compile({ optimizer: 'sgd', loss: 'sparse_categorical_crossentropy' });
    const fromLogits = new Lo.SparseCategoricalCrossentropy({ fromLogits: true });
    const want = Lo.reduceLoss(fromLogits.call(y, logits[0]!.logits)).item();
    assertClose((await m.evaluate(x, y, { verbose: 0 })) as number, want, { rtol: 1e-5 });
  }
  const none: unknown[] = [];
  plain.run([x], none as never);
  assert.deepEqual(none, [null]);
  // a nested model's output keeps the logits of its own output layer
  const inp = nb.keras.input({ shape: [4] });
  const outer = nb.keras.model({ inputs: inp, outputs: soft.apply(inp) });
  const nested: ({ logits: nb.Tensor; kind: 'softmax' | 'sigmoid' } | null)[] = [];
  outer.run([x], nested);
  assert.equal(nested[0]?.kind, 'softmax');
});
