// Beam search with Hugging Face's semantics (transformers' BeamSearchScorer and BeamHypotheses),
// shared by decoder-only LMs (generate with numBeams > 1) and encoder-decoder models (seq2seq.ts),
// plus the no-repeat-n-gram logits processor that greedy decoding and sampling use too.
//
// Glossary: G groups (prompts or source sentences), K beams per group, R = G*K decoder rows,
// V vocabulary, P prompt length of a group (its decoder start tokens for encoder-decoders).
//
// Scores follow transformers 4.4x: a finished hypothesis scores sum(log p) / genLen^lengthPenalty,
// where genLen counts the generated tokens including its eos (the prompt is not counted).

/**
 * A decoder that beam search (or greedy decoding) drives row by row. Row r of group g is row g*K + k.
 * step(null) returns the logits of the first new token (after the prompt / decoder start); step(tokens)
 * appends tokens (R) to every row and returns the next logits (R*V, row-major).
 */
export interface StepDecoder {
  readonly vocabSize: number;
  step(tokens: Int32Array | null): Float32Array;
  /** Keeps rows `rows` (R) in that order (a row may be repeated, another dropped). */
  reorder(rows: Int32Array): void;
}

export interface BeamSearchOptions {
  numBeams: number;
  /** Exponent of the length in the score of a finished hypothesis; > 0 favours longer ones. Default 1. */
  lengthPenalty?: number;
  /**
   * true: a group stops once it has numBeams finished hypotheses; false: also once no open beam can
   * beat the worst of them (the heuristic bound at the current length); 'never': only when the bound at
   * the longest length says so (exact). Default false, as Hugging Face.
   */
  earlyStopping?: boolean | 'never';
  /** Bans any n-gram of this size from appearing twice in a sequence (0 = off). */
  noRepeatNgramSize?: number;
  /** Best hypotheses returned per group, <= numBeams. Default 1. */
  numReturnSequences?: number;
  maxNewTokens: number;
  eos: ReadonlySet<number>;
  /** Fed to the rows of finished groups. */
  pad: number;
  /** Hugging Face's repetition penalty, applied (as there) to the log-probabilities. 1 = off. */
  repetitionPenalty?: number;
}

export interface BeamHypothesis {
  /** The prompt followed by the generated tokens (the eos included when the hypothesis ended with one). */
  tokens: number[];
  /** sum(log p) / genLen^lengthPenalty. */
  score: number;
}

/** The finished hypotheses of one group: the numBeams best so far (transformers' BeamHypotheses). */
class Hypotheses {
  readonly beams: BeamHypothesis[] = [];
  worst = 1e9;
  constructor(
    private readonly numBeams: number,
    private readonly lengthPenalty: number,
    private readonly earlyStopping: boolean | 'never',
    private readonly maxNew: number,
  ) {}

