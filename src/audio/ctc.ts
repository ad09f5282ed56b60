// Connectionist temporal classification: the loss (F.ctc_loss, nn.CTCLoss) and decoding (greedy and
// prefix beam search). Glossary: T input frames, N batch, C classes (blank included), S target length,
// L' = 2 S + 1 the target with blanks interleaved.
//
// The loss runs the forward (alpha) and backward (beta) recursions in log space, in float64, once per
// sample, and keeps the gradient it implies. NOTE: like PyTorch, the gradient given for log_probs is
// exp(log_probs) - posterior, the gradient *through* a log_softmax: what the loss always follows in
// practice; it differs from the derivative for free log_probs by exp(log_probs), which log_softmax's
// backward removes (its rows sum to 1), so composed gradients equal the true ones.

import { Tensor } from '../tensor/tensor.js';
import { fmtShape } from '../tensor/layout.js';
import { record, wrap } from '../ops/util.js';
import { Module } from '../nn/module.js';

export type CtcReduction = 'none' | 'mean' | 'sum';

export interface CtcLossOptions {
  blank?: number;
  /** 'mean' (the default: each loss divided by its target length, then the batch mean), 'sum' or 'none'. */
  reduction?: CtcReduction;
  /** Infinite losses (no alignment exists) and their gradients become 0. */
  zeroInfinity?: boolean;
}

