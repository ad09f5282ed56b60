// `npm run bench:browser`: nabla's browser build side by side with tfjs-wasm (threads when the page is
// cross-origin isolated) and onnxruntime-web (wasm execution provider) in one headless Chromium page
// (bench/browser/bench.js has the rows): SGEMM 1024³, the GPT-2 head GEMV, MLP and CNN training steps at
// batch 128, ResNet-18 inference at batch 1, and a GPT-2-shaped decode step. Prints a table and ratios.
//
//   npm run bench:browser              quick: one timed run per cell, GPT-2 with 2 layers (checks the page works)
//   npm run bench:browser -- --full    five runs per cell, GPT-2 with 12 layers
//   ... -- --rows sgemm,gemv            only these rows (ids in bench.js ROWS)
//   ... -- --threads 1                   every library on this many threads (default: the cores, up to 8)
//
// Peers come from bench/node_modules (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install), never from
// nabla's own dependencies. ResNet-18 for onnxruntime-web is bench/models/resnet18.onnx, written by
// /usr/bin/python3 tools/bench/resnet18_torch.py --export bench/models/resnet18.onnx.

import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { onnxModel } from './onnx.js';
import { decodeModel } from './decode_onnx.js';
import { launchBrowser, serve, type Route } from '../test/helpers/browser.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const benchDir = join(root, 'bench');
const mods = join(benchDir, 'node_modules');
const full = process.argv.includes('--full');
const rowsAt = process.argv.indexOf('--rows');
const onlyRows = rowsAt > 0 ? process.argv[rowsAt + 1]?.split(',') : undefined;
const threadsAt = process.argv.indexOf('--threads');
const threads = threadsAt > 0 ? Number(process.argv[threadsAt + 1]) : undefined;

for (const need of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'onnxruntime-web']) {
  if (!existsSync(join(mods, need))) {
    console.error(
      `bench:browser needs ${need} in bench/node_modules: cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install`,
    );
    process.exit(1);
  }
}
const nablaJs = join(root, 'dist', 'browser', 'nabla.js');
if (!existsSync(nablaJs)) {
  console.error('bench:browser needs dist/browser/nabla.js: npm run build:browser (the npm script runs it)');
  process.exit(1);
}

// tfjs and its wasm backend as one ES module; onnxruntime-web is served as shipped (it loads its own .wasm).
const peers = await esbuild.build({
  stdin: {
    contents: "export * as tf from '@tensorflow/tfjs'; export * as tfWasm from '@tensorflow/tfjs-backend-wasm';\n",
    resolveDir: benchDir,
    loader: 'js',
  },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  write: false,
  logLevel: 'error',
});

/** A float32 array of seeded uniforms in [-1, 1), as bench.js's rand (the same numbers in every library). */
function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}
const matmulModel = (M: number, K: number, N: number, seed: number) =>
  onnxModel({
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    inputs: [{ name: 'x', dims: [M, K] }],
    outputs: [{ name: 'y', dims: [M, N] }],
    inits: [{ name: 'w', dims: [K, N], data: rand(K * N, seed) }],
  });

const routes: Record<string, Route> = {
  '/': { file: join(benchDir, 'browser', 'index.html') },
  '/bench.js': { file: join(benchDir, 'browser', 'bench.js') },
  '/peak.js': { file: join(benchDir, 'browser', 'peak.js') },
  '/nabla.js': { file: nablaJs },
  // nabla's WASM backend, as scripts/build-browser.mjs writes it beside nabla.js (bench.js awaits nb.ready())
  ...Object.fromEntries(
    ['worker.js', 'nabla.wasm', 'nabla-st.wasm'].map((f) => [`/${f}`, { file: join(root, 'dist', 'browser', f) }]),
  ),
  '/peers.js': { body: peers.outputFiles[0].text, type: 'text/javascript' },
  '/models/sgemm1024.onnx': { body: matmulModel(1024, 1024, 1024, 2) },
  // a 1×4×4 MatMul that starts onnxruntime-web before the rows, so the header has its thread count
  '/models/tiny.onnx': { body: matmulModel(1, 4, 4, 1) },
  '/models/gemv.onnx': { body: matmulModel(1, 768, 50257, 4) },
  '/models/resnet18.onnx': { file: join(benchDir, 'models', 'resnet18.onnx') },
  // one GPT-2 decode step with past keys/values of 20 positions (bench.js DECODE_PAST), GPT-2 small's
  // 12 layers (2 in quick mode, as nabla's row)
  '/models/decode.onnx': { body: decodeModel({ layers: full ? 12 : 2, past: 20 }, rand) },
};
for (const dir of [join(mods, '@tensorflow', 'tfjs-backend-wasm', 'dist'), join(mods, 'onnxruntime-web', 'dist')]) {
  const prefix = dir.includes('onnxruntime') ? '/ort/' : '/tfjs/';
  for (const f of readdirSync(dir)) {
    if (/\.(wasm|mjs)$/.test(f)) routes[prefix + f] = { file: join(dir, f) };
  }
}

