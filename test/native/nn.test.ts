// Native fused kernels: layer norm forward/backward vs a float64 reference written here (the JS
// backend composes layer norm from primitives, so there is no single JS kernel to compare with),
// indexSelect/indexAdd vs the JS backend, and Adam/AdamW/SGD steps vs PyTorch's update rules in
// float64. Sizes 1..127, ±1e4/0/NaN inputs where meaningful.
import { test } from 'node:test';
import { Layout } from '../../src/tensor/layout.js';
import { KINDS, SIZES, assertClose, fill, input, js, native, rng, skip } from './helpers.js';

// x (R,C) -> y, mean, rstd in float64; backward dx, dw, db from the closed form.
function layerNormRef(
  x: Float32Array,
  R: number,
  C: number,
  w: Float32Array | null,
  b: Float32Array | null,
  eps: number,
) {
  const y = new Float64Array(R * C),
    mean = new Float64Array(R),
    rstd = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += x[r * C + c];
    const mu = s / C;
    let q = 0;
    for (let c = 0; c < C; c++) q += (x[r * C + c] - mu) ** 2;
    const rs = 1 / Math.sqrt(q / C + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let c = 0; c < C; c++) y[r * C + c] = (x[r * C + c] - mu) * rs * (w ? w[c] : 1) + (b ? b[c] : 0);
  }
  return { y, mean, rstd };
}

function layerNormBwdRef(
  dy: Float32Array,
  x: Float32Array,
  R: number,
  C: number,
  w: Float32Array | null,
  mean: Float64Array,
  rstd: Float64Array,
) {
  const dx = new Float64Array(R * C),
    dw = new Float64Array(C),
    db = new Float64Array(C);
  for (let r = 0; r < R; r++) {
    let s1 = 0,
      s2 = 0;
    for (let c = 0; c < C; c++) {
      const g = dy[r * C + c] * (w ? w[c] : 1),
        xh = (x[r * C + c] - mean[r]) * rstd[r];
      s1 += g;
      s2 += g * xh;
      dw[c] += dy[r * C + c] * xh;
      db[c] += dy[r * C + c];
    }
    for (let c = 0; c < C; c++) {
      const g = dy[r * C + c] * (w ? w[c] : 1),
        xh = (x[r * C + c] - mean[r]) * rstd[r];
      dx[r * C + c] = rstd[r] * (g - s1 / C - xh * (s2 / C));
    }
  }
  return { dx, dw, db };
}

test('layerNorm forward and backward, with and without affine, sizes 1..127, non-contiguous', { skip }, () => {
  const r = rng(40);
  for (const R of SIZES)
    for (const C of SIZES)
      for (const affine of [true, false]) {
        const X = input([R, C], R % 2 ? 'transposed' : 'offset', r, (n) => fill(n, r, 3));
        const x = js.copy(X.data, X.layout, 'float32') as Float32Array;
        const w = affine ? fill(C, r, 2) : null,
          b = affine ? fill(C, r, 1) : null;
        const got = native!.layerNorm(X.data, X.layout, w, b, 1e-5)!;
        const want = layerNormRef(x, R, C, w, b, 1e-5);
        const what = `layerNorm ${R}x${C} affine=${affine}`;
        // C = 1: every output is exactly b (x - mean = 0); else float32 rounding of O(1) values
        assertClose(got.y, want.y, 1e-5, 2e-6, `${what} y`);
        assertClose(got.rstd, want.rstd, 1e-6, 0, `${what} rstd`);
        const dy = fill(R * C, r, 1);
        const bw = native!.layerNormBackward(
          dy,
          Layout.contiguous([R, C]),
          X.data,
          X.layout,
          got.mean,
          got.rstd,
          w,
          true,
          true,
        )!;
        const ref = layerNormBwdRef(dy, x, R, C, w, want.mean, want.rstd);
        // dx = rstd * (g - mean(g) - ...): its rounding scales with rstd * |dy w| (rstd = 316 when C = 1)
        let scale = 1;
        for (let i = 0; i < R * C; i++)
          scale = Math.max(scale, want.rstd[Math.floor(i / C)] * Math.abs(dy[i] * (w ? w[i % C] : 1)));
        assertClose(bw.dx, ref.dx, 1e-4, 1e-6 * scale, `${what} dx`);
        assertClose(bw.dw!, ref.dw, 1e-4, 1e-5 * R, `${what} dw`);
        assertClose(bw.db!, ref.db, 1e-5, 1e-6 * R, `${what} db`);
      }
});

test('layerNorm: a NaN poisons only its row; ±1e4 rows normalise', { skip }, () => {
  const x = Float32Array.from([1, 2, NaN, 4, 1e4, -1e4, 0, 1e4]);
  const got = native!.layerNorm(x, Layout.contiguous([2, 4]), null, null, 1e-5)!;
  if (!got.y.slice(0, 4).every(Number.isNaN)) throw new Error('NaN row must be NaN');
  const want = layerNormRef(x.slice(4), 1, 4, null, null, 1e-5);
  assertClose(got.y.slice(4), want.y, 1e-5, 1e-6, 'layerNorm ±1e4');
});