function lse(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

function intList(x: Tensor | readonly number[], name: string, op: string): number[] {
  const v = x instanceof Tensor ? Array.from(x.toTypedArray() as ArrayLike<number>, Number) : [...x];
  for (const n of v)
    if (!Number.isInteger(n) || n < 0) throw new Error(`${op}: ${name} must be non-negative integers, got ${n}`);
  return v;
}

/**
 * F.ctc_loss: logProbs (T, N, C) (or (T, C) unbatched) log-softmax outputs; targets (N, S) padded or the
 * concatenation of all targets (sum of targetLengths); inputLengths (N) <= T; targetLengths (N).
 * @example const loss = nb.audio.ctcLoss(logits.logSoftmax(2), targets, [50, 50], [10, 7]);
 */
export function ctcLoss(
  logProbs: Tensor,
  targets: Tensor | readonly number[],
  inputLengths: Tensor | readonly number[],
  targetLengths: Tensor | readonly number[],
  o: CtcLossOptions = {},
): Tensor {
  const op = 'ctcLoss';
  const blank = o.blank ?? 0,
    reduction = o.reduction ?? 'mean';
  if (!['none', 'mean', 'sum'].includes(reduction))
    throw new Error(`${op}: reduction must be 'none', 'mean' or 'sum', got '${reduction}'`);
  if (logProbs.dtype !== 'float32' && logProbs.dtype !== 'float64')
    throw new Error(`${op}: expected float32 or float64 log_probs, got ${logProbs.dtype}`);
  const unbatched = logProbs.ndim === 2;
  const lp3 = unbatched ? logProbs.unsqueeze(1) : logProbs;
  if (lp3.ndim !== 3) throw new Error(`${op}: expected log_probs (T, N, C) or (T, C), got ${fmtShape(logProbs.shape)}`);
  const [T, N, C] = lp3.shape;
  if (!Number.isInteger(blank) || blank < 0 || blank >= C)
    throw new Error(`${op}: blank must be in label range [0, ${C}), got ${blank}`);
  const il = intList(inputLengths, 'input_lengths', op),
    tl = intList(targetLengths, 'target_lengths', op);
  if (il.length !== N || tl.length !== N)
    throw new Error(`${op}: expected ${N} input and target lengths, got ${il.length} and ${tl.length}`);
  const tg = intList(targets instanceof Tensor ? targets.flatten() : targets, 'targets', op);
  const tshape = targets instanceof Tensor ? targets.shape : [tg.length];
  const padded = targets instanceof Tensor && targets.ndim === 2;
  const Smax = padded ? tshape[1] : 0;
  if (padded && tshape[0] !== N)
    throw new Error(`${op}: targets ${fmtShape(tshape)} has ${tshape[0]} rows for a batch of ${N}`);
  if (!padded) {
    const total = tl.reduce((a, b) => a + b, 0);
    if (total !== tg.length)
      throw new Error(`${op}: concatenated targets have ${tg.length} labels but target_lengths sum to ${total}`);
  }
  const lp = lp3.to('float64').contiguous().toTypedArray() as Float64Array;
  const losses = new Float64Array(N);
  const needGrad = logProbs.requiresGrad;
  const grad = needGrad ? new Float64Array(T * N * C) : null;
  let offset = 0;
  for (let n = 0; n < N; n++) {
    const Tn = il[n],
      S = tl[n];
    if (Tn > T) throw new Error(`${op}: input_lengths[${n}] = ${Tn} exceeds the ${T} frames of log_probs`);
    if (padded && S > Smax) throw new Error(`${op}: target_lengths[${n}] = ${S} exceeds the padded targets' ${Smax}`);
    const lab = padded ? tg.slice(n * Smax, n * Smax + S) : tg.slice(offset, offset + S);
    offset += S;
    for (const c of lab) {
      if (c >= C) throw new Error(`${op}: target label ${c} is out of range for ${C} classes`);
      if (c === blank) throw new Error(`${op}: targets contain the blank label ${blank}`);
    }
    const Lp = 2 * S + 1;
    const ext = (s: number) => (s % 2 === 0 ? blank : lab[(s - 1) / 2]);
    const at = (t: number, c: number) => lp[(t * N + n) * C + c];
    // alpha (Tn, L'), beta (Tn, L') in log space
    const alpha = new Float64Array(Tn * Lp).fill(-Infinity),
      beta = new Float64Array(Tn * Lp).fill(-Infinity);
    if (Tn > 0) {
      alpha[0] = at(0, blank);
      if (Lp > 1) alpha[1] = at(0, ext(1));
      for (let t = 1; t < Tn; t++)
        for (let s = 0; s < Lp; s++) {
          let a = alpha[(t - 1) * Lp + s];
          if (s > 0) a = lse(a, alpha[(t - 1) * Lp + s - 1]);
          if (s > 1 && ext(s) !== blank && ext(s) !== ext(s - 2)) a = lse(a, alpha[(t - 1) * Lp + s - 2]);
          alpha[t * Lp + s] = a === -Infinity ? a : a + at(t, ext(s));
        }
    }
    const ll =
      Tn === 0
        ? S === 0
          ? 0
          : -Infinity
        : lse(alpha[(Tn - 1) * Lp + Lp - 1], Lp > 1 ? alpha[(Tn - 1) * Lp + Lp - 2] : -Infinity);
    let loss = -ll;
    const inf = loss === Infinity;
    if (inf && o.zeroInfinity) loss = 0;
    losses[n] = loss;
    if (!grad) continue;
    if (inf) {
      // NOTE: as PyTorch: an infinite loss has a NaN gradient, or 0 with zeroInfinity.
      if (!o.zeroInfinity)
        for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) grad[(t * N + n) * C + c] = Number.NaN;
      continue;
    }
    if (Tn === 0) continue;
    beta[(Tn - 1) * Lp + Lp - 1] = at(Tn - 1, blank);
    if (Lp > 1) beta[(Tn - 1) * Lp + Lp - 2] = at(Tn - 1, ext(Lp - 2));
    for (let t = Tn - 2; t >= 0; t--)
      for (let s = 0; s < Lp; s++) {
        let b = beta[(t + 1) * Lp + s];
        if (s < Lp - 1) b = lse(b, beta[(t + 1) * Lp + s + 1]);
        if (s < Lp - 2 && ext(s) !== blank && ext(s) !== ext(s + 2)) b = lse(b, beta[(t + 1) * Lp + s + 2]);
        beta[t * Lp + s] = b === -Infinity ? b : b + at(t, ext(s));
      }
    // grad[t, c] = exp(lp) - exp(logsum_{s: ext(s)=c} alpha + beta + nll - lp)
    const lcab = new Float64Array(C);
    for (let t = 0; t < Tn; t++) {
      lcab.fill(-Infinity);
      for (let s = 0; s < Lp; s++) lcab[ext(s)] = lse(lcab[ext(s)], alpha[t * Lp + s] + beta[t * Lp + s]);
      for (let c = 0; c < C; c++) {
        const l = at(t, c);
        grad[(t * N + n) * C + c] = Math.exp(l) - Math.exp(lcab[c] + loss - l);
      }
    }
  }
  const dt = logProbs.dtype;
  const mk = (d: Float64Array, shape: number[]) => wrap(dt === 'float64' ? d : Float32Array.from(d), shape, dt);
  const perSample = mk(losses, unbatched ? [] : [N]);
  // per-sample weights of the reduction: d out / d loss_n
  const weight = new Float64Array(N);
  for (let n = 0; n < N; n++) weight[n] = reduction === 'mean' ? 1 / (N * Math.max(1, tl[n])) : 1;
  let out: Tensor;
  if (reduction === 'none') out = perSample;
  else {
    let s = 0;
    for (let n = 0; n < N; n++) s += losses[n] * weight[n];
    out = mk(Float64Array.of(s), []);
  }
  if (!grad) return out;
  const G = mk(grad, [T, N, C]);
  return record(out, 'CtcLossBackward', [logProbs], (g) => {
    // g: () for mean/sum, (N) or () (unbatched) for none -> (T, N, C) scaled per sample
    const w = mk(weight, [1, N, 1]);
    const gn = reduction === 'none' ? (unbatched ? g.reshape([1, 1, 1]) : g.reshape([1, N, 1])).mul(w) : w.mul(g);
    const r = G.mul(gn);
    return [unbatched ? r.squeeze(1) : r];
  });
}

