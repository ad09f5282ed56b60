// `npm run bench:quant`: the int8 and bf16 products and weight-only LLM decoding against nabla's fp32
// (issue 18's Speed rows), with PyTorch's dynamic int8 Linear (Debian's onednn engine) and fp32 mm on
// the same shapes in the same run. Each kernel is validated against the JS reference before it is timed.
//   npm run bench:quant -- [--threads=N] [--seconds=S] [--layers=L] [--tokens=T]
// GPT-2 124M runs on random weights (decode speed does not depend on their values).
// Glossary: M,K,N the product x (M,K) @ w (N,K)^T; T decoded tokens; L layers.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsBackend } from '../src/backend/js/index.js';
import { loadNativeBackend, type NativeBackend } from '../src/backend/native/index.js';
import { setNumThreads } from '../src/backend/select.js';
import { noGrad } from '../src/autograd/grad_mode.js';
import { tensor } from '../src/tensor/creation.js';
import { Layout } from '../src/tensor/layout.js';
import { GPT2Config, GPT2LMHeadModel } from '../src/models/gpt2.js';
import { argmax } from '../src/models/generation.js';
import { quantizeWeights } from '../src/models/quantize.js';
import { f32ToBf16, quantizeInt4, quantizeRowsInt8 } from '../src/util/quant.js';
import { runTorch } from './peers.js';
import { bestMs, randomArray, type Row } from './rows.js';

const here = dirname(fileURLToPath(import.meta.url));
const root =
  existsSync(join(here, '..', 'package.json')) && !here.includes(join('dist', 'bench'))
    ? join(here, '..')
    : join(here, '..', '..');
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const threads = Number(arg('threads') ?? availableParallelism());
const seconds = Number(arg('seconds') ?? 0.5);
const layers = Number(arg('layers') ?? 12);
const tokens = Number(arg('tokens') ?? 32);

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0,
    s = 0;
  for (let i = 0; i < a.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return e / Math.max(s, 1e-30);
}

/** Checks a native result against JS on a small case of the same kernel before timing the big one. */
function validate(what: string, nat: ArrayLike<number> | undefined, js: ArrayLike<number>, tol: number): void {
  if (!nat) throw new Error(`${what}: the native backend declined`);
  const e = maxRelErr(nat, js);
  if (!(e <= tol)) throw new Error(`${what}: native differs from the JS reference by ${e}`);
}

interface Line {
  title: string;
  ms: number;
  flops: number;
  torchMs?: number;
  torchTitle?: string;
}

async function products(nb: NativeBackend): Promise<Line[]> {
  const n = 1024;
  const x = randomArray(n * n, 1),
    wf = randomArray(n * n, 2),
    lx = Layout.contiguous([n, n]);
  const w8 = quantizeRowsInt8(wf, n, n);
  const xq = Uint8Array.from(randomArray(n * n, 3), (v) => Math.floor((v + 1) * 127.5));
  const wb = f32ToBf16(wf);
  // validation on an odd small case of each kernel
  {
    const m = 37,
      k = 130,
      nn = 70;
    const xs = randomArray(m * k, 4),
      ls = Layout.contiguous([m, k]),
      ws = quantizeRowsInt8(randomArray(nn * k, 5), nn, k);
    validate(
      'int8 dynamic',
      nb.linearInt8Dynamic(xs, ls, ws.q, ws.scales, null, false),
      jsBackend.linearInt8Dynamic(xs, ls, ws.q, ws.scales, null, false),
      0,
    );
    const bs = f32ToBf16(randomArray(nn * k, 6));
    validate('bf16', nb.linearBf16(xs, ls, bs, null), jsBackend.linearBf16(xs, ls, bs, null), 1e-5);
    const q4 = quantizeInt4(randomArray(nn * k, 7), nn, k, 32);
    validate(
      'int4',
      nb.linearWeightOnly(xs, ls, q4.q, q4.scales, 4, 32, nn, null),
      jsBackend.linearWeightOnly(xs, ls, q4.q, q4.scales, 4, 32, nn, null),
      1e-5,
    );
  }
  const wt = Layout.contiguous([n, n]);
  const flops = 2 * n * n * n;
  const lines: Line[] = [
    { title: 'fp32 sgemm 1024³', ms: await bestMs(() => nb.matmul(x, lx, wf, wt, 'float32'), seconds), flops },
    {
      title: 'int8 gemm 1024³ (u8×s8→s32, x prequantized)',
      ms: await bestMs(
        () => nb.gemmU8S8(xq, n, n, { scale: 0.01, zeroPoint: 128 }, w8.q, w8.scales, null, null),
        seconds,
      ),
      flops,
    },
    {
      title: 'int8 dynamic linear 1024→1024, batch 1024',
      ms: await bestMs(() => nb.linearInt8Dynamic(x, lx, w8.q, w8.scales, null, false), seconds),
      flops,
    },
    {
      title: 'bf16 linear 1024→1024, batch 1024',
      ms: await bestMs(() => nb.linearBf16(x, lx, wb, null), seconds),
      flops,
    },
  ];
  // decode-sized products: one token through GPT-2's LM head (768 -> 50257)
  const V = 50257,
    C = 768;
  const h = randomArray(C, 8),
    lh = Layout.contiguous([1, C]),
    head = randomArray(V * C, 9);
  const h8 = quantizeRowsInt8(head, V, C),
    h4 = quantizeInt4(head, V, C, 32);
  const gf = 2 * V * C;
  lines.push(
    {
      title: 'fp32 gemv 1×768×50257 (LM head)',
      ms: await bestMs(() => nb.matmul(h, lh, head, new Layout([C, V], [1, C]), 'float32'), seconds),
      flops: gf,
    },
    {
      title: 'int8 weight-only gemv 1×768×50257',
      ms: await bestMs(() => nb.linearWeightOnly(h, lh, h8.q, h8.scales, 8, 0, V, null), seconds),
      flops: gf,
    },
    {
      title: 'int4 weight-only gemv 1×768×50257',
      ms: await bestMs(() => nb.linearWeightOnly(h, lh, h4.q, h4.scales, 4, 32, V, null), seconds),
      flops: gf,
    },
  );
  // PyTorch on the same shapes
  const rows = [
    { id: 'mm', kind: 'matmul', args: { M: n, K: n, N: n } },
    { id: 'q', kind: 'qlinear', args: { M: n, K: n, N: n } },
    { id: 'q1', kind: 'qlinear', args: { M: 1, K: C, N: V } },
  ] as unknown as Row[];
  const t = runTorch(join(root, 'bench'), rows, threads, seconds);
  if ('error' in t) console.log(`pytorch: ${t.error}`);
  else {
    lines[0].torchMs = t.ms.mm;
    lines[0].torchTitle = 'torch.mm fp32';
    lines[2].torchMs = t.ms.q;
    lines[2].torchTitle = 'quantize_dynamic Linear (onednn)';
    lines[5].torchMs = t.ms.q1;
    lines[5].torchTitle = 'quantize_dynamic Linear 1×768→50257 (onednn)';
    console.log(`pytorch ${t.version}`);
  }
  return lines;
}

