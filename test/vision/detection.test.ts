// Composed scenes (deterministic, held out by item, boxes and masks consistent), CenterNet targets and
// decoding (a perfect heatmap decodes to the ground truth), and tiny detector and U-Net runs trained in
// seconds that must beat chance clearly. The full runs are examples/detection.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as det from '../../src/vision/detection/index.js';
import { masksToBoxes } from '../../src/vision/ops/boxes.js';
import { CENTERNET_STRIDE, SIZE_SCALE } from '../../src/vision/models/centernet.js';
import { manualSeed } from '../../src/tensor/random.js';
import { tensor } from '../../src/tensor/creation.js';
import { assertClose } from '../helpers/assert.js';
import { SHARED_DATA } from '../helpers/data.js';

const skip = det.sceneDataMissing(SHARED_DATA) ?? false;
const pools = skip ? null : { train: det.loadItems('train', SHARED_DATA), test: det.loadItems('test', SHARED_DATA) };

describe('composed scenes', { skip }, () => {
  it('are deterministic in (options, index)', () => {
    const a = det.makeScene(pools!.train, 5, { seed: 3 });
    const b = det.makeScene(pools!.train, 5, { seed: 3 });
    const c = det.makeScene(pools!.train, 6, { seed: 3 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.image, c.image);
  });
  it('hold out by item: test scenes use no training item', () => {
    const hash = (p: det.ItemPool, i: number) =>
      createHash('sha1')
        .update(p.images.subarray(i * 784, (i + 1) * 784))
        .digest('hex');
    const seen = new Set<string>();
    for (const s of det.makeScenes(pools!.train, 300)) for (const i of s.items) seen.add(hash(pools!.train, i));
    let n = 0;
    for (const s of det.makeScenes(pools!.test, 300, { seed: 1 }))
      for (const i of s.items) {
        n++;
        assert.ok(!seen.has(hash(pools!.test, i)), `test item ${i} also occurs in training scenes`);
      }
    assert.ok(n > 500, `only ${n} test objects`);
  });
  it('boxes are the masks bounding boxes; labels cover both kinds; objects do not overlap', () => {
    const scenes = det.makeScenes(pools!.train, 50);
    const { images, targets } = det.sceneBatch(scenes);
    assert.deepEqual(images.shape, [50, 1, 64, 64]);
    const kinds = new Set<number>();
    for (const t of targets) {
      if (t.labels.shape[0] === 0) continue;
      const fromMask = masksToBoxes(t.masks).add(tensor([0, 0, 1, 1]));
      assertClose(fromMask, t.boxes);
      for (const l of t.labels.toTypedArray()) kinds.add(Number(l) < 10 ? 0 : 1);
      const n = t.labels.shape[0];
      const overlap = t.masks.sum(0).max().item() as number;
      assert.ok(overlap <= 1, `masks overlap in a scene of ${n} objects`);
    }
    assert.deepEqual([...kinds].sort(), [0, 1]);
    const seg = det.semanticMaps(scenes.slice(0, 2), 'kind');
    assert.deepEqual(seg.shape, [2, 64, 64]);
  });
});

describe('CenterNet targets and decoding', () => {
  it('a heatmap equal to the targets decodes back to the ground truth (mAP 1)', () => {
    const gts = [
      {
        boxes: tensor([
          [4, 8, 24, 30],
          [36, 30, 60, 52],
        ]),
        labels: tensor([3, 15], { dtype: 'int32' }),
      },
      { boxes: tensor([[10, 10, 31, 27]]), labels: tensor([7], { dtype: 'int32' }) },
    ];
    const t = det.centerNetTargets(gts, 20, 16);
    assert.equal(t.numPos, 3);
    // logits from the target heatmap (1 -> large); sizes and offsets straight from the targets
    const p = t.heatmap.clamp(1e-6, 1 - 1e-6);
    const logits = p.log().sub(p.neg().add(1).log());
    const d = det.decodeCenterNet({ heatmap: logits, wh: t.wh, offset: t.offset }, { scoreThreshold: 0.5 });
    const r = det.meanAveragePrecision(d, gts);
    assert.ok(Math.abs(r.map - 1) < 1e-9, `mAP ${r.map}`);
    assertClose(d[1].boxes, gts[1].boxes, { atol: 1e-4, rtol: 0 });
    assert.equal(CENTERNET_STRIDE * 16, 64);
    assert.ok(SIZE_SCALE > 0);
  });
  it('the Gaussian radius grows with the box', () => {
    assert.ok(det.gaussianRadius(2, 2) < det.gaussianRadius(6, 6));
  });
});

describe('tiny training runs (seconds)', { skip }, () => {
  it('a tiny CenterNet localises held-out objects far better than chance', () => {
    manualSeed(0);
    const r = det.trainDetector({
      root: SHARED_DATA,
      epochs: 2,
      scenesPerEpoch: 320,
      batchSize: 16,
      width: 8,
      lr: 5e-3,
      testScenes: 64,
    });
    // class-agnostic mAP@0.5: every box counts as one class (chance is about 0)
    const { images, targets } = det.sceneBatch(det.makeScenes(pools!.test, 64, { seed: 9 }));
    const preds = det.detect(r.model, images);
    const agnostic = (xs: { labels: ReturnType<typeof tensor> }[]) =>
      xs.map((x) => ({ ...x, labels: x.labels.mul(0) }));
    const m = det.meanAveragePrecision(agnostic(preds) as det.Detections[], agnostic(targets) as det.GroundTruth[]);
    assert.ok(m.map50 > 0.15, `class-agnostic mAP@0.5 ${m.map50}`);
    assert.ok(r.test.map50 >= 0 && r.test.map50 <= 1);
  });
  it('a tiny U-Net separates clothing, digits and background better than chance', () => {
    manualSeed(0);
    const s = det.trainSegmenter({
      root: SHARED_DATA,
      classes: 'kind',
      epochs: 1,
      scenesPerEpoch: 256,
      width: 6,
      batchSize: 8,
      lr: 1e-2,
      testScenes: 64,
    });
    // all background scores about 0.32 (background IoU ~0.97, clothing and digits 0)
    assert.ok(s.test.miou > 0.42, `mIoU ${s.test.miou}`);
    assert.ok(s.test.perClass[1] > 0.3, `clothing IoU ${s.test.perClass[1]}`);
  });
});
