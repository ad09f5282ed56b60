// The quantized and bf16 products of every path this machine has (scalar, avx2, avxvnni, avx512, amx),
// forced one at a time by setQuantPath, against the JS references (src/backend/js/quant.ts) on odd
// sizes: the int8 GEMM (float and requantized outputs) and the dynamic int8 linear layer bit for bit
// (integer sums, the same float epilogue), bf16 and weight-only int8/int4 within float rounding:
// |r - e| <= 1e-5 * (|x| @ |w|^T) + 1e-30 (int4: x as its int8 codes; the scalar path bit for bit).
// A path the machine lacks is a visible skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Layout } from '../../src/tensor/layout.js';
import {
  f32ToBf16,
  bf16ToF32,
  dequantizeWeight,
  quantizeActivationGroups,
  quantizeInt4,
  quantizeRowsInt8,
} from '../../src/util/quant.js';
import { assertWithin, fill, js, native, rng, skip } from './helpers.js';

const PATHS = ['scalar', 'avx2', 'avxvnni', 'avx512', 'amx'] as const;
const SHAPES: [number, number, number][] = [
  [1, 17, 5],
  [3, 33, 130],
  [37, 70, 257],
  [200, 48, 64],
  [9, 1, 3],
  [20, 100, 1030],
];

function absBound(x: Float32Array, w: Float32Array, M: number, N: number, K: number): Float32Array {
  const b = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += Math.abs(x[i * K + k] * w[n * K + k]);
      b[i * N + n] = 1e-5 * s + 1e-30;
    }
  return b;
}

/** x (M, K) as the int4 product sees it: each row quantized to int8 per group of G, dequantized. */
function int8Activations(x: Float32Array, M: number, K: number, G: number): Float32Array {
  const out = new Float32Array(M * K);
  for (let i = 0; i < M; i++) {
    const { codes, d } = quantizeActivationGroups(x, K, G, i * K);
    for (let k = 0; k < K; k++) out[i * K + k] = codes[k] * d[Math.floor(k / G)];
  }
  return out;
}

function randInt8(n: number, r: () => number): Int8Array {
  return Int8Array.from({ length: n }, () => Math.floor(r() * 256) - 128);
}

function checkPath(path: string): void {
  const r = rng(18);
  for (const [M, N, K] of SHAPES) {
    const what = `${path} M=${M} N=${N} K=${K}`;
    const w = randInt8(N * K, r),
      ws = fill(N, r, 0.02).map(Math.abs),
      bias = fill(N, r, 1);
    const x = fill(M * K, r, 3),
      lx = Layout.contiguous([M, K]);
    for (const reduceRange of [false, true]) {
      assert.deepEqual(
        native!.linearInt8Dynamic(x, lx, w, ws, bias, reduceRange),
        js.linearInt8Dynamic(x, lx, w, ws, bias, reduceRange),
        `${what} linearInt8Dynamic reduceRange=${reduceRange}`,
      );
    }
    // a transposed view of x: the kernel reads strides
    const xt = new Layout([M, K], [1, M]);
    assert.deepEqual(
      native!.linearInt8Dynamic(x, xt, w, ws, null, false),
      js.linearInt8Dynamic(x, xt, w, ws, null, false),
    );
    const xq = Uint8Array.from({ length: M * K }, () => Math.floor(r() * 256));
    const xp = { scale: 0.05, zeroPoint: 131 };
    assert.deepEqual(
      native!.gemmU8S8(xq, M, K, xp, w, ws, bias, null),
      js.gemmU8S8(xq, M, K, xp, w, ws, bias, null),
      `${what} gemmU8S8 float`,
    );
    const out = { scale: 0.7, zeroPoint: 100 };
    assert.deepEqual(
      native!.gemmU8S8(xq, M, K, xp, w, ws, null, out),
      js.gemmU8S8(xq, M, K, xp, w, ws, null, out),
      `${what} gemmU8S8 requantized`,
    );
    const wf = fill(N * K, r, 1),
      wb = f32ToBf16(wf);
    assertWithin(
      native!.linearBf16(x, lx, wb, bias)!,
      js.linearBf16(x, lx, wb, bias),
      absBound(bf16ToF32(f32ToBf16(x)), bf16ToF32(wb), M, N, K).map((v, i) => v + 1e-6 * Math.abs(bias[i % N])),
      `${what} linearBf16`,
    );
    const q8 = quantizeRowsInt8(wf, N, K);
    assertWithin(
      native!.linearWeightOnly(x, lx, q8.q, q8.scales, 8, 0, N, bias)!,
      js.linearWeightOnly(x, lx, q8.q, q8.scales, 8, 0, N, bias),
      absBound(x, dequantizeWeight(q8.q, q8.scales, 8, N, K), M, N, K).map((v, i) => v + 1e-6 * Math.abs(bias[i % N])),
      `${what} linearWeightOnly int8`,
    );
    // int4: 32 and 64 run every SIMD kernel, 96 falls back to the scalar one, 128 and 256 take one group a vector
    const xs = fill(M * K, r, 3, true);
    for (const G of [32, 64, 96, 128, 256]) {
      const q4 = quantizeInt4(wf, N, K, G);
      for (const [xx, b] of [
        [x, bias],
        [xs, null],
      ] as const) {
        const got = native!.linearWeightOnly(xx, lx, q4.q, q4.scales, 4, G, N, b)!,
          want = js.linearWeightOnly(xx, lx, q4.q, q4.scales, 4, G, N, b);
        const where = `${what} linearWeightOnly int4 G=${G}${b ? '' : ' with ±1e4, 0, NaN'}`;
        // the scalar kernel sums in the reference's order; the SIMD ones split each group over lanes
        if (path === 'scalar') assert.deepEqual(got, want, where);
        else {
          const bound = absBound(int8Activations(xx, M, K, G), dequantizeWeight(q4.q, q4.scales, 4, N, K, G), M, N, K);
          assertWithin(got, want, b ? bound.map((v, i) => v + 1e-6 * Math.abs(b[i % N])) : bound, where);
        }
      }
    }
  }
}

