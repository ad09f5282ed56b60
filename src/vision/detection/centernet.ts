// CenterNet training and inference: Gaussian centre heatmaps as targets, the penalty-reduced focal
// loss plus L1 size and offset losses at the centres, and decoding by 3x3 peak picking, top-k and
// per-class NMS. Trained on composed scenes (./scenes.ts), evaluated by COCO mAP (./metrics.ts).
// Glossary: B batch, K classes, F output side (S/4), n objects in an image.

import { homedir, join, mkdirSync, process, readFileSync } from '../../platform/node.js';
import type { Tensor } from '../../tensor/tensor.js';
import { fromTypedArray } from '../../tensor/creation.js';
import { noGrad } from '../../autograd/grad_mode.js';
import { maxPool2d } from '../../ops/conv.js';
import { softplus } from '../../ops/unary.js';
import { loadSafetensors, saveSafetensors } from '../../io/tensors.js';
import { writeTextAtomic } from '../../io/atomic.js';
import { CENTERNET_STRIDE, CenterNet, type CenterNetOutput, SIZE_SCALE } from '../models/centernet.js';
import { batchedNms } from '../ops/nms.js';
import { type Detections, type GroundTruth, type MapResult, meanAveragePrecision } from './metrics.js';
import { type ItemPool, SCENE_CLASSES, type SceneOptions, makeScenes, sceneBatch } from './scenes.js';
import { type SceneTrainOptions, trainOnScenes } from './scene_training.js';

/** CenterNet's Gaussian radius: the largest centre shift that keeps IoU >= minOverlap (h, w in cells). */
export function gaussianRadius(h: number, w: number, minOverlap = 0.7): number {
  const b1 = h + w,
    c1 = (w * h * (1 - minOverlap)) / (1 + minOverlap);
  const r1 = (b1 + Math.sqrt(b1 * b1 - 4 * c1)) / 2;
  const b2 = 2 * (h + w),
    c2 = (1 - minOverlap) * w * h;
  const r2 = (b2 + Math.sqrt(b2 * b2 - 16 * c2)) / 2;
  const a3 = 4 * minOverlap,
    b3 = -2 * minOverlap * (h + w),
    c3 = (minOverlap - 1) * w * h;
  const r3 = (b3 + Math.sqrt(b3 * b3 - 4 * a3 * c3)) / 2;
  return Math.min(r1, r2, r3);
}

export interface CenterNetTargets {
  heatmap: Tensor; // (B, K, F, F) in [0, 1], 1 at centres
  wh: Tensor; // (B, 2, F, F) box size / SIZE_SCALE at centres
  offset: Tensor; // (B, 2, F, F) centre - its cell, at centres
  mask: Tensor; // (B, 1, F, F) 1 at centres
  numPos: number;
}

/** Targets for ground-truth boxes (n, 4) xyxy in input pixels and labels (n), per image. */
export function centerNetTargets(targets: readonly GroundTruth[], numClasses: number, F: number): CenterNetTargets {
  const B = targets.length,
    FF = F * F;
  const hm = new Float32Array(B * numClasses * FF),
    wh = new Float32Array(B * 2 * FF),
    off = new Float32Array(B * 2 * FF),
    mask = new Float32Array(B * FF);
  let numPos = 0;
  targets.forEach((t, b) => {
    const bx = t.boxes.to('float32').contiguous().toTypedArray() as Float32Array;
    const lb = t.labels.toTypedArray();
    for (let i = 0; i < lb.length; i++) {
      const [x1, y1, x2, y2] = [bx[4 * i], bx[4 * i + 1], bx[4 * i + 2], bx[4 * i + 3]].map(
        (v) => v / CENTERNET_STRIDE,
      );
      const cx = (x1 + x2) / 2,
        cy = (y1 + y2) / 2;
      const ix = Math.min(F - 1, Math.max(0, Math.floor(cx))),
        iy = Math.min(F - 1, Math.max(0, Math.floor(cy)));
      const r = Math.max(0, Math.floor(gaussianRadius(y2 - y1, x2 - x1)));
      const sigma = (2 * r + 1) / 6;
      const plane = (b * numClasses + Number(lb[i])) * FF;
      for (let y = Math.max(0, iy - r); y <= Math.min(F - 1, iy + r); y++)
        for (let x = Math.max(0, ix - r); x <= Math.min(F - 1, ix + r); x++) {
          const v = Math.exp(-((x - ix) ** 2 + (y - iy) ** 2) / (2 * sigma * sigma));
          hm[plane + y * F + x] = Math.max(hm[plane + y * F + x], v);
        }
      const at = iy * F + ix;
      wh[b * 2 * FF + at] = ((x2 - x1) * CENTERNET_STRIDE) / SIZE_SCALE;
      wh[(b * 2 + 1) * FF + at] = ((y2 - y1) * CENTERNET_STRIDE) / SIZE_SCALE;
      off[b * 2 * FF + at] = cx - ix;
      off[(b * 2 + 1) * FF + at] = cy - iy;
      if (!mask[b * FF + at]) numPos++;
      mask[b * FF + at] = 1;
    }
  });
  return {
    heatmap: fromTypedArray(hm, [B, numClasses, F, F]),
    wh: fromTypedArray(wh, [B, 2, F, F]),
    offset: fromTypedArray(off, [B, 2, F, F]),
    mask: fromTypedArray(mask, [B, 1, F, F]),
    numPos,
  };
}

