// Train a character-level GPT on Tiny Shakespeare (nanoGPT's baby-Shakespeare recipe, scaled down
// to run in minutes on two cores), then sample from it. Checkpoints go to out-shakespeare-char/,
// which `npx nabla generate --model out-shakespeare-char --prompt "ROMEO:"` loads.
//
//   npm run build && node dist/examples/train-gpt.js [path/to/tinyshakespeare.txt] [maxIters]
import * as nb from 'nabla';

const data = process.argv[2] ?? '../shared/data/tinyshakespeare.txt';
const maxIters = Number(process.argv[3] ?? 600);

const result = await nb.models.trainGPT({
  data,
  outDir: 'out-shakespeare-char',
  blockSize: 64,
  batchSize: 16, // 1024 tokens per step
  nLayer: 4,
  nHead: 4,
  nEmbd: 128,
  dropout: 0.0,
  maxIters,
  lr: 2e-3,
  minLr: 2e-4,
  warmupIters: 50,
  weightDecay: 0.1,
  gradClip: 1.0,
  evalInterval: 100,
  evalIters: 10,
  sampleTokens: 300,
  log: (line, transient) => process.stderr.write(transient ? `\r${line}\x1b[K` : `\r\x1b[K${line}\n`),
});

const last = result.evals[result.evals.length - 1];
console.log(
  `\nval loss ${last.val.toFixed(4)} after ${maxIters} iterations; ${Math.round(result.tokensPerSecond)} tokens/s; ` +
    `${result.wallSeconds.toFixed(0)} s wall`,
);
console.log(`--- sample ---\n${result.sample}`);
