// Bad input gives a clear error or a clear stop, naming what is wrong and where.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from './nb.js';

const L = nb.keras.layers;

function mlp(compile = true) {
  const m = nb.keras.sequential([
    L.dense({ units: 16, activation: 'relu', inputShape: [32], name: 'hidden' }),
    L.dense({ units: 10, activation: 'softmax' }),
  ]);
  if (compile) m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  return m;
}

test('x and y of different lengths', async () => {
  await assert.rejects(
    mlp().fit(nb.randn([100, 32]), nb.randint(0, 10, [99]), { verbose: 0 }),
    /^Error: fit: x has 100 samples but y has 99; x and y must have the same length \(first dimension\)$/,
  );
  await assert.rejects(mlp().evaluate(nb.randn([10, 32]), [1, 2, 3]), /evaluate: x has 10 samples but y has 3/);
});

test('a wrong feature count names the layer and both shapes', async () => {
  await assert.rejects(
    mlp().fit(nb.randn([100, 31]), nb.randint(0, 10, [100]), { verbose: 0 }),
    /fit: layer 'hidden' \(Dense\) of model 'sequential(_\d+)?' expects input shape \[null, 32\], but x has shape \[100, 31\] \(31 features where 32 are expected\)/,
  );
  assert.throws(
    () => mlp().predict(nb.randn([4, 8, 4])),
    /predict: layer 'hidden' \(Dense\) .* expects input shape \[null, 32\], but x has shape \[4, 8, 4\]/,
  );
  // a layer called directly
  const d = L.dense({ units: 2, name: 'd' });
  d.call(nb.randn([1, 3]));
  assert.throws(
    () => d.call(nb.randn([1, 4])),
    /Layer 'd' \(Dense\): expected input shape \[null, 3\], got \[null, 4\]/,
  );
  // a functional graph that cannot be built
  const inp = nb.keras.input({ shape: [4, 4, 1] });
  assert.throws(
    () => L.dense({ units: 3 }).apply(L.conv2d({ filters: 2, kernelSize: 5 }).apply(inp)),
    /input \[null, 4, 4, 1\] is smaller than the kernel \[5, 5\]/,
  );
});

test('a label out of range for sparse categorical crossentropy', async () => {
  const y = nb.randint(0, 10, [64]);
  y.data[37] = 10;
  await assert.rejects(
    mlp().fit(nb.randn([64, 32]), y, { verbose: 0, shuffle: false }),
    /sparse_categorical_crossentropy: label 10 at index 5 is out of range: the model's output has 10 classes, so labels must be integers in \[0, 9\]/,
  );
  await assert.rejects(mlp().evaluate(nb.randn([2, 32]), [3, -1]), /label -1 at index 1 is out of range/);
  await assert.rejects(mlp().evaluate(nb.randn([2, 32]), [3, 1.5]), /label 1\.5 at index 1 is out of range/);
});

test('a string where a number is expected', async () => {
  const x = Array.from({ length: 4 }, () => Array.from({ length: 32 }, () => 0.5)) as unknown[][];
  x[2][7] = 'abc';
  await assert.rejects(
    mlp().fit(x as number[][], [1, 2, 3, 4], { verbose: 0 }),
    /^Error: fit: x\[2\]\[7\] is the string "abc"; expected a number$/,
  );
  const good = Array.from({ length: 2 }, () => Array.from({ length: 32 }, () => 0.5));
  await assert.rejects(
    mlp().fit(good, ['cat', 'dog'] as unknown as number[], { verbose: 0 }),
    /^Error: fit: y\[0\] is the string "cat"; expected a number$/,
  );
  await assert.rejects(
    mlp().fit(good, [[1], [2, 3]], { verbose: 0 }),
    /fit: y\[1\] has length 2 but y\[0\] has 1 \(ragged rows\)/,
  );
  await assert.rejects(
    mlp().fit('data.csv' as unknown as number[], [1], { verbose: 0 }),
    /fit: x must be a Tensor, a typed array or a \(nested\) array of numbers, got the string "data.csv"/,
  );
  assert.throws(
    () => L.dense({ units: 'ten' as unknown as number }),
    /dense: units must be a positive integer, got "ten"/,
  );
});

