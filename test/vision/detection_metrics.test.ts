// COCO mAP against hand-computed cases and pycocotools' COCOeval (tools/golden/coco_map.py ->
// test/golden/vision/coco_map.json); mean IoU of label maps by hand.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { meanAveragePrecision, meanIou } from '../../src/vision/detection/metrics.js';
import { tensor } from '../../src/tensor/creation.js';
import { golden } from '../helpers/data.js';

const box4 = (b: number[][]) => (b.length ? tensor(b) : tensor([]).reshape([0, 4]));
const det = (boxes: number[][], scores: number[], labels: number[]) => ({
  boxes: box4(boxes),
  scores: tensor(scores),
  labels: tensor(labels, { dtype: 'int32' }),
});
const gt = (boxes: number[][], labels: number[]) => ({
  boxes: box4(boxes),
  labels: tensor(labels, { dtype: 'int32' }),
});

describe('meanAveragePrecision: hand-computed cases', () => {
  it('a perfect detection is AP 1 at every threshold', () => {
    const r = meanAveragePrecision([det([[0, 0, 10, 10]], [0.9], [3])], [gt([[0, 0, 10, 10]], [3])]);
    // (precision is tp / (tp + fp + eps), as in COCOeval, so 1 - 2e-16)
    assert.ok(Math.abs(r.map - 1) < 1e-12 && Math.abs(r.map50 - 1) < 1e-12);
  });
  it('TP, FP, TP over two objects: 101-point interpolation', () => {
    // scores .9 (hit), .8 (miss), .7 (hit): recall .5 .5 1, precision 1 .5 .667 -> envelope 1 .667 .667.
    // recall points 0..0.5 (51 of them) read 1, 0.51..1 (50) read 2/3.
    const r = meanAveragePrecision(
      [
        det(
          [
            [0, 0, 10, 10],
            [50, 50, 60, 60],
            [20, 20, 30, 30],
          ],
          [0.9, 0.8, 0.7],
          [0, 0, 0],
        ),
      ],
      [
        gt(
          [
            [0, 0, 10, 10],
            [20, 20, 30, 30],
          ],
          [0, 0],
        ),
      ],
    );
    assert.ok(Math.abs(r.map50 - (51 + (50 * 2) / 3) / 101) < 1e-12, String(r.map50));
  });
  it('IoU thresholds: a box of IoU 0.6 counts at .5 and .55 and .6, not above', () => {
    // gt [0,0,10,10], det [0,0,10,6]: IoU 0.6
    const r = meanAveragePrecision([det([[0, 0, 10, 6]], [1], [1])], [gt([[0, 0, 10, 10]], [1])]);
    assert.ok(Math.abs(r.map50 - 1) < 1e-12);
    assert.equal(r.map75, 0);
    assert.ok(Math.abs(r.map - 3 / 10) < 1e-12);
  });
  it('a duplicate is a false positive; a class without ground truth is left out; a missed class is 0', () => {
    const r = meanAveragePrecision(
      [
        det(
          [
            [0, 0, 10, 10],
            [0, 0, 10, 10],
            [30, 30, 40, 40],
          ],
          [0.9, 0.95, 0.5],
          [0, 0, 7],
        ),
      ],
      [
        gt(
          [
            [0, 0, 10, 10],
            [60, 60, 70, 70],
          ],
          [0, 2],
        ),
      ],
    );
    assert.deepEqual([...r.ap50PerClass.keys()], [0, 2]);
    // the best detection matches; the duplicate comes after full recall
    assert.ok(Math.abs(r.ap50PerClass.get(0)! - 1) < 1e-12);
    assert.equal(r.ap50PerClass.get(2), 0);
    assert.ok(Math.abs(r.map50 - 0.5) < 1e-12);
  });
  it('errors: mismatched lists, an empty image list, inverted boxes', () => {
    assert.throws(() => meanAveragePrecision([], [gt([], [])]), /1 images; pass one per image/);
    assert.throws(() => meanAveragePrecision([], []), /the image list is empty/);
    assert.throws(
      () => meanAveragePrecision([det([[5, 0, 1, 1]], [1], [0])], [gt([], [])]),
      /preds\[0\]\.boxes\[0\] = \(5, 0, 1, 1\) has x2 < x1/,
    );
  });
});

interface CocoImage {
  gtBoxes: number[][];
  gtLabels: number[];
  boxes: number[][];
  labels: number[];
  scores: number[];
}
const coco = JSON.parse(readFileSync(golden('vision/coco_map.json'), 'utf8')) as {
  cases: { name: string; images: CocoImage[]; map: number; map50: number; map75: number }[];
};

describe('meanAveragePrecision: pycocotools COCOeval parity (tools/golden/coco_map.py)', () => {
  for (const c of coco.cases)
    it(`${c.name}: ${c.images.length} images`, () => {
      const r = meanAveragePrecision(
        c.images.map((im) => det(im.boxes, im.scores, im.labels)),
        c.images.map((im) => gt(im.gtBoxes, im.gtLabels)),
      );
      for (const k of ['map', 'map50', 'map75'] as const)
        assert.ok(Math.abs(r[k] - c[k]) < 1e-9, `${c.name} ${k}: ${r[k]} vs COCOeval ${c[k]}`);
    });
});

describe('meanIou', () => {
  it('per class and mean, by hand', () => {
    const p = tensor([[0, 0, 1, 1, 2, 2]], { dtype: 'int32' });
    const t = tensor([[0, 1, 1, 1, 2, 0]], { dtype: 'int32' });
    // class 0: inter 1, union 3; class 1: inter 2, union 3; class 2: inter 1, union 2
    const r = meanIou(p, t, 4);
    assert.deepEqual(r.perClass.slice(0, 3), [1 / 3, 2 / 3, 1 / 2]);
    assert.ok(Number.isNaN(r.perClass[3]));
    assert.ok(Math.abs(r.miou - (1 / 3 + 2 / 3 + 1 / 2) / 3) < 1e-12);
    assert.throws(() => meanIou(p, t, 2), /element 4 has class 2/);
  });
});
