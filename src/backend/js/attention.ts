// Scaled dot-product attention for the JS backend, with the native kernels' semantics
// (native/src/attention.c): scores s = q k^T * scale, a causal mask that lets query t see keys up to
// S - T + t, softmax over the keys, and the log-sum-exp of each query's scores (lse) saved for the
// backward. Sums in double, one query row at a time. Glossary: B batch, H query heads, KVH key/value
// heads (H a multiple of KVH), T queries, S keys, D head size.

import type { TypedArray } from '../../tensor/dtype.js';
import type { Layout } from '../../tensor/layout.js';

const shapes = (...ls: Layout[]): string => ls.map((l) => `[${l.shape}]`).join(', ');

interface Dims {
  B: number;
  H: number;
  KVH: number;
  T: number;
  S: number;
  D: number;
}

function dims(op: string, lq: Layout, lk: Layout, lv: Layout, causal: boolean): Dims {
  if (lq.shape.length !== 4 || lk.shape.length !== 4 || lv.shape.length !== 4) {
    throw new Error(`${op}: expected q (B,H,T,D) and k, v (B,KVH,S,D), got ${shapes(lq, lk, lv)}`);
  }
  const [B, H, T, D] = lq.shape,
    [, KVH, S] = lk.shape;
  if (lk.shape.join() !== lv.shape.join() || lk.shape[0] !== B || lk.shape[3] !== D) {
    throw new Error(`${op}: k and v must be (B,KVH,S,D) with q's B and D, got ${shapes(lq, lk, lv)}`);
  }
  if (KVH < 1 || H % KVH !== 0) throw new Error(`${op}: ${H} query heads are not a multiple of ${KVH} key/value heads`);
  if (S < 1) throw new Error(`${op}: no keys to attend to`);
  if (causal && S < T) throw new Error(`${op}: causal attention needs at least as many keys (${S}) as queries (${T})`);
  return { B, H, KVH, T, S, D };
}

/** Storage offset of element (b, h, t, 0) of a 4-D layout. */
const at = (l: Layout, b: number, h: number, t: number): number =>
  l.offset + b * l.strides[0] + h * l.strides[1] + t * l.strides[2];

/** out (B,H,T,D) and lse (B,H,T) of q over k, v (any layouts). */
function forward(
  op: string,
  q: TypedArray,
  lq: Layout,
  k: TypedArray,
  lk: Layout,
  v: TypedArray,
  lv: Layout,
  scale: number,
  causal: boolean,
): { out: Float32Array; lse: Float32Array } {
  const { B, H, KVH, T, S, D } = dims(op, lq, lk, lv, causal);
  const out = new Float32Array(B * H * T * D),
    lse = new Float32Array(B * H * T);
  const sq = lq.strides[3],
    sk = lk.strides[3],
    sv = lv.strides[3],
    off = S - T,
    R = H / KVH;
  const p = new Float64Array(S),
    acc = new Float64Array(D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++) {
        const qo = at(lq, b, h, t),
          kh = Math.floor(h / R),
          kend = causal ? Math.min(S, off + t + 1) : S;
        let m = -Infinity;
        for (let s = 0; s < kend; s++) {
          const ko = at(lk, b, kh, s);
          let d = 0;
          for (let e = 0; e < D; e++) d += q[qo + e * sq] * k[ko + e * sk];
          p[s] = d * scale;
          m = Math.max(m, p[s]); // NaN wins
        }
        let z = 0;
        for (let s = 0; s < kend; s++) {
          p[s] = Math.exp(p[s] - m);
          z += p[s];
        }
        acc.fill(0);
        for (let s = 0; s < kend; s++) {
          const vo = at(lv, b, kh, s),
            w = p[s] / z;
          for (let e = 0; e < D; e++) acc[e] += w * v[vo + e * sv];
        }
        const row = (b * H + h) * T + t;
        out.set(acc, row * D);
        lse[row] = m + Math.log(z);
      }
  return { out, lse };
}

/** softmax(q k^T scale + causal mask) v for q, k, v (B, H, T, D) of any layouts -> out (B,H,T,D), lse (B,H,T). */
export function attention(
  q: TypedArray,
  lq: Layout,
  k: TypedArray,
  lk: Layout,
  v: TypedArray,
  lv: Layout,
  scale: number,
  causal: boolean,
): { out: Float32Array; lse: Float32Array } {
  if (lq.shape.join() !== lk.shape.join()) {
    throw new Error(`attention: expected q, k, v of one shape, got ${shapes(lq, lk, lv)}`);
  }
  return forward('attention', q, lq, k, lk, v, lv, scale, causal);
}

/** q (B,H,T,D) over k, v (B,KVH,S,D) of any layouts, query t at key position S - T + t -> out (B,H,T,D). */
export function attentionKv(
  q: TypedArray,
  lq: Layout,
  k: TypedArray,
  lk: Layout,
  v: TypedArray,
  lv: Layout,
  scale: number,
  causal: boolean,
): Float32Array {
  return forward('attentionKv', q, lq, k, lk, v, lv, scale, causal).out;
}

/**
 * dout, q, k, v (B,H,T,D) of any layouts, the forward's out (contiguous) and lse -> dq, dk, dv: with
 * p = exp(s - lse), dv = p^T dout, ds = p (dout v^T - rowsum(dout * out)) scale, dq = ds k, dk = ds^T q.
 */
export function attentionBackward(
  dout: TypedArray,
  ldout: Layout,
  q: TypedArray,
  lq: Layout,
  k: TypedArray,
  lk: Layout,
  v: TypedArray,
  lv: Layout,
  out: Float32Array,
  lse: Float32Array,
  scale: number,
  causal: boolean,
): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
  if (lq.shape.join() !== lk.shape.join()) {
    throw new Error(`attentionBackward: expected q, k, v of one shape, got ${shapes(lq, lk, lv)}`);
  }
  const { B, H, T, D } = dims('attentionBackward', lq, lk, lv, causal);
  if (ldout.shape.join() !== lq.shape.join()) {
    throw new Error(`attentionBackward: expected dout [${lq.shape}], got [${ldout.shape}]`);
  }
  const n = B * H * T * D;
  const dq = new Float64Array(n),
    dk = new Float64Array(n),
    dv = new Float64Array(n);
  const sq = lq.strides[3],
    sk = lk.strides[3],
    sv = lv.strides[3],
    sd = ldout.strides[3];
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const base = (b * H + h) * T;
      for (let i = 0; i < T; i++) {
        const qo = at(lq, b, h, i),
          go = at(ldout, b, h, i),
          row = base + i;
        let di = 0;
        for (let e = 0; e < D; e++) di += dout[go + e * sd] * out[row * D + e];
        const jend = causal ? i + 1 : T;
        for (let j = 0; j < jend; j++) {
          const ko = at(lk, b, h, j),
            vo = at(lv, b, h, j),
            col = base + j;
          let s = 0,
            dp = 0;
          for (let e = 0; e < D; e++) {
            s += q[qo + e * sq] * k[ko + e * sk];
            dp += dout[go + e * sd] * v[vo + e * sv];
          }
          const p = Math.exp(s * scale - lse[row]);
          const ds = p * (dp - di) * scale;
          for (let e = 0; e < D; e++) {
            dv[col * D + e] += p * dout[go + e * sd];
            dq[row * D + e] += ds * k[ko + e * sk];
            dk[col * D + e] += ds * q[qo + e * sq];
          }
        }
      }
    }
  return { dq: Float32Array.from(dq), dk: Float32Array.from(dk), dv: Float32Array.from(dv) };
}
