// The browser benchmark page's rows, each timed for nabla, tfjs-wasm (threads when the page is
// cross-origin isolated) and onnxruntime-web (wasm execution provider) in the same page. A row a
// library cannot run says why (null time, a reason). Medians of `reps` runs after one untimed run.
// Glossary: B batch (128), M,K,N gemm dims, C 768 (GPT-2 width), V 50257 (GPT-2 vocab).
import * as nb from '/nabla.js';
import { tf, tfWasm } from '/peers.js';
import * as ort from '/ort/ort.wasm.min.mjs';
import { simdPeak } from '/peak.js';

const B = 128;
/** Past positions in onnxruntime-web's decode step: nabla's steps attend over 17 to 25 (a 16-token prompt). */
const DECODE_PAST = 20;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * A turn of the event loop, untimed, as a page gives between frames: garbage-collected storage is
 * released only between tasks (FinalizationRegistry callbacks: nabla's WASM heap, onnxruntime-web's
 * tensors), never inside one chain of awaits.
 */
const turn = () => new Promise((r) => setTimeout(r, 0));

/** Median ms of `f` (awaited) over `reps` runs after one untimed run. */
async function time(f, reps) {
  await f();
  const ts = [];
  for (let i = 0; i < reps; i++) {
    await turn();
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/** Seeded uniform floats in [-1, 1): every library sees the same numbers. */
function rand(n, seed) {
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

// ---- nabla ----
const nabla = {
  sgemm: () => {
    const a = nb.tensor(rand(1024 * 1024, 1)).reshape([1024, 1024]);
    const b = nb.tensor(rand(1024 * 1024, 2)).reshape([1024, 1024]);
    return () => nb.matmul(a, b);
  },
  gemv: () => {
    const x = nb.tensor(rand(768, 3)).reshape([1, 768]);
    const w = nb.tensor(rand(768 * 50257, 4)).reshape([768, 50257]);
    return () => nb.matmul(x, w);
  },
  mlpTrain: () => {
    // x (B, 784) -> 256 -> 256 -> 10, SGD step
    nb.manualSeed(0);
    const net = new nb.nn.Sequential(
      new nb.nn.Linear(784, 256),
      new nb.nn.ReLU(),
      new nb.nn.Linear(256, 256),
      new nb.nn.ReLU(),
      new nb.nn.Linear(256, 10),
    );
    const opt = new nb.optim.SGD(net.parameters(), { lr: 0.01 });
    const x = nb.tensor(rand(B * 784, 5)).reshape([B, 784]);
    const y = nb.randint(0, 10, [B]);
    return () => {
      opt.zeroGrad();
      nb.nn.functional.crossEntropy(net.call(x), y).backward();
      opt.step();
    };
  },
  cnnTrain: () => {
    // x (B, 1, 28, 28): conv 32 3x3 same, pool 2, conv 64 3x3 same, pool 2, dense 3136 -> 10; SGD step
    nb.manualSeed(0);
    const net = new nb.nn.Sequential(
      new nb.nn.Conv2d(1, 32, 3, { padding: 1 }),
      new nb.nn.ReLU(),
      new nb.nn.MaxPool2d(2),
      new nb.nn.Conv2d(32, 64, 3, { padding: 1 }),
      new nb.nn.ReLU(),
      new nb.nn.MaxPool2d(2),
      new nb.nn.Flatten(),
      new nb.nn.Linear(64 * 7 * 7, 10),
    );
    const opt = new nb.optim.SGD(net.parameters(), { lr: 0.01 });
    const x = nb.tensor(rand(B * 784, 6)).reshape([B, 1, 28, 28]);
    const y = nb.randint(0, 10, [B]);
    return () => {
      opt.zeroGrad();
      nb.nn.functional.crossEntropy(net.call(x), y).backward();
      opt.step();
    };
  },
  resnet18: () => {
    nb.manualSeed(0);
    const net = nb.vision.models.resnet18().eval();
    nb.nn.utils.fuse(net);
    const x = nb.tensor(rand(3 * 224 * 224, 7)).reshape([1, 3, 224, 224]);
    return () => nb.noGrad(() => net.call(x));
  },
  decode: (opts) => {
    // GPT-2 small widths (C 768, 12 heads, V 50257), `layers` blocks; ms per new token with the KV cache
    nb.manualSeed(0);
    const cfg = new nb.models.GPT2Config({ nLayer: opts.layers });
    const model = new nb.models.GPT2LMHeadModel(cfg).eval();
    const prompt = Array.from({ length: 16 }, (_, i) => (i * 7919) % 50257);
    const gen = (n) => model.generate([prompt], { maxNewTokens: n, eosTokenId: null });
    return async () => {
      const t0 = performance.now();
      gen(1);
      const t1 = performance.now();
      gen(9);
      const t2 = performance.now();
      // NOTE: the prefill and first token cancel out: (9 tokens - 1 token) / 8 is one cached step.
      return { perStepMs: (t2 - t1 - (t1 - t0)) / 8 };
    };
  },
};

/**
 * Runs `f` while the page reports `n` logical cores. tfjs-backend-wasm caps its XNNPACK pool at
 * navigator.hardwareConcurrency / 2, whatever setThreadsCount asks (backend.cc: it assumes two
 * hyper-threads per core), and reads the count once, as its module starts. On a machine with one
 * thread per core (this bench's 2-vCPU VM) that halves its threads; reporting twice the threads asked
 * for while it starts makes the cap the count asked for.
 */
async function withLogicalCores(n, f) {
  Object.defineProperty(navigator, 'hardwareConcurrency', { configurable: true, get: () => n });
  try {
    return await f();
  } finally {
    delete navigator.hardwareConcurrency;
  }
}

// ---- tfjs (wasm backend): dataSync forces completion ----
const tfjs = {
  sgemm: () => {
    const a = tf.tensor(rand(1024 * 1024, 1), [1024, 1024]);
    const b = tf.tensor(rand(1024 * 1024, 2), [1024, 1024]);
    return () => tf.tidy(() => tf.matMul(a, b)).dataSync();
  },
  gemv: () => {
    const x = tf.tensor(rand(768, 3), [1, 768]);
    const w = tf.tensor(rand(768 * 50257, 4), [768, 50257]);
    return () => tf.tidy(() => tf.matMul(x, w)).dataSync();
  },
  mlpTrain: () => {
    const dims = [784, 256, 256, 10];
    const ws = dims.slice(1).map((n, i) => tf.variable(tf.randomNormal([dims[i], n], 0, 0.05)));
    const bs = dims.slice(1).map((n) => tf.variable(tf.zeros([n])));
    const x = tf.tensor(rand(B * 784, 5), [B, 784]);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: B }, (_, i) => i % 10), 'int32'), 10);
    const opt = tf.train.sgd(0.01);
    return () => {
      const loss = opt.minimize(() => {
        let h = x;
        ws.forEach((w, i) => {
          h = tf.add(tf.matMul(h, w), bs[i]);
          if (i < ws.length - 1) h = tf.relu(h);
        });
        return tf.losses.softmaxCrossEntropy(y, h);
      }, true);
      loss.dataSync();
      loss.dispose();
    };
  },
  cnnTrain: () => {
    // NHWC, tfjs's layout
    const w1 = tf.variable(tf.randomNormal([3, 3, 1, 32], 0, 0.1));
    const w2 = tf.variable(tf.randomNormal([3, 3, 32, 64], 0, 0.05));
    const w3 = tf.variable(tf.randomNormal([64 * 7 * 7, 10], 0, 0.01));
    const x = tf.tensor(rand(B * 784, 6), [B, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: B }, (_, i) => i % 10), 'int32'), 10);
    const opt = tf.train.sgd(0.01);
    return () => {
      const loss = opt.minimize(() => {
        let h = tf.maxPool(tf.relu(tf.conv2d(x, w1, 1, 'same')), 2, 2, 'valid');
        h = tf.maxPool(tf.relu(tf.conv2d(h, w2, 1, 'same')), 2, 2, 'valid');
        return tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.reshape(h, [B, 64 * 7 * 7]), w3));
      }, true);
      loss.dataSync();
      loss.dispose();
    };
  },
  resnet18: () => null,
  decode: () => null,
};
const TFJS_NONE = {
  resnet18: 'no ResNet-18 port in this harness (tfjs-layers has none built in)',
  decode: 'no GPT-2 decoder in tfjs',
};

