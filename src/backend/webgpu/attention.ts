// Flash-style fused attention in WGSL: softmax(q k^T * scale [+ causal mask]) v without the (T, S)
// score matrix. One workgroup of 16x16 threads per (batch, head, 16 query rows): the scaled query
// tile stays in workgroup memory; key and value tiles of 16 rows pass through one workgroup buffer in
// turn, and each query row keeps a running max m, a running sum l and its output accumulators,
// rescaled by exp(m_old - m_new) when a tile raises the max (online softmax). Thread (r, c) scores
// query r against key c of the tile, then accumulates the output dims c, c + 16, ... of row r.
// Under the causal mask a workgroup stops at the key tile that holds its last query. Decoding
// (attentionKv) is the same kernel over a KV cache: query t sits at key position S - T + t, and the
// R = H / KVH query heads of a group read one key/value head.
// The backward recomputes: ops/fused.ts composes it from primitives on the GPU (matmul, softmax),
// reading q, k and v again (FlashAttention's recompute, done as primitives rather than one kernel).
// Glossary: B batch, H heads, KVH key/value heads, T queries, S keys, D head size, Dp = D rounded up to 16,
// DU = Dp / 16.

import type { TypedArray } from '../../tensor/dtype.js';
import type { Layout } from '../../tensor/layout.js';
import { GpuArray, alloc, dispatch, f32bits, workgroupStorage } from './context.js';
import { PRM } from './strided.js';
import { INF } from './reduce.js';

const TQ = 16,
  TS = 16;

/** Workgroup bytes of the kernel for head size D: the query tile, the key/value tile, the scores. */
export function attentionBytes(D: number): number {
  const Dp = Math.ceil(D / 16) * 16;
  return (TQ * Dp + TS * Dp + TQ * TS) * 4;
}

// prm: B H T S D scale causal | q off, 4 strides | k off, 4 strides | v off, 4 strides | R past
function source(DU: number): string {
  const Dp = DU * 16;
  // the key (or value) tile of rows k0.. into KV, zero past S and D; its strides at prm[at], prm[at + 1]
  const tile = (src: string, at: number) => `for (var e = t; e < ${TS * Dp}; e += 256) {
      let kk = e / ${Dp}; let d = e % ${Dp};
      var x = 0.0;
      if (k0 + kk < S && d < D) { x = ${src}[${src}b + (k0 + kk) * prm[${at}] + d * prm[${at + 1}]]; }
      KV[e] = x;
    }`;
  const us = [...Array(DU).keys()];
  return `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
${PRM(5)}
var<workgroup> Qs: array<f32, ${TQ * Dp}>;
var<workgroup> KV: array<f32, ${TS * Dp}>;
var<workgroup> Ps: array<f32, ${TQ * TS}>;
${INF}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = prm[1]; let T = prm[2]; let S = prm[3]; let D = prm[4];
  let scale = bitcast<f32>(prm[5]); let causal = prm[6] != 0;
  let bh = i32(wid.y); let b = bh / H; let h = bh % H;
  let q0 = i32(wid.x) * ${TQ};
  let t = i32(lid); let r = t / ${TS}; let c = t % ${TS};
  let qb = prm[7] + b * prm[8] + h * prm[9];
  let R = prm[22]; let past = prm[23];
  let kb = prm[12] + b * prm[13] + (h / R) * prm[14];
  let vb = prm[17] + b * prm[18] + (h / R) * prm[19];
  for (var e = t; e < ${TQ * Dp}; e += 256) {
    let rr = e / ${Dp}; let d = e % ${Dp};
    var x = 0.0;
    if (q0 + rr < T && d < D) { x = q[qb + (q0 + rr) * prm[10] + d * prm[11]]; }
    Qs[e] = x * scale;
  }
  let qi = q0 + r;
  var m = -inf_();
  var l = 0.0;
  ${us.map((u) => `var a${u} = 0.0;`).join(' ')}
  var kEnd = S;
  if (causal) { kEnd = min(S, q0 + ${TQ} + past); }
  for (var k0 = 0; k0 < kEnd; k0 += ${TS}) {
    workgroupBarrier();
    ${tile('k', 15)}
    workgroupBarrier();
    var s = 0.0;
    for (var d = 0; d < ${Dp}; d++) { s += Qs[r * ${Dp} + d] * KV[c * ${Dp} + d]; }
    let kj = k0 + c;
    if (kj >= S || (causal && kj > qi + past)) { s = -inf_(); }
    Ps[r * ${TS} + c] = s;
    workgroupBarrier();
    ${tile('v', 20)}
    workgroupBarrier();
    var mt = m;
    for (var j = 0; j < ${TS}; j++) { mt = max(mt, Ps[r * ${TS} + j]); }
    let alpha = exp(m - mt);
    ${us.map((u) => `a${u} *= alpha;`).join(' ')}
    var ps = 0.0;
    for (var j = 0; j < ${TS}; j++) {
      let p = exp(Ps[r * ${TS} + j] - mt);
      ps += p;
      ${us.map((u) => `a${u} += p * KV[j * ${Dp} + c + ${u * 16}];`).join('\n      ')}
    }
    l = l * alpha + ps;
    m = mt;
  }
  if (qi < T) {
    let ob = (bh * T + qi) * D;
    ${us.map((u) => `if (c + ${u * 16} < D) { out[ob + c + ${u * 16}] = a${u} / l; }`).join('\n    ')}
    if (c == 0) { lse[bh * T + qi] = m + log(l); }
  }
}`;
}

