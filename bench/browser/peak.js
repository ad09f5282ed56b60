// This machine's peak WebAssembly SIMD128 float32 rate in this browser: a hand-assembled module whose
// loop runs 12 independent chains of acc = acc * m + c on f32x4 (12 chains cover the multiply and
// add latencies; 14 v128 values fit x86's 16 xmm registers beside V8's scratch), timed on one thread
// and on `threads` at once (the page plus Web Workers). The same with relaxed-simd's f32x4.relaxed_madd
// (one fused multiply-add) where the engine validates it. 2 flops per lane per chain step. Each run is
// about as long as an SGEMM 1024³ run and the median of `reps` is kept, as the rows do, so on a loaded
// machine both see the same share of the cores.

export const CHAINS = 12;

/** The module's bytes: export peak(iterations: i32) -> f32 (the lane sum, so nothing is dead). */
export function peakModule(fused) {
  const leb = (n) => {
    const out = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  const f32x4 = (v) => [0xfd, 0x0c, ...new Uint8Array(new Float32Array([v, v, v, v]).buffer)];
  const get = (i) => [0x20, ...leb(i)],
    set = (i) => [0x21, ...leb(i)];
  // locals: 0 the count (param), 1..12 accumulators, 13 m, 14 c
  const M = CHAINS + 1,
    C = CHAINS + 2;
  const body = [1, CHAINS + 2, 0x7b]; // one local entry: 14 v128
  body.push(...f32x4(0.999999), ...set(M), ...f32x4(1e-6), ...set(C));
  for (let i = 1; i <= CHAINS; i++) body.push(...f32x4(i * 0.01), ...set(i));
  body.push(0x02, 0x40, 0x03, 0x40); // block, loop
  for (let i = 1; i <= CHAINS; i++) {
    if (fused) body.push(...get(i), ...get(M), ...get(C), 0xfd, ...leb(0x105)); // f32x4.relaxed_madd
    else if (i % 2) body.push(...get(i), ...get(M), 0xfd, ...leb(0xe6)); // acc * m
    else body.push(...get(i), ...get(C), 0xfd, ...leb(0xe4)); // acc + c
    body.push(...set(i));
  }
  body.push(...get(0), 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b, 0x0b); // n = n - 1; br_if n; end; end
  body.push(...get(1));
  for (let i = 2; i <= CHAINS; i++) body.push(...get(i), 0xfd, ...leb(0xe4));
  body.push(0xfd, 0x1f, 0, 0x0b); // f32x4.extract_lane 0; end
  const section = (id, bytes) => [id, ...leb(bytes.length), ...bytes];
  const name = [...new TextEncoder().encode('peak')];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]),
    ...section(3, [1, 0]),
    ...section(7, [1, name.length, ...name, 0, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

// A worker that instantiates the module it is sent and runs peak(iterations) when told.
const WORKER = `onmessage = async (e) => {
  const { bytes, iterations } = e.data;
  const { instance } = await WebAssembly.instantiate(bytes);
  instance.exports.peak(1000);
  postMessage('ready');
  onmessage = () => { instance.exports.peak(iterations); postMessage('done'); };
};`;

/** GFLOP/s of the loop on 1 thread and on `threads` threads at once; null where it does not validate. */
async function measure(fused, threads, iterations, reps) {
  const bytes = peakModule(fused);
  if (!WebAssembly.validate(bytes)) return null;
  const { instance } = await WebAssembly.instantiate(bytes);
  const peak = instance.exports.peak;
  peak(iterations / 10);
  const flops = iterations * CHAINS * 4 * 2;
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const one = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    peak(iterations);
    one.push(performance.now() - t0);
  }
  const url = URL.createObjectURL(new Blob([WORKER], { type: 'text/javascript' }));
  const workers = Array.from({ length: threads - 1 }, () => new Worker(url));
  const reply = (w) => new Promise((res) => w.addEventListener('message', res, { once: true }));
  await Promise.all(workers.map((w) => (w.postMessage({ bytes, iterations }), reply(w))));
  const all = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const done = workers.map((w) => (w.postMessage('go'), reply(w)));
    peak(iterations);
    await Promise.all(done);
    all.push(performance.now() - t0);
  }
  for (const w of workers) w.terminate();
  URL.revokeObjectURL(url);
  return { oneThread: flops / median(one) / 1e6, threads, allThreads: (threads * flops) / median(all) / 1e6 };
}

/** The SIMD128 mul+add peak and the relaxed-simd FMA peak (GFLOP/s), one thread and all threads. */
export async function simdPeak(threads, quick) {
  const iterations = 2e7,
    reps = quick ? 1 : 5;
  return {
    mulAdd: await measure(false, threads, iterations, reps),
    fma: await measure(true, threads, iterations, reps),
  };
}
