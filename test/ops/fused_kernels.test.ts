// The fused kernels of the seam on every backend (JS references, and native kernels where built)
// against float64 composite formulas written with differentiable ops: linear, conv2dFused,
// layerNorm, batchNorm (+ residual, relu), attention, attentionKv and their backward kernels, and
// the in-place optimiser steps. Inputs are odd sizes on non-contiguous and broadcast layouts. The
// gradient formulas are the ones the ops differentiate for double backward (src/ops/fused.ts), so
// this also checks that the kernels and those formulas agree. float32 kernels vs float64: rtol 1e-4.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as nb from '../../src/index.js';
import type { Conv2dParams } from '../../src/backend/backend.js';
import { jsBackend } from '../../src/backend/js/index.js';
import { UnaryOp } from '../../src/backend/op_codes.js';
import { getBackend } from '../../src/backend/registry.js';
import { attentionGrads, batchNormFused, batchNormGrads, layerNormGrads } from '../../src/ops/fused.js';
import { conv2d } from '../../src/ops/conv.js';
import { batchNormAct } from '../../src/ops/nn_ops.js';
import { wrap } from '../../src/ops/util.js';
import { adamUpdate } from '../../src/optim/adam.js';
import { sgdUpdate } from '../../src/optim/sgd.js';
import type { TypedArray } from '../../src/tensor/dtype.js';
import { Layout } from '../../src/tensor/layout.js';
import { backends, withBackend } from '../helpers/backends.js';

type Buf = { data: Float32Array; layout: Layout };

/** Mulberry32, so that failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const fill = (n: number, r: () => number, scale = 1) => Float32Array.from({ length: n }, () => (2 * r() - 1) * scale);

/** shape as a view of kind: contiguous, offset 3, transposed last two dims, every other element, or dim 0 broadcast. */
function view(shape: number[], kind: number, r: () => number, scale = 1): Buf {
  const n = shape.reduce((a, b) => a * b, 1),
    nd = shape.length;
  const strides = (sh: number[]) => {
    const s = Array(sh.length).fill(1);
    for (let i = sh.length - 2; i >= 0; i--) s[i] = s[i + 1] * sh[i + 1];
    return s;
  };
  switch (kind % 5) {
    case 0:
      return { data: fill(n, r, scale), layout: Layout.contiguous(shape) };
    case 1:
      return { data: fill(n + 3, r, scale), layout: Layout.contiguous(shape, 3) };
    case 2: {
      if (nd < 2) return { data: fill(n, r, scale), layout: Layout.contiguous(shape) };
      const sw = [...shape.slice(0, nd - 2), shape[nd - 1], shape[nd - 2]],
        st = strides(sw);
      return { data: fill(n, r, scale), layout: new Layout(shape, [...st.slice(0, nd - 2), st[nd - 1], st[nd - 2]]) };
    }
    case 3:
      return {
        data: fill(2 * n + 1, r, scale),
        layout: new Layout(
          shape,
          strides(shape).map((s) => 2 * s),
          1,
        ),
      };
    default: {
      const st = strides(shape);
      return { data: fill(n / shape[0], r, scale), layout: new Layout(shape, [0, ...st.slice(1)]) };
    }
  }
}

/** The float64 tensor of a buffer's view. */
const f64 = (b: { data: TypedArray; layout: Layout }) =>
  wrap(jsBackend.copy(b.data, b.layout, 'float64'), b.layout.shape, 'float64');
const vec64 = (a: TypedArray | null) => (a ? wrap(Float64Array.from(a), [a.length], 'float64') : null);

function close(
  got: ArrayLike<number>,
  want: nb.Tensor | ArrayLike<number>,
  what: string,
  rtol = 1e-4,
  atol = 1e-5,
): void {
  const w = want instanceof nb.Tensor ? want.contiguous().toTypedArray() : want;
  assert.equal(got.length, w.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i],
      e = w[i];
    if (g === e || (g !== g && e !== e)) continue;
    if (!(Math.abs(g - e) <= atol + rtol * Math.abs(e)))
      assert.fail(`${what}: element ${i}: ${g} vs ${e} (rtol ${rtol}, atol ${atol})`);
  }
}

const ACTS: [UnaryOp | null, (t: nb.Tensor) => nb.Tensor][] = [
  [null, (t) => t],
  [UnaryOp.RELU, (t) => t.relu()],
  [UnaryOp.GELU, (t) => t.gelu()],
  [UnaryOp.GELU_TANH, (t) => t.gelu('tanh')],
  [UnaryOp.SILU, (t) => t.silu()],
  [UnaryOp.TANH, (t) => t.tanh()],
  [UnaryOp.SIGMOID, (t) => t.sigmoid()],
];

