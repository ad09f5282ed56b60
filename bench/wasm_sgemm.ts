// SGEMM 1024^3 on the WASM backend (1 and 2 threads) beside the native addon, in this Node: one quick
// run, best of 5 after a warm-up. `npm run build && node dist/bench/wasm_sgemm.js [n]`
// Then the physics check per core, by CPU time (a loaded machine's time slices do not count): the
// SIMD128 peak loop of bench/browser/peak.js, the WASM SGEMM on one thread and tfjs-wasm's on one
// thread (from bench/node_modules, when installed), medians of 8 interleaved runs, and what 3x tfjs-wasm
// would ask of each core.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { loadNativeBackend } from '../src/backend/native/index.js';
import { loadWasmSync } from '../src/backend/wasm/index.js';
import { Layout } from '../src/tensor/layout.js';

const n = Number(process.argv[2] ?? 1024);
const a = Float32Array.from({ length: n * n }, () => Math.random() - 0.5);
const b = Float32Array.from({ length: n * n }, () => Math.random() - 0.5);
const l = Layout.contiguous([n, n]);

interface Gemm {
  matmul(a: Float32Array, la: Layout, b: Float32Array, lb: Layout, dt: 'float32'): unknown;
  setNumThreads(t: number): void;
}

async function gflops(what: string, be: Gemm, threads: number): Promise<void> {
  be.setNumThreads(threads);
  be.matmul(a, l, b, l, 'float32');
  // NOTE: the pool's workers start on the first parallel call; give them a moment before timing
  await new Promise((r) => setTimeout(r, 200));
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    be.matmul(a, l, b, l, 'float32');
    best = Math.min(best, performance.now() - t);
  }
  console.log(`${what.padEnd(8)} ${threads} thread(s): ${((2 * n ** 3) / best / 1e6).toFixed(1)} GFLOP/s`);
}

const wasm = loadWasmSync().backend;
if (!wasm) throw new Error('no WASM backend');
await gflops('wasm', wasm, 1);
await gflops('wasm', wasm, 2);
const native = loadNativeBackend().backend;
if (native) {
  await gflops('native', native, 1);
  await gflops('native', native, 2);
} else console.log('native: not built');

/** Median GFLOP/s per core of each function by process CPU time, the functions interleaved. */
function perCore(fns: Record<string, [flops: number, run: () => void]>): Record<string, number> {
  const runs: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (let r = 0; r < 9; r++) {
    for (const [k, [flops, run]] of Object.entries(fns)) {
      const c0 = process.cpuUsage().user;
      run();
      if (r > 0) runs[k].push(flops / (process.cpuUsage().user - c0) / 1e3);
    }
  }
  return Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.sort((x, y) => x - y)[v.length >> 1]]));
}

const peakUrl = new URL('../../bench/browser/peak.js', import.meta.url).href;
const { peakModule, CHAINS } = (await import(peakUrl)) as {
  peakModule(fused: boolean): Uint8Array<ArrayBuffer>;
  CHAINS: number;
};
const peak = (await WebAssembly.instantiate(peakModule(false))).instance.exports.peak as (n: number) => number;
wasm.setNumThreads(1);
const fns: Record<string, [number, () => void]> = {
  'SIMD128 mul + add peak': [4e6 * CHAINS * 4, () => peak(4e6)],
  'nabla WASM SGEMM': [2 * n ** 3, () => wasm.matmul(a, l, b, l, 'float32')],
};
try {
  const req = createRequire(new URL('../../bench/package.json', import.meta.url)) as (m: string) => any;
  const tf = req('@tensorflow/tfjs');
  const tw = req('@tensorflow/tfjs-backend-wasm');
  tw.setThreadsCount(1);
  await tf.setBackend('wasm');
  const ta = tf.tensor(a, [n, n]),
    tb = tf.tensor(b, [n, n]);
  fns['tfjs-wasm SGEMM'] = [
    2 * n ** 3,
    () => {
      const c = tf.matMul(ta, tb);
      c.dataSync();
      c.dispose();
    },
  ];
} catch (e) {
  console.log(`tfjs-wasm: not installed in bench/node_modules (${String((e as Error).message).split('\n')[0]})`);
}
const g = perCore(fns);
const top = g['SIMD128 mul + add peak'];
console.log('per core, median of CPU-time rates:');
for (const [k, v] of Object.entries(g))
  console.log(`  ${k.padEnd(24)} ${v.toFixed(1)} GFLOP/s = ${((100 * v) / top).toFixed(0)}%`);
const tfg = g['tfjs-wasm SGEMM'];
if (tfg) {
  // 3x tfjs-wasm, per core of nabla's: tfjs on one thread (as bench:browser ran it before it got the
  // threads asked for), and tfjs scaling perfectly on as many threads as nabla (as bench:browser runs it now)
  const cores = availableParallelism();
  const share = (x: number) => `${x.toFixed(1)} GFLOP/s a core = ${((100 * x) / top).toFixed(0)}% of peak`;
  console.log(`3x tfjs-wasm on 1 thread, nabla on ${cores} cores: ${share((3 * tfg) / cores)}`);
  const same = 3 * tfg;
  const beyond = same > top ? ': beyond the peak' : '';
  console.log(`3x tfjs-wasm on ${cores} threads, nabla on ${cores} cores: ${share(same)}${beyond}`);
}
