// Native conv2d (forward, backward input, backward weight) and pooling vs the JS backend: stride,
// padding, dilation, groups, 1x1 fast path, non-contiguous inputs, ±1e4/0/NaN, odd sizes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Conv2dParams, Pool2dParams } from '../../src/backend/backend.js';
import { Layout } from '../../src/tensor/layout.js';
import { abs, assertClose, assertWithin, fill, input, js, native, paths, rng, skip, skipOnWasm } from './helpers.js';

interface Case {
  N: number;
  C: number;
  H: number;
  W: number;
  OC: number;
  K: [number, number];
  p: Conv2dParams;
}
const P = (s: number, pad: number, d: number, g: number, s2 = s, pad2 = pad): Conv2dParams => ({
  strideH: s,
  strideW: s2,
  padH: pad,
  padW: pad2,
  dilationH: d,
  dilationW: d,
  groups: g,
});

const CASES: Case[] = [
  { N: 1, C: 1, H: 1, W: 1, OC: 1, K: [1, 1], p: P(1, 0, 1, 1) },
  { N: 2, C: 3, H: 17, W: 13, OC: 5, K: [3, 3], p: P(1, 1, 1, 1) },
  { N: 3, C: 4, H: 33, W: 17, OC: 6, K: [3, 5], p: P(2, 2, 1, 2, 1, 1) },
  { N: 1, C: 6, H: 17, W: 17, OC: 6, K: [3, 3], p: P(1, 2, 2, 3) },
  { N: 2, C: 8, H: 9, W: 11, OC: 4, K: [1, 1], p: P(1, 0, 1, 1) }, // pointwise: no im2col
  { N: 2, C: 8, H: 9, W: 11, OC: 8, K: [1, 1], p: P(2, 0, 1, 4) }, // strided 1x1 goes through im2col
  { N: 1, C: 2, H: 127, W: 3, OC: 3, K: [7, 3], p: P(3, 3, 1, 1, 1, 1) },
  { N: 4, C: 16, H: 14, W: 14, OC: 32, K: [3, 3], p: P(1, 1, 1, 1) },
  // the in-place (no im2col) path: phase planes for strides, ragged row/column panels, row groups
  { N: 3, C: 5, H: 23, W: 19, OC: 70, K: [3, 3], p: P(2, 1, 2, 1) },
  { N: 1, C: 64, H: 7, W: 7, OC: 130, K: [3, 3], p: P(1, 1, 1, 1) },
  { N: 2, C: 3, H: 31, W: 29, OC: 17, K: [7, 7], p: P(2, 3, 1, 1) },
  { N: 1, C: 8, H: 10, W: 10, OC: 16, K: [2, 2], p: P(3, 0, 1, 2) },
  { N: 2, C: 6, H: 12, W: 9, OC: 48, K: [3, 1], p: P(1, 1, 1, 3, 2, 0) },
  { N: 2, C: 16, H: 5, W: 4, OC: 256, K: [3, 3], p: P(1, 1, 1, 1) }, // padded gradient row stride
];

