// Composed scenes for detection and segmentation (issue 20): grey images holding a few Fashion-MNIST
// items and MNIST digits at random positions and scales, with their boxes, labels and instance masks.
// Everything derives from (seed, split, index), so the same options give the same scenes on every run.
// Held out by item: training scenes draw from the Fashion-MNIST training set and MNIST test digits
// 0..7999; test scenes draw from the Fashion-MNIST test set and MNIST digits 8000..9999, items the
// training scenes never contain.
// Glossary: S scene side (pixels), n objects in a scene, B scenes, K classes (20).

import { existsSync, join, process } from '../../platform/node.js';
import { readIdx } from '../../data/idx.js';
import { FASHION_CLASSES } from '../../data/datasets.js';
import { Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { fromTypedArray } from '../../tensor/creation.js';

/** Classes 0..9: Fashion-MNIST's; 10..19: the digits. */
export const SCENE_CLASSES: readonly string[] = [
  ...FASHION_CLASSES,
  ...Array.from({ length: 10 }, (_, d) => `digit ${d}`),
];
export const NUM_SCENE_CLASSES = SCENE_CLASSES.length;
/** MNIST test digits below this index serve training scenes, the rest test scenes. */
export const DIGIT_SPLIT = 8000;

export const SCENE_FILES = {
  fashionTrain: ['fashion-train-images-idx3-ubyte.gz', 'fashion-train-labels-idx1-ubyte.gz'],
  fashionTest: ['fashion-t10k-images-idx3-ubyte.gz', 'fashion-t10k-labels-idx1-ubyte.gz'],
  digits: ['mnist-t10k-images-idx3-ubyte.gz', 'mnist-t10k-labels-idx1-ubyte.gz'],
} as const;

/** ../shared/data or NABLA_SHARED_DATA: where the item images are looked for by default. */
export function defaultSceneRoot(): string {
  return process.env.NABLA_SHARED_DATA ?? join('..', 'shared', 'data');
}

/** null when every item file is in root, else a sentence naming the first missing one. */
export function sceneDataMissing(root = defaultSceneRoot()): string | null {
  for (const f of Object.values(SCENE_FILES).flat())
    if (!existsSync(join(root, f))) return `scenes need ${f} in ${root} (set NABLA_SHARED_DATA)`;
  return null;
}

/** 28x28 item images (uint8) with their scene class. */
export interface ItemPool {
  images: Uint8Array; // (n, 28, 28)
  labels: Int32Array; // (n) scene classes
}

const byClassCache = new WeakMap<ItemPool, number[][]>();
/** The item indices of each class (cached per pool). */
function byClass(pool: ItemPool): number[][] {
  let m = byClassCache.get(pool);
  if (!m) {
    m = Array.from({ length: NUM_SCENE_CLASSES }, () => []);
    for (let i = 0; i < pool.labels.length; i++) m[pool.labels[i]].push(i);
    byClassCache.set(pool, m);
  }
  return m;
}

const ITEM = 28;

function readPair(root: string, [img, lab]: readonly string[], lo: number, hi: number, offset: number): ItemPool {
  const i = readIdx(join(root, img)),
    l = readIdx(join(root, lab));
  if (i.shape.length !== 3 || i.shape[1] !== ITEM || i.shape[2] !== ITEM || i.shape[0] !== l.shape[0])
    throw new Error(`scenes: ${img} must hold (N, 28, 28) images matching ${lab}, got [${i.shape.join(', ')}]`);
  const end = Math.min(hi, i.shape[0]);
  return {
    images: (i.data as Uint8Array).slice(lo * ITEM * ITEM, end * ITEM * ITEM),
    labels: Int32Array.from((l.data as Uint8Array).subarray(lo, end), (v) => v + offset),
  };
}

/** The items of a split: Fashion-MNIST items (classes 0..9) and digits (classes 10..19). */
export function loadItems(split: 'train' | 'test', root = defaultSceneRoot()): ItemPool {
  const missing = sceneDataMissing(root);
  if (missing) throw new Error(missing);
  const fashion = readPair(root, split === 'train' ? SCENE_FILES.fashionTrain : SCENE_FILES.fashionTest, 0, 1e9, 0);
  const digits =
    split === 'train'
      ? readPair(root, SCENE_FILES.digits, 0, DIGIT_SPLIT, 10)
      : readPair(root, SCENE_FILES.digits, DIGIT_SPLIT, 1e9, 10);
  const images = new Uint8Array(fashion.images.length + digits.images.length);
  images.set(fashion.images);
  images.set(digits.images, fashion.images.length);
  const labels = new Int32Array(fashion.labels.length + digits.labels.length);
  labels.set(fashion.labels);
  labels.set(digits.labels, fashion.labels.length);
  return { images, labels };
}

export interface SceneOptions {
  /** Scene side in pixels. Default 64. */
  size?: number;
  /** Objects per scene, drawn uniformly in [minObjects, maxObjects]. Default 1..4. */
  minObjects?: number;
  maxObjects?: number;
  /** Side of a pasted item in pixels, uniform in [minScale, maxScale]. Default 18..30. */
  minScale?: number;
  maxScale?: number;
  /** Amplitude of the uniform background noise, in [0, 1]. Default 0.1. */
  noise?: number;
  /** Largest IoU a new object may have with one already placed. Default 0 (objects do not overlap). */
  maxOverlap?: number;
  seed?: number;
}

/** One scene: a grey image, the objects' xyxy boxes (pixel edges), classes and instance masks. */
export interface Scene {
  size: number;
  image: Float32Array; // (S, S) in [0, 1]
  boxes: Float32Array; // (n, 4) xyxy
  labels: Int32Array; // (n)
  masks: Uint8Array; // (n, S, S) 0/1
  /** Index of each object's item in its pool (for the held-out check). */
  items: Int32Array; // (n)
}

/** Bilinear resize of a 28x28 uint8 item to s x s values in [0, 1] (pixel centres aligned). */
function resizeItem(src: Uint8Array, off: number, s: number): Float32Array {
  const out = new Float32Array(s * s),
    r = ITEM / s;
  for (let y = 0; y < s; y++) {
    const fy = Math.min(Math.max((y + 0.5) * r - 0.5, 0), ITEM - 1),
      y0 = Math.floor(fy),
      y1 = Math.min(y0 + 1, ITEM - 1),
      wy = fy - y0;
    for (let x = 0; x < s; x++) {
      const fx = Math.min(Math.max((x + 0.5) * r - 0.5, 0), ITEM - 1),
        x0 = Math.floor(fx),
        x1 = Math.min(x0 + 1, ITEM - 1),
        wx = fx - x0;
      const p = (yy: number, xx: number) => src[off + yy * ITEM + xx];
      const v = (1 - wy) * ((1 - wx) * p(y0, x0) + wx * p(y0, x1)) + wy * ((1 - wx) * p(y1, x0) + wx * p(y1, x1));
      out[y * s + x] = v / 255;
    }
  }
  return out;
}

const INK = 0.15; // an item pixel brighter than this belongs to the object's mask and box

function iou(a: number[], b: number[]): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])),
    h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const i = w * h;
  return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i);
}

