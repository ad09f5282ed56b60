// The WebGPU benchmark body, written against the public API only (`nb`, passed in), so the same
// function runs in Node (bench/webgpu.ts, through the `webgpu` package on a real GPU) and in a
// Chromium page on SwiftShader (test/webgpu/bench.test.ts, small sizes, correctness only).
// Every figure is validated before it is timed: GEMM entries against float64 host dot products,
// GPT-2 logits against the CPU backend's, and the cached decode against the first greedy tokens.
// Glossary: n GEMM size; T prompt tokens, N decoded tokens; L layers, C width, V vocab.

export interface BenchOptions {
  gemmN: number;
  repeats: number;
  gpt2: { nLayer: number; nEmbd: number; nHead: number; vocabSize: number; nPositions: number };
  prompt: number;
  decode: number;
}

export interface BenchResult {
  gemm: { n: number; ms: number; tflops: number; maxRelErr: number };
  gpt2: { params: number; prefillMs: number; decodeTokPerS: number; logitsMaxDiff: number; tokens: number[] };
}

export async function benchWebGPU(nb: any, o: BenchOptions): Promise<BenchResult> {
  const now = () => performance.now();
  // ---- GEMM n^3, float32 ----
  const n = o.gemmN;
  const gen = new nb.Generator(1);
  const ah = nb.rand([n, n], { generator: gen }).sub(0.5),
    bh = nb.rand([n, n], { generator: gen }).sub(0.5);
  const a = ah.to('webgpu'),
    b = bh.to('webgpu');
  const one = async (t: {
    flatten(): { narrow(d: number, s: number, l: number): { dataAsync(): Promise<unknown> } };
  }) => t.flatten().narrow(0, 0, 1).dataAsync();
  const c = a.matmul(b);
  const cv = (await c.dataAsync()) as Float32Array;
  const A = ah.toTypedArray() as Float32Array,
    B = bh.toTypedArray() as Float32Array;
  let maxRelErr = 0;
  for (let s = 0; s < 16; s++) {
    const i = (s * 7919) % n,
      j = (s * 104729 + 13) % n;
    let ref = 0,
      mag = 0;
    for (let k = 0; k < n; k++) {
      ref += A[i * n + k] * B[k * n + j];
      mag += Math.abs(A[i * n + k] * B[k * n + j]);
    }
    maxRelErr = Math.max(maxRelErr, Math.abs(cv[i * n + j] - ref) / Math.max(mag, 1e-30));
  }
  if (!(maxRelErr < 1e-5)) throw new Error(`bench: GEMM ${n}^3 differs from float64 by ${maxRelErr} (relative)`);
  await one(a.matmul(b));
  const t0 = now();
  let last = c;
  for (let r = 0; r < o.repeats; r++) last = a.matmul(b);
  await one(last);
  const gemmMs = (now() - t0) / o.repeats;
  const gemm = { n, ms: gemmMs, tflops: (2 * n ** 3) / (gemmMs * 1e-3) / 1e12, maxRelErr };

  // ---- GPT-2, random weights (timing does not depend on them), float32 ----
  const config = new nb.models.GPT2Config(o.gpt2);
  const model = new nb.models.GPT2LMHeadModel(config, { initialize: false }).eval();
  let state = 12345,
    params = 0;
  for (const p of model.parameters()) {
    const d = p.data as Float32Array;
    params += d.length;
    for (let i = 0; i < d.length; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      d[i] = (state / 2 ** 32 - 0.5) * 0.1;
    }
  }
  const prompt = Array.from({ length: o.prompt }, (_, i) => (i * 7919 + 11) % o.gpt2.vocabSize);
  const check = prompt.slice(0, 8);
  const cpuLogits = nb.noGrad(() => model.forward([check])).toTypedArray() as Float32Array;
  model.to('webgpu');
  const gpuLogits = (await nb.noGrad(() => model.forward([check])).dataAsync()) as Float32Array;
  let logitsMaxDiff = 0,
    scale = 0;
  for (let i = 0; i < cpuLogits.length; i++) {
    logitsMaxDiff = Math.max(logitsMaxDiff, Math.abs(cpuLogits[i] - gpuLogits[i]));
    scale = Math.max(scale, Math.abs(cpuLogits[i]));
  }
  if (!(logitsMaxDiff <= 1e-3 * Math.max(1, scale)))
    throw new Error(`bench: GPT-2 logits on webgpu differ from the CPU by ${logitsMaxDiff} (scale ${scale})`);
  const greedy = async (timed: boolean) => {
    const cache = model.createCache(1, o.prompt + o.decode);
    const next = async (ids: number[]) => {
      const logits = nb.noGrad(() => model.forward([ids], { cache, logitsToKeep: 1 }));
      return ((await logits.reshape([-1]).argmax().dataAsync()) as Int32Array)[0];
    };
    let t = now();
    const tokens = [await next(prompt)];
    const prefillMs = now() - t;
    t = now();
    for (let s = 1; s < o.decode; s++) tokens.push(await next([tokens[tokens.length - 1]]));
    const decodeMs = now() - t;
    return { tokens, prefillMs, decodeTokPerS: timed ? (o.decode - 1) / (decodeMs * 1e-3) : 0 };
  };
  const warm = await greedy(false);
  const run = await greedy(true);
  if (run.tokens.join() !== warm.tokens.join()) throw new Error('bench: two greedy runs on webgpu disagree');
  return {
    gemm,
    gpt2: {
      params,
      prefillMs: run.prefillMs,
      decodeTokPerS: run.decodeTokPerS,
      logitsMaxDiff,
      tokens: run.tokens,
    },
  };
}