function checkConv(c: Case, specials: boolean, r: () => number): void {
  const what = `conv N${c.N} C${c.C} ${c.H}x${c.W} OC${c.OC} k${c.K} ${JSON.stringify(c.p)} specials=${specials}`;
  const X = input([c.N, c.C, c.H, c.W], specials ? 'transposed' : 'contiguous', r, (n) => fill(n, r, 1, specials));
  const w = fill(c.OC * (c.C / c.p.groups) * c.K[0] * c.K[1], r, 1);
  const lw = Layout.contiguous([c.OC, c.C / c.p.groups, c.K[0], c.K[1]]);
  const y = native!.conv2d(X.data, X.layout, w, lw, c.p)!;
  const want = js.conv2d(X.data, X.layout, w, lw, c.p);
  const bound = js.conv2d(abs(X.data), X.layout, abs(w), lw, c.p).map((v) => 1e-5 * v + 1e-30);
  assertWithin(y, want, bound, `${what} forward`);
  const OH = Math.floor((c.H + 2 * c.p.padH - c.p.dilationH * (c.K[0] - 1) - 1) / c.p.strideH) + 1;
  const OW = Math.floor((c.W + 2 * c.p.padW - c.p.dilationW * (c.K[1] - 1) - 1) / c.p.strideW) + 1;
  const ly = Layout.contiguous([c.N, c.OC, OH, OW]);
  const dy = fill(ly.numel, r, 1);
  const xShape = [c.N, c.C, c.H, c.W];
  const dx = native!.conv2dBackwardInput(dy, ly, w, lw, xShape, c.p)!;
  const dxWant = js.conv2dBackwardInput(dy, ly, w, lw, xShape, c.p);
  const dxBound = js.conv2dBackwardInput(abs(dy), ly, abs(w), lw, xShape, c.p).map((v) => 1e-5 * v + 1e-30);
  assertWithin(dx, dxWant, dxBound, `${what} backward input`);
  const dw = native!.conv2dBackwardWeight(dy, ly, X.data, X.layout, lw.shape, c.p)!;
  const dwWant = js.conv2dBackwardWeight(dy, ly, X.data, X.layout, lw.shape, c.p);
  const dwBound = js
    .conv2dBackwardWeight(abs(dy), ly, abs(X.data), X.layout, lw.shape, c.p)
    .map((v) => 1e-5 * v + 1e-30);
  assertWithin(dw, dwWant, dwBound, `${what} backward weight`);
}

test('conv2d forward and both backward passes: stride, padding, dilation, groups, 1x1, on every ISA path', {
  skip,
}, () => {
  const start = native!.addon.cpuInfo().isa as 'scalar' | 'avx2' | 'avx512';
  try {
    for (const isa of paths(['scalar', 'avx2', 'avx512'] as const)) {
      // avx2/avx512: conv_direct.c; scalar: im2col
      native!.addon.setIsa(isa);
      const r = rng(30);
      for (const c of CASES) checkConv(c, false, r);
    }
  } finally {
    native!.addon.setIsa(start);
  }
});

test('conv2d: non-contiguous input with ±1e4/0/NaN', { skip }, () => {
  const r = rng(31);
  for (const c of CASES.slice(1, 4)) checkConv(c, true, r);
});

const PP = (k: number, s: number, pad: number, d: number, ceil: boolean): Pool2dParams => ({
  kH: k,
  kW: k,
  strideH: s,
  strideW: s,
  padH: pad,
  padW: pad,
  dilationH: d,
  dilationW: d,
  ceilMode: ceil,
});

const POOLS: Pool2dParams[] = [
  PP(1, 1, 0, 1, false),
  PP(2, 2, 0, 1, false),
  PP(3, 2, 1, 1, false),
  PP(3, 2, 1, 1, true),
  PP(3, 1, 1, 2, false),
  PP(2, 3, 1, 1, true),
  { ...PP(3, 2, 1, 1, false), kW: 2, padW: 0, strideW: 1 },
];

test('maxPool2d values without indices on every ISA path: wide rows (the vector loops), every window inside or ' +
  'clipped, NaN wins', {
  skip,
}, () => {
  const start = native!.addon.cpuInfo().isa as 'scalar' | 'avx2' | 'avx512';
  try {
    for (const isa of paths(['scalar', 'avx2', 'avx512'] as const)) {
      native!.addon.setIsa(isa);
      const r = rng(33);
      for (const p of POOLS)
        for (const [H, W] of [
          [2, 1],
          [9, 75],
          [6, 112],
          [5, 113],
        ])
          for (const kind of ['contiguous', 'transposed'] as const) {
            const X = input([1, 2, H, W], kind, r, (n) => fill(n, r, 4, true));
            const [MH, MW] = outHW(H, W, p, p.dilationH);
            if (MH < 1 || MW < 1) continue;
            assertClose(
              native!.maxPool2d(X.data, X.layout, p, false)!.values,
              js.maxPool2d(X.data, X.layout, p).values,
              0,
              0,
              `${isa} pool ${JSON.stringify(p)} ${H}x${W} ${kind} max values without indices`,
            );
          }
    }
  } finally {
    native!.addon.setIsa(start);
  }
});