/** Scene `index` of a split, composed from `pool`. Deterministic in (options, index). */
export function makeScene(pool: ItemPool, index: number, o: SceneOptions = {}): Scene {
  const S = o.size ?? 64,
    lo = o.minObjects ?? 1,
    hi = o.maxObjects ?? 4,
    smin = o.minScale ?? 18,
    smax = Math.min(o.maxScale ?? 30, S),
    noise = o.noise ?? 0.1,
    maxOverlap = o.maxOverlap ?? 0;
  if (!(smin >= 4 && smin <= smax))
    throw new Error(`makeScene: need 4 <= minScale <= maxScale <= size, got ${smin}..${smax}`);
  const g = new Generator(((o.seed ?? 0) * 1_000_003 + index * 7919 + 17) >>> 0);
  const image = new Float32Array(S * S);
  for (let i = 0; i < image.length; i++) image[i] = g.random() * noise;
  const boxes: number[][] = [],
    labels: number[] = [],
    items: number[] = [],
    masks: Uint8Array[] = [];
  const want = lo + g.randint(0, hi - lo + 1);
  // NOTE: a class is drawn first, then an item of it: the pools hold 6x more clothing than digits
  const classes = byClass(pool).filter((c) => c.length > 0);
  for (let k = 0, tries = 0; k < want && tries < 60; tries++) {
    const cls = classes[g.randint(0, classes.length)];
    const item = cls[g.randint(0, cls.length)],
      s = smin + g.randint(0, smax - smin + 1);
    const px = g.randint(0, S - s + 1),
      py = g.randint(0, S - s + 1);
    const pix = resizeItem(pool.images, item * ITEM * ITEM, s);
    let x1 = s,
      y1 = s,
      x2 = -1,
      y2 = -1;
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++)
        if (pix[y * s + x] > INK) {
          x1 = Math.min(x1, x);
          x2 = Math.max(x2, x);
          y1 = Math.min(y1, y);
          y2 = Math.max(y2, y);
        }
    if (x2 < 0) continue; // a blank item
    const box = [px + x1, py + y1, px + x2 + 1, py + y2 + 1];
    if (boxes.some((b) => iou(b, box) > maxOverlap)) continue;
    const mask = new Uint8Array(S * S);
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++) {
        const v = pix[y * s + x],
          at = (py + y) * S + px + x;
        if (v > image[at]) image[at] = v;
        if (v > INK) mask[at] = 1;
      }
    boxes.push(box);
    labels.push(pool.labels[item]);
    items.push(item);
    masks.push(mask);
    k++;
  }
  const m = new Uint8Array(masks.length * S * S);
  for (let i = 0; i < masks.length; i++) m.set(masks[i], i * S * S);
  return {
    size: S,
    image,
    boxes: Float32Array.from(boxes.flat()),
    labels: Int32Array.from(labels),
    masks: m,
    items: Int32Array.from(items),
  };
}