/**
 * CenterNet's loss: the penalty-reduced focal loss (alpha 2, beta 4) over the heatmap, normalised by
 * the number of objects, plus L1 losses of size (weight 1; sizes are in SIZE_SCALE units) and offset.
 */
export function centerNetLoss(out: CenterNetOutput, t: CenterNetTargets): { loss: Tensor; parts: number[] } {
  const x = out.heatmap;
  const logP = softplus(x.neg()).neg(), // log sigmoid(x)
    log1mP = softplus(x).neg(); // log (1 - sigmoid(x))
  const p = x.sigmoid().clamp(1e-4, 1 - 1e-4);
  const pos = t.heatmap.eq(1).to(x.dtype),
    neg = pos.neg().add(1);
  const posLoss = p.neg().add(1).square().mul(logP).mul(pos).sum();
  const negW = t.heatmap.neg().add(1).pow(4).mul(neg);
  const negLoss = p.square().mul(log1mP).mul(negW).sum();
  const n = Math.max(1, t.numPos);
  const hm = posLoss.add(negLoss).neg().div(n);
  const whL = out.wh.sub(t.wh).abs().mul(t.mask).sum().div(n);
  const offL = out.offset.sub(t.offset).abs().mul(t.mask).sum().div(n);
  const loss = hm.add(whL).add(offL);
  return { loss, parts: [hm, whL, offL].map((v) => v.item() as number) };
}

export interface DecodeOptions {
  /** Peaks kept per image before NMS. Default 100. */
  topK?: number;
  /** Lowest score kept. Default 0.05. */
  scoreThreshold?: number;
  /** IoU above which a lower-scored box of the same class is suppressed. Default 0.5. */
  iouThreshold?: number;
}

/** Decodes network outputs to boxes in input pixels: 3x3 peaks, top-k, score threshold, per-class NMS. */
export function decodeCenterNet(out: CenterNetOutput, o: DecodeOptions = {}): Detections[] {
  const topK = o.topK ?? 100,
    thr = o.scoreThreshold ?? 0.05;
  return noGrad(() => {
    const heat = out.heatmap.sigmoid();
    const [B, K, F] = heat.shape;
    const peaks = heat.mul(heat.eq(maxPool2d(heat, 3, 1, 1)).to(heat.dtype));
    const h = peaks.contiguous().toTypedArray() as Float32Array;
    const wh = out.wh.contiguous().toTypedArray() as Float32Array;
    const off = out.offset.contiguous().toTypedArray() as Float32Array;
    const FF = F * F;
    const res: Detections[] = [];
    for (let b = 0; b < B; b++) {
      const cand: number[] = [];
      for (let i = b * K * FF; i < (b + 1) * K * FF; i++) if (h[i] >= thr) cand.push(i);
      cand.sort((u, v) => h[v] - h[u] || u - v);
      const keep = cand.slice(0, topK);
      const boxes: number[] = [],
        scores: number[] = [],
        labels: number[] = [];
      for (const i of keep) {
        const r = i - b * K * FF,
          k = Math.floor(r / FF),
          at = r % FF,
          y = Math.floor(at / F),
          x = at % F;
        const cx = (x + off[b * 2 * FF + at]) * CENTERNET_STRIDE,
          cy = (y + off[(b * 2 + 1) * FF + at]) * CENTERNET_STRIDE;
        const w = Math.max(0, wh[b * 2 * FF + at] * SIZE_SCALE),
          hh = Math.max(0, wh[(b * 2 + 1) * FF + at] * SIZE_SCALE);
        boxes.push(cx - w / 2, cy - hh / 2, cx + w / 2, cy + hh / 2);
        scores.push(h[i]);
        labels.push(k);
      }
      const bt = fromTypedArray(Float32Array.from(boxes), [keep.length, 4]),
        st = fromTypedArray(Float32Array.from(scores)),
        lt = fromTypedArray(Int32Array.from(labels));
      const kept = batchedNms(bt, st, lt, o.iouThreshold ?? 0.5);
      res.push({ boxes: bt.indexSelect(0, kept), scores: st.indexSelect(0, kept), labels: lt.indexSelect(0, kept) });
    }
    return res;
  });
}