// ---- onnxruntime-web (wasm execution provider): graphs from the runner (bench/onnx.ts) ----
async function ortSession(url) {
  const res = await fetch(url);
  if (!res.ok) return null;
  return ort.InferenceSession.create(new Uint8Array(await res.arrayBuffer()), { executionProviders: ['wasm'] });
}
const T = (d, dims) => new ort.Tensor('float32', d, dims);
const onnx = {
  sgemm: async () => {
    const s = await ortSession('/models/sgemm1024.onnx');
    const feeds = { x: T(rand(1024 * 1024, 1), [1024, 1024]) };
    return () => s.run(feeds);
  },
  gemv: async () => {
    const s = await ortSession('/models/gemv.onnx');
    const feeds = { x: T(rand(768, 3), [1, 768]) };
    return () => s.run(feeds);
  },
  mlpTrain: () => null,
  cnnTrain: () => null,
  resnet18: async () => {
    const s = await ortSession('/models/resnet18.onnx');
    if (!s) return null;
    const feeds = { x: T(rand(3 * 224 * 224, 7), [1, 3, 224, 224]) };
    return () => s.run(feeds);
  },
  decode: async (opts) => {
    // the graph (bench/decode_onnx.ts): h (1,1,768) and each layer's past K, V (1,12,P,64) in
    const s = await ortSession('/models/decode.onnx');
    if (!s) return null;
    const feeds = { h: T(rand(768, 8), [1, 1, 768]) };
    for (let l = 0; l < opts.layers; l++) {
      feeds[`pastK${l}`] = T(rand(12 * DECODE_PAST * 64, 9 + 2 * l), [1, 12, DECODE_PAST, 64]);
      feeds[`pastV${l}`] = T(rand(12 * DECODE_PAST * 64, 10 + 2 * l), [1, 12, DECODE_PAST, 64]);
    }
    return async () => {
      const t0 = performance.now();
      await s.run(feeds);
      return { perStepMs: performance.now() - t0 };
    };
  },
};
const ORT_NONE = {
  mlpTrain: 'inference runtime: no training',
  cnnTrain: 'inference runtime: no training',
  resnet18: 'bench/models/resnet18.onnx is missing (/usr/bin/python3 tools/bench/resnet18_torch.py --export ...)',
  decode: 'the decode graph did not load',
};

