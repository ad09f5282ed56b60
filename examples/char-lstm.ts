// Train a character-level LSTM language model on Tiny Shakespeare, then the character GPT of about
// the same size that `nabla train-gpt` trains, for the same steps on the same split; score both on
// the same validation windows, write the curves as PNG and sample from the LSTM (temperature, top-k,
// top-p, drawn with nb.multinomial). `npx nabla generate-lstm --model runs/char-lstm/lstm` loads it.
//
//   npm run build && node dist/examples/char-lstm.js [tinyshakespeare.txt] [iters] [outDir]
//   THREADS=1 ...          one compute thread
import { join, resolve } from 'node:path';
import * as nb from 'nabla';
import { COLORS, Canvas, lineChart } from './lib/plot.js';

const data = process.argv[2] ?? '../shared/data/tinyshakespeare.txt';
const iters = Number(process.argv[3] ?? 600);
const outDir = resolve(process.argv[4] ?? join('runs', 'char-lstm'));
if (process.env.THREADS) nb.setNumThreads(Number(process.env.THREADS));
const common = { blockSize: 64, batchSize: 16, maxIters: iters, lr: 2e-3, minLr: 2e-4, warmupIters: 50 };
const evalInterval = Math.max(1, Math.round(iters / 12));

// ---- the LSTM: 2 layers of 256, embeddings of 64 ----
let bar = new nb.keras.Progbar({ target: iters, label: 'LSTM', stream: process.stderr });
const lstm = await nb.models.trainCharLSTM({
  data,
  ...common,
  evalInterval,
  outDir: join(outDir, 'lstm'),
  onStep: (s) => bar.update(s.iter, s.val === undefined ? { loss: s.loss } : { loss: s.loss, val_loss: s.val }),
});
bar.update(iters, undefined, true);

// ---- the GPT of train-gpt: 4 layers, 4 heads, 128 wide ----
bar = new nb.keras.Progbar({ target: iters, label: 'GPT ', stream: process.stderr });
const gptVal: number[] = [];
const gpt = await nb.models.trainGPT({
  data,
  ...common,
  nLayer: 4,
  nHead: 4,
  nEmbd: 128,
  evalInterval,
  evalIters: 4,
  sampleTokens: 0,
  outDir: join(outDir, 'gpt'),
  log: (line) => {
    const m = /iter (\d+)\/\d+ loss ([\d.]+)/.exec(line);
    if (m) bar.update(Number(m[1]), { loss: Number(m[2]) });
  },
});
bar.update(iters, undefined, true);

// ---- the same validation windows for both ----
const windows = 512;
const lstmVal = nb.models.windowLoss((x) => lstm.model.forward(x)[0], lstm.val, 64, windows);
for (const e of gpt.evals) gptVal.push(e.val);
const gptValFinal = nb.models.windowLoss((x) => gpt.model.forward(x), lstm.val, 64, windows);
const gptParams = gpt.model.parameters().reduce((s, p) => s + p.numel(), 0);
console.log(
  `\nvalidation loss (nats/char) on the first ${windows} windows of 64 of the last 10%, after ${iters} steps:`,
);
console.log(`  LSTM ${lstmVal.toFixed(4)}  (${lstm.params} parameters, ${lstm.wallSeconds.toFixed(0)} s)`);
console.log(`  GPT  ${gptValFinal.toFixed(4)}  (${gptParams} parameters, ${gpt.wallSeconds.toFixed(0)} s)`);

// ---- curves ----
const cv = new Canvas(960, 360);
const smooth = (xs: number[], k: number) =>
  Array.from({ length: Math.floor(xs.length / k) }, (_, i) => xs.slice(i * k, (i + 1) * k).reduce((a, b) => a + b) / k);
const k = Math.max(1, Math.round(iters / 30));
lineChart(cv, 0, 0, 480, 360, 'TRAIN LOSS', [
  { name: 'LSTM', values: smooth(lstm.losses, k), color: COLORS.blue },
  { name: 'GPT', values: smooth(gpt.losses, k), color: COLORS.orange },
]);
lineChart(cv, 480, 0, 480, 360, 'VAL LOSS', [
  { name: 'LSTM', values: lstm.evals.map((e) => e.val), color: COLORS.blue },
  { name: 'GPT', values: gptVal, color: COLORS.orange },
]);
cv.savePng(join(outDir, 'curves.png'));
console.log(`curves: ${join(outDir, 'curves.png')}`);

// ---- samples from the LSTM ----
for (const [temperature, topK, topP] of [
  [0.8, 0, 1],
  [1, 20, 1],
  [1, 0, 0.9],
] as const) {
  const ids = nb.models.sampleCharLSTM(lstm.model, lstm.encode('ROMEO:'), {
    maxNewTokens: 200,
    temperature,
    topK,
    topP,
    seed: 1,
  });
  console.log(`\n--- temperature ${temperature}, topK ${topK}, topP ${topP} ---\n${lstm.decode(ids)}`);
}
