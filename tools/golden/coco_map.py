#!/usr/bin/env python3
"""pycocotools COCOeval goldens for nb.vision.detection.meanAveragePrecision.

Debian has no python3-pycocotools; this oracle runs with pip's pycocotools 2.0 (any Python 3 with numpy):
    python3 -m pip install --target /tmp/pycoco pycocotools
    PYTHONPATH=/tmp/pycoco python3 tools/golden/coco_map.py
Writes test/golden/vision/coco_map.json: random cases of images with ground-truth boxes and jittered,
missed and spurious detections over a few classes, and COCOeval's bbox stats (mAP@[.5:.95], mAP@.5,
mAP@.75; area 'all', maxDets 100). Boxes are xyxy in the JSON. Never run in CI; the tests read the file.
"""
import contextlib
import io
import json
import os

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'golden', 'vision')
rng = np.random.default_rng(20)


def make_case(n_images, n_classes, jitter, p_miss, n_spurious, ties=False):
    images = []
    for _ in range(n_images):
        n = int(rng.integers(0, 6))
        xy = rng.uniform(0, 80, (n, 2))
        wh = rng.uniform(4, 30, (n, 2))
        gt = np.concatenate([xy, xy + wh], 1)
        gl = rng.integers(0, n_classes, n)
        det, dl, ds = [], [], []
        for b, l in zip(gt, gl):
            if rng.random() < p_miss:
                continue
            for _ in range(int(rng.integers(1, 3))):  # sometimes a duplicate
                w, h = b[2] - b[0], b[3] - b[1]
                d = b + rng.normal(0, jitter, 4) * np.array([w, h, w, h])
                d[2:] = np.maximum(d[2:], d[:2] + 1)
                det.append(d)
                dl.append(l if rng.random() > 0.1 else int(rng.integers(0, n_classes)))
                ds.append(rng.random())
        for _ in range(int(rng.integers(0, n_spurious + 1))):
            xy = rng.uniform(0, 80, 2)
            det.append(np.concatenate([xy, xy + rng.uniform(4, 30, 2)]))
            dl.append(int(rng.integers(0, n_classes)))
            ds.append(rng.random() * 0.8)
        if ties:
            ds = [round(s, 1) for s in ds]
        images.append({
            'gtBoxes': gt.round(3).tolist(), 'gtLabels': gl.tolist(),
            'boxes': np.array(det).reshape(-1, 4).round(3).tolist(), 'labels': [int(x) for x in dl],
            'scores': [round(float(s), 4) for s in ds],
        })
    return images


def coco_stats(images):
    gt = {'images': [], 'annotations': [], 'categories': []}
    cats = set()
    dets = []
    for i, im in enumerate(images):
        gt['images'].append({'id': i + 1, 'width': 120, 'height': 120})
        for b, l in zip(im['gtBoxes'], im['gtLabels']):
            w, h = b[2] - b[0], b[3] - b[1]
            gt['annotations'].append({'id': len(gt['annotations']) + 1, 'image_id': i + 1, 'category_id': l + 1,
                                      'bbox': [b[0], b[1], w, h], 'area': w * h, 'iscrowd': 0})
            cats.add(l)
        for b, l, s in zip(im['boxes'], im['labels'], im['scores']):
            dets.append({'image_id': i + 1, 'category_id': l + 1, 'bbox': [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                         'score': s})
            cats.add(l)
    gt['categories'] = [{'id': c + 1, 'name': str(c)} for c in sorted(cats)]
    with contextlib.redirect_stdout(io.StringIO()):
        cg = COCO()
        cg.dataset = gt
        cg.createIndex()
        cd = cg.loadRes(dets) if dets else COCO()
        e = COCOeval(cg, cd, 'bbox')
        e.evaluate()
        e.accumulate()
        e.summarize()
    return {'map': float(e.stats[0]), 'map50': float(e.stats[1]), 'map75': float(e.stats[2])}


cases = []
for name, args in [
    ('small', dict(n_images=4, n_classes=2, jitter=0.05, p_miss=0.1, n_spurious=1)),
    ('noisy', dict(n_images=20, n_classes=4, jitter=0.12, p_miss=0.2, n_spurious=3)),
    ('tight', dict(n_images=15, n_classes=3, jitter=0.02, p_miss=0.05, n_spurious=1)),
    ('ties', dict(n_images=12, n_classes=3, jitter=0.08, p_miss=0.1, n_spurious=2, ties=True)),
]:
    images = make_case(**args)
    cases.append({'name': name, 'images': images, **coco_stats(images)})
os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'coco_map.json'), 'w') as f:
    json.dump({'pycocotools': '2.0', 'cases': cases}, f, separators=(',', ':'))
for c in cases:
    print(c['name'], c['map'], c['map50'], c['map75'])
