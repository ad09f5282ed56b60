// Native fused attention (forward and backward, causal and not) vs a float64 reference that
// materialises the whole score matrix: T from 1 to 130 (crossing the 64-wide blocks), D 1..64.
import { test } from 'node:test';
import { Layout } from '../../src/tensor/layout.js';
import { assertClose, fill, native, rng, skip } from './helpers.js';

// One (T,D) head in float64: out = softmax(q k^T s + mask) v, and the gradients for dout.
function reference(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dout: Float32Array,
  o0: number,
  T: number,
  D: number,
  s: number,
  causal: boolean,
) {
  const P = new Float64Array(T * T),
    out = new Float64Array(T * D);
  const dq = new Float64Array(T * D),
    dk = new Float64Array(T * D),
    dv = new Float64Array(T * D);
  for (let i = 0; i < T; i++) {
    let m = -Infinity;
    for (let j = 0; j < T; j++) {
      let d = 0;
      for (let e = 0; e < D; e++) d += q[o0 + i * D + e] * k[o0 + j * D + e];
      P[i * T + j] = causal && j > i ? -Infinity : d * s;
      m = Math.max(m, P[i * T + j]);
    }
    let z = 0;
    for (let j = 0; j < T; j++) {
      P[i * T + j] = Math.exp(P[i * T + j] - m);
      z += P[i * T + j];
    }
    for (let j = 0; j < T; j++) P[i * T + j] /= z;
    for (let j = 0; j < T; j++) for (let e = 0; e < D; e++) out[i * D + e] += P[i * T + j] * v[o0 + j * D + e];
  }
  for (let i = 0; i < T; i++) {
    let di = 0;
    for (let e = 0; e < D; e++) di += dout[o0 + i * D + e] * out[i * D + e];
    for (let j = 0; j < T; j++) {
      const p = P[i * T + j];
      let dp = 0;
      for (let e = 0; e < D; e++) {
        dp += dout[o0 + i * D + e] * v[o0 + j * D + e];
        dv[j * D + e] += p * dout[o0 + i * D + e];
      }
      const ds = p * (dp - di) * s;
      for (let e = 0; e < D; e++) {
        dq[i * D + e] += ds * k[o0 + j * D + e];
        dk[j * D + e] += ds * q[o0 + i * D + e];
      }
    }
  }
  return { out, dq, dk, dv };
}

test('attention forward and backward vs float64 reference, causal and full, T across blocks', { skip }, () => {
  const r = rng(50);
  for (const [B, H, T, D] of [
    [1, 1, 1, 1],
    [1, 2, 3, 5],
    [2, 1, 17, 8],
    [1, 2, 65, 16],
    [1, 1, 130, 64],
    [2, 3, 33, 3],
  ]) {
    for (const causal of [true, false]) {
      const n = B * H * T * D,
        s = 1 / Math.sqrt(D);
      const q = fill(n, r, 2),
        k = fill(n, r, 2),
        v = fill(n, r, 1),
        dout = fill(n, r, 1);
      const l = Layout.contiguous([B, H, T, D]);
      const f = native!.attention(q, l, k, l, v, l, s, causal)!;
      const g = native!.attentionBackward(dout, l, q, l, k, l, v, l, f.out, f.lse, s, causal)!;
      for (let bh = 0; bh < B * H; bh++) {
        const ref = reference(q, k, v, dout, bh * T * D, T, D, s, causal);
        const sl = (x: Float32Array) => x.subarray(bh * T * D, (bh + 1) * T * D);
        const what = `attention B${B} H${H} T${T} D${D} causal=${causal} head ${bh}`;
        assertClose(sl(f.out), ref.out, 1e-4, 1e-5, `${what} out`);
        assertClose(sl(g.dq), ref.dq, 1e-3, 1e-4, `${what} dq`);
        assertClose(sl(g.dk), ref.dk, 1e-3, 1e-4, `${what} dk`);
        assertClose(sl(g.dv), ref.dv, 1e-4, 1e-5, `${what} dv`);
      }
    }
  }
});

test('attentionKv (a decoder step over its KV cache, read in place) vs float64: T < S, causal offset, grouped heads', {
  skip,
}, () => {
  const r = rng(51);
  for (const [B, H, KVH, T, S, D, cap, causal] of [
    [1, 12, 12, 1, 191, 64, 256, false],
    [2, 4, 2, 3, 5, 8, 9, true],
    [1, 6, 1, 1, 70, 16, 70, false],
    [2, 2, 2, 65, 130, 8, 140, true],
  ] as const) {
    const q = fill(B * H * T * D, r, 1);
    // k, v: a (B, KVH, cap, D) cache buffer viewed as its first S positions, offset by 5 floats
    const kbuf = fill(B * KVH * cap * D + 5, r, 1),
      vbuf = fill(B * KVH * cap * D + 5, r, 1);
    const lkv = new Layout([B, KVH, S, D], [KVH * cap * D, cap * D, D, 1], 5);
    const out = native!.attentionKv(q, Layout.contiguous([B, H, T, D]), kbuf, lkv, vbuf, lkv, 0.3, causal)!;
    const want = new Float64Array(out.length),
      R = H / KVH;
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let t = 0; t < T; t++) {
          const kh = Math.floor(h / R),
            qo = ((b * H + h) * T + t) * D,
            ko = 5 + (b * KVH + kh) * cap * D;
          const sc: number[] = [];
          for (let s = 0; s < S; s++) {
            let d = 0;
            for (let e = 0; e < D; e++) d += q[qo + e] * kbuf[ko + s * D + e];
            sc.push(causal && s > S - T + t ? -Infinity : d * 0.3);
          }
          const m = Math.max(...sc),
            p = sc.map((x) => Math.exp(x - m)),
            z = p.reduce((a, x) => a + x, 0);
          for (let s = 0; s < S; s++) for (let e = 0; e < D; e++) want[qo + e] += (p[s] / z) * vbuf[ko + s * D + e];
        }
    assertClose(out, want, 1e-5, 1e-6, `attentionKv B${B} H${H} KVH${KVH} T${T} S${S} D${D} causal=${causal}`);
  }
});