for (const path of PATHS) {
  const avail = native ? native.addon.quantInfo().available : [];
  const why =
    skip ||
    (!avail.includes(path) &&
      (path === 'amx'
        ? `AMX not usable here: ${native!.addon.quantInfo().amx}`
        : `this machine has no ${path} path (available: ${avail.join(', ')})`));
  test(`quantized products on the ${path} path agree with JS`, { skip: why }, () => {
    assert.equal(native!.addon.setQuantPath(path), true);
    try {
      const info = native!.addon.quantInfo();
      assert.equal(info.int8, path);
      checkPath(path);
    } finally {
      native!.addon.setQuantPath('auto');
    }
  });
}

test('int4 with int8 activations stays within their rounding of the float product', { skip }, () => {
  // each activation code is within d/2 of x (d = max|x| of its group / 127), so per output
  // |y - x @ deq(w)^T| <= sum_k |deq(w)[n,k]| * d_g(k) / 2, plus float rounding
  const r = rng(7),
    M = 3,
    N = 41,
    K = 200,
    G = 32;
  const x = fill(M * K, r, 2),
    q4 = quantizeInt4(fill(N * K, r, 0.5), N, K, G);
  const w = dequantizeWeight(q4.q, q4.scales, 4, N, K, G);
  const y = native!.linearWeightOnly(x, Layout.contiguous([M, K]), q4.q, q4.scales, 4, G, N, null)!;
  for (let i = 0; i < M; i++) {
    const { d } = quantizeActivationGroups(x, K, G, i * K);
    for (let n = 0; n < N; n++) {
      let exact = 0,
        bound = 0;
      for (let k = 0; k < K; k++) {
        exact += x[i * K + k] * w[n * K + k];
        bound += Math.abs(w[n * K + k]) * (d[Math.floor(k / G)] / 2) + 1e-5 * Math.abs(x[i * K + k] * w[n * K + k]);
      }
      assert.ok(
        Math.abs(y[i * N + n] - exact) <= bound,
        `y[${i},${n}] = ${y[i * N + n]}, float ${exact}, bound ${bound}`,
      );
    }
  }
});

test('setQuantPath refuses a path this machine lacks and keeps the current one', { skip }, () => {
  const info = native!.addon.quantInfo();
  const missing = PATHS.find((p) => !info.available.includes(p));
  if (missing) {
    assert.equal(native!.addon.setQuantPath(missing), false);
    assert.equal(native!.addon.quantInfo().int8, info.int8);
  }
});

test('the quantized kernels name the kernel and the sizes on bad arguments', { skip }, () => {
  const a = native!.addon;
  assert.throws(
    () =>
      a.woqLinear(
        new Float32Array(4),
        new Float32Array(4),
        Layout.contiguous([1, 4]),
        new Uint8Array(32),
        new Float32Array(1),
        4,
        48,
        null,
        1,
      ),
    /woqLinear: int4 groupSize must be a multiple of 32, got 48/,
  );
  assert.throws(
    () => a.q8Pack(new Int8Array(10), new Int32Array(2), new Int8Array(8), 2, 4),
    /q8Pack: bp has 10 elements, needs 1024/,
  );
});
