// A character-level LSTM language model (Karpathy's char-rnn) with its training loop, sampling
// (temperature, top-k, top-p through multinomial) and a deterministic validation loss that scores
// any char LM (this one or train-gpt's GPT) on the same windows of the same split.
//
// Glossary: B batch, T window (BPTT length), E embedding size, H hidden size, L layers, V vocabulary.

import { existsSync, join, mkdirSync, readFileSync } from '../platform/node.js';
import type { Tensor } from '../tensor/tensor.js';
import { fromTypedArray, zeros } from '../tensor/creation.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { noGrad } from '../autograd/grad_mode.js';
import { multinomial } from '../ops/sampling.js';
import { Module } from '../nn/module.js';
import { Embedding } from '../nn/embedding.js';
import { LSTM, cellStep, type LSTMState } from '../nn/rnn.js';
import { linear } from '../ops/nn_ops.js';
import { stack } from '../ops/movement.js';
import { Linear } from '../nn/linear.js';
import { Dropout } from '../nn/dropout.js';
import { crossEntropy } from '../nn/functional/losses.js';
import { clipGradNorm_ } from '../nn/utils/clip_grad.js';
import { AdamW } from '../optim/adam.js';
import { LambdaLR } from '../optim/lr_scheduler.js';
import { loadSafetensors, saveSafetensors } from '../io/tensors.js';
import { writeTextAtomic } from '../io/atomic.js';
import { CharDataset } from '../data/text_dataset.js';
import { CHAR_VOCAB, gptLearningRate, loadCharVocab } from './train_gpt.js';

export interface CharLSTMConfig {
  vocabSize: number;
  /** E. Default 64. */
  embeddingDim?: number;
  /** H. Default 256. */
  hiddenSize?: number;
  /** L. Default 2. */
  numLayers?: number;
  /** Between layers and before the head, in training. Default 0. */
  dropout?: number;
}

/** Embedding -> LSTM (batch first) -> Linear. forward(ids (B,T), state?) -> [logits (B,T,V), state]. */
export class CharLSTM extends Module {
  declare embedding: Embedding;
  declare lstm: LSTM;
  declare drop: Dropout;
  declare fc: Linear;
  readonly config: Required<CharLSTMConfig>;
  constructor(config: CharLSTMConfig) {
    super();
    const given = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
    this.config = { embeddingDim: 64, hiddenSize: 256, numLayers: 2, dropout: 0, ...given } as Required<CharLSTMConfig>;
    const c = this.config;
    for (const k of ['vocabSize', 'embeddingDim', 'hiddenSize', 'numLayers'] as const) {
      if (!Number.isInteger(c[k]) || c[k] < 1)
        throw new Error(`CharLSTM: ${k} must be a positive integer, got ${c[k]}`);
    }
    this.embedding = new Embedding(c.vocabSize, c.embeddingDim);
    this.lstm = new LSTM(c.embeddingDim, c.hiddenSize, {
      numLayers: c.numLayers,
      batchFirst: true,
      dropout: c.dropout,
    });
    this.drop = new Dropout(c.dropout);
    this.fc = new Linear(c.hiddenSize, c.vocabSize);
  }

