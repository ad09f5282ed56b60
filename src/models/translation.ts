// Character-level translation on top of seq2seq.ts: the vocabulary (characters outside it become
// <unk>, with one warning per translator), training with teacher forcing, evaluation (exact match,
// chrF, BLEU against every reference of a held-out phrase), and a checkpoint folder.
//
// Glossary: B batch, S source length, T target length (with bos/eos), V vocabulary.

import { existsSync, join, mkdirSync, readFileSync } from '../platform/node.js';
import type { Tensor } from '../tensor/tensor.js';
import { fromTypedArray } from '../tensor/creation.js';
import { Generator, manualSeed } from '../tensor/random.js';
import type { Module } from '../nn/module.js';
import { crossEntropy } from '../nn/functional/losses.js';
import { clipGradNorm_ } from '../nn/utils/clip_grad.js';
import { AdamW } from '../optim/adam.js';
import { LambdaLR } from '../optim/lr_scheduler.js';
import { loadSafetensors, saveSafetensors } from '../io/tensors.js';
import { writeTextAtomic } from '../io/atomic.js';
import type { TranslationGroup } from '../text/dictd.js';
import { corpusBleu, corpusChrf, exactMatch } from '../text/metrics.js';
import { gptLearningRate } from './train_gpt.js';
import {
  BOS_ID,
  EOS_ID,
  LSTMSeq2Seq,
  PAD_ID,
  TransformerSeq2Seq,
  UNK_ID,
  generateSeq2Seq,
  type LSTMSeq2SeqConfig,
  type Seq2SeqGenerateOptions,
  type TransformerSeq2SeqConfig,
} from './seq2seq.js';

const SPECIALS = ['<pad>', '<s>', '</s>', '<unk>'];