for (const name of backends()) {
  test(`[${name}] linear: act(x @ w + bias) vs float64, views of every kind, every activation`, () =>
    withBackend(name, () => {
      const r = rng(1),
        be = getBackend();
      for (const [M, K, N] of [
        [1, 1, 1],
        [3, 17, 5],
        [17, 33, 7],
      ])
        for (let kind = 0; kind < 5; kind++)
          for (const [act, f] of ACTS) {
            const x = view([M, K], kind, r),
              w = view([K, N], kind + 2, r),
              bias = kind % 2 ? fill(N, r) : null;
            const y = be.linear(x.data, x.layout, w.data, w.layout, bias, act);
            let want = f64(x).matmul(f64(w));
            if (bias) want = want.add(vec64(bias)!);
            close(y, f(want), `linear ${M}x${K}x${N} kind ${kind} act ${act}`);
          }
    }));

  test(`[${name}] conv2dFused: act(conv * scale + shift + residual) vs float64 conv2d, groups, dilation, views`, () =>
    withBackend(name, () => {
      const r = rng(2),
        be = getBackend();
      const cases: [number[], number[], Conv2dParams][] = [
        [
          [2, 3, 7, 9],
          [5, 3, 3, 3],
          { strideH: 2, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1, groups: 1 },
        ],
        [
          [1, 4, 9, 6],
          [6, 2, 3, 2],
          { strideH: 1, strideW: 2, padH: 2, padW: 0, dilationH: 2, dilationW: 1, groups: 2 },
        ],
      ];
      for (const [xs, ws, p] of cases)
        for (let kind = 0; kind < 5; kind++)
          for (const relu of [false, true]) {
            const x = view(xs, kind, r),
              w = view(ws, kind + 1, r);
            let want = conv2d(
              f64(x),
              f64(w),
              null,
              [p.strideH, p.strideW],
              [p.padH, p.padW],
              [p.dilationH, p.dilationW],
              p.groups,
            );
            const OC = ws[0],
              bshape = [1, OC, 1, 1];
            const scale = fill(OC, r, 2),
              shift = fill(OC, r),
              res = view([...want.shape], kind + 3, r);
            const y = be.conv2dFused(x.data, x.layout, w.data, w.layout, p, scale, shift, res, relu);
            want = want.mul(vec64(scale)!.reshape(bshape)).add(vec64(shift)!.reshape(bshape)).add(f64(res));
            close(y, relu ? want.relu() : want, `conv2dFused x [${xs}] kind ${kind} relu ${relu}`, 1e-4, 1e-4);
          }
    }));

  test(`[${name}] layerNorm and its backward vs the float64 composite formulas, views of every kind`, () =>
    withBackend(name, () => {
      const r = rng(3),
        be = getBackend();
      for (const shape of [[1, 1], [3, 17], [2, 5, 33], [127]])
        for (let kind = 0; kind < 5; kind++)
          for (const affine of [false, true]) {
            const C = shape[shape.length - 1];
            const x = view(shape, kind, r, 3),
              dy = view(shape, kind + 1, r);
            const w = affine ? fill(C, r, 2) : null,
              b = affine ? fill(C, r) : null;
            const f = be.layerNorm(x.data, x.layout, w, b, 1e-5);
            const X = f64(x),
              xc = X.sub(X.mean(-1, true)),
              rstd = xc.mul(xc).mean(-1, true).add(1e-5).rsqrt();
            let want = xc.mul(rstd);
            if (w) want = want.mul(vec64(w)!).add(vec64(b)!);
            const what = `layerNorm [${shape}] kind ${kind} affine ${affine}`;
            close(f.y, want, `${what} y`);
            close(f.rstd, rstd, `${what} rstd`);
            const g = be.layerNormBackward(dy.data, dy.layout, x.data, x.layout, f.mean, f.rstd, w, affine, affine);
            const [dx, dw, db] = layerNormGrads(f64(dy), X, vec64(w), vec64(b), 1e-5);
            close(g.dx, dx!, `${what} dx`, 1e-3, 1e-3);
            if (affine) {
              close(g.dw!, dw!, `${what} dw`, 1e-4, 1e-4);
              close(g.db!, db!, `${what} db`);
            } else assert.ok(g.dw === null && g.db === null, `${what}: dw, db not asked for`);
          }
    }));

  test(`[${name}] batchNorm (+ residual, relu) and its backward vs the float64 composite formulas`, () =>
    withBackend(name, () => {
      const r = rng(4),
        be = getBackend();
      for (const shape of [
        [4, 3],
        [3, 5, 7],
        [2, 3, 5, 3],
      ])
        for (let kind = 0; kind < 5; kind++)
          for (const variant of [0, 1, 2, 3]) {
            const C = shape[1],
              relu = (variant & 1) === 1;
            const x = view(shape, kind, r, 2),
              dy = view(shape, kind + 1, r),
              res = variant & 2 ? view(shape, kind + 2, r) : null;
            const w = variant ? fill(C, r, 2) : null,
              b = variant ? fill(C, r) : null;
            const f = be.batchNorm(x.data, x.layout, w, b, 1e-5, res, relu);
            const axes = [0, ...shape.slice(2).map((_, i) => i + 2)],
              bshape = [1, C, ...shape.slice(2).map(() => 1)];
            const X = f64(x),
              mean = X.mean(axes, true),
              xc = X.sub(mean),
              v = xc.mul(xc).mean(axes, true);
            let z = xc.mul(v.add(1e-5).rsqrt());
            if (w) z = z.mul(vec64(w)!.reshape(bshape)).add(vec64(b)!.reshape(bshape));
            if (res) z = z.add(f64(res));
            const y = relu ? z.relu() : z;
            const what = `batchNorm [${shape}] kind ${kind} variant ${variant}`;
            close(f.y, y, `${what} y`, 1e-4, 1e-4);
            close(f.mean, mean.reshape([C]), `${what} mean`);
            close(f.var, v.reshape([C]), `${what} var`);
            const g = be.batchNormBackward(
              dy.data,
              dy.layout,
              x.data,
              x.layout,
              f.mean,
              f.var,
              w,
              1e-5,
              !!w,
              !!b,
              relu ? f.y : null,
              !!res,
            );
            const gy = relu ? f64(dy).mul(z.gt(0).to('float64')) : f64(dy);
            const [dx, dw, db] = batchNormGrads(gy, X, vec64(w), vec64(b), 1e-5);
            close(g.dx, dx!, `${what} dx`, 1e-3, 1e-3);
            if (w) {
              close(g.dw!, dw!, `${what} dw`, 1e-4, 1e-4);
              close(g.db!, db!, `${what} db`, 1e-4, 1e-4);
            }
            if (res) close(g.dr!, gy, `${what} dr`);
            else assert.equal(g.dr, null);
          }
    }));

  test(`[${name}] attention and its backward vs the float64 composite formulas, causal and full`, () =>
    withBackend(name, () => {
      const r = rng(5),
        be = getBackend();
      for (const shape of [
        [1, 1, 1, 1],
        [2, 3, 5, 4],
        [1, 2, 67, 9],
      ])
        for (let kind = 0; kind < 5; kind++)
          for (const causal of [false, true]) {
            const q = view(shape, kind, r),
              k = view(shape, kind + 1, r),
              v = view(shape, kind + 2, r),
              dout = view(shape, kind + 3, r);
            const s = 1 / Math.sqrt(shape[3]),
              what = `attention [${shape}] kind ${kind} causal ${causal}`;
            const f = be.attention(q.data, q.layout, k.data, k.layout, v.data, v.layout, s, causal);
            const Q = f64(q),
              K = f64(k),
              V = f64(v),
              T = shape[2];
            let sc = Q.matmul(K.mT).mul(s);
            if (causal) sc = sc.maskedFill(nb.ones([T, T]).triu(1).to('bool'), -Infinity);
            close(f.out, sc.softmax(-1).matmul(V), `${what} out`);
            close(f.lse, sc.logsumexp(-1), `${what} lse`);
            const g = be.attentionBackward(
              dout.data,
              dout.layout,
              q.data,
              q.layout,
              k.data,
              k.layout,
              v.data,
              v.layout,
              f.out,
              f.lse,
              s,
              causal,
            );
            const [dq, dk, dv] = attentionGrads(f64(dout), Q, K, V, s, causal);
            close(g.dq, dq, `${what} dq`, 1e-3, 1e-4);
            close(g.dk, dk, `${what} dk`, 1e-3, 1e-4);
            close(g.dv, dv, `${what} dv`, 1e-3, 1e-4);
          }
    }));

  test(`[${name}] attentionKv: q over a KV cache view, grouped heads, causal offset S - T, vs float64`, () =>
    withBackend(name, () => {
      const r = rng(6),
        be = getBackend();
      for (const [B, H, KVH, T, S, D] of [
        [1, 2, 2, 1, 9, 4],
        [2, 6, 3, 3, 7, 5],
      ])
        for (let kind = 0; kind < 4; kind++)
          for (const causal of [false, true]) {
            const q = view([B, H, T, D], kind, r),
              cap = S + 2;
            const kb = fill(B * KVH * cap * D + 1, r),
              vb = fill(B * KVH * cap * D + 1, r);
            const lkv = new Layout([B, KVH, S, D], [KVH * cap * D, cap * D, D, 1], 1);
            const out = be.attentionKv(q.data, q.layout, kb, lkv, vb, lkv, 0.5, causal);
            const heads = wrap(
              Int32Array.from({ length: H }, (_, h) => Math.floor(h / (H / KVH))),
              [H],
              'int32',
            );
            const K = f64({ data: kb, layout: lkv }).indexSelect(1, heads),
              V = f64({ data: vb, layout: lkv }).indexSelect(1, heads);
            let sc = f64(q).matmul(K.mT).mul(0.5);
            if (causal)
              sc = sc.maskedFill(
                nb
                  .ones([T, S])
                  .triu(S - T + 1)
                  .to('bool'),
                -Infinity,
              );
            close(
              out,
              sc.softmax(-1).matmul(V),
              `attentionKv B${B} H${H} KVH${KVH} T${T} S${S} kind ${kind} causal ${causal}`,
            );
          }
    }));

  test(`[${name}] sgdStep and adamStep in place vs the float64 update rules of torch.optim`, () =>
    withBackend(name, () => {
      const r = rng(7),
        be = getBackend();
      for (const n of [1, 17, 33]) {
        for (const [momentum, dampening, nesterov, weightDecay] of [
          [0, 0, false, 0],
          [0.9, 0, true, 1e-2],
          [0.8, 0.3, false, 1e-3],
        ] as const) {
          const p = fill(n, r),
            p64 = Float64Array.from(p),
            buf = momentum ? new Float32Array(n) : null,
            buf64 = buf && new Float64Array(n);
          for (let step = 0; step < 3; step++) {
            const g = fill(n, r),
              first = step === 0;
            assert.equal(be.sgdStep(p, g, buf, { lr: 0.1, momentum, dampening, weightDecay, nesterov, first }), true);
            sgdUpdate(p64, g, buf64, first, { lr: 0.1, momentum, dampening, weightDecay, nesterov, maximize: false });
          }
          close(p, p64, `sgd n ${n} momentum ${momentum} p`, 1e-5, 1e-6);
          if (buf) close(buf, buf64!, `sgd n ${n} momentum ${momentum} buf`, 1e-5, 1e-6);
        }
        for (const decoupled of [false, true]) {
          const p = fill(n, r),
            m = new Float32Array(n),
            v = new Float32Array(n);
          const p64 = Float64Array.from(p),
            m64 = new Float64Array(n),
            v64 = new Float64Array(n);
          const h = {
            lr: 1e-2,
            betas: [0.9, 0.999] as [number, number],
            eps: 1e-8,
            weightDecay: 0.05,
            amsgrad: false,
            maximize: false,
          };
          for (let step = 1; step <= 3; step++) {
            const g = fill(n, r);
            assert.equal(
              be.adamStep(p, g, m, v, {
                lr: h.lr,
                beta1: 0.9,
                beta2: 0.999,
                eps: h.eps,
                weightDecay: h.weightDecay,
                decoupled,
                step,
              }),
              true,
            );
            adamUpdate(p64, g, m64, v64, null, step, h, decoupled);
          }
          close(p, p64, `adam n ${n} decoupled ${decoupled} p`, 1e-5, 1e-6);
          close(v, v64, `adam n ${n} decoupled ${decoupled} v`, 1e-5, 1e-9);
        }
      }
    }));

  test(`[${name}] batch norm with a residual that is an offset view: the op matches the float64 composite`, () =>
    withBackend(name, () => {
      nb.manualSeed(8);
      const x = nb.randn([3, 4, 5]),
        big = nb.randn([2, 3, 4, 5]),
        res = big.select(0, 1); // res: offset 60
      const f = nb.noGrad(() => batchNormFused(x, null, null, 1e-5, res, true))!;
      const want = batchNormAct(x.to('float64'), null, null, { training: true }, res.to('float64'), true);
      close(f.y.toTypedArray(), want, 'batchNorm residual view', 1e-4, 1e-5);
    }));
}

test('the fused ops leave shapes their kernels do not take to the composite path, which reports them', () => {
  for (const name of backends())
    withBackend(name, () => {
      const x = nb.randn([2, 5]);
      assert.throws(
        () => nb.noGrad(() => nb.nn.functional.layerNorm(x, 5, nb.ones([3]))),
        /broadcast|shape/i,
        `${name} layerNorm weight`,
      );
      assert.throws(
        () => nb.nn.functional.batchNorm(nb.randn([4, 3, 2]), null, null, { training: true, weight: nb.ones([2]) }),
        /reshape|shape/i,
        `${name} batchNorm weight`,
      );
    });
});
