// Speech synthesis of digit strings: a small text-to-mel model trained on the espeak-ng corpus, then
// Griffin-Lim. Each digit (and a speaker) is embedded and an MLP predicts its log-mel segment of FR
// frames, the string's segments are joined with their quiet frames dropped, the mel power is mapped back
// to a linear spectrogram (each bin from the filters that cover it) and Griffin-Lim finds a phase.
// Judged by our own recogniser: its character error rate on the synthesised strings.
// Glossary: B batch, M = 40 mel bands, FR frames per digit segment, K = 257 bins, S speakers.

import { join, mkdirSync, readFileSync } from '../../platform/node.js';
import { Module } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import { Adam } from '../../optim/adam.js';
import { noGrad } from '../../autograd/grad_mode.js';
import type { Tensor } from '../../tensor/tensor.js';
import { tensor } from '../../tensor/creation.js';
import { cat, stack } from '../../ops/functional.js';
import { loadSafetensors, saveSafetensors } from '../../io/tensors.js';
import { writeTextAtomic } from '../../io/atomic.js';
import { GriffinLim } from '../transforms.js';
import { hannWindow } from '../stft.js';
import { type Corpus, readItem } from './corpus.js';
import { N_MELS, HOP, batchOf, melSpectrogram } from './features.js';

export const SEG_FRAMES = 48;
const FLOOR = Math.log(1e-6);

/** Raw log-mel (M, F) of one clip (not normalised: synthesis needs absolute levels). */
function rawLogMel(w: Float32Array): Tensor {
  return noGrad(() =>
    melSpectrogram()
      .call(batchOf([w], w.length))
      .add(1e-6)
      .log()
      .squeeze(0),
  );
}

/** (M, F) -> (M, FR): from the first frame within 40 dB of the loudest, cut or padded with silence. */
function segment(m: Tensor): Tensor {
  const energy = m.amax(0).toTypedArray() as Float32Array;
  const peak = Math.max(...energy);
  let start = energy.findIndex((e) => e > peak - 9.2); // 40 dB in natural log of power
  if (start < 0) start = 0;
  const len = Math.min(SEG_FRAMES, m.shape[1] - start);
  const part = m.narrow(1, start, len);
  return len === SEG_FRAMES
    ? part
    : cat([part, tensor(new Array(N_MELS * (SEG_FRAMES - len)).fill(FLOOR)).reshape([N_MELS, -1])], 1);
}

/** (digit (B), speaker (B)) -> log-mel segments (B, M, FR). */
export class DigitSynthesizer extends Module {
  readonly token: Embedding;
  readonly speaker: Embedding;
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(
    readonly numSpeakers: number,
    readonly hidden = 256,
  ) {
    super();
    this.token = new Embedding(10, 64);
    this.speaker = new Embedding(numSpeakers, 16);
    this.fc1 = new Linear(80, hidden);
    this.fc2 = new Linear(hidden, N_MELS * SEG_FRAMES);
  }
  forward(digits: Tensor, speakers: Tensor): Tensor {
    const h = cat([this.token.call(digits), this.speaker.call(speakers)], 1);
    return this.fc2
      .call(this.fc1.call(h).relu())
      .reshape([-1, N_MELS, SEG_FRAMES])
      .add(FLOOR / 2);
  }
}

export interface SynthTrainOptions {
  steps?: number;
  lr?: number;
  log?: (msg: string) => void;
}

/**
 * Trains on a keywords corpus of the ten digit words (corpus.options.words = DIGIT_WORDS); every voice
 * of its training split is a speaker.
 */