/** GPT-2 (124M at 12 layers) with LCG weights in U(-0.05, 0.05), as bench/gpt2_decode.ts. */
function gpt2(): GPT2LMHeadModel {
  const model = new GPT2LMHeadModel(new GPT2Config({ nLayer: layers }), { initialize: false }).eval();
  let s = 12345;
  for (const p of model.parameters()) {
    const d = p.data as Float32Array;
    for (let i = 0; i < d.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      d[i] = (s / 2 ** 32 - 0.5) * 0.1;
    }
  }
  return model;
}

/** Best decode speed (tokens/s) over 2 runs: a 16-token prompt, then `tokens` greedy steps with the KV cache. */
function decode(model: GPT2LMHeadModel): { tps: number; out: number[] } {
  const prompt = Array.from({ length: 16 }, (_, i) => (i * 7919) % 50257);
  let best = 0,
    out: number[] = [];
  for (let r = 0; r < 2; r++) {
    noGrad(() => {
      const cache = model.createCache(1, prompt.length + tokens + 1);
      let next = argmax(model.forward(tensor([prompt], { dtype: 'int32' }), { cache, logitsToKeep: 1 }).toTypedArray());
      out = [next];
      const t0 = performance.now();
      for (let i = 0; i < tokens; i++) {
        next = argmax(model.forward(tensor([[next]], { dtype: 'int32' }), { cache, logitsToKeep: 1 }).toTypedArray());
        out.push(next);
      }
      best = Math.max(best, tokens / ((performance.now() - t0) / 1000));
    });
  }
  return { tps: best, out };
}

async function main(): Promise<void> {
  const nat = loadNativeBackend();
  if (!nat.backend) throw new Error(`bench:quant needs the native addon: ${nat.reason}`);
  const nb = nat.backend;
  setNumThreads(threads);
  const qi = nb.addon.quantInfo();
  console.log(
    `nabla bench:quant: ${threads} thread(s), ${JSON.stringify(nb.info)}; quantized paths ${JSON.stringify(qi)}`,
  );
  const lines = await products(nb);
  const fp = lines[0].ms;
  console.log('\n| kernel | nabla ms | GFLOP/s | × fp32 | PyTorch ms | PyTorch |');
  console.log('|---|---|---|---|---|---|');
  for (const l of lines) {
    const base = l.title.includes('gemv') ? lines[4].ms : fp;
    console.log(
      `| ${l.title} | ${l.ms.toFixed(2)} | ${(l.flops / l.ms / 1e6).toFixed(1)} | ${(base / l.ms).toFixed(2)} | ` +
        `${l.torchMs?.toFixed(2) ?? ''} | ${l.torchTitle ?? ''} |`,
    );
  }
  const g = gpt2();
  const f32 = decode(g);
  quantizeWeights(g, { bits: 8 });
  const i8 = decode(g);
  const i4 = decode(quantizeWeights(gpt2(), { bits: 4 }));
  console.log(`\nGPT-2 ${layers}-layer decode (random weights, 16-token prompt, ${tokens} tokens, KV cache):`);
  console.log(`| weights | tokens/s | × fp32 |\n|---|---|---|`);
  for (const [name, r] of [
    ['fp32', f32],
    ['int8 per row', i8],
    ['int4 groups of 32', i4],
  ] as const)
    console.log(`| ${name} | ${r.tps.toFixed(1)} | ${(r.tps / f32.tps).toFixed(2)} |`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