/** Detections for images (B, 1, S, S) in [0, 1], S a multiple of 8. */
export function detect(model: CenterNet, images: Tensor, o: DecodeOptions = {}): Detections[] {
  if (images.ndim !== 4 || images.shape[1] !== 1 || images.shape[2] % 8 || images.shape[3] % 8)
    throw new Error(
      `detect: expected grey images (B, 1, H, W) with H, W multiples of 8, got [${images.shape.join(', ')}]`,
    );
  model.eval();
  return decodeCenterNet(
    noGrad(() => model.call(images) as CenterNetOutput),
    o,
  );
}

/** COCO mAP of the model on scenes, in batches of 64. */
export function evaluateDetector(model: CenterNet, pool: ItemPool, count: number, o: SceneOptions = {}): MapResult {
  const preds: Detections[] = [],
    gts: GroundTruth[] = [];
  for (let s = 0; s < count; s += 64) {
    const { images, targets } = sceneBatch(makeScenes(pool, Math.min(64, count - s), o, s));
    preds.push(...detect(model, images));
    gts.push(...targets);
  }
  return meanAveragePrecision(preds, gts);
}

export type TrainDetectorOptions = SceneTrainOptions;

export interface DetectorResult {
  model: CenterNet;
  classes: string[];
  scene: SceneOptions;
  /** COCO mAP on held-out scenes (items never seen in training). */
  test: MapResult;
}

/**
 * Trains a CenterNet on composed scenes (defaults: 40 epochs of 3072 fresh scenes, batch 32, Adam 3e-3
 * with a cosine schedule, width 32) and measures its COCO mAP on 500 held-out scenes.
 */
export function trainDetector(o: TrainDetectorOptions = {}): DetectorResult {
  const model = new CenterNet(SCENE_CLASSES.length, o.width ?? 32);
  const defaults = { epochs: 40, scenesPerEpoch: 3072, batchSize: 32, lr: 3e-3 };
  const { scene, testPool } = trainOnScenes(model, o, defaults, (scenes) => {
    const { images, targets } = sceneBatch(scenes);
    const t = centerNetTargets(targets, SCENE_CLASSES.length, images.shape[2] / CENTERNET_STRIDE);
    const { loss, parts } = centerNetLoss(model.call(images) as CenterNetOutput, t);
    return { loss, parts: { heatmap: parts[0], size: parts[1], offset: parts[2] } };
  });
  const test = evaluateDetector(model, testPool, o.testScenes ?? 500, { ...scene, seed: (scene.seed ?? 0) + 1 });
  return { model, classes: [...SCENE_CLASSES], scene, test };
}

/** <cache>/detection/model: where examples/detection.ts and train-detector save by default. */
export function defaultDetectorDir(): string {
  const root = process.env.NABLA_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'nabla');
  return join(root, 'detection', 'model');
}

/** Saves DIR/model.safetensors and DIR/config.json (classes, width, scene options, held-out mAP). */
export async function saveDetector(dir: string, r: Omit<DetectorResult, 'test'> & { test?: MapResult }): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await saveSafetensors(r.model.stateDict(), join(dir, 'model.safetensors'));
  const metrics = r.test ? { map: r.test.map, map50: r.test.map50, map75: r.test.map75 } : undefined;
  writeTextAtomic(
    join(dir, 'config.json'),
    JSON.stringify({ kind: 'centernet', classes: r.classes, width: r.model.width, scene: r.scene, metrics }, null, 1),
  );
}

export interface LoadedDetector {
  model: CenterNet;
  classes: string[];
  scene: SceneOptions;
}

export async function loadDetector(dir: string): Promise<LoadedDetector> {
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
    kind: string;
    classes: string[];
    width: number;
    scene: SceneOptions;
  };
  if (cfg.kind !== 'centernet')
    throw new Error(`loadDetector(${dir}): config.json is a '${cfg.kind}', not a centernet`);
  const model = new CenterNet(cfg.classes.length, cfg.width);
  model.loadStateDict(await loadSafetensors(join(dir, 'model.safetensors')));
  model.eval();
  return { model, classes: cfg.classes, scene: cfg.scene };
}
