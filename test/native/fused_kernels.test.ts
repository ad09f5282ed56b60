// Every fused kernel of the seam on the native backend against its JS reference (src/backend/js):
// odd sizes, every layout kind the kernel takes (offset, transposed, strided, broadcast), with and
// without the optional inputs, forward and backward, and the in-place optimiser steps (JS on copies).
// Tolerances: float32 kernels with float32 accumulation in places against references that sum in
// double; rtol/atol as each assertion says, scaled by the magnitudes of the inputs where a result is
// a difference of large sums (layer/batch norm backward).
import { test } from 'node:test';
import type { Conv2dParams } from '../../src/backend/backend.js';
import { UnaryOp } from '../../src/backend/op_codes.js';
import { Layout } from '../../src/tensor/layout.js';
import { KINDS, SIZES, assertClose, fill, input, js, native, rng, skip } from './helpers.js';

test('linear: act(x @ w + bias), x of every layout kind, w a transposed view or contiguous, every activation', {
  skip,
}, () => {
  const r = rng(60);
  const acts = [
    null,
    UnaryOp.RELU,
    UnaryOp.GELU,
    UnaryOp.GELU_TANH,
    UnaryOp.SILU,
    UnaryOp.TANH,
    UnaryOp.SIGMOID,
    UnaryOp.ELU,
  ];
  for (const M of [1, 3, 17])
    for (const K of [1, 5, 33])
      for (const N of [1, 7, 19])
        for (const kind of KINDS) {
          const X = input([M, K], kind, r, (n) => fill(n, r, 1));
          const wt = N % 2 === 1 && K > 1; // w (K, N) as the transpose of a (N, K) weight, as nn.Linear has it
          const wbuf = fill(K * N, r, 1),
            lw = wt ? new Layout([K, N], [1, K]) : Layout.contiguous([K, N]);
          const bias = M % 2 ? fill(N, r, 1) : null;
          const act = acts[(M + K + N) % acts.length];
          const got =
            native!.linear(X.data, X.layout, wbuf, lw, bias, act) ?? js.linear(X.data, X.layout, wbuf, lw, bias, act);
          assertClose(
            got,
            js.linear(X.data, X.layout, wbuf, lw, bias, act),
            1e-5,
            2e-6 * K,
            `linear ${M}x${K}x${N} ${kind} act=${act}`,
          );
        }
});

test('conv2dFused: act(conv * scale + shift + residual), strides, padding, dilation, groups, non-contiguous x and ' +
  'residual', {
  skip,
}, () => {
  const r = rng(61);
  const cases: [number[], number[], Conv2dParams][] = [
    [[2, 3, 7, 9], [5, 3, 3, 3], { strideH: 2, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1, groups: 1 }],
    [[1, 4, 11, 6], [6, 2, 3, 2], { strideH: 1, strideW: 2, padH: 2, padW: 0, dilationH: 2, dilationW: 1, groups: 2 }],
    [[3, 1, 5, 5], [1, 1, 1, 1], { strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1 }],
  ];
  for (const [xs, ws, p] of cases)
    for (const kind of KINDS)
      for (const variant of [0, 1, 2, 3]) {
        const X = input(xs, kind, r, (n) => fill(n, r, 1));
        const w = fill(ws[0] * ws[1] * ws[2] * ws[3], r, 1),
          lw = Layout.contiguous(ws);
        const OC = ws[0];
        const OH = Math.floor((xs[2] + 2 * p.padH - p.dilationH * (ws[2] - 1) - 1) / p.strideH) + 1;
        const OW = Math.floor((xs[3] + 2 * p.padW - p.dilationW * (ws[3] - 1) - 1) / p.strideW) + 1;
        const scale = variant & 1 ? fill(OC, r, 2) : null,
          shift = variant & 1 ? fill(OC, r, 1) : null;
        const residual = variant & 2 ? input([xs[0], OC, OH, OW], KINDS[(variant + xs[1]) % KINDS.length], r) : null;
        const relu = variant !== 1;
        const got = native!.conv2dFused(X.data, X.layout, w, lw, p, scale, shift, residual, relu)!;
        const want = js.conv2dFused(X.data, X.layout, w, lw, p, scale, shift, residual, relu);
        assertClose(
          got,
          want,
          1e-5,
          1e-5 * ws[1] * ws[2] * ws[3],
          `conv2dFused x [${xs}] w [${ws}] ${kind} variant ${variant}`,
        );
      }
});

