// Encoder-decoder models for sequence-to-sequence tasks, and `generateSeq2Seq`: greedy decoding,
// sampling and beam search with Hugging Face's option names (beam search is beam_search.ts, shared
// with the decoder-only models).
//   TransformerSeq2Seq: nn.Transformer (batch first) with learned positions, as in "Attention Is All
//                       You Need" at a small size.
//   LSTMSeq2Seq:        an LSTM encoder and an LSTM decoder with Luong's "general" attention and input
//                       feeding (Luong, Pham & Manning 2015).
// Token ids: 0 pad, 1 bos (the decoder start), 2 eos, 3 unk (see translation.ts for the vocabulary).
//
// Glossary: B batch, S source length, T target length, R = B*K decoder rows (K beams), E model
// width, H hidden size, V vocabulary.

import type { Tensor } from '../tensor/tensor.js';
import { arange, fromTypedArray, zeros } from '../tensor/creation.js';
import { noGrad } from '../autograd/grad_mode.js';
import { Generator } from '../tensor/random.js';
import { cat, stack } from '../ops/movement.js';
import { linear } from '../ops/nn_ops.js';
import { Module } from '../nn/module.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Dropout } from '../nn/dropout.js';
import { LSTM, cellStep } from '../nn/rnn.js';
import { Transformer } from '../nn/transformer.js';
import { beamSearch, checkBeamOptions, type StepDecoder } from './beam_search.js';
import { chooseToken } from './generation.js';

export const PAD_ID = 0,
  BOS_ID = 1,
  EOS_ID = 2,
  UNK_ID = 3;

/** What generateSeq2Seq needs from a model. */
export interface Seq2SeqModel {
  readonly vocabSize: number;
  /** Teacher forcing: src (B,S), tgtIn (B,T) int32 (pad 0) -> logits (B,T,V). */
  forward(src: Tensor, tgtIn: Tensor): Tensor;
  /** A decoder over `beams` rows per source row, started from bos. */
  decoder(src: Tensor, beams: number): StepDecoder;
  eval(): unknown;
  train(mode?: boolean): unknown;
  readonly training: boolean;
}

function checkIds(ids: Tensor, V: number, who: string, what: string): void {
  if (ids.ndim !== 2 || ids.dtype !== 'int32')
    throw new Error(`${who}: ${what} must be (B, L) int32, got ${ids.dtype} [${ids.shape.join(', ')}]`);
  const d = ids.toTypedArray();
  for (let i = 0; i < d.length; i++)
    if (d[i] < 0 || d[i] >= V) throw new RangeError(`${who}: ${what} id ${d[i]} is out of range [0, ${V})`);
}

/** Row r of the R = B*K decoder rows reads source row floor(r / K). */
function expandRows(t: Tensor, K: number): Tensor {
  if (K === 1) return t;
  const B = t.shape[0];
  return t.indexSelect(
    0,
    fromTypedArray(
      Int32Array.from({ length: B * K }, (_, r) => Math.floor(r / K)),
      [B * K],
    ),
  );
}

export interface TransformerSeq2SeqConfig {
  vocabSize: number;
  /** E. Default 128. */
  dModel?: number;
  nhead?: number;
  numEncoderLayers?: number;
  numDecoderLayers?: number;
  dimFeedforward?: number;
  dropout?: number;
  /** Longest source or target (with bos/eos), for the position tables. Default 64. */
  maxLength?: number;
}

