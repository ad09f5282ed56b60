// DP-SGD: clipping, noise, Poisson sampling, accounting and the PrivacyEngine, on tiny models.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClose } from '../helpers/assert.js';
import * as nb from 'nabla';

const { nn, privacy } = nb;

function tinyData(B: number, seed: number): [nb.Tensor, nb.Tensor] {
  nb.manualSeed(seed);
  return [nb.randn([B, 6], { dtype: 'float64' }).mul(3), nb.randint(0, 3, [B])];
}

describe('privacy: DP-SGD step', () => {
  it('clips each sample to maxGradNorm over all parameters, sums, divides by the expected batch', () => {
    const [x, y] = tinyData(7, 1);
    const model = new nn.Sequential(new nn.Linear(6, 5), new nn.Tanh(), new nn.Linear(5, 3)).double();
    const lossFn = new nn.CrossEntropyLoss();
    const params = model.parameters();
    // reference: a backward per sample, each scaled to norm <= C by hand
    const C = 0.3,
      E = 10;
    const want = params.map((p) => nb.zeros(p.shape, { dtype: 'float64' }));
    const norms: number[] = [];
    for (let b = 0; b < 7; b++) {
      model.zeroGrad();
      lossFn.call(model.call(x.narrow(0, b, 1)), y.narrow(0, b, 1)).backward();
      const n = Math.sqrt(params.reduce((s, p) => s + (p.grad as nb.Tensor).pow(2).sum().item(), 0));
      norms.push(n);
      params.forEach((p, k) => {
        want[k] = want[k].add((p.grad as nb.Tensor).mul(Math.min(1, C / (n + 1e-6))));
      });
    }
    assert.ok(
      norms.some((n) => n > C),
      'the data must make some samples exceed the clipping norm',
    );
    const gsm = new privacy.GradSampleModule(model);
    const opt = new privacy.DPOptimizer(new nb.optim.SGD(params, { lr: 0 }), gsm, {
      noiseMultiplier: 0,
      maxGradNorm: C,
      expectedBatchSize: E,
    });
    opt.zeroGrad();
    lossFn.call(model.call(x), y).backward(); // mean over the batch: undone per sample (x B)
    opt.step();
    assertClose(nb.tensor(Array.from(opt.perSampleNorms), { dtype: 'float64' }), nb.tensor(norms), { rtol: 1e-9 });
    params.forEach((p, k) => {
      assertClose(p.grad as nb.Tensor, want[k].div(E), { atol: 1e-12, rtol: 1e-9 });
    });
    // each sample's contribution has norm <= C
    for (const n of opt.perSampleNorms) assert.ok(n * Math.min(1, C / (n + 1e-6)) <= C + 1e-12);
  });

  it('adds Gaussian noise of std sigma * C / expectedBatchSize (an empty batch: noise only)', () => {
    nb.manualSeed(2);
    const lin = new nn.Linear(100, 100);
    const gsm = new privacy.GradSampleModule(lin);
    const [sigma, C, E] = [1.7, 0.5, 8];
    const opt = new privacy.DPOptimizer(new nb.optim.SGD(lin.parameters(), { lr: 0 }), gsm, {
      noiseMultiplier: sigma,
      maxGradNorm: C,
      expectedBatchSize: E,
      generator: new nb.Generator(3),
    });
    opt.zeroGrad();
    opt.step(); // no backward: Poisson sampling drew nobody
    const g = lin.weight.grad as nb.Tensor;
    const n = g.numel();
    const mean = g.mean().item();
    const std = Math.sqrt(g.sub(mean).pow(2).sum().item() / (n - 1));
    const want = (sigma * C) / E;
    assert.ok(Math.abs(mean) < (4 * want) / Math.sqrt(n), `noise mean ${mean}`);
    assert.ok(Math.abs(std / want - 1) < 0.03, `noise std ${std}, want ${want}`);
    assert.equal(opt.perSampleNorms.length, 0);
  });

  it('refuses a gradient that reached a parameter outside the watched layers', () => {
    const lin = new nn.Linear(3, 2);
    const extra = new nn.Parameter(nb.ones([2]));
    const gsm = new privacy.GradSampleModule(lin);
    const opt = new privacy.DPOptimizer(new nb.optim.SGD([...lin.parameters(), extra], { lr: 0.1 }), gsm, {
      noiseMultiplier: 1,
      maxGradNorm: 1,
      expectedBatchSize: 4,
    });
    lin
      .call(nb.randn([4, 3]))
      .mul(extra)
      .sum()
      .backward();
    assert.throws(() => opt.step(), /has a gradient but no per-sample gradient/);
  });

  it('checks its options', () => {
    const lin = new nn.Linear(3, 2);
    const gsm = new privacy.GradSampleModule(lin);
    const sgd = new nb.optim.SGD(lin.parameters(), { lr: 0.1 });
    const mk = (o: Partial<nb.privacy.DPOptimizerOptions>) => () =>
      new privacy.DPOptimizer(sgd, gsm, { noiseMultiplier: 1, maxGradNorm: 1, expectedBatchSize: 4, ...o });
    assert.throws(mk({ maxGradNorm: 0 }), /privacy.DPOptimizer: maxGradNorm must be a finite number > 0, got 0/);
    assert.throws(mk({ noiseMultiplier: -1 }), /noiseMultiplier must be a finite number >= 0/);
    assert.throws(mk({ expectedBatchSize: Number.NaN }), /expectedBatchSize/);
  });
});

