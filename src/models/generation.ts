// Text generation shared by every causal LM: greedy decoding and seeded sampling (temperature,
// top-k, top-p), repetition penalty, length limits, eos and stop strings, several sequences per
// prompt, batched prompts with left padding, a per-token streaming callback, and a KV cache so
// that each new token costs one forward step.
//
// Glossary: B rows (prompts x numReturnSequences), T prompt length (padded), V vocabulary.

import { Tensor } from '../tensor/tensor.js';
import { fromTypedArray } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import { noGrad } from '../autograd/grad_mode.js';
import type { KVCache } from './kv_cache.js';
import type { Module } from '../nn/module.js';
import { banRepeatedNgrams, beamSearch, checkBeamOptions, type StepDecoder } from './beam_search.js';

/** What a decoder's forward accepts besides the ids. */
export interface ForwardOptions {
  /** Cached keys/values of earlier positions; the forward appends the new ones. */
  cache?: KVCache | null;
  /** (B, S) 1 for real tokens, 0 for padding, over cached + new positions. */
  attentionMask?: Tensor | null;
  /** (B, T) int32 positions of the new tokens (default: cache length + 0..T-1). */
  positionIds?: Tensor | null;
  /** Compute logits for the last N positions only (generation needs 1). Default: all. */
  logitsToKeep?: number;
  /** true (see OutputAttentionsOptions) makes forward return the attentions too. */
  outputAttentions?: false;
}

/**
 * Hugging Face's output_attentions=True: forward(ids, { outputAttentions: true }) returns
 * { logits, attentions } (CausalLMOutput), the base models { lastHiddenState, attentions }.
 * The fused attention kernels are skipped for that call: they never form the probabilities.
 */
export interface OutputAttentionsOptions extends Omit<ForwardOptions, 'outputAttentions'> {
  outputAttentions: true;
}

/**
 * What a decoder's forward returns with outputAttentions: attentions holds one tensor per layer,
 * (B, H, T, S) = (batch, query heads, new positions, cached + new positions): the softmax probabilities
 * after the causal and padding masks (and after attention dropout in training), as in transformers.
 */
export interface CausalLMOutput {
  logits: Tensor;
  attentions: Tensor[];
}

/** A base model's (GPT2Model, LlamaModel) forward with outputAttentions: the final hidden states (B, T, C). */
export interface BaseModelOutput {
  lastHiddenState: Tensor;
  attentions: Tensor[];
}

/** The contract every causal LM meets so that `generate` can drive it. */
export interface CausalLM {
  /** ids (B,T) int32 -> logits (B,T,V), or (B,logitsToKeep,V). */
  forward(ids: Tensor, options?: ForwardOptions): Tensor;
  /** An empty cache for `batchSize` rows and up to `maxLength` positions. */
  createCache(batchSize: number, maxLength: number): KVCache;
  readonly vocabSize: number;
  /** The context window (n_positions / max_position_embeddings). */
  readonly maxPositions: number;
  /** Default eos id (from the config), if any. */
  readonly eosTokenId?: number | null;
}

/** Receives each new token of each row as it is chosen; `end` once generation stops. */
export type Streamer = ((token: number, row: number) => void) | { put(token: number, row: number): void; end?(): void };

/**
 * Options of `generate` (Hugging Face's GenerationConfig, in camelCase). Greedy by default; `doSample`
 * with `temperature`, `topK`, `topP` samples; `numBeams` > 1 runs beam search.
 * @example
 * ```ts
 * model.generate(ids, { maxNewTokens: 40, doSample: true, temperature: 0.8, topP: 0.9, seed: 1 });
 * ```
 */