  // ids (B,T) int32, state [h, c] (L,B,H) each -> logits (B,T,V), the state after the last step
  forward(ids: Tensor, state: LSTMState | null = null): [Tensor, LSTMState] {
    if (ids.ndim !== 2) throw new Error(`CharLSTM: ids must be (B, T) int32, got shape [${ids.shape.join(', ')}]`);
    const [B, T] = ids.shape;
    const { numLayers: L, hiddenSize: H } = this.config;
    // NOTE: time-major steps on the LSTM's own parameters (PyTorch's names) rather than lstm.call: slicing a
    // (T, B, 4H) projection per step costs a full-size gradient per slice in backward, O(T^2) for a window.
    const p = (n: string) => (this.lstm as unknown as Record<string, Tensor>)[n];
    let h = state ? state[0].unbind(0) : Array.from({ length: L }, () => zeros([B, H]));
    let c = state ? state[1].unbind(0) : Array.from({ length: L }, () => zeros([B, H]));
    const drop = this.training && this.config.dropout > 0;
    const outs: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      let x = this.embedding.call(ids.select(1, t));
      h = h.slice();
      c = c.slice();
      for (let l = 0; l < L; l++) {
        if (l > 0 && drop) x = this.drop.call(x);
        const xp = linear(x, p(`weight_ih_l${l}`), p(`bias_ih_l${l}`));
        const [h2, c2] = cellStep('LSTM', xp, h[l], c[l], p(`weight_hh_l${l}`), p(`bias_hh_l${l}`));
        h[l] = h2;
        c[l] = c2!;
        x = h2;
      }
      outs.push(x);
    }
    const out = stack(outs, 1); // (B,T,H)
    return [this.fc.call(this.drop.call(out)), [stack(h, 0), stack(c, 0)]];
  }

  /** Writes config.json (model_type 'char-lstm') and model.safetensors into dir. */
  async save(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    writeTextAtomic(join(dir, 'config.json'), JSON.stringify({ model_type: 'char-lstm', ...this.config }, null, 2));
    await saveSafetensors(this.stateDict(), join(dir, 'model.safetensors'));
  }

  static async load(dir: string): Promise<CharLSTM> {
    const cfgPath = join(dir, 'config.json');
    if (!existsSync(cfgPath)) throw new Error(`CharLSTM.load: ${cfgPath} does not exist (write it with train-lstm)`);
    const { model_type, ...config } = JSON.parse(readFileSync(cfgPath, 'utf8'));
    if (model_type !== 'char-lstm')
      throw new Error(`CharLSTM.load: ${cfgPath} has model_type ${JSON.stringify(model_type)}, not "char-lstm"`);
    const m = new CharLSTM(config as CharLSTMConfig);
    m.loadStateDict(await loadSafetensors(join(dir, 'model.safetensors')));
    return m.eval();
  }
}

export interface SampleOptions {
  maxNewTokens?: number;
  /** > 0. Default 1. */
  temperature?: number;
  /** Keep the k most likely characters (0 = off). */
  topK?: number;
  /** Keep the smallest set of characters whose probability reaches p (1 = off). */
  topP?: number;
  seed?: number;
  generator?: Generator;
}

/**
 * Next-token probabilities (V) from one row of logits: divided by the temperature, softmaxed, cut to
 * the top-k and then to the top-p nucleus (the most likely token always stays), renormalised.
 */
export function samplingProbs(logits: ArrayLike<number>, temperature = 1, topK = 0, topP = 1): Float32Array {
  if (!(temperature > 0)) throw new Error(`sampling: temperature must be > 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new Error(`sampling: topK must be an integer >= 0, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`sampling: topP must be in (0, 1], got ${topP}`);
  const V = logits.length;
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[i] / temperature);
  const p = new Float64Array(V);
  let total = 0;
  for (let i = 0; i < V; i++) total += p[i] = Math.exp(logits[i] / temperature - max);
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
  let keep = topK > 0 ? Math.min(topK, V) : V;
  if (topP < 1) {
    let cum = 0;
    for (let j = 0; j < keep; j++) {
      cum += p[order[j]] / total;
      if (cum >= topP) {
        keep = j + 1;
        break;
      }
    }
  }
  const out = new Float32Array(V);
  for (let j = 0; j < keep; j++) out[order[j]] = p[order[j]];
  return out;
}