describe('privacy: Poisson sampling', () => {
  it('takes each example with probability q; batch sizes vary around q N', () => {
    const N = 2000,
      q = 0.05;
    const ds = new nb.data.TensorDataset(nb.arange(N).reshape([N, 1]));
    const loader = new privacy.DPDataLoader(ds, { sampleRate: q, generator: new nb.Generator(4) });
    assert.equal(loader.length, 20);
    const counts = new Float64Array(N);
    const sizes: number[] = [];
    for (let epoch = 0; epoch < 10; epoch++) {
      for (const [x] of loader as Iterable<[nb.Tensor]>) {
        sizes.push(x.shape[0]);
        for (const v of x.toTypedArray()) counts[v]++;
      }
    }
    const mean = sizes.reduce((a, b) => a + b) / sizes.length;
    assert.ok(Math.abs(mean - q * N) < 4 * Math.sqrt((q * (1 - q) * N) / sizes.length), `mean batch ${mean}`);
    assert.ok(new Set(sizes).size > 5, 'batch sizes must vary');
    // each example's inclusion count over 200 batches ~ Binomial(200, q): mean 10
    const avg = counts.reduce((a, b) => a + b) / N;
    assert.ok(Math.abs(avg - 200 * q) < 0.3, `mean inclusions ${avg}`);
    assert.ok(Math.max(...counts) < 30, 'no example is favoured');
  });

  it('an empty draw yields a batch of 0 rows shaped like the others', () => {
    const ds = new nb.data.TensorDataset(nb.randn([3, 2]), nb.tensor([0, 1, 2], { dtype: 'int32' }));
    const loader = new privacy.DPDataLoader(ds, { sampleRate: 1e-9, steps: 2 });
    for (const [x, y] of loader as Iterable<[nb.Tensor, nb.Tensor]>) {
      assert.deepEqual(x.shape, [0, 2]);
      assert.deepEqual(y.shape, [0]);
    }
    assert.throws(() => new privacy.DPDataLoader(ds, { sampleRate: 1.5 }), /sampleRate must lie in \(0, 1\]/);
  });
});

describe('privacy: PrivacyEngine', () => {
  it('trains on digits better than chance while eps grows with the steps as the accountant says', () => {
    nb.manualSeed(5);
    const train = nb.datasets.digits({ train: true });
    const test = nb.datasets.digits({ train: false });
    const net = new nn.Sequential(new nn.Flatten(), new nn.Linear(64, 32), new nn.Tanh(), new nn.Linear(32, 10));
    const engine = new privacy.PrivacyEngine();
    const { model, optimizer, dataLoader, sampleRate } = engine.makePrivate(
      net,
      new nb.optim.SGD(net.parameters(), { lr: 2 }),
      new nb.data.DataLoader(train, { batchSize: 100 }),
      { noiseMultiplier: 1.0, maxGradNorm: 0.5, generator: new nb.Generator(6) },
    );
    assert.equal(sampleRate, 1 / 15);
    assert.ok(dataLoader instanceof privacy.DPDataLoader);
    const lossFn = new nn.CrossEntropyLoss();
    const eps: number[] = [];
    for (let epoch = 0; epoch < 4; epoch++) {
      for (const [x, y] of dataLoader as Iterable<[nb.Tensor, nb.Tensor]>) {
        optimizer.zeroGrad();
        if (x.shape[0] > 0) lossFn.call(model.call(x), y).backward();
        optimizer.step();
        for (const n of optimizer.perSampleNorms) assert.ok(Number.isFinite(n));
      }
      eps.push(engine.getEpsilon(1e-5));
    }
    for (let k = 1; k < eps.length; k++) assert.ok(eps[k] > eps[k - 1], `eps must grow: ${eps}`);
    assertClose(nb.tensor([eps[3]]), nb.tensor([privacy.computeEpsilon(1 / 15, 1.0, 60, 1e-5)]), { rtol: 1e-12 });
    let correct = 0;
    nb.noGrad(() => {
      for (const [x, y] of new nb.data.DataLoader(test, { batchSize: 300 }) as Iterable<[nb.Tensor, nb.Tensor]>)
        correct += model.call(x).argmax(1).eq(y).sum().item();
    });
    const acc = correct / test.length;
    assert.ok(acc > 0.5, `DP-SGD test accuracy on digits ${acc} (chance 0.1)`);
  });

  it('makePrivateWithEpsilon calibrates sigma to land at the target eps after the planned epochs', () => {
    const net = new nn.Linear(4, 2);
    const ds = new nb.data.TensorDataset(nb.randn([500, 4]), nb.randint(0, 2, [500]));
    const engine = new privacy.PrivacyEngine();
    const r = engine.makePrivateWithEpsilon(
      net,
      new nb.optim.SGD(net.parameters(), { lr: 0.1 }),
      new nb.data.DataLoader(ds, { batchSize: 50 }),
      { targetEpsilon: 2, targetDelta: 1e-5, epochs: 3, maxGradNorm: 1 },
    );
    const e = privacy.computeEpsilon(0.1, r.noiseMultiplier, 30, 1e-5);
    assert.ok(e <= 2 && e > 1.98, `eps ${e} at sigma ${r.noiseMultiplier}`);
  });

  it('refuses a model with a layer that has no per-sample rule, naming it', () => {
    const net = new nn.Sequential(new nn.Linear(4, 4), new nn.BatchNorm1d(4), new nn.Linear(4, 2));
    const ds = new nb.data.TensorDataset(nb.randn([8, 4]), nb.randint(0, 2, [8]));
    assert.throws(
      () =>
        new privacy.PrivacyEngine().makePrivate(
          net,
          new nb.optim.SGD(net.parameters(), { lr: 0.1 }),
          new nb.data.DataLoader(ds, { batchSize: 4 }),
          { noiseMultiplier: 1, maxGradNorm: 1 },
        ),
      /layer '1' \(BatchNorm1d\) has trainable parameters \[weight, bias\] but no per-sample gradient rule/,
    );
  });
});
