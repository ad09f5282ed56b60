// Keyword spotting: a log-mel CNN over one-second clips (Speech Commands style), trained on the
// espeak-ng corpus with SpecAugment masks, evaluated on held-out voices.
// Glossary: B batch, M mel bands, F frames (101 for one second), K keywords, W base width.

import { join, mkdirSync, readFileSync } from '../../platform/node.js';
import { Module } from '../../nn/module.js';
import { BatchNorm2d } from '../../nn/batch_norm.js';
import { Conv2d } from '../../nn/conv.js';
import { Linear } from '../../nn/linear.js';
import { Sequential } from '../../nn/containers.js';
import { MaxPool2d } from '../../nn/pooling.js';
import { ReLU } from '../../nn/activations.js';
import { crossEntropy } from '../../nn/functional/losses.js';
import { Adam } from '../../optim/adam.js';
import { CosineAnnealingLR } from '../../optim/lr_scheduler.js';
import { noGrad } from '../../autograd/grad_mode.js';
import { Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { tensor } from '../../tensor/creation.js';
import { cat } from '../../ops/functional.js';
import { loadSafetensors, saveSafetensors } from '../../io/tensors.js';
import { writeTextAtomic } from '../../io/atomic.js';
import { FrequencyMasking, TimeMasking } from '../transforms.js';
import { loadAt } from '../load.js';
import { type Corpus, SAMPLE_RATE, readItem } from './corpus.js';
import { batchOf, logMel } from './features.js';

export const CLIP = SAMPLE_RATE; // one second

function block(cin: number, cout: number, pool: boolean): Module[] {
  const m: Module[] = [new Conv2d(cin, cout, 3, { padding: 1 }), new BatchNorm2d(cout), new ReLU()];
  if (pool) m.push(new MaxPool2d(2));
  return m;
}

/** log-mel (B, M, F) -> logits (B, K). Four 3x3 conv blocks (W, 2W, 4W, 4W), global average, linear. */
export class KeywordSpotter extends Module {
  readonly features: Sequential;
  readonly classifier: Linear;
  constructor(
    readonly numClasses: number,
    readonly width = 16,
  ) {
    super();
    const w = width;
    this.features = new Sequential(
      ...block(1, w, true),
      ...block(w, 2 * w, true),
      ...block(2 * w, 4 * w, true),
      ...block(4 * w, 4 * w, false),
    );
    this.classifier = new Linear(4 * w, numClasses);
  }
  forward(mel: Tensor): Tensor {
    const h = this.features.call(mel.unsqueeze(1)) as Tensor; // (B, 4W, M/8, F/8)
    return this.classifier.call(h.mean([2, 3]));
  }
}

export interface TrainOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  width?: number;
  seed?: number;
  /** SpecAugment time and frequency masks on the training batches (default true). */
  specAugment?: boolean;
  /** Measure held-out accuracy every this many epochs (0: only at the end). Default 1. */
  evalEvery?: number;
  log?: (msg: string) => void;
}

export interface KwsResult {
  model: KeywordSpotter;
  labels: string[];
  /** accuracy on the held-out voices */
  testAccuracy: number;
  trainAccuracy: number;
}

/** Features and label ids of a corpus split: mel (B, M, F), y (B). */
export function kwsSplit(c: Corpus, labels: readonly string[], split: 'train' | 'test'): { x: Tensor; y: number[] } {
  const items = c.items.filter((i) => i.split === split);
  const chunks: Tensor[] = [];
  for (let i = 0; i < items.length; i += 256)
    chunks.push(
      logMel(
        batchOf(
          items.slice(i, i + 256).map((it) => readItem(c, it)),
          CLIP,
        ),
      ),
    );
  return { x: cat(chunks), y: items.map((i) => labels.indexOf(i.label)) };
}

/** Top-1 accuracy of the model on mel (B, M, F) with labels y. */
export function accuracy(model: KeywordSpotter, x: Tensor, y: readonly number[]): number {
  model.eval();
  let right = 0;
  noGrad(() => {
    for (let i = 0; i < y.length; i += 256) {
      const pred = model
        .call(x.narrow(0, i, Math.min(256, y.length - i)))
        .argmax(1)
        .toTypedArray() as Int32Array;
      pred.forEach((p, j) => {
        if (p === y[i + j]) right++;
      });
    }
  });
  return right / Math.max(1, y.length);
}

