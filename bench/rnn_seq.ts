// `npm run bench:rnn`: forward + backward of nn.LSTM / nn.GRU over growing sequence lengths, to show the
// cost grows linearly in T (issue 21: a T² backward from per-step slicing of the input projection).
//   npm run bench:rnn -- [--seconds=S] [--lengths=64,256]
// Glossary: T time steps, N batch, I input size, H hidden size.

import { GRU, LSTM } from '../src/nn/rnn.js';
import { randn } from '../src/tensor/creation.js';
import type { Module } from '../src/nn/module.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { GradSampleModule } from '../src/privacy/grad_sample.js';
import { bestMs } from './rows.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const seconds = Number(arg('seconds') ?? 1);
const lengths = (arg('lengths') ?? '64,256').split(',').map(Number);
const N = 8,
  I = 32,
  H = 64;

// one training step's autograd work: x (T, N, I) -> out (T, N, H) -> sum -> backward
function step(m: Module, x: Tensor): void {
  const [out] = m.call(x) as [Tensor, unknown];
  out.sum().backward();
  m.zeroGrad();
}

for (const [name, make] of [
  ['LSTM', () => new LSTM(I, H)],
  ['GRU', () => new GRU(I, H)],
] as const) {
  const m = make();
  const ms: number[] = [];
  for (const T of lengths) {
    const x = randn([T, N, I]).requiresGrad_();
    ms.push(await bestMs(() => step(m, x), seconds));
  }
  const cells = lengths.map((T, i) => `T=${T} ${ms[i].toFixed(1)} ms (${(ms[i] / T).toFixed(3)} ms/step)`);
  const ratio = ms[ms.length - 1] / ms[0];
  const lin = lengths[lengths.length - 1] / lengths[0];
  console.log(`${name} N=${N} I=${I} H=${H}: ${cells.join(', ')}; ratio ${ratio.toFixed(2)} (linear: ${lin})`);
}

// per-sample gradients (privacy.GradSampleModule) in the same backward: their cost over the plain step
{
  const m = new LSTM(I, H);
  const x = randn([64, N, I]);
  const plain = await bestMs(() => step(m, x), seconds);
  const gsm = new GradSampleModule(m);
  const dp = await bestMs(() => {
    step(m, x);
    gsm.zeroGradSample();
  }, seconds);
  gsm.remove();
  console.log(
    `LSTM T=64 with per-sample gradients: ${dp.toFixed(1)} ms vs ${plain.toFixed(1)} ms (${(dp / plain).toFixed(2)}x)`,
  );
}
