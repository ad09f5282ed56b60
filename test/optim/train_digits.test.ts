// End to end: the bundled digits through DataLoader, an MLP, CrossEntropyLoss, Adam, a OneCycle
// schedule and gradient clipping; the held-out accuracy must be well above chance.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from './core.js';
import { digits } from '../../src/data/datasets.js';
import { DataLoader } from '../../src/data/index.js';
import { Linear, ReLU, Sequential, Flatten, CrossEntropyLoss } from '../../src/nn/index.js';
import { clipGradNorm_ } from '../../src/nn/utils/index.js';
import { Adam, lrScheduler } from '../../src/optim/index.js';
import { noGrad } from '../../src/autograd/grad_mode.js';

describe('training on the digits', () => {
  it('an MLP with Adam + OneCycleLR reaches > 88% test accuracy in 10 epochs', () => {
    nb.manualSeed(0);
    const train = digits({ train: true }),
      test = digits({ train: false });
    const loader = new DataLoader(train, { batchSize: 32, shuffle: true, generator: new nb.Generator(0) });
    const model = new Sequential(new Flatten(), new Linear(64, 64), new ReLU(), new Linear(64, 10));
    const lossFn = new CrossEntropyLoss();
    const opt = new Adam(model.parameters(), { lr: 1e-3 });
    const epochs = 10;
    const sched = new lrScheduler.OneCycleLR(opt, 0.01, { epochs, stepsPerEpoch: loader.length });
    let first = 0,
      last = 0;
    for (let e = 0; e < epochs; e++) {
      for (const [x, y] of loader as Iterable<[nb.Tensor, nb.Tensor]>) {
        opt.zeroGrad();
        const loss = lossFn.forward(model.forward(x), y);
        loss.backward();
        clipGradNorm_(model.parameters(), 5);
        opt.step();
        sched.step();
        if (!first) first = loss.item();
        last = loss.item();
      }
    }
    assert.ok(last < first / 4, `loss ${first} -> ${last}`);
    const [xt, yt] = test.getBatch!([...Array(test.length).keys()]);
    const pred = noGrad(() => model.forward(xt).argmax(1));
    const acc = pred.eq(yt).float().mean().item();
    console.log(`digits MLP: test accuracy ${acc}`);
    assert.ok(acc > 0.88, `test accuracy ${acc}`);
  });
});