/**
 * Re-estimates the batch-norm statistics on clean (unmasked) training features: the running averages
 * gathered under SpecAugment describe masked inputs, which evaluation never sees.
 */
function recalibrate(model: KeywordSpotter, x: Tensor): void {
  model.train();
  noGrad(() => {
    for (let i = 0; i + 64 <= x.shape[0]; i += 64) model.call(x.narrow(0, i, 64));
  });
  model.eval();
}

/** Trains a KeywordSpotter on a keywords corpus; accuracy is measured on the held-out voices. */
export function trainKeywordSpotter(c: Corpus, o: TrainOptions = {}): KwsResult {
  const labels = [...new Set(c.items.map((i) => i.label))].sort();
  const train = kwsSplit(c, labels, 'train'),
    test = kwsSplit(c, labels, 'test');
  const g = new Generator(o.seed ?? 0);
  const model = new KeywordSpotter(labels.length, o.width ?? 16);
  // NOTE: parameters are initialised from the default generator; seed it for a reproducible run.
  const opt = new Adam(model.parameters(), { lr: o.lr ?? 3e-3 });
  const epochs = o.epochs ?? 10;
  const sched = new CosineAnnealingLR(opt, epochs);
  const tmask = new TimeMasking(20, true, 1, g),
    fmask = new FrequencyMasking(8, true, g);
  const bs = o.batchSize ?? 32,
    n = train.y.length;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    model.train();
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = g.randint(0, i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    let total = 0;
    for (let s = 0; s + bs <= n; s += bs) {
      const idx = order.slice(s, s + bs);
      let x = train.x.indexSelect(0, tensor(idx, { dtype: 'int32' }));
      if (o.specAugment ?? true) x = fmask.call(tmask.call(x.unsqueeze(1))).squeeze(1);
      const loss = crossEntropy(
        model.call(x),
        tensor(
          idx.map((k) => train.y[k]),
          { dtype: 'int32' },
        ),
      );
      opt.zeroGrad();
      loss.backward();
      opt.step();
      total += loss.item() as number;
    }
    sched.step();
    if (epoch === epochs) recalibrate(model, train.x);
    const every = o.evalEvery ?? 1;
    const acc = every > 0 && epoch % every === 0 ? `, test accuracy ${accuracy(model, test.x, test.y).toFixed(4)}` : '';
    o.log?.(`epoch ${epoch}: loss ${(total / Math.floor(n / bs)).toFixed(4)}${acc}`);
  }
  return {
    model,
    labels,
    testAccuracy: accuracy(model, test.x, test.y),
    trainAccuracy: accuracy(model, train.x, train.y),
  };
}

/** Saves a spotter as DIR/model.safetensors + DIR/config.json. */
export async function saveKeywordSpotter(dir: string, r: { model: KeywordSpotter; labels: string[] }): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await saveSafetensors(r.model.stateDict(), join(dir, 'model.safetensors'));
  writeTextAtomic(
    join(dir, 'config.json'),
    JSON.stringify({ kind: 'keyword-spotter', labels: r.labels, width: r.model.width }),
  );
}

export async function loadKeywordSpotter(dir: string): Promise<{ model: KeywordSpotter; labels: string[] }> {
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
    kind: string;
    labels: string[];
    width: number;
  };
  if (cfg.kind !== 'keyword-spotter')
    throw new Error(`loadKeywordSpotter(${dir}): config.json is a '${cfg.kind}', not a keyword spotter`);
  const model = new KeywordSpotter(cfg.labels.length, cfg.width);
  model.loadStateDict(await loadSafetensors(join(dir, 'model.safetensors')));
  model.eval();
  return { model, labels: cfg.labels };
}

/** The keyword of a WAV file (any rate: resampled to 16 kHz) with its probability. */
export function spotKeyword(
  m: { model: KeywordSpotter; labels: string[] },
  path: string,
): { label: string; prob: number; resampledFrom?: number } {
  const r = loadAt(path, SAMPLE_RATE, { mono: true });
  const w = r.waveform.toTypedArray() as Float32Array;
  const p = noGrad(() => m.model.call(logMel(batchOf([w], CLIP))).softmax(1)).toTypedArray() as Float32Array;
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  return { label: m.labels[best], prob: p[best], ...(r.resampledFrom ? { resampledFrom: r.resampledFrom } : {}) };
}