/** Continues `prompt` (ids, at least one) by maxNewTokens characters drawn with multinomial. */
export function sampleCharLSTM(model: CharLSTM, prompt: readonly number[], o: SampleOptions = {}): number[] {
  if (prompt.length === 0) throw new Error('sampleCharLSTM: the prompt needs at least one character');
  const n = o.maxNewTokens ?? 200;
  if (!Number.isInteger(n) || n < 0) throw new Error(`sampleCharLSTM: maxNewTokens must be an integer >= 0, got ${n}`);
  const gen = o.generator ?? new Generator(o.seed ?? 0);
  const was = model.training;
  model.eval();
  try {
    return noGrad(() => {
      const out = prompt.slice();
      let [logits, state] = model.forward(fromTypedArray(Int32Array.from(prompt), [1, prompt.length]));
      for (let i = 0; i < n; i++) {
        const V = logits.shape[2];
        const last = logits
          .narrow(1, logits.shape[1] - 1, 1)
          .reshape([V])
          .toTypedArray() as Float32Array;
        const probs = samplingProbs(last, o.temperature ?? 1, o.topK ?? 0, o.topP ?? 1);
        const next = multinomial(fromTypedArray(probs, [V]), 1, { generator: gen }).item();
        out.push(next);
        [logits, state] = model.forward(fromTypedArray(Int32Array.of(next), [1, 1]), state);
      }
      return out;
    });
  } finally {
    model.train(was);
  }
}

/**
 * Mean next-character cross-entropy (nats) of any char LM over the first `windows` non-overlapping
 * windows of T+1 characters of `ids`, each scored from a fresh state, in batches of B: the same
 * windows for every model, so the figures compare.
 */
export function windowLoss(
  logitsOf: (x: Tensor) => Tensor,
  ids: Int32Array,
  T: number,
  windows: number,
  B = 16,
): number {
  const n = Math.min(windows, Math.floor((ids.length - 1) / T));
  if (n < 1) throw new Error(`windowLoss: ${ids.length} tokens hold no window of ${T + 1}`);
  return noGrad(() => {
    let sum = 0;
    for (let s = 0; s < n; s += B) {
      const b = Math.min(B, n - s);
      const x = new Int32Array(b * T),
        y = new Int32Array(b * T);
      for (let k = 0; k < b; k++) {
        x.set(ids.subarray((s + k) * T, (s + k + 1) * T), k * T);
        y.set(ids.subarray((s + k) * T + 1, (s + k + 1) * T + 1), k * T);
      }
      const logits = logitsOf(fromTypedArray(x, [b, T]));
      sum += crossEntropy(logits.reshape([b * T, -1]), fromTypedArray(y, [b * T])).item() * b;
    }
    return sum / n;
  });
}

export interface TrainCharLSTMOptions extends Omit<CharLSTMConfig, 'vocabSize'> {
  /** A UTF-8 text file, or pass `text`. */
  data?: string;
  text?: string;
  /** Folder for config.json, model.safetensors and char_vocab.json (the best validation loss). */
  outDir?: string | null;
  /** T, the truncated-BPTT window. Default 64. */
  blockSize?: number;
  batchSize?: number;
  maxIters?: number;
  lr?: number;
  minLr?: number;
  warmupIters?: number;
  weightDecay?: number;
  gradClip?: number;
  evalInterval?: number;
  /** Validation windows per evaluation (windowLoss). Default 64. */
  evalWindows?: number;
  /** The end of the text held out, as train-gpt does. Default 0.1. */
  valFraction?: number;
  seed?: number;
  /** Progress: called after every iteration (and at each evaluation). */
  onStep?: (s: { iter: number; maxIters: number; loss: number; val?: number }) => void;
}

export interface TrainCharLSTMResult {
  model: CharLSTM;
  encode(s: string): number[];
  decode(ids: readonly number[]): string;
  losses: number[];
  evals: { iter: number; val: number }[];
  /** Validation ids (the end of the text), for windowLoss. */
  val: Int32Array;
  params: number;
  wallSeconds: number;
}

/**
 * Trains a CharLSTM on random windows (B,T) of the text's first 90% with AdamW, warmup + cosine LR
 * and gradient clipping, as train-gpt trains its GPT, so the two compare step for step.
 * @example const r = await trainCharLSTM({ data: '../shared/data/tinyshakespeare.txt', maxIters: 600 });
 */
