// Keras regularizers: the penalties (l1 * sum|w|, l2 * sum w^2) on weights and activities, their
// place in the loss that fit minimises and reports, one SGD step checked by hand, saving, and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nb from './nb.js';
import { assertClose } from '../helpers/assert.js';

const L = nb.keras.layers;
const R = nb.keras.regularizers;

test('l1, l2 and l1L2 compute Keras penalties, with Keras defaults of 0.01, by object or by name', () => {
  const w = nb.tensor([
    [1, -2],
    [3, -0.5],
  ]);
  assertClose(R.l1(0.5).call(w).item(), 0.5 * 6.5, { rtol: 1e-6 });
  assertClose(R.l2(0.1).call(w).item(), 0.1 * (1 + 4 + 9 + 0.25), { rtol: 1e-6 });
  assertClose(R.l1L2({ l1: 0.2, l2: 0.3 }).call(w).item(), 0.2 * 6.5 + 0.3 * 14.25, { rtol: 1e-6 });
  assert.deepEqual(R.l2().getConfig(), { className: 'L1L2', config: { l1: 0, l2: 0.01 } });
  assert.deepEqual(R.getRegularizer('l1_l2', 'x')?.getConfig().config, { l1: 0.01, l2: 0.01 });
  assert.throws(() => R.getRegularizer('l3' as 'l1', 'dense: kernelRegularizer'), /dense: kernelRegularizer: unknown/);
  assert.throws(() => R.l2(-1), /l2 must be a finite number >= 0/);
});

test(
  'a Dense kernel/bias/activity penalty is in model.losses and in the loss fit minimises (one SGD ' + 'step)',
  async () => {
    nb.manualSeed(3);
    const x = nb.randn([6, 3]);
    const y = nb.randn([6, 2]);
    const m = nb.keras.sequential([
      L.dense({
        units: 2,
        inputShape: [3],
        kernelRegularizer: R.l2(0.1),
        biasRegularizer: 'l1',
        activityRegularizer: R.l1(0.05),
      }),
    ]);
    const lr = 0.1;
    m.compile({ optimizer: nb.keras.optimizers.sgd({ learningRate: lr }), loss: 'mse' });
    const dense = m.layers[0] as nb.keras.layers.Dense;
    const W = dense.weight.detach().clone(),
      b = dense.bias!.detach().clone();
    // by hand: z = x W^T + b; loss = mean((z - y)^2) + 0.1 sum W^2 + 0.01 sum |b| + 0.05 sum |z|
    const Wv = W.clone().requiresGrad_(true),
      bv = b.clone().requiresGrad_(true);
    const z = x.matmul(Wv.t()).add(bv);
    const want = z
      .sub(y)
      .square()
      .mean()
      .add(Wv.square().sum().mul(0.1))
      .add(bv.abs().sum().mul(0.01))
      .add(z.abs().sum().mul(0.05));
    want.backward();
    const h = await m.fit(x, y, { epochs: 1, batchSize: 6, shuffle: false, verbose: 0 });
    assertClose(h.history.loss[0], want.item(), { rtol: 1e-5 });
    assertClose(dense.weight, W.sub(Wv.grad!.mul(lr)), { rtol: 1e-5, atol: 1e-6 });
    assertClose(dense.bias!, b.sub(bv.grad!.mul(lr)), { rtol: 1e-5, atol: 1e-6 });
    // model.losses: the two weight penalties now, and the activity penalty of the last run
    assert.equal(m.losses.length, 3);
    m.predict(x);
    const zNow = x.matmul(dense.weight.t()).add(dense.bias!);
    assertClose(m.losses[2].item(), zNow.abs().sum().item() * 0.05, { rtol: 1e-5 });
  },
);

test("regularizers survive save/load; LSTM penalises Keras's one bias (bias_ih + bias_hh)", async () => {
  const m = nb.keras.sequential([
    L.embedding({ inputDim: 5, outputDim: 3, inputShape: [4], embeddingsRegularizer: R.l2(0.2) }),
    L.lstm({ units: 2, kernelRegularizer: 'l2', recurrentRegularizer: R.l1(0.3), biasRegularizer: R.l2(1) }),
    L.dense({ units: 1, kernelRegularizer: R.l1L2({ l1: 0.1, l2: 0 }) }),
  ]);
  m.compile({ optimizer: 'sgd', loss: 'mse' });
  m.predict(nb.tensor([[0, 1, 2, 3]], { dtype: 'int32' }));
  const lstm = m.layers[1];
  const sd = lstm.stateDict();
  const bias = sd.bias_ih_l0.add(sd.bias_hh_l0);
  assertClose(lstm.losses[2].item(), bias.square().sum().item(), { rtol: 1e-6 });
  const dir = mkdtempSync(join(tmpdir(), 'nabla-reg-'));
  await m.save(dir);
  const back = await nb.keras.loadModel(dir);
  const total = (mm: nb.keras.Model) => mm.losses.reduce((s, t) => s + t.item(), 0);
  assert.equal(back.losses.length, 5);
  assertClose(total(back), total(m), { rtol: 1e-6 });
  assert.deepEqual(back.layers[1].getConfig().recurrentRegularizer, { className: 'L1L2', config: { l1: 0.3, l2: 0 } });
});
