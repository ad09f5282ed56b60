// The Keras side of DP-SGD: compile({optimizer: dpSgd(...)}) trains with per-example clipping and noise.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as nb from 'nabla';
import { assertClose } from '../helpers/assert.js';

const { keras, privacy } = nb;

function digits(train: boolean): [nb.Tensor, nb.Tensor] {
  const ds = nb.datasets.digits({ train });
  const [x, y] = ds.getBatch!(Array.from({ length: ds.length }, (_, i) => i));
  return [x.reshape([ds.length, 64]), y];
}

function mlp(): nb.keras.Sequential {
  nb.manualSeed(7);
  return keras.sequential([
    keras.layers.dense({ units: 16, activation: 'tanh', inputShape: [64] }),
    keras.layers.dense({ units: 10, activation: 'softmax' }),
  ]);
}

describe('keras: DP optimizers', () => {
  it('per-example gradients of Dense layers with activations match a backward per example', () => {
    const model = mlp();
    model.compile({
      optimizer: keras.optimizers.dpSgd({ l2NormClip: 1, noiseMultiplier: 1 }),
      loss: 'sparse_categorical_crossentropy',
    });
    const [x, y] = digits(true);
    const xb = x.narrow(0, 0, 5),
      yb = y.narrow(0, 0, 5);
    const loss = (out: nb.Tensor, t: nb.Tensor) =>
      nb.nn.functional.nllLoss(out.clamp(1e-7, 1).log(), t, { reduction: 'sum' });
    const opt = model.resolveCompile().optimizer as nb.privacy.DPOptimizer; // the model has an inputShape: built
    const gsm = opt.gradSample;
    gsm.zeroGradSample();
    model.zeroGrad();
    loss(model.call(xb) as nb.Tensor, yb).backward();
    const params = model.parameters();
    const batched = params.map((p) => gsm.gradSample(p));
    for (let b = 0; b < 5; b++) {
      model.zeroGrad();
      gsm.zeroGradSample();
      loss(model.call(xb.narrow(0, b, 1)) as nb.Tensor, yb.narrow(0, b, 1)).backward();
      params.forEach((p, k) => {
        assert.ok(batched[k], `no per-example gradient for parameter ${k}`);
        assertClose((batched[k] as nb.Tensor).select(0, b), p.grad as nb.Tensor, { atol: 1e-5, rtol: 1e-4 });
      });
    }
  });

  it('fit with dpSgd learns digits; eps follows from the steps taken', async () => {
    const model = mlp();
    model.compile({
      optimizer: keras.optimizers.dpSgd({ l2NormClip: 1, noiseMultiplier: 1.1, learningRate: 0.5, momentum: 0.5 }),
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
    });
    const [x, y] = digits(true);
    await model.fit(x, y, { epochs: 6, batchSize: 100, verbose: 0 });
    const opt = model.optimizer;
    assert.ok(opt instanceof privacy.DPOptimizer);
    assert.equal(opt.steps, 6 * 15);
    for (const n of opt.perSampleNorms) assert.ok(Number.isFinite(n));
    const [xt, yt] = digits(false);
    const logs = (await model.evaluate(xt, yt, { verbose: 0, returnDict: true })) as Record<string, number>;
    assert.ok(logs.accuracy > 0.6, `DP-SGD (Keras) accuracy ${logs.accuracy}`);
    const eps = privacy.computeEpsilon(100 / 1500, 1.1, opt.steps, 1e-5);
    assert.ok(eps > 0 && eps < 10, `eps ${eps}`);
  });

  it('refuses a layer without a per-example rule, and a dpSgd without its settings', () => {
    const conv = keras.sequential([
      keras.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [8, 8, 1] }),
      keras.layers.flatten(),
      keras.layers.dense({ units: 2 }),
    ]);
    const dp = keras.optimizers.dpSgd({ l2NormClip: 1, noiseMultiplier: 1 });
    assert.throws(() => conv.compile({ optimizer: dp, loss: 'mse' }), /'conv2d' \(Conv2D\) has trainable parameters/);
    const m = mlp();
    assert.throws(
      () => m.compile({ optimizer: { name: 'dpsgd', config: { learningRate: 0.1 } }, loss: 'mse' }),
      /needs l2NormClip and noiseMultiplier/,
    );
  });
});
