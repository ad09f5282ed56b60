// Causal self-attention shared by the decoders: masks (causal + padding) as an additive bias, and
// grouped-query attention from batched matmuls, without copying the keys and values per head.
//
// Glossary: B batch, H query heads, KVH key/value heads (H = KVH * R), T query positions,
// S key positions (cached + new), D head size, past = S - T.

import { attentionFused, attentionKvFused } from '../ops/fused.js';
import { onDevice } from '../ops/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { fromTypedArray } from '../tensor/creation.js';
import { dropout } from '../ops/nn_ops.js';
import type { KVCache } from './kv_cache.js';
import type { ForwardOptions, OutputAttentionsOptions } from './generation.js';

/** Added to the scores of masked keys. Finite, so a row with every key masked (a pad query) stays NaN-free. */
export const MASKED = -1e9;

/**
 * The additive attention bias (B, 1, T, S) for padded sequences: 0 where query t (absolute position
 * past+t) may see key s (s <= past+t and attentionMask[b][s] = 1), MASKED elsewhere. null when nothing
 * is padded: then the mask is the plain causal one, which causalAttention applies itself.
 * attentionMask (B, S) of 1 for real tokens and 0 for padding, covering cached and new positions.
 */
export function attentionBias(T: number, S: number, attentionMask?: Tensor | null): Tensor | null {
  if (S - T < 0) throw new Error(`attentionBias: ${T} new positions but only ${S} keys`);
  if (!attentionMask) return null;
  if (attentionMask.ndim !== 2 || attentionMask.shape[1] !== S) {
    throw new Error(
      `attention: attentionMask has shape [${attentionMask.shape.join(', ')}], expected (B, ${S}) covering the ` +
        `cached and new positions`,
    );
  }
  const m = attentionMask.toTypedArray();
  let all = true;
  for (let i = 0; i < m.length; i++)
    if (!m[i]) {
      all = false;
      break;
    }
  return all ? null : maskBias(attentionMask.shape[0], T, S, m);
}

/** The bias (B, 1, T, S) of the causal mask at offset S - T, and of the padding mask (B, S) if given. */
function maskBias(B: number, T: number, S: number, mask: ArrayLike<number> | null): Tensor {
  const past = S - T;
  const bias = new Float32Array(B * T * S);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * S;
      for (let s = 0; s < S; s++) {
        const visible = s <= past + t && mask?.[b * S + s] !== 0;
        if (!visible) bias[row + s] = MASKED;
      }
    }
  }
  return fromTypedArray(bias, [B, 1, T, S]);
}

/**
 * Causal softmax(q k^T / sqrt(D) + mask) v with grouped-query heads, and dropout on the probabilities
 * when dropoutP > 0. The mask is causal at offset S - T (query t sees keys up to past + t); bias, from
 * attentionBias, replaces it with the causal-and-padding one. Where the backend has a fused attention
 * kernel for the case (no padding, no dropout) it takes it: the model never needs to know. With `attentions`
 * (outputAttentions) it takes the explicit path and appends the probabilities (B,H,T,S) to that list.
 * q (B,H,T,D), k (B,KVH,S,D), v (B,KVH,S,D), bias (B|1,1,T,S) or null -> (B,H,T,D).
 * NOTE: the R query heads that share a key head are folded into the row dim of one matmul
 * ((B,KVH,R*T,D) @ (B,KVH,D,S)), so keys and values are never repeated in memory.
 */
export function causalAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias: Tensor | null = null,
  dropoutP = 0,
  attentions: Tensor[] | null = null,
): Tensor {
  const [B, H, T, D] = q.shape;
  const KVH = k.shape[1],
    S = k.shape[2];
  if (H % KVH !== 0) throw new Error(`attention: ${H} query heads are not a multiple of ${KVH} key/value heads`);
  if (S < T) throw new Error(`attention: ${T} queries but only ${S} keys`);
  const R = H / KVH;
  const scale = 1 / Math.sqrt(D);
  if (!bias && dropoutP === 0 && !attentions) {
    // NOTE: on a device the flash kernel takes grouped heads too, as keys and values repeated per
    // query head (R times their size: far less than the (T, S) scores of the composite path)
    if (S === T && (R === 1 || onDevice(q))) {
      const y = attentionFused(q, repeatHeads(k, R), repeatHeads(v, R), scale, true); // one block of scores at a time
      if (y) return y;
    }
    if (T === 1) {
      const y = attentionKvFused(q, k, v, scale, false); // a decoding step: every cached key visible
      if (y) return y;
    }
  }
  // the mask is built on the host: it joins q on q's device (a no-op on the CPU)
  const mask = (bias ?? (T > 1 ? maskBias(1, T, S, null) : null))?.to(q.device) ?? null;
  const qs = q.mul(scale).reshape([B, KVH, R * T, D]);
  let scores = qs.matmul(k.transpose(2, 3)); // (B,KVH,R*T,S)
  if (mask)
    scores = scores
      .reshape([B, KVH, R, T, S])
      .add(mask.unsqueeze(1))
      .reshape([B, KVH, R * T, S]);
  let probs = scores.softmax(-1);
  if (dropoutP > 0) probs = dropout(probs, dropoutP, true);
  // Hugging Face's eager attention returns the probabilities after masking and dropout, per query head
  attentions?.push(probs.reshape([B, H, T, S]));
  const y = probs.matmul(v); // (B,KVH,R*T,D)
  return y.reshape([B, H, T, D]);
}