test('layerNorm and its backward: rows x features 1..127, every layout kind of x and dy, with and without affine', {
  skip,
}, () => {
  const r = rng(62);
  for (const R of SIZES)
    for (const C of SIZES)
      for (const affine of [true, false]) {
        const kind = KINDS[(R + C) % KINDS.length];
        const X = input([R, C], kind, r, (n) => fill(n, r, 3)),
          DY = input([R, C], KINDS[(R * 3 + C) % KINDS.length], r);
        const w = affine ? fill(C, r, 2) : null,
          b = affine ? fill(C, r, 1) : null;
        const what = `layerNorm ${R}x${C} ${kind} affine=${affine}`;
        const got = native!.layerNorm(X.data, X.layout, w, b, 1e-5)!,
          want = js.layerNorm(X.data, X.layout, w, b, 1e-5);
        assertClose(got.y, want.y, 1e-5, 1e-5, `${what} y`);
        assertClose(got.mean, want.mean, 1e-6, 1e-6, `${what} mean`);
        assertClose(got.rstd, want.rstd, 1e-6, 0, `${what} rstd`);
        const gb = native!.layerNormBackward(
          DY.data,
          DY.layout,
          X.data,
          X.layout,
          want.mean,
          want.rstd,
          w,
          affine,
          affine,
        )!;
        const wb = js.layerNormBackward(DY.data, DY.layout, X.data, X.layout, want.mean, want.rstd, w, affine, affine);
        // dx = rstd (g - mean(g) - ...): its rounding scales with rstd (316 when C = 1)
        let rs = 1;
        for (const v of want.rstd) rs = Math.max(rs, v);
        assertClose(gb.dx, wb.dx, 1e-4, 1e-5 * rs, `${what} dx`);
        if (affine) {
          assertClose(gb.dw!, wb.dw!, 1e-4, 1e-5 * R, `${what} dw`);
          assertClose(gb.db!, wb.db!, 1e-5, 1e-6 * R, `${what} db`);
        } else if (gb.dw !== null || wb.dw !== null || gb.db !== null || wb.db !== null)
          throw new Error(`${what}: dw/db not asked for`);
      }
});

test('batchNorm and its backward: (N, C, *) with residual and relu, every layout kind, offset statistics', {
  skip,
}, () => {
  const r = rng(63);
  for (const shape of [
    [2, 3],
    [3, 17, 5],
    [2, 5, 3, 7],
    [1, 4, 33],
  ])
    for (const kind of KINDS)
      for (const variant of [0, 1, 2, 3]) {
        const X = input(shape, kind, r, (n) => fill(n, r, 2).map((v) => v + 5));
        const C = shape[1],
          relu = (variant & 1) === 1;
        const residual = variant & 2 ? input(shape, KINDS[(variant + C) % KINDS.length], r) : null;
        const w = variant ? fill(C, r, 2) : null,
          b = variant ? fill(C, r, 1) : null;
        const what = `batchNorm [${shape}] ${kind} variant ${variant}`;
        const got = native!.batchNorm(X.data, X.layout, w, b, 1e-5, residual, relu)!;
        const want = js.batchNorm(X.data, X.layout, w, b, 1e-5, residual, relu);
        assertClose(got.y, want.y, 1e-4, 1e-4, `${what} y`);
        assertClose(got.mean, want.mean, 1e-6, 1e-6, `${what} mean`);
        assertClose(got.var, want.var, 1e-5, 1e-6, `${what} var`);
        const DY = input(shape, KINDS[(variant + shape.length) % KINDS.length], r);
        const yact = relu ? want.y : null,
          needR = residual !== null;
        const gb = native!.batchNormBackward(
          DY.data,
          DY.layout,
          X.data,
          X.layout,
          want.mean,
          want.var,
          w,
          1e-5,
          !!w,
          !!b,
          yact,
          needR,
        )!;
        const wb = js.batchNormBackward(
          DY.data,
          DY.layout,
          X.data,
          X.layout,
          want.mean,
          want.var,
          w,
          1e-5,
          !!w,
          !!b,
          yact,
          needR,
        );
        const n = X.layout.numel / C;
        assertClose(gb.dx, wb.dx, 1e-4, 1e-4, `${what} dx`);
        for (const k of ['dw', 'db', 'dr'] as const) {
          if ((gb[k] === null) !== (wb[k] === null)) throw new Error(`${what}: ${k} null on one side only`);
          if (gb[k]) assertClose(gb[k]!, wb[k]!, 1e-4, 1e-5 * n, `${what} ${k}`);
        }
      }
});

