// Training a GPT-2-architecture model on a text file: from scratch at character level (nanoGPT's
// "baby Shakespeare" recipe, scaled to the machine) or fine-tuning a pretrained GPT-2 folder with
// its BPE tokenizer. AdamW (decay on matrices only), linear warmup then cosine LR, gradient
// clipping, periodic validation loss, atomic safetensors checkpoints, a progress line.
//
// Resume: at every evaluation, outDir/resume.safetensors takes the latest weights ('model.*'), the
// AdamW state ('optim.*'), the three generator states (dropout: the default generator; batches;
// evaluation batches) and, in its metadata, the iteration, the scheduler, the loss history and the
// options that shape the run. trainGPT({resume: true}) (CLI --resume) continues from there, and the
// loss curve equals the uninterrupted run's bit for bit. model.safetensors stays the best model.
//
// Glossary: B batch size, T block size (context), V vocabulary, N tokens in the split.

import { existsSync, mkdirSync, readFileSync, join, process } from '../platform/node.js';
import { writeTextAtomic } from '../io/atomic.js';
import type { Tensor } from '../tensor/tensor.js';
import { fromTypedArray } from '../tensor/creation.js';
import { Generator, getRngState, manualSeed, setRngState } from '../tensor/random.js';
import { noGrad } from '../autograd/grad_mode.js';
import { crossEntropy } from '../nn/functional/losses.js';
import { clipGradNorm_ } from '../nn/utils/clip_grad.js';
import { AdamW } from '../optim/adam.js';
import { LambdaLR } from '../optim/lr_scheduler.js';
import { loadSafetensors, loadSafetensorsMetadata, saveSafetensors } from '../io/tensors.js';
import { flattenOptimizerState, loadFlatOptimizerState } from '../optim/flat_state.js';
import { CharDataset } from '../data/text_dataset.js';
import { GPT2Tokenizer } from '../text/bpe.js';
import { GPT2LMHeadModel } from './gpt2.js';
import { fetchModelAndTokenizer, resolvePretrained } from '../hub/pretrained.js';
import { GPT2Config } from './gpt2_config.js';

export interface TrainGPTOptions {
  /** Path of a UTF-8 text file (or pass `text`). */
  data?: string;
  text?: string;
  /** A pretrained GPT-2 folder to fine-tune (BPE tokens); default: a fresh char-level model. */
  init?: string;
  /** Checkpoint folder (config.json, model.safetensors, char_vocab.json for char models). null: no checkpoints. */
  outDir?: string | null;
  blockSize?: number;
  batchSize?: number;
  nLayer?: number;
  nHead?: number;
  nEmbd?: number;
  dropout?: number;
  maxIters?: number;
  lr?: number;
  minLr?: number;
  warmupIters?: number;
  lrDecayIters?: number;
  weightDecay?: number;
  beta2?: number;
  gradClip?: number;
  evalInterval?: number;
  evalIters?: number;
  /** Fraction of the text held out for validation (the end of it). Default 0.1. */
  valFraction?: number;
  seed?: number;
  /** New tokens in the closing text sample (0 = none). */
  sampleTokens?: number;
  /** Every this many iterations the progress line is logged as permanent (0: never; for logs without a TTY). */
  logInterval?: number;
  /**
   * Continue the run saved in outDir/resume.safetensors: same data and options (maxIters may grow only
   * when lrDecayIters is given, as the schedule must not change).
   */
  resume?: boolean;
  /** Receives progress lines; `transient` ones may be overwritten (a progress bar). */
  log?: (line: string, transient: boolean) => void;
}

export interface EvalPoint {
  iter: number;
  train: number;
  val: number;
}

/** The resume checkpoint in outDir (see the top of this file). */
export const RESUME_FILE = 'resume.safetensors';
const RESUME_META = 'nabla.train_gpt';

/** What a resume checkpoint keeps besides tensors. */
interface ResumeMeta {
  iter: number;
  best: number;
  evals: EvalPoint[];
  losses: number[];
  trainMs: number;
  scheduler: Record<string, unknown>;
  optimizer: string;
  run: Record<string, unknown>;
}

export interface TrainGPTResult {
  model: GPT2LMHeadModel;
  evals: EvalPoint[];
  /** Training loss of every iteration. */
  losses: number[];
  tokensPerSecond: number;
  wallSeconds: number;
  /** CPU time of this process (all threads), for throughput on a shared machine. */
  cpuSeconds: number;
  sample: string;
  checkpoint: string | null;
}

interface Codec {
  encode(s: string): number[];
  decode(ids: number[]): string;
  vocabSize: number;
  save(dir: string): void;
}