export interface GenerateOptions {
  /** Total length (prompt + new) per sequence. Default 20 unless maxNewTokens is given. */
  maxLength?: number;
  /** New tokens per sequence (takes precedence over maxLength). */
  maxNewTokens?: number;
  /** Sequences per prompt. Default 1. With greedy decoding they are identical. */
  numReturnSequences?: number;
  /** Sample instead of taking the argmax. Default false. */
  doSample?: boolean;
  /** > 0; divides the logits before sampling. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP?: number;
  /** > 0; penalises tokens already in the sequence (CTRL / Hugging Face rule). 1 = off. */
  repetitionPenalty?: number;
  /** Stop a row when it emits this token (or any of these). Default: the model's eos. null = never. */
  eosTokenId?: number | number[] | null;
  /** Fills left padding and finished rows. Default: the first eos id, else 0. */
  padTokenId?: number;
  /** (B, T) 1/0 for the prompt rows, when the caller pads them itself (left padding). */
  attentionMask?: number[][] | Tensor;
  /** Seed for sampling (a fresh Generator); or pass `generator`. */
  seed?: number;
  /** The random generator for sampling (default: a fresh one from `seed`, else the global one). */
  generator?: Generator;
  /** Stop a row once its generated text contains one of these; needs `decode`. */
  stopStrings?: string[];
  /** ids -> text, for stop strings. */
  decode?: (ids: number[]) => string;
  /** Called with every new token of every row (not with beam search, whose beams change their past). */
  streamer?: Streamer;
  /** > 1: beam search with this many beams per prompt (Hugging Face semantics; see beam_search.ts). Default 1. */
  numBeams?: number;
  /** Beam search: a finished hypothesis scores sum(log p) / length^lengthPenalty. Default 1. */
  lengthPenalty?: number;
  /** Beam search: true, false (default) or 'never', as Hugging Face's early_stopping. */
  earlyStopping?: boolean | 'never';
  /** Bans every n-gram of this size from occurring twice (0 = off), in every decoding mode. */
  noRepeatNgramSize?: number;
}

/** Prompt token ids: one prompt, a batch of prompts (ragged rows are left-padded), or a (B, T) tensor. */
export type Prompts = number[] | number[][] | Tensor;

function rowsOf(input: Prompts): number[][] {
  if (input instanceof Tensor) {
    const t = input.ndim === 1 ? input.unsqueeze(0) : input;
    if (t.ndim !== 2)
      throw new Error(`generate: inputIds tensor must be (T) or (B, T), got [${input.shape.join(', ')}]`);
    return (t.to('int32').toArray() as number[][]).map((r) => r.slice());
  }
  if (!Array.isArray(input) || input.length === 0)
    throw new Error('generate: inputIds must be a non-empty array of token ids');
  return Array.isArray(input[0]) ? (input as number[][]).map((r) => r.slice()) : [(input as number[]).slice()];
}

function maskRowsOf(m: number[][] | Tensor): number[][] {
  if (m instanceof Tensor) return m.to('int32').toArray() as number[][];
  return m;
}

function positiveInt(v: number | undefined, name: string, min = 1): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min))
    throw new Error(`generate: ${name} must be an integer >= ${min}, got ${v}`);
}

/** Resolved options with every check done up front, before any compute. */
function resolve(model: CausalLM, o: GenerateOptions) {
  positiveInt(o.maxLength, 'maxLength');
  positiveInt(o.maxNewTokens, 'maxNewTokens', 0);
  positiveInt(o.numReturnSequences, 'numReturnSequences');
  positiveInt(o.topK, 'topK', 0);
  checkBeamOptions(o);
  const doSample = o.doSample ?? false;
  const temperature = o.temperature ?? 1;
  if (doSample && !(temperature > 0)) {
    throw new Error(
      `generate: temperature must be > 0 when sampling, got ${temperature} (use doSample: false for greedy decoding)`,
    );
  }
  const topP = o.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new Error(`generate: topP must be in (0, 1], got ${topP}`);
  const repetitionPenalty = o.repetitionPenalty ?? 1;
  if (!(repetitionPenalty > 0)) throw new Error(`generate: repetitionPenalty must be > 0, got ${repetitionPenalty}`);
  const eosOpt = o.eosTokenId === undefined ? (model.eosTokenId ?? null) : o.eosTokenId;
  const eos = new Set(eosOpt === null ? [] : Array.isArray(eosOpt) ? eosOpt : [eosOpt]);
  for (const id of eos) checkId(id, model.vocabSize, 'eosTokenId');
  const pad = o.padTokenId ?? (eos.size ? [...eos][0] : 0);
  checkId(pad, model.vocabSize, 'padTokenId');
  if (o.stopStrings?.length && !o.decode) throw new Error('generate: stopStrings need a decode function (ids -> text)');
  const generator = o.generator ?? new Generator(o.seed ?? 0);
  const noRepeatNgramSize = o.noRepeatNgramSize ?? 0;
  return { doSample, temperature, topK: o.topK ?? 0, topP, repetitionPenalty, noRepeatNgramSize, eos, pad, generator };
}

