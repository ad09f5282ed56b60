// COCO-style detection metrics as pycocotools' COCOeval (bbox, area 'all', maxDets 100): greedy
// score-ordered matching per image and class at each IoU threshold, precision made monotone, then
// sampled at 101 recall points; mAP is the mean over classes that have ground truth (and over the
// thresholds .5:.05:.95 for mAP@[.5:.95]). Also the mean IoU of semantic segmentation.
// Glossary: I images, n detections or ground-truth boxes of an image, T thresholds, R = 101 recall points.

import type { Tensor } from '../../tensor/tensor.js';
import { fmtShape } from '../../tensor/layout.js';
import { checkBoxes } from '../ops/boxes.js';

/** One image's detections: boxes (n, 4) xyxy, scores (n), labels (n). */
export interface Detections {
  boxes: Tensor;
  scores: Tensor;
  labels: Tensor;
}
/** One image's ground truth: boxes (n, 4) xyxy, labels (n). */
export interface GroundTruth {
  boxes: Tensor;
  labels: Tensor;
}

export interface MapOptions {
  /** IoU thresholds; default .5:.05:.95 (COCO). */
  iouThresholds?: readonly number[];
  /** Detections kept per image and class, best first. Default 100. */
  maxDets?: number;
}

export interface MapResult {
  /** mAP@[.5:.95]: mean over the thresholds and the classes with ground truth. */
  map: number;
  /** mAP at IoU 0.5 and 0.75 (NaN when the thresholds do not include them). */
  map50: number;
  map75: number;
  /** AP@0.5 of each class id with ground truth. */
  ap50PerClass: Map<number, number>;
  /** AP of each class id averaged over the thresholds. */
  apPerClass: Map<number, number>;
}

/** numpy.linspace(start, stop, num) bit for bit: i * step + start, the last one exactly stop. */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * step + start));
}
// NOTE: COCOeval's thresholds and recall points come from np.linspace, so 0.7 is 0.7000000000000001:
// a recall of exactly 7/10 falls below that point. Rounding them would change APs.
const COCO_THRESHOLDS = linspace(0.5, 0.95, 10);
const RECALLS = linspace(0, 1, 101);

interface Img {
  boxes: Float64Array;
  labels: Int32Array;
  scores: Float64Array;
}

function rows(op: string, what: string, i: number, d: { boxes: Tensor; labels: Tensor; scores?: Tensor }): Img {
  checkBoxes(op, d.boxes, `${what}[${i}].boxes`);
  const n = d.boxes.shape[0];
  if (d.labels.ndim !== 1 || d.labels.shape[0] !== n)
    throw new Error(`${op}: ${what}[${i}].labels must be (${n}), got ${fmtShape(d.labels.shape)}`);
  if (d.scores && (d.scores.ndim !== 1 || d.scores.shape[0] !== n))
    throw new Error(`${op}: ${what}[${i}].scores must be (${n}), got ${fmtShape(d.scores.shape)}`);
  return {
    boxes: d.boxes.detach().to('float64').contiguous().toTypedArray() as Float64Array,
    labels: Int32Array.from(d.labels.toTypedArray() as ArrayLike<number>),
    scores: d.scores
      ? (d.scores.detach().to('float64').contiguous().toTypedArray() as Float64Array)
      : new Float64Array(n),
  };
}

function iou(a: Float64Array, i: number, b: Float64Array, j: number): number {
  const w = Math.max(0, Math.min(a[4 * i + 2], b[4 * j + 2]) - Math.max(a[4 * i], b[4 * j]));
  const h = Math.max(0, Math.min(a[4 * i + 3], b[4 * j + 3]) - Math.max(a[4 * i + 1], b[4 * j + 1]));
  const inter = w * h;
  const ua =
    (a[4 * i + 2] - a[4 * i]) * (a[4 * i + 3] - a[4 * i + 1]) +
    (b[4 * j + 2] - b[4 * j]) * (b[4 * j + 3] - b[4 * j + 1]) -
    inter;
  return ua > 0 ? inter / ua : 0;
}