/** Scenes [start, start + count) of a pool. */
export function makeScenes(pool: ItemPool, count: number, o: SceneOptions = {}, start = 0): Scene[] {
  return Array.from({ length: count }, (_, i) => makeScene(pool, start + i, o));
}

/** Target of one scene as tensors: boxes (n, 4) float32, labels (n) int32, masks (n, S, S) float32. */
export interface SceneTarget {
  boxes: Tensor;
  labels: Tensor;
  masks: Tensor;
}

/** Images (B, 1, S, S) and per-scene targets. */
export function sceneBatch(scenes: readonly Scene[]): { images: Tensor; targets: SceneTarget[] } {
  if (scenes.length === 0) throw new Error('sceneBatch: the scene list is empty');
  const S = scenes[0].size;
  const img = new Float32Array(scenes.length * S * S);
  scenes.forEach((sc, i) => {
    if (sc.size !== S) throw new Error(`sceneBatch: scene ${i} is ${sc.size}x${sc.size}, scene 0 is ${S}x${S}`);
    img.set(sc.image, i * S * S);
  });
  const targets = scenes.map((sc) => ({
    boxes: fromTypedArray(sc.boxes.slice(), [sc.labels.length, 4]),
    labels: fromTypedArray(sc.labels.slice()),
    masks: fromTypedArray(Float32Array.from(sc.masks), [sc.labels.length, S, S]),
  }));
  return { images: fromTypedArray(img, [scenes.length, 1, S, S]), targets };
}

/**
 * Semantic label maps for segmentation: (B, S, S) int32, 0 background and 1 + class under each
 * object's mask. `classes: 'binary'` gives 1 for any object; 'kind' 1 for clothing, 2 for digits.
 */
export function semanticMaps(scenes: readonly Scene[], classes: 'all' | 'kind' | 'binary' = 'all'): Tensor {
  const S = scenes[0]?.size ?? 0;
  const out = new Int32Array(scenes.length * S * S);
  scenes.forEach((sc, b) => {
    for (let k = 0; k < sc.labels.length; k++) {
      const c = classes === 'all' ? sc.labels[k] + 1 : classes === 'kind' ? (sc.labels[k] < 10 ? 1 : 2) : 1;
      for (let p = 0; p < S * S; p++) if (sc.masks[k * S * S + p]) out[b * S * S + p] = c;
    }
  });
  return fromTypedArray(out, [scenes.length, S, S]);
}