test('indexSelect and indexAdd (embedding lookup and its backward) vs JS, repeated indices', { skip }, () => {
  const r = rng(41);
  for (const V of SIZES)
    for (const kind of KINDS)
      for (const dim of [0, 1]) {
        const shape = dim === 0 ? [V, 5] : [3, V];
        const X = input(shape, kind, r, (n) => fill(n, r, 4, true));
        const idx = Int32Array.from({ length: 2 * V + 1 }, () => Math.floor(r() * V));
        const got = native!.indexSelect(X.data, X.layout, dim, idx)!;
        assertClose(got, js.indexSelect(X.data, X.layout, dim, idx), 0, 0, `indexSelect V=${V} ${kind} dim=${dim}`);
        const srcShape = shape.slice();
        srcShape[dim] = idx.length;
        const S = input(srcShape, kind === 'broadcast' ? 'contiguous' : kind, r, (n) => fill(n, r, 2));
        const d1 = fill(shape[0] * shape[1], r, 1),
          d2 = d1.slice();
        if (!native!.indexAdd(d1, shape, dim, idx, S.data, S.layout)) throw new Error('indexAdd declined');
        js.indexAdd(d2, shape, dim, idx, S.data, S.layout);
        assertClose(d1, d2, 1e-6, 1e-6, `indexAdd V=${V} ${kind} dim=${dim}`);
      }
});

// PyTorch's Adam/AdamW (torch/optim/adam.py, single-tensor path) in float64.
function adamRef(
  p: number[],
  g: number[],
  m: number[],
  v: number[],
  o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean; step: number },
) {
  const bc1 = 1 - o.beta1 ** o.step,
    bc2 = 1 - o.beta2 ** o.step;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i];
    if (o.decoupled) p[i] *= 1 - o.lr * o.weightDecay;
    else gi += o.weightDecay * p[i];
    m[i] = o.beta1 * m[i] + (1 - o.beta1) * gi;
    v[i] = o.beta2 * v[i] + (1 - o.beta2) * gi * gi;
    p[i] -= ((o.lr / bc1) * m[i]) / (Math.sqrt(v[i]) / Math.sqrt(bc2) + o.eps);
  }
}

test('adamStep (Adam and AdamW) over several steps vs the float64 update rule', { skip }, () => {
  const r = rng(42);
  for (const n of [...SIZES, 4099])
    for (const decoupled of [false, true]) {
      const p = fill(n, r, 1),
        m = new Float32Array(n),
        v = new Float32Array(n);
      const pr = [...p],
        mr = new Array(n).fill(0),
        vr = new Array(n).fill(0);
      for (let step = 1; step <= 5; step++) {
        const g = fill(n, r, 1);
        const o = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled, step };
        if (!native!.adamStep(p, g, m, v, o)) throw new Error('adamStep declined');
        adamRef(pr, [...g], mr, vr, o);
      }
      assertClose(p, pr, 1e-5, 1e-6, `adam n=${n} decoupled=${decoupled} p`);
      assertClose(v, vr, 1e-5, 1e-9, `adam n=${n} decoupled=${decoupled} v`);
    }
});

test('sgdStep with momentum, dampening, Nesterov and weight decay vs the float64 rule', { skip }, () => {
  const r = rng(43);
  for (const n of SIZES)
    for (const [mom, damp, nest] of [
      [0, 0, false],
      [0.9, 0, false],
      [0.9, 0.1, false],
      [0.9, 0, true],
    ] as const) {
      const p = fill(n, r, 1),
        buf = mom ? new Float32Array(n) : null;
      const pr = [...p],
        br = new Array(n).fill(0);
      for (let step = 0; step < 4; step++) {
        const g = fill(n, r, 1);
        native!.sgdStep(p, g, buf, {
          lr: 0.1,
          momentum: mom,
          dampening: damp,
          weightDecay: 1e-3,
          nesterov: nest,
          first: step === 0,
        });
        for (let i = 0; i < n; i++) {
          let gi = g[i] + 1e-3 * pr[i];
          if (mom) {
            br[i] = step === 0 ? gi : mom * br[i] + (1 - damp) * gi;
            gi = nest ? gi + mom * br[i] : br[i];
          }
          pr[i] -= 0.1 * gi;
        }
      }
      assertClose(p, pr, 1e-5, 1e-6, `sgd n=${n} momentum=${mom} dampening=${damp} nesterov=${nest}`);
    }
});