/** AP from score-sorted match flags, as COCOeval.accumulate: 101-point interpolated precision. */
function averagePrecision(tp: Uint8Array, npos: number): number {
  const n = tp.length;
  const rc = new Float64Array(n),
    pr = new Float64Array(n);
  let ctp = 0;
  for (let i = 0; i < n; i++) {
    ctp += tp[i];
    rc[i] = ctp / npos;
    pr[i] = ctp / (i + 1 + Number.EPSILON);
  }
  for (let i = n - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
  let s = 0,
    k = 0;
  for (const r of RECALLS) {
    while (k < n && rc[k] < r) k++; // searchsorted(rc, r, side='left')
    if (k < n) s += pr[k];
  }
  return s / RECALLS.length;
}

/**
 * COCO mAP of detections against ground truth, one entry per image in both lists.
 * @example const { map, map50 } = nb.vision.detection.meanAveragePrecision(preds, targets);
 */
export function meanAveragePrecision(
  preds: readonly Detections[],
  targets: readonly GroundTruth[],
  o: MapOptions = {},
): MapResult {
  const op = 'meanAveragePrecision';
  if (preds.length !== targets.length)
    throw new Error(`${op}: ${preds.length} prediction entries for ${targets.length} images; pass one per image`);
  if (targets.length === 0) throw new Error(`${op}: the image list is empty`);
  const thr = o.iouThresholds ?? COCO_THRESHOLDS,
    maxDets = o.maxDets ?? 100;
  const P = preds.map((p, i) => rows(op, 'preds', i, p));
  const G = targets.map((t, i) => rows(op, 'targets', i, t));
  const classes = new Set<number>();
  for (const g of G) for (const c of g.labels) classes.add(c);
  const apAt = new Map<number, number[]>();
  for (const c of [...classes].sort((a, b) => a - b)) {
    const npos = G.reduce((s, g) => s + g.labels.filter((l) => l === c).length, 0);
    // per threshold: scores and match flags of every detection of class c, image by image
    const scores: number[] = [];
    const flags: number[][] = thr.map(() => []);
    P.forEach((p, img) => {
      const g = G[img];
      const gi = [...g.labels.keys()].filter((j) => g.labels[j] === c);
      const di = [...p.labels.keys()]
        .filter((j) => p.labels[j] === c)
        .sort((a, b) => p.scores[b] - p.scores[a] || a - b)
        .slice(0, maxDets);
      for (const d of di) scores.push(p.scores[d]);
      const ious = di.map((d) => gi.map((j) => iou(p.boxes, d, g.boxes, j)));
      thr.forEach((t, ti) => {
        const taken = new Uint8Array(gi.length);
        for (let a = 0; a < di.length; a++) {
          let best = Math.min(t, 1 - 1e-10),
            m = -1;
          for (let b = 0; b < gi.length; b++) {
            if (taken[b] || ious[a][b] < best) continue;
            best = ious[a][b];
            m = b;
          }
          if (m >= 0) taken[m] = 1;
          flags[ti].push(m >= 0 ? 1 : 0);
        }
      });
    });
    const order = [...scores.keys()].sort((a, b) => scores[b] - scores[a] || a - b);
    apAt.set(
      c,
      flags.map((f) =>
        averagePrecision(
          Uint8Array.from(order, (i) => f[i]),
          npos,
        ),
      ),
    );
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const at = (t: number) => {
    const ti = thr.findIndex((x) => Math.abs(x - t) < 1e-9);
    return ti < 0 ? Number.NaN : mean([...apAt.values()].map((a) => a[ti]));
  };
  const i50 = thr.findIndex((x) => Math.abs(x - 0.5) < 1e-9);
  return {
    map: mean([...apAt.values()].map(mean)),
    map50: at(0.5),
    map75: at(0.75),
    ap50PerClass: new Map([...apAt].map(([c, a]) => [c, i50 < 0 ? Number.NaN : a[i50]])),
    apPerClass: new Map([...apAt].map(([c, a]) => [c, mean(a)])),
  };
}

/**
 * Mean intersection over union of label maps pred and target (same shape, int class ids in
 * [0, numClasses)): per class |pred = c and target = c| / |pred = c or target = c|, averaged over the
 * classes present in either. Returns the mean and the per-class IoUs (NaN where absent).
 */
export function meanIou(pred: Tensor, target: Tensor, numClasses: number): { miou: number; perClass: number[] } {
  const op = 'meanIou';
  if (pred.shape.join() !== target.shape.join())
    throw new Error(`${op}: pred ${fmtShape(pred.shape)} and target ${fmtShape(target.shape)} must match`);
  const p = pred.toTypedArray(),
    t = target.toTypedArray();
  const inter = new Float64Array(numClasses),
    union = new Float64Array(numClasses);
  for (let i = 0; i < p.length; i++) {
    const a = Number(p[i]),
      b = Number(t[i]);
    if (!(a >= 0 && a < numClasses && b >= 0 && b < numClasses))
      throw new Error(`${op}: element ${i} has class ${a} (pred) / ${b} (target), outside [0, ${numClasses})`);
    if (a === b) {
      inter[a]++;
      union[a]++;
    } else {
      union[a]++;
      union[b]++;
    }
  }
  const perClass = Array.from(inter, (v, c) => (union[c] > 0 ? v / union[c] : Number.NaN));
  const present = perClass.filter((v) => !Number.isNaN(v));
  return { miou: present.reduce((a, b) => a + b, 0) / Math.max(1, present.length), perClass };
}