/** nn.CTCLoss as a Module: forward(logProbs, targets, inputLengths, targetLengths). */
export class CTCLoss extends Module {
  constructor(
    readonly blank = 0,
    readonly reduction: CtcReduction = 'mean',
    readonly zeroInfinity = false,
  ) {
    super();
  }
  forward(
    logProbs: Tensor,
    targets: Tensor | readonly number[],
    inputLengths: Tensor | readonly number[],
    targetLengths: Tensor | readonly number[],
  ): Tensor {
    return ctcLoss(logProbs, targets, inputLengths, targetLengths, {
      blank: this.blank,
      reduction: this.reduction,
      zeroInfinity: this.zeroInfinity,
    });
  }
}

// ---- decoding ----

function emissionRows(x: Tensor, op: string): { T: number; C: number; d: Float64Array } {
  if (x.ndim !== 2) throw new Error(`${op}: expected emissions (T, C), got ${fmtShape(x.shape)}`);
  return { T: x.shape[0], C: x.shape[1], d: x.to('float64').contiguous().toTypedArray() as Float64Array };
}

/** Best path: argmax per frame, repeats merged, blanks dropped. emissions (T, C) -> label ids. */
export function ctcGreedyDecode(emissions: Tensor, o: { blank?: number; length?: number } = {}): number[] {
  const { T, C, d } = emissionRows(emissions, 'ctcGreedyDecode');
  const blank = o.blank ?? 0,
    len = Math.min(T, o.length ?? T);
  const out: number[] = [];
  let prev = -1;
  for (let t = 0; t < len; t++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (d[t * C + c] > d[t * C + best]) best = c;
    if (best !== prev && best !== blank) out.push(best);
    prev = best;
  }
  return out;
}

export interface BeamHypothesis {
  tokens: number[];
  /** log P(tokens | emissions), summed over the alignments the beam kept. */
  score: number;
}

/**
 * CTC prefix beam search over log-probabilities (T, C): keeps `beamWidth` prefixes, each with the
 * log-probability of ending in blank and in its last label. Returns the `nBest` best, best first.
 */
export function ctcBeamSearch(
  logProbs: Tensor,
  o: { beamWidth?: number; blank?: number; nBest?: number; length?: number } = {},
): BeamHypothesis[] {
  const op = 'ctcBeamSearch';
  const { T, C, d } = emissionRows(logProbs, op);
  const W = o.beamWidth ?? 10,
    blank = o.blank ?? 0,
    len = Math.min(T, o.length ?? T);
  if (!Number.isInteger(W) || W < 1) throw new Error(`${op}: beamWidth must be a positive integer, got ${W}`);
  type Entry = { tokens: number[]; pb: number; pnb: number };
  let beams = new Map<string, Entry>([['', { tokens: [], pb: 0, pnb: -Infinity }]]);
  for (let t = 0; t < len; t++) {
    const next = new Map<string, Entry>();
    const get = (tokens: number[]) => {
      const k = tokens.join(',');
      let e = next.get(k);
      if (!e) {
        e = { tokens, pb: -Infinity, pnb: -Infinity };
        next.set(k, e);
      }
      return e;
    };
    for (const b of beams.values()) {
      const total = lse(b.pb, b.pnb);
      for (let c = 0; c < C; c++) {
        const p = d[t * C + c];
        if (c === blank) {
          const e = get(b.tokens);
          e.pb = lse(e.pb, total + p);
          continue;
        }
        const last = b.tokens.length ? b.tokens[b.tokens.length - 1] : -1;
        const ext = get([...b.tokens, c]);
        // a repeated label needs a blank in between to count twice
        ext.pnb = lse(ext.pnb, (c === last ? b.pb : total) + p);
        if (c === last) {
          const same = get(b.tokens);
          same.pnb = lse(same.pnb, b.pnb + p);
        }
      }
    }
    beams = new Map([...next.entries()].sort((a, b) => lse(b[1].pb, b[1].pnb) - lse(a[1].pb, a[1].pnb)).slice(0, W));
  }
  return [...beams.values()]
    .map((e) => ({ tokens: e.tokens, score: lse(e.pb, e.pnb) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, o.nBest ?? 1);
}