/** nn.Transformer with token and learned position embeddings and an output projection. */
export class TransformerSeq2Seq extends Module implements Seq2SeqModel {
  declare src_embed: Embedding;
  declare tgt_embed: Embedding;
  declare src_pos: Embedding;
  declare tgt_pos: Embedding;
  declare transformer: Transformer;
  declare generator: Linear;
  readonly config: Required<TransformerSeq2SeqConfig>;
  constructor(config: TransformerSeq2SeqConfig) {
    super();
    const given = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
    this.config = {
      dModel: 128,
      nhead: 4,
      numEncoderLayers: 2,
      numDecoderLayers: 2,
      dimFeedforward: 256,
      dropout: 0.1,
      maxLength: 64,
      ...given,
    } as Required<TransformerSeq2SeqConfig>;
    const c = this.config;
    this.src_embed = new Embedding(c.vocabSize, c.dModel);
    this.tgt_embed = new Embedding(c.vocabSize, c.dModel);
    this.src_pos = new Embedding(c.maxLength, c.dModel);
    this.tgt_pos = new Embedding(c.maxLength, c.dModel);
    this.transformer = new Transformer({
      dModel: c.dModel,
      nhead: c.nhead,
      numEncoderLayers: c.numEncoderLayers,
      numDecoderLayers: c.numDecoderLayers,
      dimFeedforward: c.dimFeedforward,
      dropout: c.dropout,
      batchFirst: true,
    });
    this.generator = new Linear(c.dModel, c.vocabSize);
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  // ids (B,L) -> (B,L,E): token embedding + position embedding (both N(0, 1) at init)
  private embed(ids: Tensor, tok: Embedding, pos: Embedding): Tensor {
    const L = ids.shape[1];
    if (L > this.config.maxLength)
      throw new Error(`TransformerSeq2Seq: length ${L} exceeds maxLength ${this.config.maxLength}`);
    return tok.call(ids).add(pos.call(arange(0, L).to('int32')));
  }

  /** src (B,S) -> memory (B,S,E). */
  encode(src: Tensor): Tensor {
    checkIds(src, this.vocabSize, 'TransformerSeq2Seq', 'src');
    const enc = this.transformer.encoder as Module;
    return enc.call(this.embed(src, this.src_embed, this.src_pos), { srcKeyPaddingMask: src.eq(PAD_ID) }) as Tensor;
  }

  /** tgtIn (B,T), memory (B,S,E), srcPad (B,S) bool -> logits (B,T,V). */
  decode(tgtIn: Tensor, memory: Tensor, srcPad: Tensor): Tensor {
    const T = tgtIn.shape[1];
    const dec = this.transformer.decoder as Module;
    const out = dec.call(this.embed(tgtIn, this.tgt_embed, this.tgt_pos), memory, {
      tgtMask: Transformer.generateSquareSubsequentMask(T),
      tgtKeyPaddingMask: tgtIn.eq(PAD_ID),
      memoryKeyPaddingMask: srcPad,
    }) as Tensor;
    return this.generator.call(out);
  }

  forward(src: Tensor, tgtIn: Tensor): Tensor {
    checkIds(tgtIn, this.vocabSize, 'TransformerSeq2Seq', 'tgtIn');
    return this.decode(tgtIn, this.encode(src), src.eq(PAD_ID));
  }

  decoder(src: Tensor, beams: number): StepDecoder {
    const memory = expandRows(this.encode(src), beams);
    const srcPad = expandRows(src.eq(PAD_ID), beams);
    const R = memory.shape[0],
      V = this.vocabSize;
    let rows: number[][] = Array.from({ length: R }, () => [BOS_ID]);
    // NOTE: each step re-decodes the whole prefix (no self-attention cache): targets here are short.
    return {
      vocabSize: V,
      step: (tokens) => {
        if (tokens) rows = rows.map((r, i) => [...r, tokens[i]]);
        const T = rows[0].length;
        const ids = fromTypedArray(Int32Array.from(rows.flat()), [R, T]);
        const dec = this.transformer.decoder as Module;
        const out = dec.call(this.embed(ids, this.tgt_embed, this.tgt_pos), memory, {
          tgtMask: Transformer.generateSquareSubsequentMask(T),
          memoryKeyPaddingMask: srcPad,
        }) as Tensor;
        return this.generator
          .call(out.narrow(1, T - 1, 1))
          .reshape([R, V])
          .toTypedArray() as Float32Array;
      },
      reorder: (idx) => {
        rows = Array.from(idx, (i) => rows[i].slice());
      },
    };
  }
}

export interface LSTMSeq2SeqConfig {
  vocabSize: number;
  /** Token embedding size. Default 128. */
  embeddingDim?: number;
  /** H. Default 256. */
  hiddenSize?: number;
  numLayers?: number;
  dropout?: number;
}

/**
 * An LSTM encoder-decoder with Luong attention: score(h_t, e_s) = h_t W_a e_s, context c_t, output
 * h~_t = tanh(W_c [c_t; h_t]), fed to the next step's input (input feeding).
 */
export class LSTMSeq2Seq extends Module implements Seq2SeqModel {
  declare src_embed: Embedding;
  declare tgt_embed: Embedding;
  declare encoder: LSTM;
  declare decoder_rnn: LSTM;
  declare attn: Linear;
  declare attn_combine: Linear;
  declare drop: Dropout;
  declare generator: Linear;
  readonly config: Required<LSTMSeq2SeqConfig>;
  constructor(config: LSTMSeq2SeqConfig) {
    super();
    const given = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
    this.config = {
      embeddingDim: 128,
      hiddenSize: 256,
      numLayers: 1,
      dropout: 0.1,
      ...given,
    } as Required<LSTMSeq2SeqConfig>;
    const c = this.config;
    const H = c.hiddenSize;
    this.src_embed = new Embedding(c.vocabSize, c.embeddingDim);
    this.tgt_embed = new Embedding(c.vocabSize, c.embeddingDim);
    this.encoder = new LSTM(c.embeddingDim, H, { numLayers: c.numLayers });
    this.decoder_rnn = new LSTM(c.embeddingDim + H, H, { numLayers: c.numLayers });
    this.attn = new Linear(H, H, { bias: false });
    this.attn_combine = new Linear(2 * H, H, { bias: false });
    this.drop = new Dropout(c.dropout);
    this.generator = new Linear(H, c.vocabSize);
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  /**
   * One time step of a multi-layer LSTM on its own parameters (PyTorch's names): x (N, I), h/c per
   * layer (N, H) -> the new h/c lists. Rows where `keep` is false keep their old state (padding).
   * NOTE: stepped by hand as CharLSTM does, so that backward stays linear in the length.
   */
  private lstmStep(rnn: LSTM, x: Tensor, h: Tensor[], c: Tensor[], keep: Tensor | null): [Tensor[], Tensor[]] {
    const p = (n: string) => (rnn as unknown as Record<string, Tensor>)[n];
    const h2: Tensor[] = [],
      c2: Tensor[] = [];
    for (let l = 0; l < h.length; l++) {
      if (l > 0) x = this.drop.call(x);
      const xp = linear(x, p(`weight_ih_l${l}`), p(`bias_ih_l${l}`));
      let [hn, cn] = cellStep('LSTM', xp, h[l], c[l], p(`weight_hh_l${l}`), p(`bias_hh_l${l}`)) as [Tensor, Tensor];
      if (keep) {
        hn = hn.where(keep, h[l]);
        cn = cn.where(keep, c[l]);
      }
      h2.push(hn);
      c2.push(cn);
      x = hn;
    }
    return [h2, c2];
  }

  /** src (B,S) -> encoder outputs (B,S,H) and the final state of each layer (at the last real token). */
  encode(src: Tensor): { out: Tensor; h: Tensor[]; c: Tensor[] } {
    checkIds(src, this.vocabSize, 'LSTMSeq2Seq', 'src');
    const [B, S] = src.shape;
    const { numLayers: L, hiddenSize: H } = this.config;
    let h = Array.from({ length: L }, () => zeros([B, H]));
    let c = Array.from({ length: L }, () => zeros([B, H]));
    const emb = this.drop.call(this.src_embed.call(src));
    const real = src.ne(PAD_ID).unsqueeze(2); // (B,S,1)
    const outs: Tensor[] = [];
    for (let s = 0; s < S; s++) {
      [h, c] = this.lstmStep(this.encoder, emb.select(1, s), h, c, real.select(1, s));
      outs.push(h[L - 1]);
    }
    return { out: stack(outs, 1), h, c };
  }

  /** One decoder step: y (R) ids, state, enc (R,S,H), srcPad (R,S) -> logits (R,V), new state. */
  private decodeStep(
    y: Tensor,
    st: { h: Tensor[]; c: Tensor[]; feed: Tensor },
    enc: Tensor,
    srcPad: Tensor,
  ): [Tensor, { h: Tensor[]; c: Tensor[]; feed: Tensor }] {
    const x = cat([this.drop.call(this.tgt_embed.call(y)), st.feed], 1);
    const [h, c] = this.lstmStep(this.decoder_rnn, x, st.h, st.c, null);
    const top = h[h.length - 1]; // (R,H)
    const scores = enc.matmul(this.attn.call(top).unsqueeze(2)).squeeze(2).maskedFill(srcPad, -Infinity); // (R,S)
    const ctx = scores.softmax(-1).unsqueeze(1).matmul(enc).squeeze(1); // (R,H)
    const feed = this.attn_combine.call(cat([ctx, top], 1)).tanh();
    return [this.generator.call(this.drop.call(feed)), { h, c, feed }];
  }

  forward(src: Tensor, tgtIn: Tensor): Tensor {
    checkIds(tgtIn, this.vocabSize, 'LSTMSeq2Seq', 'tgtIn');
    const e = this.encode(src);
    const srcPad = src.eq(PAD_ID);
    let st = { h: e.h, c: e.c, feed: zeros([src.shape[0], this.config.hiddenSize]) };
    const logits: Tensor[] = [];
    for (let t = 0; t < tgtIn.shape[1]; t++) {
      let l: Tensor;
      [l, st] = this.decodeStep(tgtIn.select(1, t), st, e.out, srcPad);
      logits.push(l);
    }
    return stack(logits, 1);
  }

  decoder(src: Tensor, beams: number): StepDecoder {
    const e = this.encode(src);
    const enc = expandRows(e.out, beams),
      srcPad = expandRows(src.eq(PAD_ID), beams);
    const R = enc.shape[0];
    let st = {
      h: e.h.map((t) => expandRows(t, beams)),
      c: e.c.map((t) => expandRows(t, beams)),
      feed: zeros([R, this.config.hiddenSize]),
    };
    let last: Int32Array = new Int32Array(R).fill(BOS_ID);
    return {
      vocabSize: this.vocabSize,
      step: (tokens) => {
        if (tokens) last = tokens;
        let l: Tensor;
        [l, st] = this.decodeStep(fromTypedArray(last, [R]), st, enc, srcPad);
        return l.toTypedArray() as Float32Array;
      },
      reorder: (idx) => {
        const i = fromTypedArray(idx, [idx.length]);
        st = {
          h: st.h.map((t) => t.indexSelect(0, i)),
          c: st.c.map((t) => t.indexSelect(0, i)),
          feed: st.feed.indexSelect(0, i),
        };
      },
    };
  }
}

/**
 * The decoder with `ids` banned (logit -inf), as Marian's bad_words_ids bans pad: generation never
 * emits pad or bos.
 */
export function banTokens(dec: StepDecoder, ids: readonly number[]): StepDecoder {
  const V = dec.vocabSize;
  return {
    vocabSize: V,
    step(tokens) {
      const l = dec.step(tokens);
      for (let r = 0; r < l.length / V; r++) for (const id of ids) l[r * V + id] = -Infinity;
      return l;
    },
    reorder: (rows) => dec.reorder(rows),
  };
}

export interface Seq2SeqGenerateOptions {
  /** New tokens per sequence (eos included). Default 32. */
  maxNewTokens?: number;
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  numBeams?: number;
  lengthPenalty?: number;
  earlyStopping?: boolean | 'never';
  noRepeatNgramSize?: number;
  numReturnSequences?: number;
  seed?: number;
}

/**
 * Decodes every source row (src (B,S) int32, pad 0): greedy (default), sampling (doSample) or beam
 * search (numBeams > 1). Returns per source row numReturnSequences token lists without bos, ending
 * with eos when the model emitted one. Pad and bos are never generated.
 */
export function generateSeq2Seq(model: Seq2SeqModel, src: Tensor, o: Seq2SeqGenerateOptions = {}): number[][][] {
  checkBeamOptions(o);
  const maxNew = o.maxNewTokens ?? 32;
  if (!Number.isInteger(maxNew) || maxNew < 1)
    throw new Error(`generateSeq2Seq: maxNewTokens must be an integer >= 1, got ${maxNew}`);
  const temperature = o.temperature ?? 1,
    topP = o.topP ?? 1;
  if (o.doSample && !(temperature > 0)) throw new Error(`generateSeq2Seq: temperature must be > 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`generateSeq2Seq: topP must be in (0, 1], got ${topP}`);
  const B = src.shape[0],
    K = o.numBeams ?? 1,
    n = o.numReturnSequences ?? 1;
  const was = model.training;
  model.eval();
  try {
    return noGrad(() => {
      if (K > 1) {
        const hyps = beamSearch(
          banTokens(model.decoder(src, K), [PAD_ID, BOS_ID]),
          Array.from({ length: B }, () => [BOS_ID]),
          {
            numBeams: K,
            lengthPenalty: o.lengthPenalty,
            earlyStopping: o.earlyStopping,
            noRepeatNgramSize: o.noRepeatNgramSize,
            numReturnSequences: n,
            repetitionPenalty: o.repetitionPenalty,
            maxNewTokens: maxNew,
            eos: new Set([EOS_ID]),
            pad: PAD_ID,
          },
        );
        return hyps.map((hs) => hs.map((h) => h.tokens.slice(1)));
      }
      // greedy or sampling: n rows per source
      const dec = banTokens(model.decoder(src, n), [PAD_ID, BOS_ID]);
      const R = B * n,
        V = model.vocabSize;
      const seqs: number[][] = Array.from({ length: R }, () => [BOS_ID]);
      const done = new Array<boolean>(R).fill(false);
      const opt = {
        doSample: o.doSample ?? false,
        temperature,
        topK: o.topK ?? 0,
        topP,
        repetitionPenalty: o.repetitionPenalty ?? 1,
        noRepeatNgramSize: o.noRepeatNgramSize ?? 0,
        generator: new Generator(o.seed ?? 0),
      };
      let logits = dec.step(null);
      for (let s = 0; s < maxNew; s++) {
        const next = new Int32Array(R).fill(PAD_ID);
        for (let r = 0; r < R; r++) {
          if (done[r]) continue;
          next[r] = chooseToken(Float64Array.from(logits.subarray(r * V, (r + 1) * V)), seqs[r], opt);
          seqs[r].push(next[r]);
          if (next[r] === EOS_ID) done[r] = true;
        }
        if (done.every(Boolean) || s === maxNew - 1) break;
        logits = dec.step(next);
      }
      return Array.from({ length: B }, (_, b) => seqs.slice(b * n, (b + 1) * n).map((q) => q.slice(1)));
    });
  } finally {
    model.train(was);
  }
}