test('maxPool2d and its backward, avgPool2d (both countIncludePad) and its backward, sizes 1..33, ±1e4/0/NaN', {
  skip,
}, () => {
  const r = rng(32);
  for (const p of POOLS)
    for (const [H, W] of [
      [1, 1],
      [3, 3],
      [17, 5],
      [33, 17],
    ])
      for (const kind of ['contiguous', 'offset', 'transposed'] as const) {
        const X = input([2, 3, H, W], kind, r, (n) => fill(n, r, 4, true));
        const what = `pool ${JSON.stringify(p)} ${H}x${W} ${kind}`;
        const [MH, MW] = outHW(H, W, p, p.dilationH);
        if (MH < 1 || MW < 1) continue; // no output: the op layer rejects these shapes before any kernel
        const want = js.maxPool2d(X.data, X.layout, p);
        const got = native!.maxPool2d(X.data, X.layout, p)!;
        assertClose(got.values, want.values, 0, 0, `${what} max values`);
        assertClose(got.indices!, want.indices!, 0, 0, `${what} max indices`);
        const only = native!.maxPool2d(X.data, X.layout, p, false)!;
        assertClose(only.values, want.values, 0, 0, `${what} max values without indices`);
        const dym = fill(want.values.length, r, 1),
          ldym = Layout.contiguous([2, 3, MH, MW]);
        assertClose(
          native!.maxPool2dBackward(dym, ldym, want.indices!, [2, 3, H, W])!,
          js.maxPool2dBackward(dym, ldym, want.indices!, [2, 3, H, W]),
          1e-6,
          1e-6,
          `${what} max backward`,
        );
        for (const cip of [false, true]) {
          const a = native!.avgPool2d(X.data, X.layout, p, cip)!;
          const aw = js.avgPool2d(X.data, X.layout, p, cip);
          assertClose(a, aw, 1e-6, 1e-6, `${what} avg cip=${cip}`);
          const [OH, OW] = outHW(H, W, p, 1);
          const dy = fill(aw.length, r, 1),
            ldy = Layout.contiguous([2, 3, OH, OW]);
          assertClose(
            native!.avgPool2dBackward(dy, ldy, [2, 3, H, W], p, cip)!,
            js.avgPool2dBackward(dy, ldy, [2, 3, H, W], p, cip),
            1e-6,
            1e-6,
            `${what} avg backward cip=${cip}`,
          );
        }
      }
});

// PyTorch's pooling output size (avg pooling ignores dilation).
function outHW(H: number, W: number, p: Pool2dParams, dil: number): [number, number] {
  const f = (n: number, k: number, s: number, pad: number, ceil: boolean) => {
    const num = n + 2 * pad - dil * (k - 1) - 1;
    let o = (ceil ? Math.ceil(num / s) : Math.floor(num / s)) + 1;
    if (ceil && (o - 1) * s >= n + pad) o--;
    return o;
  };
  return [f(H, p.kH, p.strideH, p.padH, p.ceilMode), f(W, p.kW, p.strideW, p.padW, p.ceilMode)];
}