function checkId(id: number, V: number, what: string): void {
  if (!Number.isInteger(id) || id < 0 || id >= V)
    throw new RangeError(`generate: ${what} ${id} is out of range [0, ${V})`);
}

/**
 * Generates continuations of one prompt (number[]) or a batch (number[][] or a (B,T) tensor).
 * Returns, per sequence, the prompt without padding followed by its new tokens (up to and
 * including eos). Prompts of a batch may differ in length: they are left-padded internally.
 * Generation also stops when a sequence fills the model's context window (maxPositions).
 *
 * @example
 * const out = generate(model, tokenizer.encode('Once upon a time'), { maxNewTokens: 20, doSample: true, topK: 40, seed:
 * 1 });
 */
export function generate(model: CausalLM, inputIds: Prompts, options: GenerateOptions = {}): number[][] {
  const opt = resolve(model, options);
  const rows = rowsOf(inputIds);
  const masks = options.attentionMask ? maskRowsOf(options.attentionMask) : null;
  if (masks && (masks.length !== rows.length || masks.some((m, i) => m.length !== rows[i].length))) {
    throw new Error('generate: attentionMask must have the shape of inputIds');
  }
  // Strip caller padding, then re-pad on the left: one code path for every batch.
  const prompts = rows.map((r, i) => (masks ? r.filter((_, j) => masks![i][j] !== 0) : r));
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new Error(`generate: prompt ${i} is empty (at least one token is needed, e.g. BOS)`);
    p.forEach((id, j) => {
      if (!Number.isInteger(id) || id < 0 || id >= model.vocabSize) {
        throw new RangeError(
          `generate: token id ${id} at position ${j} of prompt ${i} is out of range [0, ${model.vocabSize})`,
        );
      }
    });
    if (p.length > model.maxPositions) {
      throw new Error(
        `generate: prompt ${i} has ${p.length} tokens, more than the model's context window of ` +
          `${model.maxPositions} positions`,
      );
    }
  });
  const n = options.numReturnSequences ?? 1;
  if ((options.numBeams ?? 1) > 1) return noGrad(() => beamGenerate(model, prompts, options, opt));
  const seqs = prompts.flatMap((p) => Array.from({ length: n }, () => p.slice()));
  const B = seqs.length;
  const T = Math.max(...seqs.map((s) => s.length));
  const maxNew = options.maxNewTokens ?? Math.max(0, (options.maxLength ?? 20) - T);
  const budget = Math.min(T + maxNew, model.maxPositions);
  const streamer = options.streamer;
  const put = !streamer ? null : typeof streamer === 'function' ? streamer : streamer.put.bind(streamer);

  return noGrad(() => {
    const padded = seqs.map((s) => new Array<number>(T - s.length).fill(opt.pad).concat(s));
    const maskRows = seqs.map((s) =>
      new Array<number>(T - s.length).fill(0).concat(new Array<number>(s.length).fill(1)),
    );
    const needMask = seqs.some((s) => s.length < T);
    const cache = model.createCache(B, Math.max(budget, T));
    // positions count real tokens only, so a left-padded row starts at 0 like an unpadded one
    const pos = seqs.map((s) => s.length);
    const posIds = new Int32Array(B * T);
    seqs.forEach((s, b) => {
      for (let t = 0; t < T; t++) posIds[b * T + t] = Math.max(0, t - (T - s.length));
    });
    let mask: Int32Array | null = needMask ? Int32Array.from(maskRows.flat()) : null;
    let logits = model.forward(fromTypedArray(Int32Array.from(padded.flat()), [B, T]), {
      cache,
      attentionMask: mask ? fromTypedArray(mask, [B, T]) : null,
      positionIds: fromTypedArray(posIds, [B, T]),
      logitsToKeep: 1,
    });
    const done = new Array<boolean>(B).fill(false);
    const generated: number[][] = seqs.map(() => []);
    for (let step = 0; T + step < budget; step++) {
      const V = logits.shape[2];
      const data = logits.reshape([B, V]).toTypedArray() as Float32Array;
      const next = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        if (done[b]) {
          next[b] = opt.pad;
          continue;
        }
        const row = Float64Array.from(data.subarray(b * V, (b + 1) * V));
        next[b] = chooseToken(row, seqs[b], opt);
        seqs[b].push(next[b]);
        generated[b].push(next[b]);
        put?.(next[b], b);
        if (opt.eos.has(next[b])) done[b] = true;
        else if (options.stopStrings?.length && hitsStop(options.decode!(generated[b]), options.stopStrings))
          done[b] = true;
      }
      if (done.every(Boolean) || T + step + 1 >= budget) break;
      const S = cache.length + 1;
      if (mask) {
        const m = new Int32Array(B * S);
        for (let b = 0; b < B; b++) {
          m.set(mask.subarray(b * (S - 1), (b + 1) * (S - 1)), b * S);
          m[b * S + S - 1] = 1;
        }
        mask = m;
      }
      const stepPos = Int32Array.from(pos, (p, b) => p + generated[b].length - 1);
      logits = model.forward(fromTypedArray(next, [B, 1]), {
        cache,
        attentionMask: mask ? fromTypedArray(mask, [B, S]) : null,
        positionIds: fromTypedArray(stepPos, [B, 1]),
        logitsToKeep: 1,
      });
    }
    if (streamer && typeof streamer !== 'function') streamer.end?.();
    return seqs;
  });
}