// Batch norm with batch statistics in double: x (N, C, S) -> y, mean, var; and its backward.
function batchNormRef(
  x: Float32Array,
  N: number,
  C: number,
  S: number,
  w: Float32Array | null,
  b: Float32Array | null,
  dy: Float32Array,
  eps: number,
) {
  const y = new Float64Array(x.length),
    dx = new Float64Array(x.length);
  const mean = new Float64Array(C),
    vr = new Float64Array(C),
    dw = new Float64Array(C),
    db = new Float64Array(C);
  const at = (n: number, c: number, s: number) => (n * C + c) * S + s,
    cnt = N * S;
  for (let c = 0; c < C; c++) {
    let m = 0,
      v = 0,
      sdy = 0,
      sdyx = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) m += x[at(n, c, s)];
    m /= cnt;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) v += (x[at(n, c, s)] - m) ** 2;
    v /= cnt;
    const is = 1 / Math.sqrt(v + eps),
      wc = w ? w[c] : 1;
    for (let n = 0; n < N; n++)
      for (let s = 0; s < S; s++) {
        const i = at(n, c, s);
        y[i] = (x[i] - m) * is * wc + (b ? b[c] : 0);
        sdy += dy[i];
        sdyx += dy[i] * (x[i] - m) * is;
      }
    for (let n = 0; n < N; n++)
      for (let s = 0; s < S; s++) {
        const i = at(n, c, s);
        dx[i] = wc * is * (dy[i] - sdy / cnt - ((x[i] - m) * is * sdyx) / cnt);
      }
    mean[c] = m;
    vr[c] = v;
    dw[c] = sdyx;
    db[c] = sdy;
  }
  return { y, mean, vr, dx, dw, db };
}

test('batchNorm (batch statistics) forward and backward vs a double reference: odd sizes, 2-D and 4-D, ' +
  'non-contiguous, large offsets', {
  skip,
}, () => {
  const r = rng(41);
  for (const shape of [
    [2, 3, 5, 7],
    [4, 17, 1, 33],
    [8, 5],
    [3, 1, 2, 2],
    [1, 33, 3, 1],
  ])
    for (const affine of [true, false]) {
      const [N, C] = shape,
        S = shape.slice(2).reduce((a, b) => a * b, 1);
      const X = input(shape, N % 2 ? 'transposed' : 'offset', r, (n) =>
        fill(n, r, 3).map((v) => v + (affine ? 1e3 : 0)),
      );
      const x = js.copy(X.data, X.layout, 'float32') as Float32Array;
      const w = affine ? fill(C, r, 2) : null,
        b = affine ? fill(C, r, 1) : null;
      const dy = fill(x.length, r, 1);
      const got = native!.batchNorm(X.data, X.layout, w, b, 1e-5)!;
      const want = batchNormRef(x, N, C, S, w, b, dy, 1e-5);
      const what = `batchNorm ${shape} affine=${affine}`;
      assertClose(got.mean, want.mean, 1e-6, 1e-6, `${what} mean`);
      assertClose(got.var, want.vr, 1e-4, 1e-6, `${what} var`);
      assertClose(got.y, want.y, 1e-4, 1e-4, `${what} y`);
      const bw = native!.batchNormBackward(
        dy,
        Layout.contiguous(shape),
        X.data,
        X.layout,
        got.mean,
        got.var,
        w,
        1e-5,
        true,
        true,
      )!;
      assertClose(bw.dx, want.dx, 1e-3, 1e-4, `${what} dx`);
      assertClose(bw.dw!, want.dw, 1e-3, 1e-4 * N * S, `${what} dw`);
      assertClose(bw.db!, want.db, 1e-5, 1e-6 * N * S, `${what} db`);
    }
});

test('batchNorm with a residual and relu: y = relu(bn(x) + r); the backward masks dy by y and returns dr', {
  skip,
}, () => {
  const r = rng(44);
  for (const shape of [
    [2, 3, 5, 7],
    [4, 17, 1, 33],
    [8, 5],
  ]) {
    const [N, C] = shape,
      S = shape.slice(2).reduce((a, b) => a * b, 1);
    const x = fill(N * C * S, r, 3),
      res = fill(x.length, r, 1),
      w = fill(C, r, 2),
      b = fill(C, r, 1),
      dy = fill(x.length, r, 1);
    const lx = Layout.contiguous(shape);
    const got = native!.batchNorm(x, lx, w, b, 1e-5, { data: res, layout: lx }, true)!;
    const plain = batchNormRef(x, N, C, S, w, b, dy, 1e-5);
    const want = plain.y.map((v, i) => Math.max(v + res[i], 0));
    assertClose(got.y, want, 1e-4, 1e-4, `bn+res+relu ${shape} y`);
    // the reference backward on the masked gradient
    const g = Float32Array.from(dy, (v, i) => (got.y[i] <= 0 ? 0 : v));
    const ref = batchNormRef(x, N, C, S, w, b, g, 1e-5);
    const bw = native!.batchNormBackward(dy, lx, x, lx, got.mean, got.var, w, 1e-5, true, true, got.y, true)!;
    assertClose(bw.dr!, g, 0, 0, `bn+res+relu ${shape} dr`);
    assertClose(bw.dx, ref.dx, 1e-3, 1e-4, `bn+res+relu ${shape} dx`);
    assertClose(bw.dw!, ref.dw, 1e-3, 1e-4 * N * S, `bn+res+relu ${shape} dw`);
    assertClose(bw.db!, ref.db, 1e-5, 1e-6 * N * S, `bn+res+relu ${shape} db`);
  }
});