function charCodec(text: string, blockSize: number): Codec & { ids: Int32Array } {
  const ds = new CharDataset(text, blockSize);
  return {
    ids: ds.ids,
    vocabSize: ds.vocabSize,
    encode: (s) => Array.from(ds.encode(s)),
    decode: (ids) => ds.decode(ids),
    save: (dir) => writeTextAtomic(join(dir, CHAR_VOCAB), JSON.stringify(ds.itos)),
  };
}

/** File of a char-level checkpoint that lists its characters, id order (a JSON array of strings). */
export const CHAR_VOCAB = 'char_vocab.json';

/** The encode/decode pair of a char-level checkpoint folder written by trainGPT. */
export function loadCharVocab(dir: string): { encode(s: string): number[]; decode(ids: readonly number[]): string } {
  const itos = JSON.parse(readFileSync(join(dir, CHAR_VOCAB), 'utf8')) as string[];
  const stoi = new Map(itos.map((c, i) => [c, i]));
  return {
    encode: (s) =>
      Array.from(s, (c, i) => {
        const id = stoi.get(c);
        if (id === undefined)
          throw new Error(`char vocabulary of ${dir}: character ${JSON.stringify(c)} at position ${i} is not in it`);
        return id;
      }),
    decode: (ids) => ids.map((i) => itos[i] ?? '').join(''),
  };
}

/** nanoGPT's schedule: linear warmup to lr, cosine decay to minLr at lrDecayIters, then minLr. */
export function gptLearningRate(
  it: number,
  o: { lr: number; minLr: number; warmupIters: number; lrDecayIters: number },
): number {
  if (it < o.warmupIters) return (o.lr * (it + 1)) / (o.warmupIters + 1);
  if (it > o.lrDecayIters) return o.minLr;
  const ratio = (it - o.warmupIters) / Math.max(1, o.lrDecayIters - o.warmupIters);
  return o.minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (o.lr - o.minLr);
}

/** A random batch of windows: x, y (B,T) int32 with y the next token at every position. */
function batch(ids: Int32Array, B: number, T: number, g: Generator): [Tensor, Tensor] {
  const x = new Int32Array(B * T),
    y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const i = g.randint(0, ids.length - T - 1);
    x.set(ids.subarray(i, i + T), b * T);
    y.set(ids.subarray(i + 1, i + T + 1), b * T);
  }
  return [fromTypedArray(x, [B, T]), fromTypedArray(y, [B, T])];
}

/** Mean next-token cross-entropy of the model on x (B,T) -> logits (B,T,V) against y (B,T). */
export function lmLoss(model: GPT2LMHeadModel, x: Tensor, y: Tensor): Tensor {
  const logits = model.forward(x);
  return crossEntropy(logits.reshape([-1, logits.shape[2]]), y.reshape([-1]));
}

/**
 * Trains (or fine-tunes) a GPT and returns it with its loss history.
 * @example const r = await trainGPT({ data: '../shared/data/tinyshakespeare.txt', maxIters: 500 });
 */
