// SGEMM 1024^3 on the WASM backend (1 and 2 threads) beside the native addon, in this Node: one quick
// run, best of 5 after a warm-up. `npm run build && node dist/bench/wasm_sgemm.js [n]`
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
