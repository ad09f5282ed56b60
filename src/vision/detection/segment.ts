// Semantic segmentation of the composed scenes with a small U-Net: per-pixel cross-entropy against
// the scenes' label maps (background, clothing, digit; or background and the 20 scene classes),
// evaluated by mean IoU on held-out scenes.
// Glossary: B batch, S scene side, K classes (3 for 'kind', 21 for 'all').

import { noGrad } from '../../autograd/grad_mode.js';
import { crossEntropy } from '../../nn/functional/losses.js';
import type { Tensor } from '../../tensor/tensor.js';
import { cat } from '../../ops/functional.js';
import { UNet } from '../models/unet.js';
import { meanIou } from './metrics.js';
import { type ItemPool, NUM_SCENE_CLASSES, type SceneOptions, makeScenes, sceneBatch, semanticMaps } from './scenes.js';
import { type SceneTrainOptions, trainOnScenes } from './scene_training.js';

export type SegmentationClasses = 'all' | 'kind' | 'binary';

export function numSegmentationClasses(classes: SegmentationClasses): number {
  return classes === 'all' ? NUM_SCENE_CLASSES + 1 : classes === 'kind' ? 3 : 2;
}

/** Per-pixel class ids (B, S, S) for images (B, 1, S, S). */
export function segment(model: UNet, images: Tensor): Tensor {
  model.eval();
  return noGrad(() => model.call(images).argmax(1));
}

/** mIoU of the model on `count` scenes of a pool (classes present in prediction or truth). */
export function evaluateSegmenter(
  model: UNet,
  pool: ItemPool,
  count: number,
  classes: SegmentationClasses,
  o: SceneOptions = {},
): { miou: number; perClass: number[] } {
  const preds: Tensor[] = [],
    truth: Tensor[] = [];
  for (let s = 0; s < count; s += 64) {
    const scenes = makeScenes(pool, Math.min(64, count - s), o, s);
    preds.push(segment(model, sceneBatch(scenes).images));
    truth.push(semanticMaps(scenes, classes));
  }
  return meanIou(cat(preds), cat(truth), numSegmentationClasses(classes));
}

export interface TrainSegmenterOptions extends SceneTrainOptions {
  /** 'kind' (background, clothing, digit; the default), 'all' (background + 20 classes) or 'binary'. */
  classes?: SegmentationClasses;
}

/**
 * Trains a U-Net on fresh composed scenes (defaults: 6 epochs of 2048, batch 16, Adam 5e-3 with a
 * cosine schedule, width 16); returns it with its mIoU on 300 held-out scenes.
 */
export function trainSegmenter(o: TrainSegmenterOptions = {}): {
  model: UNet;
  classes: SegmentationClasses;
  test: { miou: number; perClass: number[] };
} {
  const classes = o.classes ?? 'kind';
  const model = new UNet(1, numSegmentationClasses(classes), o.width ?? 16);
  const defaults = { epochs: 6, scenesPerEpoch: 2048, batchSize: 16, lr: 5e-3 };
  const { scene, testPool } = trainOnScenes(model, o, defaults, (scenes) => ({
    loss: crossEntropy(model.call(sceneBatch(scenes).images), semanticMaps(scenes, classes)),
  }));
  const test = evaluateSegmenter(model, testPool, o.testScenes ?? 300, classes, {
    ...scene,
    seed: (scene.seed ?? 0) + 1,
  });
  return { model, classes, test };
}