/** Runs the kernel: q (B,H,T,D) over k, v (B,KVH,S,D), query t at key position S - T + t; or undefined (declined). */
function run(
  q: TypedArray,
  lq: Layout,
  k: TypedArray,
  lk: Layout,
  v: TypedArray,
  lv: Layout,
  scale: number,
  causal: boolean,
): { out: GpuArray; lse: GpuArray } | undefined {
  const all = [q, k, v];
  if (!all.every((a) => a instanceof GpuArray && a.dtype === 'float32')) return undefined;
  const [B, H, T, D] = lq.shape,
    [, KVH, S] = lk.shape;
  // a head too large for the device's workgroup memory, or too many heads for one grid dim: composed
  if (attentionBytes(D) > workgroupStorage() || B * H > 65535 || D === 0 || H % KVH !== 0) return undefined;
  const out = alloc('float32', B * H * T * D),
    lse = alloc('float32', B * H * T);
  if (B * H * T > 0) {
    const lay = (l: Layout) => [l.offset, ...l.strides];
    const words = [B, H, T, S, D, f32bits(scale), causal ? 1 : 0, ...lay(lq), ...lay(lk), ...lay(lv), H / KVH, S - T];
    dispatch(source(Math.ceil(D / 16)), [out, lse, ...(all as unknown as GpuArray[])], Int32Array.from(words), [
      Math.ceil(T / TQ),
      B * H,
    ]);
  }
  return { out, lse };
}

// q (B,H,T,D), k and v (B,H,S,D), any strides -> out (B,H,T,D), lse (B,H,T)
export function attention(
  q: TypedArray,
  lq: Layout,
  k: TypedArray,
  lk: Layout,
  v: TypedArray,
  lv: Layout,
  scale: number,
  causal: boolean,
): { out: Float32Array; lse: Float32Array } | undefined {
  const r = run(q, lq, k, lk, v, lv, scale, causal);
  return r && { out: r.out as unknown as Float32Array, lse: r.lse as unknown as Float32Array };
}

// decoding: q (B,H,T,D) over a KV cache's k, v (B,KVH,S,D), query t at key position S - T + t -> (B,H,T,D)
export function attentionKv(
  q: TypedArray,
  lq: Layout,
  k: TypedArray,
  lk: Layout,
  v: TypedArray,
  lv: Layout,
  scale: number,
  causal: boolean,
): Float32Array | undefined {
  return run(q, lq, k, lk, v, lv, scale, causal)?.out as unknown as Float32Array | undefined;
}