export async function trainGPT(opts: TrainGPTOptions): Promise<TrainGPTResult> {
  const o = {
    blockSize: 128,
    batchSize: 16,
    nLayer: 4,
    nHead: 4,
    nEmbd: 128,
    dropout: 0.0,
    maxIters: 1000,
    lr: 1e-3,
    minLr: 1e-4,
    warmupIters: 50,
    weightDecay: 0.1,
    beta2: 0.99,
    gradClip: 1.0,
    evalInterval: 100,
    evalIters: 10,
    valFraction: 0.1,
    seed: 1337,
    sampleTokens: 200,
    outDir: null as string | null,
    ...opts,
  };
  const lrDecayIters = opts.lrDecayIters ?? o.maxIters;
  const log = o.log ?? ((line: string) => console.log(line));
  for (const k of ['blockSize', 'batchSize', 'maxIters', 'evalInterval', 'evalIters'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new Error(`trainGPT: ${k} must be a positive integer, got ${o[k]}`);
  }
  const text = o.text ?? (o.data ? readFileSync(o.data, 'utf8') : undefined);
  if (text === undefined) throw new Error('trainGPT: pass data (a text file) or text');
  manualSeed(o.seed);

  let model: GPT2LMHeadModel, codec: Codec, ids: Int32Array;
  if (o.init) {
    const dir = await resolvePretrained(o.init, 'trainGPT', {}, fetchModelAndTokenizer);
    model = await GPT2LMHeadModel.fromPretrained(dir);
    const tok = await GPT2Tokenizer.fromPretrained(dir);
    // NOTE: the tokenizer goes into every checkpoint, so `generate --model outDir` needs nothing else.
    codec = {
      encode: (s) => tok.encode(s),
      decode: (i) => tok.decode(i),
      vocabSize: tok.vocabSize,
      save: (dir) => {
        tok.savePretrained(dir);
      },
    };
    ids = Int32Array.from(tok.encode(text));
    if (o.blockSize > model.config.nPositions)
      throw new Error(`trainGPT: blockSize ${o.blockSize} exceeds the model's ${model.config.nPositions} positions`);
  } else {
    const c = charCodec(text, o.blockSize);
    codec = c;
    ids = c.ids;
    model = new GPT2LMHeadModel(
      new GPT2Config({
        vocabSize: c.vocabSize,
        nPositions: o.blockSize,
        nEmbd: o.nEmbd,
        nLayer: o.nLayer,
        nHead: o.nHead,
        residPdrop: o.dropout,
        embdPdrop: o.dropout,
        attnPdrop: o.dropout,
        bosTokenId: null,
        eosTokenId: null,
      }),
      { seed: o.seed },
    );
  }
  const nVal = Math.floor(ids.length * o.valFraction);
  const train = ids.subarray(0, ids.length - nVal),
    val = ids.subarray(ids.length - nVal);
  for (const [name, split] of [
    ['training', train],
    ['validation', val],
  ] as const) {
    if (split.length < o.blockSize + 2)
      throw new Error(
        `trainGPT: the ${name} split has ${split.length} tokens; blockSize ${o.blockSize} needs at least ` +
          `${o.blockSize + 2}`,
      );
  }

  // NOTE: as nanoGPT, weight decay applies to matrices (2-D) only, not to biases and norms.
  const params = model.parameters();
  const optimizer = new AdamW(
    [
      { params: params.filter((p) => p.ndim >= 2), weightDecay: o.weightDecay },
      { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
    ],
    { lr: o.lr, betas: [0.9, o.beta2] },
  );
  const sched = { lr: o.lr, minLr: o.minLr, warmupIters: o.warmupIters, lrDecayIters };
  const scheduler = new LambdaLR(optimizer, (it) => gptLearningRate(it, sched) / o.lr);
  const gen = new Generator(o.seed);
  const evalGen = new Generator(o.seed + 1);
  const estimate = (split: Int32Array): number =>
    noGrad(() => {
      model.eval();
      let s = 0;
      for (let k = 0; k < o.evalIters; k++)
        s += lmLoss(model, ...batch(split, o.batchSize, o.blockSize, evalGen)).item();
      model.train();
      return s / o.evalIters;
    });
  if (o.outDir) mkdirSync(o.outDir, { recursive: true });
  let evals: EvalPoint[] = [],
    losses: number[] = [];
  let best = Infinity,
    checkpoint: string | null = null,
    trainMs = 0,
    start = 0;
  // everything that shapes the loss curve: a resumed run must match it
  const run = {
    tokens: ids.length,
    vocabSize: codec.vocabSize,
    init: o.init ?? null,
    blockSize: o.blockSize,
    batchSize: o.batchSize,
    nLayer: o.nLayer,
    nHead: o.nHead,
    nEmbd: o.nEmbd,
    dropout: o.dropout,
    lr: o.lr,
    minLr: o.minLr,
    warmupIters: o.warmupIters,
    lrDecayIters,
    weightDecay: o.weightDecay,
    beta2: o.beta2,
    gradClip: o.gradClip,
    evalInterval: o.evalInterval,
    evalIters: o.evalIters,
    valFraction: o.valFraction,
    seed: o.seed,
  };
  const weightsOf = () => {
    const { 'lm_head.weight': _tied, ...weights } = model.stateDict();
    return model.config.tieWordEmbeddings ? weights : model.stateDict();
  };
  const saveResume = async (iter: number) => {
    if (!o.outDir) return;
    const flat = flattenOptimizerState(optimizer, 'optim.');
    const tensors: Record<string, Tensor> = {
      ...flat.tensors,
      'rng.default': getRngState(),
      'rng.batch': gen.getState(),
      'rng.eval': evalGen.getState(),
    };
    for (const [k, t] of Object.entries(weightsOf())) tensors[`model.${k}`] = t;
    const meta: ResumeMeta = {
      iter,
      best,
      evals,
      losses,
      trainMs,
      scheduler: scheduler.stateDict(),
      optimizer: flat.json,
      run,
    };
    await saveSafetensors(tensors, join(o.outDir, RESUME_FILE), { [RESUME_META]: JSON.stringify(meta) });
  };
  if (o.resume) {
    if (!o.outDir) throw new Error('trainGPT: resume needs outDir, the folder of the run to continue');
    const path = join(o.outDir, RESUME_FILE);
    if (!existsSync(path)) {
      throw new Error(`trainGPT: cannot resume: ${path} does not exist (it is written at every evaluation)`);
    }
    const metaText = (await loadSafetensorsMetadata(path))[RESUME_META];
    if (metaText === undefined) {
      throw new Error(`trainGPT: ${path} has no '${RESUME_META}' metadata; it is not a trainGPT resume checkpoint`);
    }
    const meta = JSON.parse(metaText) as ResumeMeta;
    const now: Record<string, unknown> = run;
    const diff = Object.keys(run).filter((k) => JSON.stringify(meta.run?.[k]) !== JSON.stringify(now[k]));
    if (diff.length) {
      const what = diff.map((k) => `${k} (saved ${JSON.stringify(meta.run?.[k])}, now ${JSON.stringify(now[k])})`);
      throw new Error(`trainGPT: cannot resume ${path}: the run differs in ${what.join(', ')}`);
    }
    if (meta.iter > o.maxIters) {
      throw new Error(`trainGPT: cannot resume ${path}: it is at iteration ${meta.iter}, past maxIters ${o.maxIters}`);
    }
    const tensors = await loadSafetensors(path);
    const weights: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(tensors)) if (k.startsWith('model.')) weights[k.slice(6)] = t;
    const r = model.loadStateDict(weights, { strict: false });
    const missing = r.missingKeys.filter((k) => !(k === 'lm_head.weight' && model.config.tieWordEmbeddings));
    if (missing.length || r.unexpectedKeys.length) {
      throw new Error(
        `trainGPT: ${path}: weights missing ${missing.join(', ') || 'none'}, unexpected ` +
          `${r.unexpectedKeys.join(', ') || 'none'}`,
      );
    }
    loadFlatOptimizerState(optimizer, tensors, meta.optimizer, 'optim.', `trainGPT: ${path}`);
    scheduler.loadStateDict(meta.scheduler);
    setRngState(tensors['rng.default']);
    gen.setState(tensors['rng.batch']);
    evalGen.setState(tensors['rng.eval']);
    ({ evals, losses, trainMs } = meta);
    best = meta.best ?? Infinity; // JSON writes Infinity as null
    start = meta.iter;
    if (existsSync(join(o.outDir, 'model.safetensors'))) checkpoint = join(o.outDir, 'model.safetensors');
    log(`resuming ${path} at iteration ${start}`, false);
  }
  const t0 = performance.now(),
    cpu0 = process.cpuUsage();
  const save = async () => {
    if (!o.outDir) return;
    checkpoint = join(o.outDir, 'model.safetensors');
    await model.savePretrained(o.outDir);
    codec.save(o.outDir);
  };
  model.train();
  for (let it = start; it <= o.maxIters; it++) {
    // NOTE: a resumed run skips the evaluation at its first iteration: the checkpoint was taken after it.
    if ((it % o.evalInterval === 0 || it === o.maxIters) && !(o.resume && it === start)) {
      const p = { iter: it, train: estimate(train), val: estimate(val) };
      evals.push(p);
      log(`step ${it}: train loss ${p.train.toFixed(4)}, val loss ${p.val.toFixed(4)}`, false);
      if (p.val < best) {
        best = p.val;
        await save();
      }
      await saveResume(it);
    }
    if (it === o.maxIters) break;
    const ts = performance.now();
    const [x, y] = batch(train, o.batchSize, o.blockSize, gen);
    const loss = lmLoss(model, x, y);
    optimizer.zeroGrad();
    loss.backward();
    if (o.gradClip > 0) clipGradNorm_(params, o.gradClip);
    optimizer.step();
    scheduler.step();
    trainMs += performance.now() - ts;
    losses.push(loss.item());
    const done = it + 1,
      tps = (done * o.batchSize * o.blockSize) / (trainMs / 1000);
    const bar = '#'.repeat(Math.round((20 * done) / o.maxIters)).padEnd(20, '.');
    log(
      `[${bar}] iter ${done}/${o.maxIters} loss ${losses[it].toFixed(4)} lr ` +
        `${optimizer.paramGroups[0].lr.toExponential(2)} ` +
        `${Math.round(tps)} tok/s ${((performance.now() - t0) / 1000).toFixed(1)}s`,
      !(o.logInterval && done % o.logInterval === 0),
    );
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  let sample = '';
  if (o.sampleTokens > 0) {
    const start = codec.encode(text.slice(0, 1));
    const out = model.generate(start, {
      maxNewTokens: Math.min(o.sampleTokens, model.config.nPositions - 1),
      doSample: true,
      temperature: 0.8,
      topK: 40,
      seed: o.seed,
      eosTokenId: null,
    });
    sample = codec.decode(out[0]);
  }
  model.eval();
  return {
    model,
    evals,
    losses,
    wallSeconds,
    cpuSeconds,
    sample,
    checkpoint,
    tokensPerSecond: (o.maxIters * o.batchSize * o.blockSize) / (trainMs / 1000),
  };
}
