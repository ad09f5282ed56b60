// Speech recognition of spoken digit strings: a CNN (two strided 1-D convolutions over log-mel frames)
// then a bidirectional GRU and a linear layer to 11 classes (blank + the digits 0-9), trained with CTC
// on the espeak-ng digits corpus; greedy decoding; character error rate on held-out voices.
// Glossary: B batch, M mel bands, F frames, F' = ceil(ceil(F / 2) / 2) after the convolutions,
// H GRU hidden size, V = 11 classes (0 blank, 1 + d for digit d).

import { join, mkdirSync, readFileSync } from '../../platform/node.js';
import { Module } from '../../nn/module.js';
import { BatchNorm1d } from '../../nn/batch_norm.js';
import { Conv1d } from '../../nn/conv.js';
import { Linear } from '../../nn/linear.js';
import { GRU } from '../../nn/rnn.js';
import { Adam } from '../../optim/adam.js';
import { CosineAnnealingLR } from '../../optim/lr_scheduler.js';
import { noGrad } from '../../autograd/grad_mode.js';
import { Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { stack } from '../../ops/functional.js';
import { pad } from '../../ops/functional.js';
import { loadSafetensors, saveSafetensors } from '../../io/tensors.js';
import { writeTextAtomic } from '../../io/atomic.js';
import { FrequencyMasking, TimeMasking } from '../transforms.js';
import { ctcGreedyDecode, ctcLoss } from '../ctc.js';
import { loadAt } from '../load.js';
import { type Corpus, type CorpusItem, SAMPLE_RATE, readItem } from './corpus.js';
import { N_MELS, batchOf, logMel } from './features.js';

export const BLANK = 0;

/** log-mel (B, M, F) -> log-probabilities (F', B, V) for CTC. */
export class SpeechRecognizer extends Module {
  readonly conv1: Conv1d;
  readonly bn1: BatchNorm1d;
  readonly conv2: Conv1d;
  readonly bn2: BatchNorm1d;
  readonly rnn: GRU;
  readonly fc: Linear;
  constructor(
    readonly channels = 128,
    readonly hidden = 96,
    readonly numClasses = 11,
  ) {
    super();
    this.conv1 = new Conv1d(N_MELS, channels, 5, { stride: 2, padding: 2 });
    this.bn1 = new BatchNorm1d(channels);
    this.conv2 = new Conv1d(channels, channels, 5, { stride: 2, padding: 2 });
    this.bn2 = new BatchNorm1d(channels);
    this.rnn = new GRU(channels, hidden, { bidirectional: true, batchFirst: true });
    this.fc = new Linear(2 * hidden, numClasses);
  }
  forward(mel: Tensor): Tensor {
    let h = this.bn1.call(this.conv1.call(mel)).relu(); // (B, C, F/2)
    h = this.bn2.call(this.conv2.call(h)).relu(); // (B, C, F')
    const [out] = this.rnn.call(h.transpose(1, 2)); // (B, F', 2H)
    return this.fc.call(out).logSoftmax(2).transpose(0, 1); // (F', B, V)
  }
  /** Frames after the convolutions for F input frames. */
  static outFrames(F: number): number {
    const f1 = Math.floor((F + 4 - 5) / 2) + 1;
    return Math.floor((f1 + 4 - 5) / 2) + 1;
  }
}

/** Character error rate: Levenshtein distance over the reference length, summed over pairs. */
export function characterErrorRate(pairs: readonly { ref: string; hyp: string }[]): number {
  let edits = 0,
    total = 0;
  for (const { ref, hyp } of pairs) {
    const d = Array.from({ length: hyp.length + 1 }, (_, j) => j);
    for (let i = 1; i <= ref.length; i++) {
      let prev = d[0];
      d[0] = i;
      for (let j = 1; j <= hyp.length; j++) {
        const cur = d[j];
        d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    edits += d[hyp.length];
    total += ref.length;
  }
  return edits / Math.max(1, total);
}

/** One utterance for the recogniser: its log-mel features and its transcript. */
export interface Utterance {
  mel: Tensor; // (M, F)
  label: string;
}

function features(c: Corpus, items: readonly CorpusItem[]): Utterance[] {
  return items.map((it) => {
    const w = readItem(c, it);
    return { mel: logMel(batchOf([w], w.length)).squeeze(0), label: it.label };
  });
}

/** Pads mel (M, F_i) to the longest with zeros (the normalised mean): (B, M, F). */
function padBatch(utts: readonly Utterance[]): { x: Tensor; frames: number[] } {
  const F = Math.max(...utts.map((u) => u.mel.shape[1]));
  return { x: stack(utts.map((u) => pad(u.mel, [0, F - u.mel.shape[1]]))), frames: utts.map((u) => u.mel.shape[1]) };
}

const toText = (ids: number[]) => ids.map((k) => String(k - 1)).join('');

/** Transcribes mel batches: the digit strings. */
export function transcribeBatch(model: SpeechRecognizer, utts: readonly Utterance[]): string[] {
  model.eval();
  const out: string[] = [];
  noGrad(() => {
    for (let i = 0; i < utts.length; i += 64) {
      const part = utts.slice(i, i + 64);
      const { x, frames } = padBatch(part);
      const lp = model.call(x); // (F', B, V)
      part.forEach((_, b) => {
        out.push(
          toText(ctcGreedyDecode(lp.select(1, b), { blank: BLANK, length: SpeechRecognizer.outFrames(frames[b]) })),
        );
      });
    }
  });
  return out;
}

export interface AsrTrainOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  channels?: number;
  hidden?: number;
  seed?: number;
  /** Measure the held-out CER every this many epochs (0: only at the end). Default 1. */
  evalEvery?: number;
  log?: (msg: string) => void;
}

export interface AsrResult {
  model: SpeechRecognizer;
  /** character error rate on the held-out voices */
  testCer: number;
  trainCer: number;
  examples: { ref: string; hyp: string }[];
}

/** Trains a SpeechRecognizer on a digits corpus with CTC; CER on the held-out voices. */
export function trainSpeechRecognizer(c: Corpus, o: AsrTrainOptions = {}): AsrResult {
  const train = features(
    c,
    c.items.filter((i) => i.split === 'train'),
  );
  const test = features(
    c,
    c.items.filter((i) => i.split === 'test'),
  );
  // NOTE: batches of similar length waste little on padding; the order of batches is shuffled.
  train.sort((a, b) => a.mel.shape[1] - b.mel.shape[1]);
  const g = new Generator(o.seed ?? 0);
  const model = new SpeechRecognizer(o.channels ?? 128, o.hidden ?? 96);
  const opt = new Adam(model.parameters(), { lr: o.lr ?? 2e-3 });
  const epochs = o.epochs ?? 20;
  const sched = new CosineAnnealingLR(opt, epochs);
  const tmask = new TimeMasking(15, true, 1, g),
    fmask = new FrequencyMasking(6, true, g);
  const bs = o.batchSize ?? 16;
  const starts = Array.from({ length: Math.ceil(train.length / bs) }, (_, i) => i * bs);
  const cer = (utts: Utterance[]) => {
    const hyp = transcribeBatch(model, utts);
    return characterErrorRate(utts.map((u, i) => ({ ref: u.label, hyp: hyp[i] })));
  };
  for (let epoch = 1; epoch <= epochs; epoch++) {
    model.train();
    for (let i = starts.length - 1; i > 0; i--) {
      const j = g.randint(0, i + 1);
      [starts[i], starts[j]] = [starts[j], starts[i]];
    }
    let total = 0;
    for (const s of starts) {
      const part = train.slice(s, s + bs);
      const { x, frames } = padBatch(part);
      const xa = fmask.call(tmask.call(x.unsqueeze(1))).squeeze(1);
      const lp = model.call(xa);
      const targets = part.flatMap((u) => [...u.label].map((d) => Number(d) + 1));
      const loss = ctcLoss(
        lp,
        targets,
        frames.map((f) => SpeechRecognizer.outFrames(f)),
        part.map((u) => u.label.length),
        { blank: BLANK, zeroInfinity: true },
      );
      opt.zeroGrad();
      loss.backward();
      opt.step();
      total += loss.item() as number;
    }
    sched.step();
    const every = o.evalEvery ?? 1;
    const held = every > 0 && epoch % every === 0 ? `, held-out CER ${cer(test).toFixed(4)}` : '';
    o.log?.(`epoch ${epoch}: ctc loss ${(total / starts.length).toFixed(4)}${held}`);
  }
  const hyp = transcribeBatch(model, test);
  const examples = test.slice(0, 5).map((u, i) => ({ ref: u.label, hyp: hyp[i] }));
  return { model, testCer: cer(test), trainCer: cer(train), examples };
}

export async function saveSpeechRecognizer(dir: string, model: SpeechRecognizer): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await saveSafetensors(model.stateDict(), join(dir, 'model.safetensors'));
  const cfg = {
    kind: 'speech-recognizer',
    channels: model.channels,
    hidden: model.hidden,
    numClasses: model.numClasses,
  };
  writeTextAtomic(join(dir, 'config.json'), JSON.stringify(cfg));
}

export async function loadSpeechRecognizer(dir: string): Promise<SpeechRecognizer> {
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
    kind: string;
    channels: number;
    hidden: number;
    numClasses: number;
  };
  if (cfg.kind !== 'speech-recognizer')
    throw new Error(`loadSpeechRecognizer(${dir}): config.json is a '${cfg.kind}', not a speech recognizer`);
  const model = new SpeechRecognizer(cfg.channels, cfg.hidden, cfg.numClasses);
  model.loadStateDict(await loadSafetensors(join(dir, 'model.safetensors')));
  model.eval();
  return model;
}

/** The digits spoken in a WAV file (any rate: resampled to 16 kHz), spaced: '4 2 7'. */
export function transcribeFile(model: SpeechRecognizer, path: string): { text: string; resampledFrom?: number } {
  const r = loadAt(path, SAMPLE_RATE, { mono: true });
  const w = r.waveform.toTypedArray() as Float32Array;
  const [digits] = transcribeBatch(model, [{ mel: logMel(batchOf([w], w.length)).squeeze(0), label: '' }]);
  return { text: [...digits].join(' '), resampledFrom: r.resampledFrom };
}