export async function trainCharLSTM(opts: TrainCharLSTMOptions): Promise<TrainCharLSTMResult> {
  const o = {
    blockSize: 64,
    batchSize: 16,
    maxIters: 600,
    lr: 2e-3,
    minLr: 2e-4,
    warmupIters: 50,
    weightDecay: 0.1,
    gradClip: 1,
    evalInterval: 100,
    evalWindows: 64,
    valFraction: 0.1,
    seed: 1337,
    ...opts,
  };
  for (const k of ['blockSize', 'batchSize', 'maxIters', 'evalInterval', 'evalWindows'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1)
      throw new Error(`trainCharLSTM: ${k} must be a positive integer, got ${o[k]}`);
  }
  const text = o.text ?? (o.data ? readFileSync(o.data, 'utf8') : undefined);
  if (text === undefined) throw new Error('trainCharLSTM: pass data (a text file) or text');
  manualSeed(o.seed);
  const ds = new CharDataset(text, o.blockSize);
  const nVal = Math.floor(ds.ids.length * o.valFraction);
  const train = ds.ids.subarray(0, ds.ids.length - nVal),
    val = ds.ids.subarray(ds.ids.length - nVal);
  if (train.length < o.blockSize + 2 || val.length < o.blockSize + 1)
    throw new Error(`trainCharLSTM: the text is too short for blockSize ${o.blockSize} (${ds.ids.length} chars)`);
  const model = new CharLSTM({
    vocabSize: ds.vocabSize,
    embeddingDim: o.embeddingDim,
    hiddenSize: o.hiddenSize,
    numLayers: o.numLayers,
    dropout: o.dropout,
  });
  const params = model.parameters();
  const optimizer = new AdamW(
    [
      { params: params.filter((p) => p.ndim >= 2), weightDecay: o.weightDecay },
      { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
    ],
    { lr: o.lr, betas: [0.9, 0.99] },
  );
  const sched = { lr: o.lr, minLr: o.minLr, warmupIters: o.warmupIters, lrDecayIters: o.maxIters };
  const scheduler = new LambdaLR(optimizer, (it) => gptLearningRate(it, sched) / o.lr);
  const gen = new Generator(o.seed);
  const evaluate = () => {
    model.eval();
    const v = windowLoss((x) => model.forward(x)[0], val, o.blockSize, o.evalWindows, o.batchSize);
    model.train();
    return v;
  };
  const losses: number[] = [],
    evals: { iter: number; val: number }[] = [];
  let best = Infinity;
  const t0 = performance.now();
  const B = o.batchSize,
    T = o.blockSize;
  model.train();
  for (let it = 0; it <= o.maxIters; it++) {
    if (it % o.evalInterval === 0 || it === o.maxIters) {
      const v = evaluate();
      evals.push({ iter: it, val: v });
      o.onStep?.({ iter: it, maxIters: o.maxIters, loss: losses[losses.length - 1] ?? NaN, val: v });
      if (v < best && o.outDir) {
        best = v;
        await model.save(o.outDir);
        writeTextAtomic(join(o.outDir, CHAR_VOCAB), JSON.stringify(ds.itos));
      }
    }
    if (it === o.maxIters) break;
    const x = new Int32Array(B * T),
      y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const i = gen.randint(0, train.length - T - 1);
      x.set(train.subarray(i, i + T), b * T);
      y.set(train.subarray(i + 1, i + T + 1), b * T);
    }
    const [logits] = model.forward(fromTypedArray(x, [B, T]));
    const loss = crossEntropy(logits.reshape([B * T, -1]), fromTypedArray(y, [B * T]));
    optimizer.zeroGrad();
    loss.backward();
    if (o.gradClip > 0) clipGradNorm_(params, o.gradClip);
    optimizer.step();
    scheduler.step();
    losses.push(loss.item());
    o.onStep?.({ iter: it + 1, maxIters: o.maxIters, loss: losses[it] });
  }
  model.eval();
  return {
    model,
    encode: (s) => Array.from(ds.encode(s)),
    decode: (ids) => ds.decode(ids),
    losses,
    evals,
    val,
    params: params.reduce((s, p) => s + p.numel(), 0),
    wallSeconds: (performance.now() - t0) / 1000,
  };
}

/** A CharLSTM folder written by trainCharLSTM, with its characters. */
export async function loadCharLSTM(dir: string) {
  return { model: await CharLSTM.load(dir), ...loadCharVocab(dir) };
}
