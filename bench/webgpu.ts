// `npm run bench:webgpu`: the WebGPU backend on a real GPU, through Node and the optional `webgpu`
// package (Dawn), against PyTorch CUDA on the same machine (bench/torch_gpu.py): fp32 GEMM 4096^3
// in TFLOP/s (TF32 off on both sides), and GPT-2 124M (random weights) prefill of 128 tokens and
// greedy decode of 64 with the KV cache at batch 1. Every figure is validated before it is timed
// (bench/webgpu_core.ts). Targets (issue 17): GEMM >= 50% of PyTorch's; decode ahead of eager PyTorch.
//
//   npm run bench:webgpu [-- --python python3] [--skip-torch]
//
// Without an adapter it prints why (initWebGPU's report) and exits 2.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as nb from '../src/index.js';
import { type BenchOptions, benchWebGPU } from './webgpu_core.js';

const { values } = parseArgs({
  options: { python: { type: 'string' }, 'skip-torch': { type: 'boolean' } },
});
const opts: BenchOptions = {
  gemmN: 4096,
  repeats: 10,
  gpt2: { nLayer: 12, nEmbd: 768, nHead: 12, vocabSize: 50257, nPositions: 1024 },
  prompt: 128,
  decode: 64,
};

const report = await nb.initWebGPU();
console.log(`webgpu: ${JSON.stringify(report)}`);
if (!report.available) {
  console.error(`bench:webgpu: no WebGPU adapter: ${report.reason}`);
  process.exit(2);
}
const ours = await benchWebGPU(nb, opts);
let torch: { gemm_tflops: number; gemm_ms: number; prefill_ms: number; decode_tok_s: number; device: string } | null =
  null;
if (!values['skip-torch']) {
  const script = fileURLToPath(new URL('../../bench/torch_gpu.py', import.meta.url));
  const r = spawnSync(values.python ?? 'python3', [script, JSON.stringify(opts)], { encoding: 'utf8' });
  if (r.status === 0) torch = JSON.parse(r.stdout.trim().split('\n').pop()!);
  else console.error(`bench:webgpu: the PyTorch side failed: ${r.stderr || r.error?.message}`);
}
const pct = (x: number, y: number | undefined) => (y ? `${((100 * x) / y).toFixed(0)}%` : 'n/a');
console.log(`device: ${JSON.stringify(report.adapter)}; pytorch: ${torch?.device ?? 'not run'}`);
console.log(
  `GEMM fp32 ${opts.gemmN}^3: webgpu ${ours.gemm.tflops.toFixed(2)} TFLOP/s (${ours.gemm.ms.toFixed(2)} ms), ` +
    `pytorch (TF32 off) ${torch ? torch.gemm_tflops.toFixed(2) : 'n/a'} TFLOP/s: ` +
    `${pct(ours.gemm.tflops, torch?.gemm_tflops)} (target >= 50%)`,
);
console.log(
  `GPT-2 124M (${(ours.gpt2.params / 1e6).toFixed(0)}M params) prefill ${opts.prompt} tokens: webgpu ` +
    `${ours.gpt2.prefillMs.toFixed(1)} ms, pytorch ${torch ? torch.prefill_ms.toFixed(1) : 'n/a'} ms`,
);
console.log(
  `GPT-2 124M decode (batch 1, KV cache): webgpu ${ours.gpt2.decodeTokPerS.toFixed(1)} tok/s, pytorch eager ` +
    `${torch ? torch.decode_tok_s.toFixed(1) : 'n/a'} tok/s (target: ahead)`,
);
console.log(JSON.stringify({ webgpu: ours, torch }));
process.exit(0);