test('conv2dFused: the epilogue (scale, shift, residual, relu) equals conv then affine, on every ISA path', {
  skip,
}, () => {
  const start = native!.addon.cpuInfo().isa as 'scalar' | 'avx2' | 'avx512';
  const r = rng(33);
  try {
    for (const isa of paths(['scalar', 'avx2', 'avx512'] as const)) {
      native!.addon.setIsa(isa); // avx512: in-place taps; below: im2col and a post pass
      for (const c of CASES) {
        const x = fill(c.N * c.C * c.H * c.W, r, 1),
          lx = Layout.contiguous([c.N, c.C, c.H, c.W]);
        const lw = Layout.contiguous([c.OC, c.C / c.p.groups, c.K[0], c.K[1]]),
          w = fill(lw.numel, r, 1);
        const plain = js.conv2d(x, lx, w, lw, c.p),
          bound = js.conv2d(abs(x), lx, abs(w), lw, c.p);
        const scale = fill(c.OC, r, 2),
          shift = fill(c.OC, r, 2),
          res = fill(plain.length, r, 2);
        const L = plain.length / (c.N * c.OC);
        const OH = Math.floor((c.H + 2 * c.p.padH - c.p.dilationH * (c.K[0] - 1) - 1) / c.p.strideH) + 1,
          OW = L / OH;
        for (const [withScale, withShift, withRes, relu] of [
          [true, true, true, true],
          [false, true, false, true],
          [true, false, false, false],
          [false, false, true, false],
        ]) {
          const got = native!.conv2dFused(
            x,
            lx,
            w,
            lw,
            c.p,
            withScale ? scale : null,
            withShift ? shift : null,
            withRes ? { data: res, layout: Layout.contiguous([c.N, c.OC, OH, OW]) } : null,
            relu,
          );
          const want = new Float32Array(plain.length),
            tol = new Float32Array(plain.length);
          for (let i = 0; i < plain.length; i++) {
            const oc = Math.floor(i / L) % c.OC;
            const v = plain[i] * (withScale ? scale[oc] : 1) + (withShift ? shift[oc] : 0) + (withRes ? res[i] : 0);
            want[i] = relu ? Math.max(v, 0) : v;
            tol[i] = 1e-5 * bound[i] * (withScale ? Math.abs(scale[oc]) : 1) + 1e-6;
          }
          assertWithin(
            got!,
            want,
            tol,
            `${isa} fused conv N${c.N} C${c.C} OC${c.OC} ${JSON.stringify(c.p)} s${+withScale} b${+withShift} ` +
              `r${+withRes} relu${+relu}`,
          );
        }
      }
    }
  } finally {
    native!.addon.setIsa(start);
  }
});

// Winograd F(4x4,3x3) (conv_winograd.c) for 3x3 stride-1 convolutions, forced on wherever it applies:
// wide maps (runs of tiles on the phase planes) and narrow ones (gathered patches), many tile panels
// (each task its own input transform) and few (shared input transform, weights per task), ragged
// channel panels, every padding, the backward-input pass (the same path on flipped weights) and the
// weight gradient (the adjoint transforms, its product reduced over tiles). Its
// rounding error is relative to the largest values of each output's 6x6 patch rather than of its own
// 3x3 window, so the bound is normwise per output plane: 1e-5 * max over the plane of (|x| * |w|).
const WINO: [number, number, number, number, number, number][] = [
  // N, C, H, W, OC, pad
  [1, 3, 5, 5, 2, 1],
  [2, 8, 7, 9, 5, 1],
  [1, 16, 13, 11, 17, 0],
  [2, 32, 14, 14, 33, 2],
  [1, 64, 56, 56, 64, 1],
  [3, 5, 4, 4, 7, 1],
  [1, 20, 1, 1, 3, 1],
  [8, 64, 7, 7, 40, 1],
  [1, 130, 9, 10, 15, 1],
  [2, 7, 30, 31, 9, 1],
  [4, 16, 14, 14, 32, 1],
  [9, 24, 28, 28, 20, 1],
  [1, 12, 3, 70, 6, 1],
  [2, 120, 6, 6, 130, 1], // dU per channel panel
];

function planeBound(b: ArrayLike<number>, planes: number): Float32Array {
  const L = b.length / planes,
    out = new Float32Array(b.length);
  for (let q = 0; q < planes; q++) {
    let m = 0;
    for (let i = 0; i < L; i++) m = Math.max(m, b[q * L + i]);
    out.fill(1e-5 * m + 1e-30, q * L, (q + 1) * L);
  }
  return out;
}