export const ROWS = [
  { id: 'sgemm', title: 'SGEMM 1024³', flops: 2 * 1024 ** 3 },
  { id: 'gemv', title: 'GEMV 1×768×50257 (GPT-2 head)', flops: 2 * 768 * 50257 },
  { id: 'mlpTrain', title: 'MLP 784-256-256-10 train step, b128' },
  { id: 'cnnTrain', title: 'CNN (2 conv) train step, b128, 28²' },
  { id: 'resnet18', title: 'ResNet-18 inference, b1, 224²' },
  { id: 'decode', title: 'GPT-2-shaped decode step (ms/token)' },
];

/** Runs every row for every library; `quick` times 1 run per cell and GPT-2 with 2 layers. */
export async function runBench({ quick = true, rows, threads: want } = {}) {
  rows ??= ROWS.map((r) => r.id);
  const reps = quick ? 1 : 5;
  // nabla on its WASM backend (threads when isolated), served beside nabla.js as dist/browser/ has it
  await nb.ready({ wasmBaseUrl: new URL('/', location.href) });
  const isolated = self.crossOriginIsolated;
  const threads = isolated ? Math.min(want ?? (navigator.hardwareConcurrency || 1), 8) : 1;
  nb.setNumThreads(threads);
  tfWasm.setWasmPaths('/tfjs/');
  tfWasm.setThreadsCount(threads);
  await withLogicalCores(2 * threads, () => tf.setBackend('wasm'));
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = threads;
  // onnxruntime-web settles its thread count (1 where SharedArrayBuffer is missing) when it starts
  await ortSession('/models/tiny.onnx');
  const env = {
    isolated,
    threads,
    nabla: nb.backend(),
    tfjs: `${tf.version.tfjs} (${tf.getBackend()}, ${tfWasm.getThreadsCount()} threads, multithread support: ${await tf
      .env()
      .getAsync('WASM_HAS_MULTITHREAD_SUPPORT')})`,
    ort: `${ort.env.versions?.web ?? ''} (wasm, ${ort.env.wasm.numThreads} threads)`,
  };
  // the thread count each library runs on, for the report's header
  const threadCounts = {
    nabla: nb.backend().threads,
    'tfjs-wasm': tfWasm.getThreadsCount(),
    'onnxruntime-web': ort.env.wasm.numThreads,
  };
  const libs = [
    ['nabla', nabla, {}],
    ['tfjs-wasm', tfjs, TFJS_NONE],
    ['onnxruntime-web', onnx, ORT_NONE],
  ];
  const results = [];
  for (const row of ROWS.filter((r) => rows.includes(r.id))) {
    const out = { id: row.id, title: row.title };
    for (const [name, lib, none] of libs) {
      await turn();
      try {
        const f = await lib[row.id]({ layers: quick ? 2 : 12 });
        if (!f) {
          out[name] = { ms: null, why: none[row.id] };
          continue;
        }
        if (row.id === 'decode') {
          await f();
          const steps = [];
          for (let i = 0; i < reps; i++) {
            await turn();
            steps.push((await f()).perStepMs);
          }
          out[name] = { ms: median(steps) };
        } else out[name] = { ms: await time(f, reps) };
        // resident storage right after nabla's runs (later libs give the collector time to free it)
        if (name === 'nabla') out.nablaHeap = nb.backend().wasmHeap;
        if (row.flops) out[name].gflops = row.flops / out[name].ms / 1e6;
      } catch (e) {
        out[name] = { ms: null, why: `failed: ${String(e.message ?? e).split('\n')[0].slice(0, 160)}` };
      }
    }
    results.push(out);
  }
  // the machine's SIMD128 rate in this page, for SGEMM's share of it (peak.js); 'peak' in rows asks for it
  const peak = rows.includes('peak') || rows.includes('sgemm') ? await simdPeak(threads, quick) : null;
  return { env, threadCounts, results, peak };
}

window.runBench = runBench;
window.benchReady = true;