  add(tokens: number[], sumLogprobs: number, genLen: number): void {
    const score = sumLogprobs / genLen ** this.lengthPenalty;
    if (this.beams.length < this.numBeams || score > this.worst) {
      this.beams.push({ tokens, score });
      if (this.beams.length > this.numBeams) {
        const order = this.beams.map((b, i) => [b.score, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        this.beams.splice(order[0][1], 1);
        this.worst = order[1][0];
      } else this.worst = Math.min(score, this.worst);
    }
  }

  /** Whether no open beam can still enter: best = the best candidate's sum of log-probs, genLen its length. */
  isDone(best: number, genLen: number): boolean {
    if (this.beams.length < this.numBeams) return false;
    if (this.earlyStopping === true) return true;
    const len = this.earlyStopping === 'never' && this.lengthPenalty > 0 ? this.maxNew : genLen;
    return this.worst >= best / len ** this.lengthPenalty;
  }
}

/** Checks the options that do not depend on the model; throws naming the option. */
export function checkBeamOptions(o: {
  numBeams?: number;
  numReturnSequences?: number;
  lengthPenalty?: number;
  noRepeatNgramSize?: number;
  earlyStopping?: boolean | 'never';
  doSample?: boolean;
}): void {
  const K = o.numBeams ?? 1,
    n = o.numReturnSequences ?? 1;
  if (!Number.isInteger(K) || K < 1) throw new Error(`generate: numBeams must be an integer >= 1, got ${K}`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`generate: numReturnSequences must be an integer >= 1, got ${n}`);
  if (K > 1 && n > K) {
    throw new Error(
      `generate: numReturnSequences (${n}) must be <= numBeams (${K}): beam search keeps only numBeams hypotheses`,
    );
  }
  if (K > 1 && o.doSample) throw new Error('generate: beam sampling (doSample with numBeams > 1) is not supported');
  const ng = o.noRepeatNgramSize ?? 0;
  if (!Number.isInteger(ng) || ng < 0)
    throw new Error(`generate: noRepeatNgramSize must be an integer >= 0, got ${ng}`);
  if (o.lengthPenalty !== undefined && !Number.isFinite(o.lengthPenalty))
    throw new Error(`generate: lengthPenalty must be a finite number, got ${o.lengthPenalty}`);
  const es = o.earlyStopping;
  if (es !== undefined && es !== true && es !== false && es !== 'never')
    throw new Error(`generate: earlyStopping must be true, false or 'never', got ${String(es)}`);
}

/**
 * Hugging Face's NoRepeatNGramLogitsProcessor on one row: every token that would complete an n-gram
 * already in `seq` gets -inf.
 */
export function banRepeatedNgrams(scores: Float64Array, seq: readonly number[], n: number): void {
  if (n <= 0 || seq.length + 1 < n) return;
  const prefix = seq.slice(seq.length - n + 1);
  for (let i = 0; i + n <= seq.length; i++) {
    let same = true;
    for (let j = 0; j < n - 1 && same; j++) same = seq[i + j] === prefix[j];
    if (same) scores[seq[i + n - 1]] = -Infinity;
  }
}

/** log_softmax of one row, in float64. */
function logSoftmaxRow(x: Float32Array, off: number, V: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (x[off + i] > max) max = x[off + i];
  let s = 0;
  for (let i = 0; i < V; i++) s += Math.exp(x[off + i] - max);
  const lse = max + Math.log(s);
  const out = new Float64Array(V);
  for (let i = 0; i < V; i++) out[i] = x[off + i] - lse;
  return out;
}

/**
 * Beam search over G groups whose rows already hold `prompts[g]` (the decoder has G*K rows, group g
 * at rows g*K..g*K+K-1). Returns per group its numReturnSequences best hypotheses, best first.
 */
export function beamSearch(dec: StepDecoder, prompts: readonly number[][], o: BeamSearchOptions): BeamHypothesis[][] {
  checkBeamOptions(o);
  const K = o.numBeams,
    G = prompts.length,
    R = G * K,
    V = dec.vocabSize;
  const lp = o.lengthPenalty ?? 1,
    early = o.earlyStopping ?? false,
    ngram = o.noRepeatNgramSize ?? 0,
    rep = o.repetitionPenalty ?? 1,
    nRet = o.numReturnSequences ?? 1;
  const seqs = prompts.flatMap((p) => Array.from({ length: K }, () => p.slice()));
  // NOTE: only beam 0 of a group starts alive, so the first step does not pick K copies of one token.
  const scores = new Float64Array(R).map((_, r) => (r % K === 0 ? 0 : -1e9));
  const hyps = prompts.map(() => new Hypotheses(K, lp, early, o.maxNewTokens));
  const done = new Array<boolean>(G).fill(false);
  // enough candidates that K of them are not eos (transformers: max(2, 1 + n_eos) * K)
  const nCand = Math.max(2, 1 + o.eos.size) * K;
  if (o.maxNewTokens <= 0) return prompts.map((p) => [{ tokens: p.slice(), score: 0 }].slice(0, nRet));
  let logits = dec.step(null);
  for (let s = 0; s < o.maxNewTokens; s++) {
    const genLen = s + 1;
    const wasDone = done.slice();
    const nextTokens = new Int32Array(R).fill(o.pad);
    const parents = Int32Array.from({ length: R }, (_, r) => r);
    const nextScores = new Float64Array(R);
    for (let g = 0; g < G; g++) {
      if (done[g]) continue;
      // candidates (score, row, token) of the group, best nCand of K*V
      const cand: [number, number, number][] = [];
      for (let k = 0; k < K; k++) {
        const r = g * K + k;
        const lps = logSoftmaxRow(logits, r * V, V);
        if (rep !== 1) for (const id of new Set(seqs[r])) lps[id] = lps[id] < 0 ? lps[id] * rep : lps[id] / rep;
        if (ngram > 0) banRepeatedNgrams(lps, seqs[r], ngram);
        for (let v = 0; v < V; v++) cand.push([scores[r] + lps[v], r, v]);
      }
      // ties: the lower flat index (row, then token) first, a deterministic stand-in for torch.topk
      cand.sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]);
      cand.length = Math.min(cand.length, nCand);
      let k = 0;
      for (let rank = 0; rank < cand.length && k < K; rank++) {
        const [sc, r, v] = cand[rank];
        if (o.eos.has(v)) {
          // an eos ranked below the K best is not a better hypothesis than an open beam
          if (rank >= K) continue;
          hyps[g].add([...seqs[r], v], sc, genLen);
        } else {
          const row = g * K + k++;
          nextTokens[row] = v;
          parents[row] = r;
          nextScores[row] = sc;
        }
      }
      if (k < K) throw new Error(`beamSearch: fewer than ${K} candidates that are not eos (vocabulary ${V})`);
      done[g] = hyps[g].isDone(cand[0][0], genLen);
    }
    const moved = parents.some((p, r) => p !== r);
    const old = seqs.map((q) => q);
    for (let r = 0; r < R; r++) {
      if (wasDone[Math.floor(r / K)]) continue;
      seqs[r] = [...old[parents[r]], nextTokens[r]];
      scores[r] = nextScores[r];
    }
    if (done.every(Boolean) || s === o.maxNewTokens - 1) break;
    if (moved) dec.reorder(parents);
    logits = dec.step(nextTokens);
  }
  return hyps.map((h, g) => {
    if (!done[g]) {
      // open beams enter as they are (transformers' finalize)
      for (let k = 0; k < K; k++) {
        const r = g * K + k;
        h.add(seqs[r], scores[r], seqs[r].length - prompts[g].length);
      }
    }
    return h.beams
      .map((b, i) => [b, i] as const)
      .sort((a, b) => b[0].score - a[0].score || b[1] - a[1])
      .slice(0, nRet)
      .map(([b]) => b);
  });
}
