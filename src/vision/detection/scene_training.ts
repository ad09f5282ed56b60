// The training loop shared by the scene models (CenterNet, U-Net): Adam with a cosine schedule over
// fresh composed scenes every step (so no scene repeats), and the held-out item pool for evaluation.
// Glossary: B batch (batchSize scenes).

import type { Module } from '../../nn/module.js';
import { Adam } from '../../optim/adam.js';
import { CosineAnnealingLR } from '../../optim/lr_scheduler.js';
import type { Tensor } from '../../tensor/tensor.js';
import { type ItemPool, type Scene, type SceneOptions, loadItems, makeScenes } from './scenes.js';

export interface SceneTrainOptions {
  /** Folder with the Fashion-MNIST and MNIST files (default ../shared/data or NABLA_SHARED_DATA). */
  root?: string;
  epochs?: number;
  /** Fresh training scenes per epoch (each epoch draws new ones). */
  scenesPerEpoch?: number;
  /** Held-out scenes for the final metric. */
  testScenes?: number;
  batchSize?: number;
  lr?: number;
  width?: number;
  seed?: number;
  scene?: SceneOptions;
  log?: (msg: string) => void;
}

/**
 * Trains `model` on batches of fresh training scenes with `lossOf(scenes) -> loss and named parts`,
 * logging the epoch means; returns the scene options and the held-out pool (items never trained on).
 */
export function trainOnScenes(
  model: Module,
  o: SceneTrainOptions,
  defaults: { epochs: number; scenesPerEpoch: number; batchSize: number; lr: number },
  lossOf: (scenes: Scene[]) => { loss: Tensor; parts?: Record<string, number> },
): { scene: SceneOptions; testPool: ItemPool } {
  const epochs = o.epochs ?? defaults.epochs,
    perEpoch = o.scenesPerEpoch ?? defaults.scenesPerEpoch,
    bs = o.batchSize ?? defaults.batchSize;
  const scene: SceneOptions = { ...o.scene, seed: o.scene?.seed ?? o.seed ?? 0 };
  const trainPool = loadItems('train', o.root),
    testPool = loadItems('test', o.root);
  const steps = Math.max(1, Math.floor(perEpoch / bs));
  const opt = new Adam(model.parameters(), { lr: o.lr ?? defaults.lr });
  const sched = new CosineAnnealingLR(opt, epochs * steps);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    model.train();
    const sums = new Map<string, number>();
    for (let s = 0; s < steps; s++) {
      const { loss, parts } = lossOf(makeScenes(trainPool, bs, scene, (epoch - 1) * perEpoch + s * bs));
      opt.zeroGrad();
      loss.backward();
      opt.step();
      sched.step();
      for (const [k, v] of Object.entries({ loss: loss.item() as number, ...parts }))
        sums.set(k, (sums.get(k) ?? 0) + v);
    }
    const [first, ...rest] = [...sums].map(([k, v]) => `${k} ${(v / steps).toFixed(4)}`);
    o.log?.(`epoch ${epoch}/${epochs}: ${first}${rest.length ? ` (${rest.join(', ')})` : ''}`);
  }
  return { scene, testPool };
}