/** Characters to ids: 0 pad, 1 bos, 2 eos, 3 unk, then the characters in code point order. */
export class CharVocab {
  private readonly stoi: Map<string, number>;
  constructor(readonly chars: readonly string[]) {
    this.stoi = new Map(chars.map((c, i) => [c, i + SPECIALS.length]));
  }
  /** Every character of the texts (code points). */
  static build(texts: Iterable<string>): CharVocab {
    const set = new Set<string>();
    for (const t of texts) for (const c of t) set.add(c);
    return new CharVocab([...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }
  get size(): number {
    return this.chars.length + SPECIALS.length;
  }
  /** ids of s (unknown characters -> unk) and the unknown characters met. */
  encode(s: string): { ids: number[]; unknown: string[] } {
    const unknown: string[] = [];
    const ids = Array.from(s, (c) => {
      const id = this.stoi.get(c);
      if (id === undefined) unknown.push(c);
      return id ?? UNK_ID;
    });
    return { ids, unknown };
  }
  /** Text of ids, up to the first eos; pad and bos are skipped, unk prints as '?'. */
  decode(ids: readonly number[]): string {
    let s = '';
    for (const id of ids) {
      if (id === EOS_ID) break;
      if (id === UNK_ID) s += '?';
      else if (id >= SPECIALS.length) s += this.chars[id - SPECIALS.length] ?? '';
    }
    return s;
  }
}

export type TranslatorArch = 'transformer' | 'lstm';
/** The network a Translator runs: a Transformer or LSTM-attention seq2seq model. */
export type TranslatorModel = (TransformerSeq2Seq | LSTMSeq2Seq) & Module;

/** Right-pads rows with pad into (B, L) int32. */
function padBatch(rows: readonly number[][]): Tensor {
  const L = Math.max(1, ...rows.map((r) => r.length));
  const a = new Int32Array(rows.length * L).fill(PAD_ID);
  for (let i = 0; i < rows.length; i++) a.set(rows[i], i * L);
  return fromTypedArray(a, [rows.length, L]);
}

/** A model, its vocabulary and the source length limit; translate() turns strings into strings. */
export class Translator {
  private warned = false;
  constructor(
    readonly model: TranslatorModel,
    readonly vocab: CharVocab,
    readonly arch: TranslatorArch,
    /** Longest source in characters. */
    readonly maxChars: number,
    /** Where the one warning about unknown characters goes. Default console.warn. */
    public warn: (message: string) => void = (m) => console.warn(m),
  ) {}

  /** Source ids (+ eos). Unknown characters become unk; the first time, one warning names them. */
  encodeSource(text: string): number[] {
    const { ids, unknown } = this.vocab.encode(text);
    if (unknown.length && !this.warned) {
      this.warned = true;
      this.warn(
        `translate: ${unknown.length} character(s) outside the vocabulary (${[...new Set(unknown)]
          .map((c) => JSON.stringify(c))
          .join(', ')}) in ${JSON.stringify(text)} are read as <unk>; this warning is shown once`,
      );
    }
    if (ids.length > this.maxChars) {
      throw new Error(
        `translate: ${JSON.stringify(text)} has ${ids.length} characters; this model reads at most ${this.maxChars}`,
      );
    }
    return [...ids, EOS_ID];
  }

  /** Translations of texts: numReturnSequences strings per text (best first). */
  translateAll(texts: readonly string[], o: Seq2SeqGenerateOptions = {}): string[][] {
    if (texts.length === 0) return [];
    const src = padBatch(texts.map((t) => this.encodeSource(t)));
    return generateSeq2Seq(this.model, src, { maxNewTokens: this.maxChars + 1, ...o }).map((hs) =>
      hs.map((h) => this.vocab.decode(h)),
    );
  }

  /** The best translation of one text. */
  translate(text: string, o: Seq2SeqGenerateOptions = {}): string {
    return this.translateAll([text], o)[0][0];
  }

  /** config.json (model_type, the model config, the characters) and model.safetensors. */
  async save(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    const cfg = {
      model_type: `seq2seq-${this.arch}`,
      max_chars: this.maxChars,
      chars: this.vocab.chars,
      ...this.model.config,
    };
    writeTextAtomic(join(dir, 'config.json'), JSON.stringify(cfg, null, 1));
    await saveSafetensors(this.model.stateDict(), join(dir, 'model.safetensors'));
  }

  static async load(dir: string): Promise<Translator> {
    const path = join(dir, 'config.json');
    if (!existsSync(path)) throw new Error(`Translator.load: ${path} does not exist (train one with train-translate)`);
    const { model_type, max_chars, chars, ...config } = JSON.parse(readFileSync(path, 'utf8'));
    const arch = model_type === 'seq2seq-transformer' ? 'transformer' : model_type === 'seq2seq-lstm' ? 'lstm' : null;
    if (!arch || !Array.isArray(chars)) {
      throw new Error(`Translator.load: ${path} is not a translator (model_type ${JSON.stringify(model_type)})`);
    }
    const model = makeModel(arch, config);
    model.loadStateDict(await loadSafetensors(join(dir, 'model.safetensors')));
    model.eval();
    return new Translator(model, new CharVocab(chars), arch, max_chars);
  }
}

function makeModel(arch: TranslatorArch, config: TransformerSeq2SeqConfig | LSTMSeq2SeqConfig): TranslatorModel {
  return arch === 'transformer'
    ? new TransformerSeq2Seq(config as TransformerSeq2SeqConfig)
    : new LSTMSeq2Seq(config as LSTMSeq2SeqConfig);
}

export interface TranslationScores {
  /** Percent of phrases translated exactly as one of their references. */
  exactMatch: number;
  chrF: number;
  bleu: number;
  n: number;
  /** A few [source, hypothesis, references] for the eye. */
  examples: [string, string, string[]][];
}

/** Scores the translator on held-out groups (each phrase against all its translations). */
export function evaluateTranslator(
  t: Translator,
  groups: readonly TranslationGroup[],
  o: Seq2SeqGenerateOptions & { batchSize?: number; onBatch?: (done: number, total: number) => void } = {},
): TranslationScores {
  const bs = o.batchSize ?? 64;
  const hyps: string[] = [];
  for (let i = 0; i < groups.length; i += bs) {
    const chunk = groups.slice(i, i + bs);
    hyps.push(
      ...t
        .translateAll(
          chunk.map((g) => g.source),
          { ...o, numReturnSequences: 1 },
        )
        .map((h) => h[0]),
    );
    o.onBatch?.(Math.min(i + bs, groups.length), groups.length);
  }
  const refs = groups.map((g) => g.targets);
  return {
    exactMatch: exactMatch(hyps, refs),
    chrF: corpusChrf(hyps, refs),
    bleu: corpusBleu(hyps, refs).score,
    n: groups.length,
    examples: groups.slice(0, 8).map((g, i) => [g.source, hyps[i], g.targets]),
  };
}

export interface TrainTranslatorOptions {
  arch?: TranslatorArch;
  /** Model options besides vocabSize (and maxLength, set from maxChars). */
  model?: Omit<TransformerSeq2SeqConfig, 'vocabSize' | 'maxLength'> | Omit<LSTMSeq2SeqConfig, 'vocabSize'>;
  /** Longest source/target kept, in characters. Default 32. */
  maxChars?: number;
  steps?: number;
  batchSize?: number;
  lr?: number;
  warmupSteps?: number;
  weightDecay?: number;
  gradClip?: number;
  seed?: number;
  /** Called after every step. */
  onStep?: (s: { step: number; steps: number; loss: number }) => void;
}

export interface TrainTranslatorResult {
  translator: Translator;
  losses: number[];
  pairs: number;
  params: number;
  wallSeconds: number;
}

/**
 * Trains a character-level translator on (source, each target) pairs with teacher forcing: AdamW,
 * warmup then cosine LR, gradient clipping, random batches from a seeded generator.
 */
export function trainTranslator(
  groups: readonly TranslationGroup[],
  o: TrainTranslatorOptions = {},
): TrainTranslatorResult {
  const arch = o.arch ?? 'transformer',
    maxChars = o.maxChars ?? 32,
    steps = o.steps ?? 2000,
    B = o.batchSize ?? 64,
    lr = o.lr ?? (arch === 'transformer' ? 5e-4 : 2e-3);
  if (arch !== 'transformer' && arch !== 'lstm')
    throw new Error(`trainTranslator: arch must be 'transformer' or 'lstm', got '${arch}'`);
  for (const [k, v] of [
    ['steps', steps],
    ['batchSize', B],
    ['maxChars', maxChars],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`trainTranslator: ${k} must be a positive integer, got ${v}`);
  }
  const pairs = groups.flatMap((g) => g.targets.map((t) => [g.source, t] as const));
  const kept = pairs.filter(([s, t]) => [...s].length <= maxChars && [...t].length <= maxChars);
  if (kept.length === 0) throw new Error(`trainTranslator: no pair of at most ${maxChars} characters on each side`);
  manualSeed(o.seed ?? 0);
  const vocab = CharVocab.build(kept.flat());
  const config =
    arch === 'transformer'
      ? { ...o.model, vocabSize: vocab.size, maxLength: maxChars + 2 }
      : { ...o.model, vocabSize: vocab.size };
  const model = makeModel(arch, config);
  const translator = new Translator(model, vocab, arch, maxChars);
  const encoded = kept.map(([s, t]) => [
    [...vocab.encode(s).ids, EOS_ID],
    [BOS_ID, ...vocab.encode(t).ids, EOS_ID],
  ]);
  const params = model.parameters();
  const opt = new AdamW(
    [
      { params: params.filter((p) => p.ndim >= 2), weightDecay: o.weightDecay ?? 0.01 },
      { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
    ],
    { lr, betas: [0.9, 0.98] },
  );
  const sched = {
    lr,
    minLr: lr / 10,
    warmupIters: o.warmupSteps ?? Math.min(200, Math.floor(steps / 10)),
    lrDecayIters: steps,
  };
  const scheduler = new LambdaLR(opt, (it) => gptLearningRate(it, sched) / lr);
  const gen = new Generator(o.seed ?? 0);
  const losses: number[] = [];
  const t0 = performance.now();
  model.train();
  for (let step = 0; step < steps; step++) {
    const batch = Array.from({ length: Math.min(B, encoded.length) }, () => encoded[gen.randint(0, encoded.length)]);
    const src = padBatch(batch.map((p) => p[0]));
    const tgt = padBatch(batch.map((p) => p[1]));
    const T = tgt.shape[1];
    const logits = model.forward(src, tgt.narrow(1, 0, T - 1)); // (B,T-1,V)
    const loss = crossEntropy(logits.reshape([-1, vocab.size]), tgt.narrow(1, 1, T - 1).reshape([-1]), {
      ignoreIndex: PAD_ID,
    });
    opt.zeroGrad();
    loss.backward();
    if ((o.gradClip ?? 1) > 0) clipGradNorm_(params, o.gradClip ?? 1);
    opt.step();
    scheduler.step();
    losses.push(loss.item());
    o.onStep?.({ step: step + 1, steps, loss: losses[step] });
  }
  model.eval();
  return {
    translator,
    losses,
    pairs: kept.length,
    params: params.reduce((s, p) => s + p.numel(), 0),
    wallSeconds: (performance.now() - t0) / 1000,
  };
}