test('conv2d 3x3 stride 1 by Winograd F(4x4,3x3): forward, epilogue and both backward passes vs the JS backend, on ' +
  'both SIMD paths', {
  skip,
}, () => {
  const start = native!.addon.cpuInfo().isa as 'scalar' | 'avx2' | 'avx512';
  const r = rng(34);
  try {
    native!.addon.setWinograd('always');
    for (const isa of paths(['avx2', 'avx512'] as const)) {
      native!.addon.setIsa(isa);
      for (const [N, C, H, W, OC, pad] of WINO) {
        const what = `${isa} winograd N${N} C${C} ${H}x${W} OC${OC} pad${pad}`;
        const p = P(1, pad, 1, 1),
          OH = H + 2 * pad - 2,
          OW = W + 2 * pad - 2;
        const x = fill(N * C * H * W, r, 1),
          lx = Layout.contiguous([N, C, H, W]);
        const lw = Layout.contiguous([OC, C, 3, 3]),
          w = fill(lw.numel, r, 1);
        const want = js.conv2d(x, lx, w, lw, p),
          bound = planeBound(js.conv2d(abs(x), lx, abs(w), lw, p), N * OC);
        assertWithin(native!.conv2d(x, lx, w, lw, p)!, want, bound, `${what} forward`);
        const scale = fill(OC, r, 2),
          shift = fill(OC, r, 2),
          res = fill(want.length, r, 2),
          L = OH * OW;
        const fused = native!.conv2dFused(
          x,
          lx,
          w,
          lw,
          p,
          scale,
          shift,
          { data: res, layout: Layout.contiguous([N, OC, OH, OW]) },
          true,
        )!;
        const fw = Float32Array.from(want, (v, i) =>
          Math.max(v * scale[Math.floor(i / L) % OC] + shift[Math.floor(i / L) % OC] + res[i], 0),
        );
        assertWithin(
          fused,
          fw,
          bound.map((b, i) => b * Math.abs(scale[Math.floor(i / L) % OC]) + 1e-6),
          `${what} fused`,
        );
        const ly = Layout.contiguous([N, OC, OH, OW]),
          dy = fill(ly.numel, r, 1);
        const dxWant = js.conv2dBackwardInput(dy, ly, w, lw, [N, C, H, W], p);
        const dxBound = planeBound(js.conv2dBackwardInput(abs(dy), ly, abs(w), lw, [N, C, H, W], p), N * C);
        assertWithin(
          native!.conv2dBackwardInput(dy, ly, w, lw, [N, C, H, W], p)!,
          dxWant,
          dxBound,
          `${what} backward input`,
        );
        const dwWant = js.conv2dBackwardWeight(dy, ly, x, lx, lw.shape, p);
        const dwBound = planeBound(js.conv2dBackwardWeight(abs(dy), ly, abs(x), lx, lw.shape, p), OC * C);
        assertWithin(
          native!.conv2dBackwardWeight(dy, ly, x, lx, lw.shape, p)!,
          dwWant,
          dwBound,
          `${what} backward weight`,
        );
      }
    }
  } finally {
    native!.addon.setWinograd('auto');
    native!.addon.setIsa(start);
  }
});

test('conv2d by Winograd: an Inf or NaN in the input, the weights or the output gradient gives the direct result ' +
  '(the path declines)', {
  skip,
}, () => {
  const r = rng(35);
  try {
    native!.addon.setWinograd('always');
    const N = 2,
      C = 16,
      H = 12,
      W = 12,
      OC = 8,
      p = P(1, 1, 1, 1),
      lx = Layout.contiguous([N, C, H, W]),
      lw = Layout.contiguous([OC, C, 3, 3]);
    for (const where of ['input', 'weights'] as const)
      for (const special of [Infinity, NaN]) {
        const x = fill(N * C * H * W, r, 1),
          w = fill(lw.numel, r, 1);
        if (where === 'input') x[5 * W + 5] = special;
        else w[7] = special;
        const want = js.conv2d(x, lx, w, lw, p),
          bound = js.conv2d(abs(x), lx, abs(w), lw, p).map((v) => 1e-5 * v + 1e-30);
        const got = native!.conv2d(x, lx, w, lw, p)!;
        // an Inf in x at (5, 5) of channel 0 reaches only the outputs whose window holds it: the rest stay finite
        assertWithin(got, want, bound, `winograd with ${special} in the ${where}`);
        const ly = Layout.contiguous([N, OC, H, W]),
          dy = fill(ly.numel, r, 1);
        dy[3 * W + 4] = special;
        for (const [xx, lab] of [
          [x, 'and the output gradient'],
          [fill(x.length, r, 1), 'only in the output gradient'],
        ] as const) {
          const dw = native!.conv2dBackwardWeight(dy, ly, xx, lx, lw.shape, p)!;
          const dwWant = js.conv2dBackwardWeight(dy, ly, xx, lx, lw.shape, p);
          assertWithin(
            dw,
            dwWant,
            js.conv2dBackwardWeight(abs(dy), ly, abs(xx), lx, lw.shape, p).map((v) => 1e-5 * v + 1e-30),
            `winograd weight gradient with ${special} in the ${where} ${lab}`,
          );
        }
      }
  } finally {
    native!.addon.setWinograd('auto');
  }
});