test('a NaN loss stops training with a message naming the epoch and the batch', async () => {
  nb.manualSeed(0);
  const m = mlp();
  const x = nb.randn([64, 32]);
  x.data[2 * 16 * 32 + 5] = NaN; // sample 32: the third batch of 16 when not shuffled
  const out = new nb.Capture(false);
  const h = await m.fit(x, nb.randint(0, 10, [64]), {
    epochs: 3,
    batchSize: 16,
    shuffle: false,
    stream: out,
    clock: nb.fakeClock(),
  });
  assert.match(out.text, /^Epoch 1\/3, batch 3\/4: the loss is NaN; stopping training\. /m);
  assert.equal(h.stopReason, out.text.trim());
  assert.equal(h.epoch.length, 0, 'the broken epoch is not recorded');
  // the weights were not updated by the NaN batch
  assert.ok(m.getWeights().every((w) => w.toTypedArray().every(Number.isFinite)));
  // an infinite loss from a diverging regression stops the same way
  const r = nb.keras.sequential([L.dense({ units: 1, inputShape: [1] })]);
  r.compile({ optimizer: nb.keras.optimizers.sgd({ learningRate: 1e6 }), loss: 'mse' });
  const out2 = new nb.Capture(false);
  const h2 = await r.fit(nb.randn([32, 1]).mul(100), nb.randn([32, 1]), { epochs: 50, batchSize: 8, stream: out2 });
  assert.match(h2.stopReason ?? '', /^Epoch \d+\/50, batch \d\/4: the loss is (NaN|Infinity); stopping training/);
});

test('compile and call mistakes', async () => {
  assert.throws(
    () => mlp(false).compile({ optimizer: 'adamm', loss: 'mse' }),
    /compile: unknown optimizer "adamm" \(known: adam, sgd, rmsprop, adagrad, adamw/,
  );
  assert.throws(() => mlp(false).compile({ optimizer: 'adam', loss: 'crossentropy' }), /unknown loss 'crossentropy'/);
  await assert.rejects(
    mlp(false).fit(nb.randn([2, 32]), [1, 2], { verbose: 0 }),
    /must be compiled before training or evaluation: call model.compile/,
  );
  await assert.rejects(mlp().fit(nb.randn([2, 32]), undefined, { verbose: 0 }), /fit: y is missing/);
  // fit(x, options) with arrays: the options are not taken for a y record naming outputs
  await assert.rejects(
    mlp().fit(nb.randn([2, 32]), { epochs: 2, verbose: 0 }),
    /^Error: fit: y is missing \(the second argument holds fit options\); call fit\(x, y, options\)/,
  );
  await assert.rejects(mlp().evaluate(nb.randn([2, 32]), { batchSize: 2 }), /^Error: evaluate: y is missing \(/);
  await assert.rejects(
    mlp().fit(nb.randn([2, 32]), [1, 2], { batchSize: 0, verbose: 0 }),
    /batchSize must be a positive integer, got 0/,
  );
  const a = nb.keras.input({ shape: [2] }),
    b = nb.keras.input({ shape: [2] });
  const two = nb.keras.model({ inputs: [a, b], outputs: L.add().apply([a, b]) });
  assert.throws(
    () => two.predict(nb.randn([3, 2])),
    /the model has 2 inputs .*; pass x as an array of 2 Tensors or a record keyed by name/,
  );
  assert.throws(
    () => nb.keras.model({ inputs: a, outputs: L.add().apply([a, b]) }),
    /depend on input '.*' \[null, 2\], which is not in inputs/,
  );
  assert.throws(
    () => nb.keras.sequential([L.dense({ units: 2, inputShape: [3] }), L.dense({ units: 2, inputShape: [2] })]),
    /only the first layer may have an inputShape/,
  );
});