test('attention and its backward: (B,H,T,D) odd sizes across the 64-wide blocks, every layout kind, causal and full', {
  skip,
}, () => {
  const r = rng(64);
  for (const [B, H, T, D] of [
    [1, 1, 1, 1],
    [2, 3, 17, 8],
    [1, 2, 67, 5],
    [1, 1, 33, 64],
  ])
    for (const kind of KINDS)
      for (const causal of [true, false]) {
        const shape = [B, H, T, D];
        const mk = () => input(shape, kind, r, (n) => fill(n, r, 1));
        const q = mk(),
          k = mk(),
          v = mk(),
          dout = input(shape, KINDS[(T + D) % KINDS.length], r, (n) => fill(n, r, 1));
        const s = 1 / Math.sqrt(D),
          what = `attention [${shape}] ${kind} causal=${causal}`;
        const got = native!.attention(q.data, q.layout, k.data, k.layout, v.data, v.layout, s, causal)!;
        const want = js.attention(q.data, q.layout, k.data, k.layout, v.data, v.layout, s, causal);
        assertClose(got.out, want.out, 1e-4, 1e-5, `${what} out`);
        assertClose(got.lse, want.lse, 1e-5, 1e-5, `${what} lse`);
        const gb = native!.attentionBackward(
          dout.data,
          dout.layout,
          q.data,
          q.layout,
          k.data,
          k.layout,
          v.data,
          v.layout,
          want.out,
          want.lse,
          s,
          causal,
        )!;
        const wb = js.attentionBackward(
          dout.data,
          dout.layout,
          q.data,
          q.layout,
          k.data,
          k.layout,
          v.data,
          v.layout,
          want.out,
          want.lse,
          s,
          causal,
        );
        for (const key of ['dq', 'dk', 'dv'] as const) assertClose(gb[key], wb[key], 1e-3, 1e-4, `${what} ${key}`);
      }
});

test('attentionKv: q of every layout kind over a KV cache view, grouped heads, causal offset', { skip }, () => {
  const r = rng(65);
  for (const [B, H, KVH, T, S, D, cap] of [
    [1, 4, 4, 1, 19, 8, 32],
    [2, 6, 2, 3, 7, 5, 9],
    [1, 2, 1, 17, 67, 16, 70],
  ]) {
    for (const kind of KINDS)
      for (const causal of [true, false]) {
        const q = input([B, H, T, D], kind, r, (n) => fill(n, r, 1));
        const kbuf = fill(B * KVH * cap * D + 3, r, 1),
          vbuf = fill(B * KVH * cap * D + 3, r, 1);
        const lkv = new Layout([B, KVH, S, D], [KVH * cap * D, cap * D, D, 1], 3);
        const got = native!.attentionKv(q.data, q.layout, kbuf, lkv, vbuf, lkv, 0.4, causal)!;
        const want = js.attentionKv(q.data, q.layout, kbuf, lkv, vbuf, lkv, 0.4, causal);
        assertClose(
          got,
          want,
          1e-4,
          1e-5,
          `attentionKv B${B} H${H} KVH${KVH} T${T} S${S} D${D} ${kind} causal=${causal}`,
        );
      }
  }
});

test('sgdStep and adamStep in place: several steps on native and on JS copies, every option', { skip }, () => {
  const r = rng(66);
  for (const n of SIZES) {
    for (const [momentum, dampening, nesterov, wd] of [
      [0, 0, false, 0],
      [0.9, 0, true, 1e-3],
      [0.8, 0.3, false, 1e-2],
    ] as const) {
      const p = fill(n, r, 1),
        pj = p.slice();
      const buf = momentum ? new Float32Array(n) : null,
        bufj = buf ? buf.slice() : null;
      for (let step = 0; step < 3; step++) {
        const g = fill(n, r, 1),
          o = { lr: 0.1, momentum, dampening, weightDecay: wd, nesterov, first: step === 0 };
        if (!native!.sgdStep(p, g, buf, o)) throw new Error('sgdStep declined float32');
        js.sgdStep(pj, g, bufj, o);
      }
      assertClose(p, pj, 1e-5, 1e-6, `sgd n=${n} momentum=${momentum} nesterov=${nesterov} p`);
      if (buf) assertClose(buf, bufj!, 1e-5, 1e-6, `sgd n=${n} momentum=${momentum} buf`);
    }
    for (const decoupled of [false, true]) {
      const p = fill(n, r, 1),
        m = new Float32Array(n),
        v = new Float32Array(n);
      const pj = p.slice(),
        mj = m.slice(),
        vj = v.slice();
      for (let step = 1; step <= 3; step++) {
        const g = fill(n, r, 1),
          o = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, decoupled, step };
        if (!native!.adamStep(p, g, m, v, o)) throw new Error('adamStep declined float32');
        js.adamStep(pj, g, mj, vj, o);
      }
      assertClose(p, pj, 1e-5, 1e-6, `adam n=${n} decoupled=${decoupled} p`);
      assertClose(m, mj, 1e-5, 1e-7, `adam n=${n} decoupled=${decoupled} m`);
      assertClose(v, vj, 1e-5, 1e-9, `adam n=${n} decoupled=${decoupled} v`);
    }
  }
});