test('conv2dFused with a weightsStamp: the same stamp is trusted without comparing, a new stamp or none is checked', {
  skip: skipOnWasm('the transformed-weights cache serves the x86 SIMD paths only'),
}, () => {
  const r = rng(37);
  try {
    native!.addon.setWinograd('always');
    // the panel path, the few-tile path and F(2x2,3x3)'s tiny maps each keep their own transform
    for (const [N, C, H, OC] of [
      [2, 16, 12, 20],
      [1, 20, 14, 50],
      [1, 24, 7, 56],
      [1, 20, 14, 100],
      [1, 24, 7, 100],
    ]) {
      const p = P(1, 1, 1, 1),
        lx = Layout.contiguous([N, C, H, H]),
        lw = Layout.contiguous([OC, C, 3, 3]);
      const x = fill(lx.numel, r, 1),
        w = fill(lw.numel, r, 1);
      const run = (stamp: number) =>
        native!.conv2dFused(x, lx, w, lw, p, null, null, null, false, true, stamp) as Float32Array;
      const close = (what: string, got: ArrayLike<number>, wv: Float32Array) =>
        assertWithin(
          got,
          js.conv2d(x, lx, wv, lw, p),
          planeBound(js.conv2d(abs(x), lx, abs(wv), lw, p), N * OC),
          `N${N} C${C} ${H}x${H} OC${OC}: ${what}`,
        );
      const s1 = native!.nextStamp(),
        s2 = native!.nextStamp();
      assert.ok(s2 > s1 && s1 >= 1, `stamps ${s1}, ${s2}`);
      close('first call', run(s1), w);
      const before = Float32Array.from(w);
      close('the same stamp, unchanged', run(s1), w);
      w[0] += 1;
      close('a new stamp after a change', run(s2), w);
      const changed = Float32Array.from(w);
      w[1] -= 1;
      // the contract: the caller vouched with s2 that w did not change, so the kept transform is used
      close('the same stamp after a change (the caller broke its word)', run(s2), changed);
      close('no stamp: compared, and transformed again', run(0), w);
      w.set(before);
      close('an earlier stamp comes back: compared, not trusted', run(s1), w);
    }
  } finally {
    native!.addon.setWinograd('auto');
  }
});

test('conv2dFused few-tile and F(2x2,3x3) paths: each call transforms its own input, every channel and tile of it, ' +
  'on both SIMD paths', {
  skip,
}, () => {
  const r = rng(38);
  const start = native!.addon.cpuInfo().isa as 'scalar' | 'avx2' | 'avx512';
  try {
    native!.addon.setWinograd('always');
    for (const isa of paths(['avx2', 'avx512'] as const)) {
      native!.addon.setIsa(isa);
      // up to 64 tiles (49 at 28x28, 40 over ten images) gathered straight from x in blocks of 16
      // channels (C past a block, and not a multiple of 16); images past the first; a fresh input each
      // call, so that nothing stale passes
      for (const [N, C, H, OC, pad] of [
        [1, 20, 14, 50, 1],
        [2, 40, 7, 20, 1],
        [1, 33, 7, 56, 1],
        [1, 17, 5, 24, 0],
        [1, 48, 9, 16, 2],
        [1, 24, 28, 128, 1],
        [10, 8, 8, 20, 1],
      ]) {
        const p = P(1, pad, 1, 1),
          OH = H + 2 * pad - 2,
          lx = Layout.contiguous([N, C, H, H]),
          lw = Layout.contiguous([OC, C, 3, 3]);
        const w = fill(lw.numel, r, 1),
          stamp = native!.nextStamp();
        for (let call = 0; call < 3; call++) {
          const x = fill(lx.numel, r, 1);
          const got = native!.conv2dFused(x, lx, w, lw, p, null, null, null, false, true, stamp)!;
          assertWithin(
            got,
            js.conv2d(x, lx, w, lw, p),
            planeBound(js.conv2d(abs(x), lx, abs(w), lw, p), N * OC),
            `${isa} N${N} C${C} ${H}x${H} OC${OC} pad${pad} (${OH}x${OH} out) call ${call}`,
          );
        }
      }
    }
  } finally {
    native!.addon.setWinograd('auto');
    native!.addon.setIsa(start);
  }
});

