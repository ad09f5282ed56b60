// `npm run bench:privacy`: one DP-SGD step (per-sample gradients, clipping, noise, update) against one
// ordinary SGD step of the same tanh CNN (`nabla train-private`'s) on the same batch, in the same run,
// as a ratio (issue 21's target: at most 2x). The two alternate round by round so machine load hits both
// alike; the ratio is the median of the rounds' ratios. Before timing, the DP step with no noise and an
// unreachable clipping norm must reproduce the ordinary gradient.
//   npm run bench:privacy -- [--batch=256,1024] [--rounds=7] [--threads=N]
// Glossary: B = batch size.

import { availableParallelism } from 'node:os';
import { backend, setNumThreads } from '../src/backend/select.js';
import { tanhCnn } from '../src/privacy/models.js';
import { CrossEntropyLoss } from '../src/nn/losses.js';
import type { Module } from '../src/nn/module.js';
import { SGD } from '../src/optim/sgd.js';
import { GradSampleModule } from '../src/privacy/grad_sample.js';
import { DPOptimizer } from '../src/privacy/optimizer.js';
import { randint, randn } from '../src/tensor/creation.js';
import { manualSeed } from '../src/tensor/random.js';
import type { Tensor } from '../src/tensor/tensor.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const batches = (arg('batch') ?? '256,1024').split(',').map(Number);
const rounds = Number(arg('rounds') ?? 7);
const threads = Number(arg('threads') ?? availableParallelism());
setNumThreads(threads);

function twin(): [Module, Module] {
  manualSeed(1);
  const a = tanhCnn();
  const b = tanhCnn();
  b.loadStateDict(a.stateDict());
  return [a, b];
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** The DP step with sigma = 0 and C = 1e9 must give the ordinary mean gradient. */
function validate(x: Tensor, y: Tensor): void {
  const [plain, priv] = twin();
  const lossFn = new CrossEntropyLoss();
  lossFn.call(plain.call(x) as Tensor, y).backward();
  const gsm = new GradSampleModule(priv);
  const dp = new DPOptimizer(new SGD(priv.parameters(), { lr: 0 }), gsm, {
    noiseMultiplier: 0,
    maxGradNorm: 1e9,
    expectedBatchSize: x.shape[0],
  });
  lossFn.call(priv.call(x) as Tensor, y).backward();
  dp.step();
  const a = plain.parameters(),
    b = priv.parameters();
  a.forEach((p, k) => {
    const want = p.grad as Tensor,
      got = b[k].grad as Tensor;
    const err = got.sub(want).abs().max().item() / Math.max(want.abs().max().item(), 1e-30);
    if (!(err < 1e-3)) throw new Error(`bench:privacy: DP gradient of parameter ${k} differs by ${err} (relative)`);
  });
  gsm.remove();
}

console.log(`bench:privacy: tanh CNN (Papernot et al.), backend ${backend().name}, ${threads} threads`);
for (const B of batches) {
  manualSeed(2);
  const x = randn([B, 1, 28, 28]);
  const y = randint(0, 10, [B]);
  validate(x, y);
  const [plain, priv] = twin();
  const lossFn = new CrossEntropyLoss();
  const sgd = new SGD(plain.parameters(), { lr: 0.01, momentum: 0.9 });
  const dp = new DPOptimizer(new SGD(priv.parameters(), { lr: 0.01, momentum: 0.9 }), new GradSampleModule(priv), {
    noiseMultiplier: 1.1,
    maxGradNorm: 0.1,
    expectedBatchSize: B,
  });
  const step = (model: Module, opt: { zeroGrad(): void; step(): unknown }) => {
    const t = performance.now();
    opt.zeroGrad();
    lossFn.call(model.call(x) as Tensor, y).backward();
    opt.step();
    return performance.now() - t;
  };
  step(plain, sgd); // warm-up
  step(priv, dp);
  const plainMs: number[] = [],
    dpMs: number[] = [],
    ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const p = step(plain, sgd),
      d = step(priv, dp);
    plainMs.push(p);
    dpMs.push(d);
    ratios.push(d / p);
  }
  console.log(
    `B=${B}: SGD step ${median(plainMs).toFixed(1)} ms, DP-SGD step ${median(dpMs).toFixed(1)} ms, ` +
      `ratio ${median(ratios).toFixed(2)}x (median of ${rounds} rounds; target <= 2x)`,
  );
}
