// Native matmul vs the JS backend: sizes 1..127 in every dim, all transpose combinations (as strided
// views, never copied), offsets, strided batches with broadcast batch dims, GEMV shapes, ±1e4/0/NaN.
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { Layout } from '../../src/tensor/layout.js';
import { BinaryOp, UnaryOp } from '../../src/backend/op_codes.js';
import { SIZES, abs, assertWithin, fill, js, native, rng, skip, skipOnWasm } from './helpers.js';

// a (M,K) as a view: transposed views read a (K,M) buffer; offset views start at 7.
function mat(rows: number, cols: number, trans: boolean, r: () => number, specials: boolean) {
  const off = 7;
  const data = fill(rows * cols + off, r, 1, specials);
  const layout = trans ? new Layout([rows, cols], [1, rows], off) : new Layout([rows, cols], [cols, 1], off);
  return { data, layout };
}

function check(a: Float32Array, la: Layout, b: Float32Array, lb: Layout, what: string): void {
  const got = native!.matmul(a, la, b, lb, 'float32')!;
  const want = js.matmul(a, la, b, lb, 'float32');
  const bound = js.matmul(abs(a), la, abs(b), lb, 'float32').map((v) => 1e-5 * v + 1e-30);
  assertWithin(got, want, bound, what);
}

test('matmul: every size in {1,3,17,33,127}^3, all transposes', { skip }, () => {
  const r = rng(1);
  for (const M of SIZES)
    for (const N of SIZES)
      for (const K of SIZES) {
        for (let t = 0; t < 4; t++) {
          const A = mat(M, K, (t & 1) === 1, r, false),
            B = mat(K, N, (t & 2) === 2, r, false);
          check(A.data, A.layout, B.data, B.layout, `matmul ${M}x${N}x${K} t=${t}`);
        }
      }
});

test('matmul: values at ±1e4, 0 and NaN propagate like the reference', { skip }, () => {
  const r = rng(2);
  for (const [M, N, K] of [
    [17, 33, 127],
    [1, 127, 33],
    [33, 1, 17],
    [127, 127, 3],
  ]) {
    const A = mat(M, K, false, r, true),
      B = mat(K, N, true, r, true);
    check(A.data, A.layout, B.data, B.layout, `matmul specials ${M}x${N}x${K}`);
  }
});

test('matmul: strided batches, broadcast batch dims, large blocked and GEMV shapes', { skip }, () => {
  const r = rng(3);
  // a (2,3,M,K) with batch dim 0 broadcast (stride 0); b (2,3,K,N) transposed inner dims.
  const [M, N, K] = [33, 17, 127];
  const a = fill(3 * M * K, r),
    b = fill(6 * K * N, r);
  const la = new Layout([2, 3, M, K], [0, M * K, K, 1]);
  const lb = new Layout([2, 3, K, N], [3 * K * N, K * N, 1, K]);
  check(a, la, b, lb, 'batched broadcast');
  // [1, n <= 1024, k] rows split K over the threads and add the partial sums (gemm.c split 4).
  for (const [m, n, k] of [
    [300, 200, 700],
    [1, 3000, 300],
    [1000, 1, 300],
    [128, 768, 64],
    [1, 768, 3072],
    [1, 37, 1001],
    [1, 1024, 131],
  ]) {
    for (let t = 0; t < 4; t++) {
      const A = mat(m, k, (t & 1) === 1, r, false),
        B = mat(k, n, (t & 2) === 2, r, false);
      check(A.data, A.layout, B.data, B.layout, `matmul ${m}x${n}x${k} t=${t}`);
    }
  }
});

test('matmul: empty dims and K = 0 give zeros', { skip }, () => {
  const z = native!.matmul(
    new Float32Array(0),
    Layout.contiguous([3, 0]),
    new Float32Array(0),
    Layout.contiguous([0, 4]),
    'float32',
  )!;
  if (z.length !== 12 || z.some((v) => v !== 0)) throw new Error('K=0 matmul must be zeros');
  const e = native!.matmul(
    new Float32Array(0),
    Layout.contiguous([0, 5]),
    new Float32Array(20),
    Layout.contiguous([5, 4]),
    'float32',
  )!;
  if (e.length !== 0) throw new Error('M=0 matmul must be empty');
});

test('matmul: declines non-float32 so the registry uses JS', { skip }, () => {
  const r = native!.matmul(
    new Float64Array(4),
    Layout.contiguous([2, 2]),
    new Float64Array(4),
    Layout.contiguous([2, 2]),
    'float64',
  );
  if (r !== undefined) throw new Error('float64 matmul must be declined');
});

test('adviseHugePages: large buffers are advised on Linux, contents never change', {
  skip: skipOnWasm('linear memory is one allocation, advised by nothing'),
}, () => {
  const A = native!.addon;
  const small = new Float32Array(1000).fill(3);
  if (A.adviseHugePages(small) !== 0) throw new Error('a buffer under 2 MB has no aligned 2 MB interior');
  const big = new Float32Array(3 << 20);
  for (let i = 0; i < big.length; i += 4099) big[i] = i;
  const advised = A.adviseHugePages(big);
  const thp = process.platform === 'linux' && existsSync('/sys/kernel/mm/transparent_hugepage/enabled');
  if (thp ? !(advised >= 2 << 20 && advised <= big.byteLength) : advised !== 0 && !(advised <= big.byteLength))
    throw new Error(`advised ${advised} bytes of ${big.byteLength}`);
  for (let i = 0; i < big.length; i += 4099) if (big[i] !== i) throw new Error(`element ${i} changed`);
  if (small.some((v) => v !== 3)) throw new Error('small buffer changed');
});

test('linear: act(a @ b + bias) equals matmul, add and the activation on JS, transposed and offset layouts', {
  skip,
}, () => {
  const r = rng(5);
  const acts = [null, UnaryOp.RELU, UnaryOp.GELU, UnaryOp.GELU_TANH, UnaryOp.SILU, UnaryOp.TANH, UnaryOp.SIGMOID];
  for (const [M, N, K] of [
    [1, 768, 96],
    [3, 17, 33],
    [128, 70, 127],
    [1, 1, 1],
  ])
    for (const act of acts)
      for (let t = 0; t < 4; t++) {
        const A = mat(M, K, (t & 1) === 1, r, false),
          B = mat(K, N, (t & 2) === 2, r, false);
        const bias = t === 3 ? null : fill(N, r, 1);
        const got = native!.linear(A.data, A.layout, B.data, B.layout, bias, act)!;
        let want = js.matmul(A.data, A.layout, B.data, B.layout, 'float32') as Float32Array;
        if (bias)
          want = js.binary(
            BinaryOp.ADD,
            want,
            Layout.contiguous([M, N]),
            bias,
            new Layout([M, N], [0, 1]),
            'float32',
          ) as Float32Array;
        if (act !== null) want = js.unary(act, want, Layout.contiguous([M, N]), 'float32') as Float32Array;
        const bound = js.matmul(abs(A.data), A.layout, abs(B.data), B.layout, 'float32').map((v) => 1e-5 * v + 1e-6);
        assertWithin(got, want, bound, `linear ${M}x${N}x${K} t=${t} act=${act === null ? 'none' : UnaryOp[act]}`);
      }
  if (
    native!.linear(
      new Float32Array(4),
      Layout.contiguous([2, 2]),
      new Float32Array(4),
      Layout.contiguous([2, 2]),
      null,
      UnaryOp.EXP,
    ) !== undefined
  ) {
    throw new Error('linear must decline activations it does not fuse');
  }
});