export function trainSynthesizer(c: Corpus, o: SynthTrainOptions = {}): { model: DigitSynthesizer; voices: string[] } {
  const items = c.items.filter((i) => i.split === 'train');
  const voices = [...new Set(items.map((i) => i.voice))].sort();
  const words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  const x = items.map((i) => words.indexOf(i.label));
  if (x.some((d) => d < 0)) throw new Error('trainSynthesizer: the corpus must hold the ten digit words only');
  const spk = items.map((i) => voices.indexOf(i.voice));
  const target = stack(items.map((i) => segment(rawLogMel(readItem(c, i))))); // (B, M, FR)
  const model = new DigitSynthesizer(voices.length);
  const opt = new Adam(model.parameters(), { lr: o.lr ?? 2e-3 });
  const xd = tensor(x, { dtype: 'int32' }),
    sd = tensor(spk, { dtype: 'int32' });
  for (let step = 1; step <= (o.steps ?? 600); step++) {
    const loss = model.call(xd, sd).sub(target).abs().mean();
    opt.zeroGrad();
    loss.backward();
    opt.step();
    if (step % 100 === 0) o.log?.(`step ${step}: L1 ${(loss.item() as number).toFixed(4)}`);
  }
  model.eval();
  return { model, voices };
}

/** The joined log-mel (M, F) of a digit string spoken by `speaker`, quiet frames of each digit dropped. */
export function textToMel(model: DigitSynthesizer, digits: string, speaker = 0): Tensor {
  const ds = [...digits].filter((ch) => ch >= '0' && ch <= '9').map(Number);
  if (!ds.length) throw new Error(`speak: no digits in '${digits}' (digits 0-9 are spoken)`);
  if (!Number.isInteger(speaker) || speaker < 0 || speaker >= model.numSpeakers)
    throw new Error(`speak: speaker ${speaker} is out of range for ${model.numSpeakers} speakers`);
  return noGrad(() => {
    const segs = model.call(
      tensor(ds, { dtype: 'int32' }),
      tensor(
        ds.map(() => speaker),
        { dtype: 'int32' },
      ),
    );
    const parts: Tensor[] = [];
    for (let i = 0; i < ds.length; i++) {
      const s = segs.select(0, i);
      const e = s.amax(0).toTypedArray() as Float32Array;
      const peak = Math.max(...e);
      let end = e.length;
      while (end > 1 && e[end - 1] < peak - 9.2) end--;
      parts.push(s.narrow(1, 0, Math.min(e.length, end + 2)));
    }
    const silence = tensor(new Array(N_MELS * 10).fill(FLOOR)).reshape([N_MELS, 10]);
    return cat([silence, ...parts, silence], 1);
  });
}

/** Log-mel (M, F) -> waveform (L) at 16 kHz: mel power to linear bins, then Griffin-Lim. */
export function melToWave(logMel: Tensor, nIter = 48): Float32Array {
  return noGrad(() => {
    const fb = melSpectrogram().mel_scale.fb; // (K, M)
    // each bin's power from the filters covering it, weighted by the filter and normalised by its width
    const width = fb.sum(0, true); // (1, M)
    const w = fb.div(fb.sum(1, true).add(1e-8)); // (K, M), rows sum to 1
    const power = w.div(width.add(1e-8)).matmul(logMel.exp().sub(1e-6).clamp(0)); // (K, F)
    const gl = new GriffinLim({
      nFft: 512,
      winLength: 400,
      hopLength: HOP,
      nIter,
      windowFn: (n) => hannWindow(n),
      randInit: false,
    });
    const y = gl.call(power).toTypedArray() as Float32Array;
    let peak = 1e-9;
    for (const v of y) peak = Math.max(peak, Math.abs(v));
    return y.map((v) => (v / peak) * 0.9);
  });
}

export async function saveSynthesizer(dir: string, r: { model: DigitSynthesizer; voices: string[] }): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await saveSafetensors(r.model.stateDict(), join(dir, 'model.safetensors'));
  writeTextAtomic(
    join(dir, 'config.json'),
    JSON.stringify({ kind: 'digit-synthesizer', voices: r.voices, hidden: r.model.hidden }),
  );
}

export async function loadSynthesizer(dir: string): Promise<{ model: DigitSynthesizer; voices: string[] }> {
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
    kind: string;
    voices: string[];
    hidden: number;
  };
  if (cfg.kind !== 'digit-synthesizer')
    throw new Error(`loadSynthesizer(${dir}): config.json is a '${cfg.kind}', not a synthesizer`);
  const model = new DigitSynthesizer(cfg.voices.length, cfg.hidden);
  model.loadStateDict(await loadSafetensors(join(dir, 'model.safetensors')));
  model.eval();
  return { model, voices: cfg.voices };
}