/** Runs fn with the module in eval mode (no dropout), then restores its training flag. */
export function inEvalMode<T>(m: Module, fn: () => T): T {
  const was = m.training;
  m.eval();
  try {
    return fn();
  } finally {
    m.train(was);
  }
}

/** Beam search for each prompt in turn (numBeams rows each), the cache reordered after every step. */
function beamGenerate(model: CausalLM, prompts: number[][], options: GenerateOptions, opt: Resolved): number[][] {
  const K = options.numBeams!;
  return prompts.flatMap((p) => {
    const maxNew = Math.min(
      options.maxNewTokens ?? Math.max(0, (options.maxLength ?? 20) - p.length),
      model.maxPositions - p.length,
    );
    const cache = model.createCache(K, p.length + Math.max(1, maxNew));
    const dec: StepDecoder = {
      vocabSize: model.vocabSize,
      step(tokens) {
        const ids = tokens
          ? fromTypedArray(tokens, [K, 1])
          : fromTypedArray(
              Int32Array.from({ length: K * p.length }, (_, i) => p[i % p.length]),
              [K, p.length],
            );
        const logits = model.forward(ids, { cache, logitsToKeep: 1 });
        return logits.reshape([K, logits.shape[2]]).to('float32').toTypedArray() as Float32Array;
      },
      reorder: (rows) => cache.reorder(rows),
    };
    const hyps = beamSearch(dec, [p], {
      numBeams: K,
      lengthPenalty: options.lengthPenalty,
      earlyStopping: options.earlyStopping,
      noRepeatNgramSize: options.noRepeatNgramSize,
      numReturnSequences: options.numReturnSequences,
      repetitionPenalty: opt.repetitionPenalty,
      maxNewTokens: maxNew,
      eos: opt.eos,
      pad: opt.pad,
    });
    return hyps[0].map((h) => h.tokens);
  });
}

function hitsStop(text: string, stops: string[]): boolean {
  return stops.some((s) => s.length > 0 && text.includes(s));
}

type Resolved = ReturnType<typeof resolve>;

/** Applies the logits processors to one row (V) and picks the next token. */
export function chooseToken(
  logits: Float64Array,
  seq: readonly number[],
  o: Pick<Resolved, 'doSample' | 'temperature' | 'topK' | 'topP' | 'repetitionPenalty' | 'generator'> & {
    noRepeatNgramSize?: number;
  },
): number {
  if (o.repetitionPenalty !== 1) applyRepetitionPenalty(logits, seq, o.repetitionPenalty);
  if (o.noRepeatNgramSize) banRepeatedNgrams(logits, seq, o.noRepeatNgramSize);
  if (!o.doSample) return argmax(logits);
  if (o.temperature !== 1) for (let i = 0; i < logits.length; i++) logits[i] /= o.temperature;
  return sample(logits, o.topK, o.topP, o.generator);
}

