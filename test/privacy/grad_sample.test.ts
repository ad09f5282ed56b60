// Per-sample gradients from hooks (one backward for the batch) against a backward per sample, in float64.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GradSampleModule } from '../../src/privacy/grad_sample.js';
import { assertClose } from '../helpers/assert.js';
import * as nb from '../nn/nb.js';

const { nn } = nb;

/** Checks gsm's per-sample gradients of sum_b loss(model(x_b)) against one backward per sample. */
function checkAgainstLoop(model: nb.nn.Module, x: nb.Tensor, loss: (y: nb.Tensor) => nb.Tensor): void {
  const gsm = new GradSampleModule(model);
  model.zeroGrad();
  loss(model.call(x)).backward();
  const params = model.parameters();
  const batched = params.map((p) => gsm.gradSample(p));
  gsm.remove();
  const B = x.shape[0];
  for (let b = 0; b < B; b++) {
    model.zeroGrad();
    loss(model.call(x.narrow(0, b, 1))).backward();
    params.forEach((p, k) => {
      const gs = batched[k];
      assert.ok(gs, `no per-sample gradient for parameter ${k} (shape [${p.shape}])`);
      assert.deepEqual(gs.shape, [B, ...p.shape]);
      assertClose(gs.select(0, b), p.grad as nb.Tensor, { atol: 1e-12, rtol: 1e-10 }, `param ${k}, sample ${b}`);
    });
  }
}

const cube = (y: nb.Tensor) => y.pow(3).sum();

describe('privacy: per-sample gradients', () => {
  it('Linear (with inner dims) and LayerNorm match a backward per sample', () => {
    nb.manualSeed(1);
    const model = new nn.Sequential(new nn.Linear(5, 6), new nn.Tanh(), new nn.LayerNorm(6), new nn.Linear(6, 3));
    model.double();
    for (const p of model.parameters()) nb.noGrad(() => p.add_(nb.randn(p.shape, { dtype: 'float64' }).mul(0.1)));
    checkAgainstLoop(model, nb.randn([4, 3, 5], { dtype: 'float64' }), cube);
    checkAgainstLoop(model, nb.randn([3, 5], { dtype: 'float64' }), cube);
  });

  it('GroupNorm matches a backward per sample', () => {
    nb.manualSeed(2);
    const model = new nn.Sequential(new nn.GroupNorm(2, 4), new nn.Flatten(), new nn.Linear(12, 2)).double();
    for (const p of model.parameters()) nb.noGrad(() => p.add_(nb.randn(p.shape, { dtype: 'float64' }).mul(0.3)));
    checkAgainstLoop(model, nb.randn([5, 4, 3], { dtype: 'float64' }), cube);
  });

  it('Embedding (with a padding row) matches a backward per sample', () => {
    nb.manualSeed(3);
    const model = new nn.Sequential(new nn.Embedding(7, 3, { paddingIdx: 0 }), new nn.Linear(3, 2)).double();
    const idx = nb.tensor(
      [
        [0, 1, 1, 4],
        [6, 0, 2, 2],
        [3, 3, 3, 5],
      ],
      { dtype: 'int32' },
    );
    checkAgainstLoop(model, idx, cube);
  });

  it('Conv2d (stride, padding, dilation, groups, bias, padding modes) matches a backward per sample', () => {
    nb.manualSeed(5);
    const cases: [string, nb.nn.ConvOptions, number[]][] = [
      ['plain', {}, [3, 2, 6, 5]],
      ['stride 2, padding 1', { stride: 2, padding: 1 }, [3, 2, 7, 6]],
      ['asymmetric stride, padding and dilation', { stride: [2, 1], padding: [1, 2], dilation: [2, 1] }, [2, 2, 8, 7]],
      ['groups 2, no bias', { groups: 2, bias: false }, [3, 4, 5, 5]],
      ["padding 'same' (odd total)", { padding: 'same', dilation: [1, 2] }, [2, 2, 5, 6]],
      ['reflect padding', { padding: 1, paddingMode: 'reflect' }, [2, 2, 5, 5]],
    ];
    for (const [what, opts, shape] of cases) {
      const conv = new nn.Conv2d(shape[1], 4, [3, 2], opts).double();
      const features = conv.call(nb.zeros(shape, { dtype: 'float64' })).numel() / shape[0];
      const model = new nn.Sequential(conv, new nn.Tanh(), new nn.Flatten(), new nn.Linear(features, 2)).double();
      try {
        checkAgainstLoop(model, nb.randn(shape, { dtype: 'float64' }), cube);
      } catch (e) {
        throw new Error(`${what}: ${(e as Error).message}`);
      }
    }
  });

  it('Conv1d matches a backward per sample', () => {
    nb.manualSeed(6);
    const model = new nn.Sequential(
      new nn.Conv1d(2, 4, 3, { stride: 2, padding: 1, dilation: 2, groups: 2 }),
      new nn.Flatten(),
      new nn.Linear(16, 2),
    ).double();
    checkAgainstLoop(model, nb.randn([3, 2, 9], { dtype: 'float64' }), cube);
  });

  it('a layer used twice in one forward sums both uses, as .grad does', () => {
    nb.manualSeed(4);
    const lin = new nn.Linear(3, 3).double();
    const model = new nn.Sequential(lin, new nn.Tanh(), lin);
    checkAgainstLoop(model, nb.randn([4, 3], { dtype: 'float64' }), cube);
  });

  it('refuses a layer with trainable parameters and no rule, naming it; frozen layers pass', () => {
    const model = new nn.Sequential(new nn.Linear(4, 4), new nn.BatchNorm1d(4));
    assert.throws(
      () => new GradSampleModule(model),
      /privacy.GradSampleModule: layer '1' \(BatchNorm1d\) has trainable parameters \[weight, bias\] but no per-sample/,
    );
    for (const p of model.at(1).parameters()) p.requiresGrad_(false);
    new GradSampleModule(model).remove();
  });
});