interface Peak {
  oneThread: number;
  threads: number;
  allThreads: number;
}

/**
 * The SIMD128 peak in this page (peak.js) and each library's SGEMM as a share of it on the threads it
 * ran on: what 3× tfjs-wasm would ask of the machine, and whether that is beyond its peak.
 */
function printPeak(
  p: Record<'mulAdd' | 'fma', Peak | null>,
  threadCounts: Record<string, number>,
  sgemm?: Record<string, { gflops?: number }>,
): void {
  const g = (x: number) => `${x.toFixed(1)} GFLOP/s`;
  const line = (what: string, q: Peak | null) =>
    q
      ? `${what}: ${g(q.oneThread)} on 1 thread, ${g(q.allThreads)} on ${q.threads} thread(s)`
      : `${what}: not available`;
  console.log(`WASM SIMD128 peak, ${line('f32x4 mul + add chains', p.mulAdd)}`);
  console.log(`WASM relaxed-simd peak, ${line('f32x4.relaxed_madd chains', p.fma)}`);
  const q = p.mulAdd;
  if (!q || !sgemm) return;
  // the peak on t threads: one thread's, times t up to the threads measured together
  const peakOn = (t: number) => (t <= 1 ? q.oneThread : t >= q.threads ? q.allThreads : (q.allThreads * t) / q.threads);
  const pct = (x: number, t: number) => `${((100 * x) / peakOn(t)).toFixed(0)}%`;
  for (const [lib, t] of Object.entries(threadCounts)) {
    const x = sgemm[lib]?.gflops;
    if (x) console.log(`SGEMM: ${lib} ${g(x)} on ${t} thread(s) = ${pct(x, t)} of the mul + add peak on ${t}`);
  }
  const tf = sgemm['tfjs-wasm']?.gflops,
    ours = threadCounts.nabla;
  if (!tf) return;
  const want = 3 * tf;
  const beyond = want > peakOn(ours) ? ': beyond the peak, a target past what this machine can do' : '';
  console.log(
    `  3× tfjs-wasm would be ${g(want)} = ${pct(want, ours)} of the peak on nabla's ${ours} thread(s)${beyond}`,
  );
}

const server = await serve(routes);
const browser = await launchBrowser();
try {
  const { page, errors } = await browser.page();
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => (window as unknown as { benchReady?: boolean }).benchReady === true, null, {
    timeout: 60_000,
  });
  type Cell = { ms: number | null; gflops?: number; why?: string };
  const r = (await page.evaluate(
    ({ quick, rows, threads }) =>
      (
        window as unknown as { runBench(o: { quick: boolean; rows?: string[]; threads?: number }): Promise<unknown> }
      ).runBench({ quick, rows, threads }),
    { quick: !full, rows: onlyRows, threads },
  )) as {
    env: Record<string, unknown>;
    results: (Record<string, Cell> & { id: string; title: string; nablaHeap?: unknown })[];
    peak: Record<'mulAdd' | 'fma', Peak | null> | null;
    threadCounts: Record<string, number>;
  };
  console.log(`chromium, ${full ? 'full' : 'quick (1 run per cell, GPT-2 2 layers)'}`);
  console.log(JSON.stringify(r.env));
  console.log(
    `threads: ${Object.entries(r.threadCounts)
      .map(([l, t]) => `${l} ${t}`)
      .join(', ')}`,
  );
  const libs = ['nabla', 'tfjs-wasm', 'onnxruntime-web'];
  const cell = (c: Cell) =>
    c.ms === null ? 'n/a' : `${c.ms.toFixed(1)} ms${c.gflops ? ` (${c.gflops.toFixed(1)} GFLOP/s)` : ''}`;
  console.log(['row', ...libs, 'nabla speed-up vs tfjs / ort'].join(' | '));
  for (const row of r.results) {
    const ratio = (o: string) => (row.nabla.ms && row[o].ms ? `${(row[o].ms! / row.nabla.ms).toFixed(2)}×` : 'n/a');
    console.log(
      [row.title, ...libs.map((l) => cell(row[l])), `${ratio('tfjs-wasm')} / ${ratio('onnxruntime-web')}`].join(' | '),
    );
  }
  const why = r.results.flatMap((row) =>
    libs.filter((l) => row[l].why).map((l) => `  ${row.title}, ${l}: ${row[l].why}`),
  );
  if (why.length) console.log(`n/a:\n${why.join('\n')}`);
  const heap = (row: (typeof r.results)[number]) => JSON.stringify(row.nablaHeap);
  for (const row of r.results) console.log(`nabla's WASM heap after ${row.id}: ${heap(row)}`);
  if (r.peak)
    printPeak(
      r.peak,
      r.threadCounts,
      r.results.find((row) => row.id === 'sgemm'),
    );
  if (errors.length) console.log(`page errors:\n  ${errors.join('\n  ')}`);
} finally {
  await browser.close();
  await server.close();
}