/** Hugging Face's RepetitionPenaltyLogitsProcessor: seen tokens' logits divided (>0) or multiplied (<0) by p. */
export function applyRepetitionPenalty(logits: Float64Array, seq: readonly number[], p: number): void {
  for (const id of new Set(seq)) {
    const v = logits[id];
    logits[id] = v < 0 ? v * p : v / p;
  }
}

/** Index of the largest value (the first on ties). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/**
 * Samples from softmax(logits) restricted to the top-k tokens and then to the smallest set whose
 * probability reaches topP (the most likely token always stays), with one uniform draw.
 * NOTE: never sorts the whole vocabulary: top-k selects by threshold, and top-p sorts only the
 * tokens above a probability floor that already holds topP of the mass (exact: every token left
 * out is less likely than every token kept).
 */
export function sample(logits: Float64Array, topK: number, topP: number, gen: Generator): number {
  const V = logits.length;
  let cand: number[] | null = topK > 0 && topK < V ? topKIndices(logits, topK) : null;
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[i];
  const w = (i: number) => Math.exp(logits[i] - max);
  if (topP < 1) cand = nucleus(cand, V, w, topP);
  if (!cand) {
    // plain sampling over the whole vocabulary: two passes, no index arrays
    let total = 0;
    for (let i = 0; i < V; i++) total += w(i);
    let u = gen.random() * total;
    for (let i = 0; i < V; i++) {
      u -= w(i);
      if (u < 0) return i;
    }
    return argmax(logits);
  }
  let total = 0;
  for (const i of cand) total += w(i);
  let u = gen.random() * total;
  for (const i of cand) {
    u -= w(i);
    if (u < 0) return i;
  }
  return cand[cand.length - 1];
}

/** The most likely tokens (of `cand`, or of all V) whose mass reaches topP, most likely first. */
function nucleus(cand: number[] | null, V: number, w: (i: number) => number, topP: number): number[] {
  // NOTE: plain loops: Array.from / TypedArray.from with a map function are several times slower here.
  let all: number[];
  if (cand) all = cand;
  else {
    all = new Array<number>(V);
    for (let i = 0; i < V; i++) all[i] = i;
  }
  const ws = new Float64Array(all.length);
  let total = 0;
  for (let j = 0; j < all.length; j++) {
    ws[j] = w(all[j]);
    total += ws[j];
  }
  const byWeight = (a: number, b: number) => ws[b] - ws[a] || all[a] - all[b];
  for (const floor of [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 0]) {
    const keep: number[] = [];
    let mass = 0;
    for (let j = 0; j < all.length; j++)
      if (ws[j] >= floor * total) {
        keep.push(j);
        mass += ws[j];
      }
    if (mass < topP * total && floor > 0) continue;
    keep.sort(byWeight);
    let cum = 0,
      n = keep.length;
    for (let j = 0; j < keep.length; j++) {
      cum += ws[keep[j]];
      if (cum >= topP * total) {
        n = j + 1;
        break;
      }
    }
    return keep.slice(0, n).map((j) => all[j]);
  }
  return all;
}

/** The k indices of the largest values, largest first (ties: lower index first), without a full sort. */
function topKIndices(x: Float64Array, k: number): number[] {
  const kth = kthLargest(Float64Array.from(x), k);
  const above: number[] = [],
    at: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (x[i] > kth) above.push(i);
    else if (x[i] === kth && at.length < k) at.push(i);
  }
  const idx = above.concat(at.slice(0, k - above.length));
  return idx.sort((a, b) => x[b] - x[a] || a - b);
}

/** The k-th largest value (1-based) by quickselect; reorders `a`. */
function kthLargest(a: Float64Array, k: number): number {
  let lo = 0,
    hi = a.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo,
      j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target];
}