test('conv2dFused with reuseWeights: the kept transformed weights follow every change to the weights (same buffer, ' +
  'new values; new buffers)', {
  skip,
}, () => {
  const r = rng(36);
  try {
    native!.addon.setWinograd('always');
    // many tile panels (shared U), few (V shared), and few tiles (at most 16: channels across the microkernel)
    for (const [N, C, H, OC] of [
      [1, 32, 28, 40],
      [3, 16, 10, 20],
      [2, 16, 7, 20],
      [1, 20, 14, 50],
      [1, 7, 5, 100],
      [1, 20, 14, 100],
      [1, 24, 7, 100],
    ]) {
      const p = P(1, 1, 1, 1),
        lx = Layout.contiguous([N, C, H, H]),
        lw = Layout.contiguous([OC, C, 3, 3]);
      const x = fill(lx.numel, r, 1),
        w = fill(lw.numel, r, 1);
      const scale = fill(OC, r, 2),
        shift = fill(OC, r, 2),
        res = fill(N * OC * H * H, r, 2),
        L = H * H;
      const check = (what: string) => {
        const got = native!.conv2dFused(x, lx, w, lw, p, null, null, null, false, true)!;
        const bound = planeBound(js.conv2d(abs(x), lx, abs(w), lw, p), N * OC),
          want = js.conv2d(x, lx, w, lw, p);
        assertWithin(got, want, bound, `reuseWeights N${N} C${C} ${H}x${H} OC${OC}: ${what}`);
        const fused = native!.conv2dFused(
          x,
          lx,
          w,
          lw,
          p,
          scale,
          shift,
          { data: res, layout: Layout.contiguous([N, OC, H, H]) },
          true,
          true,
        )!;
        const oc = (i: number) => Math.floor(i / L) % OC;
        assertWithin(
          fused,
          Float32Array.from(want, (v, i) => Math.max(v * scale[oc(i)] + shift[oc(i)] + res[i], 0)),
          bound.map((b, i) => b * Math.abs(scale[oc(i)]) + 1e-6),
          `reuseWeights N${N} C${C} ${H}x${H} OC${OC} with the epilogue: ${what}`,
        );
      };
      check('first call');
      check('the same weights again');
      w[w.length - 1] += 0.5; // the last weight only: a cache keyed on the buffer alone would miss it
      check('one weight changed in place');
      w.set(fill(w.length, r, 1));
      check('all weights rewritten in place');
      const w2 = fill(lw.numel, r, 1);
      const got2 = native!.conv2dFused(x, lx, w2, lw, p, null, null, null, false, true)!;
      assertWithin(
        got2,
        js.conv2d(x, lx, w2, lw, p),
        planeBound(js.conv2d(abs(x), lx, abs(w2), lw, p), N * OC),
        'another weight buffer',
      );
      check('the first buffer after another');
      x[3] = Infinity; // the Winograd paths decline: the Inf reaches only the outputs whose window holds it
      const got = native!.conv2dFused(x, lx, w, lw, p, null, null, null, false, true)!;
      assertWithin(
        got,
        js.conv2d(x, lx, w, lw, p),
        js.conv2d(abs(x), lx, abs(w), lw, p).map((v) => 1e-5 * v + 1e-30),
        `reuseWeights N${N} C${C} ${H}x${H} OC${OC} with an Inf`,
      );
    }
  } finally {
    native!.addon.setWinograd('auto');
  }
});
