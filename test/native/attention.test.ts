// Native fused attention (forward and backward, causal and not) vs a float64 reference that
// materialises the whole score matrix: T from 1 to 130 (crossing the 64-wide blocks), D 1..64.
import { test } from 'node:test';
import { Layout } from '../../src/tensor/layout.js';
import { assertClose, fill, native, rng, skip } from './helpers.js';

// One (T,D) head in float64: out = softmax(q k^T s + mask) v, and the gradients for dout.
function reference(q: Float32Array, k: Float32Array, v: Float32Array, dout: Float32Array, o0: number, T: number, D: number, s: number, causal: boolean) {
  const P = new Float64Array(T * T), out = new Float64Array(T * D);
  const dq = new Float64Array(T * D), dk = new Float64Array(T * D), dv = new Float64Array(T * D);
  for (let i = 0; i < T; i++) {
    let m = -Infinity;
    for (let j = 0; j < T; j++) {
      let d = 0;
      for (let e = 0; e < D; e++) d += q[o0 + i * D + e] * k[o0 + j * D + e];
      P[i * T + j] = causal && j > i ? -Infinity : d * s;
      m = Math.max(m, P[i * T + j]);
    }
    let z = 0;
    for (let j = 0; j < T; j++) { P[i * T + j] = Math.exp(P[i * T + j] - m); z += P[i * T + j]; }
    for (let j = 0; j < T; j++) P[i * T + j] /= z;
    for (let j = 0; j < T; j++) for (let e = 0; e < D; e++) out[i * D + e] += P[i * T + j] * v[o0 + j * D + e];
  }
  for (let i = 0; i < T; i++) {
    let di = 0;
    for (let e = 0; e < D; e++) di += dout[o0 + i * D + e] * out[i * D + e];
    for (let j = 0; j < T; j++) {
      const p = P[i * T + j];
      let dp = 0;
      for (let e = 0; e < D; e++) { dp += dout[o0 + i * D + e] * v[o0 + j * D + e]; dv[j * D + e] += p * dout[o0 + i * D + e]; }
      const ds = p * (dp - di) * s;
      for (let e = 0; e < D; e++) { dq[i * D + e] += ds * k[o0 + j * D + e]; dk[j * D + e] += ds * q[o0 + i * D + e]; }
    }
  }
  return { out, dq, dk, dv };
}

test('attention forward and backward vs float64 reference, causal and full, T across blocks', { skip }, () => {
  const r = rng(50);
  for (const [B, H, T, D] of [[1, 1, 1, 1], [1, 2, 3, 5], [2, 1, 17, 8], [1, 2, 65, 16], [1, 1, 130, 64], [2, 3, 33, 3]]) {
    for (const causal of [true, false]) {
      const n = B * H * T * D, s = 1 / Math.sqrt(D);
      const q = fill(n, r, 2), k = fill(n, r, 2), v = fill(n, r, 1), dout = fill(n, r, 1);
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