/** k (B, KVH, S, D) -> (B, KVH*R, S, D), each key/value head repeated for its R query heads. */
function repeatHeads(k: Tensor, R: number): Tensor {
  if (R === 1) return k;
  const [B, KVH, S, D] = k.shape;
  return k
    .unsqueeze(2)
    .expand([B, KVH, R, S, D])
    .reshape([B, KVH * R, S, D]);
}

/** What every layer of one decoder forward shares: sizes, the cache, positions and the mask bias. */
export interface StepContext {
  B: number;
  T: number;
  cache: KVCache | null;
  /** (B*T) positions of the new tokens. */
  pos: Int32Array;
  bias: Tensor | null;
  /** The per-layer attention probabilities (B,H,T,S) when outputAttentions was asked for, else null. */
  attentions: Tensor[] | null;
}

/** Start of a decoder forward: ids (B,T) -> positions (cache length + t unless given) and mask bias. */
export function beginStep(
  ids: Tensor,
  o: ForwardOptions | OutputAttentionsOptions,
  maxPositions: number,
  who: string,
): StepContext {
  const [B, T] = ids.shape;
  const cache = o.cache ?? null;
  const past = cache ? cache.length : 0;
  const pos = positionsOf(o.positionIds, B, T, past, maxPositions, who);
  const attentions = o.outputAttentions ? [] : null;
  return { B, T, cache, pos, bias: attentionBias(T, past + T, o.attentionMask), attentions };
}

/** End of a decoder forward: marks the new positions cached; x (B,T,C) -> (B,logitsToKeep,C) if asked. */
export function endStep(x: Tensor, step: StepContext, o: Pick<ForwardOptions, 'logitsToKeep'>): Tensor {
  step.cache?.advance(step.T);
  const keep = o.logitsToKeep;
  return keep && keep < step.T ? x.narrow(1, step.T - keep, keep) : x;
}

/** The positions of the new tokens: given (B,T), or past..past+T-1; checked against the context window. */
export function positionsOf(
  positionIds: Tensor | null | undefined,
  B: number,
  T: number,
  past: number,
  maxPos: number,
  who: string,
): Int32Array {
  let pos: Int32Array;
  if (positionIds) {
    if (positionIds.numel() !== B * T)
      throw new Error(`${who}: positionIds has shape [${positionIds.shape.join(', ')}], expected [${B}, ${T}]`);
    pos = Int32Array.from(positionIds.toTypedArray() as ArrayLike<number>);
  } else {
    pos = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) pos[b * T + t] = past + t;
  }
  for (const p of pos) {
    if (p < 0 || p >= maxPos)
      throw new Error(
        `${who}: position ${p} is outside the context window of ${maxPos} positions (the sequence is too long for ` +
          `this model)`,
      );
  }
  return pos;
}

/** Checks int32 (or int64, PyTorch's) token ids (B,T) against the vocabulary. */
export function checkTokenIds(ids: Tensor, V: number, who: string): void {
  if (ids.ndim !== 2) throw new Error(`${who}.forward: expected token ids (B, T), got shape [${ids.shape.join(', ')}]`);
  if (ids.dtype !== 'int32' && ids.dtype !== 'int64')
    throw new Error(`${who}.forward: expected int32 or int64 token ids, got ${ids.dtype}`);
  const d = ids.toTypedArray();
  for (let i = 0; i < d.length; i++) {
    if (d[i] < 0 || d[i] >= V)
      throw new RangeError(`${who}.forward: token id ${d[i]} at flat position ${i} is out of range [0, ${V})`);
  }
}
