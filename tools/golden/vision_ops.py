#!/usr/bin/python3
"""torchvision 0.14 parity goldens for nb.vision.ops (boxes, IoU family, IoU losses, focal loss, NMS,
roi_align, roi_pool).

Run with Debian's torch (not a pyenv python):  /usr/bin/python3 tools/golden/vision_ops.py
Writes test/golden/vision/ops.safetensors + ops.json. Each case in the JSON names an op and its options
(camelCase, as the nabla call takes them); its tensors are '<case>.<input name>' for the inputs (in the
order of 'inputs'), '<case>.y' the output and, where 'grad' is set, '<case>.w' a random cotangent and
'<case>.g<i>' the gradient of sum(w * y) with respect to input i. Never run in CI; the tests read the files.
"""
import json
import os

import numpy as np
import torch
import torchvision.ops as O
from safetensors_out import write_safetensors

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'golden', 'vision')
torch.manual_seed(20)
tensors, cases = {}, []


def case(name, op, opts, inputs, fn, grad=None):
    """inputs: {name: tensor}; grad: names of the inputs to differentiate (float64 ones)."""
    grad = grad or []
    xs = {}
    for k, v in inputs.items():
        v = v.detach().clone()
        if k in grad:
            v.requires_grad_(True)
        xs[k] = v
        tensors[f'{name}.{k}'] = v.detach().numpy()
    y = fn(*xs.values())
    tensors[f'{name}.y'] = y.detach().numpy()
    if grad:
        w = torch.randn(y.shape, dtype=y.dtype)
        gs = torch.autograd.grad((y * w).sum(), [xs[k] for k in grad])
        tensors[f'{name}.w'] = w.numpy()
        for k, g in zip(grad, gs):
            tensors[f'{name}.g.{k}'] = g.numpy()
    cases.append({'name': name, 'op': op, 'opts': opts, 'inputs': list(inputs.keys()), 'grad': grad})


def rand_boxes(n, lo=0.0, hi=20.0, min_wh=1.0, max_wh=12.0, dtype=torch.float64):
    xy = torch.rand(n, 2, dtype=dtype) * (hi - lo) + lo
    wh = torch.rand(n, 2, dtype=dtype) * (max_wh - min_wh) + min_wh
    return torch.cat([xy, xy + wh], 1)


# ---- formats, area, clip, remove small ----
b = rand_boxes(6)
for fi in ['xyxy', 'xywh', 'cxcywh']:
    for fo in ['xyxy', 'xywh', 'cxcywh']:
        case(f'convert_{fi}_{fo}', 'boxConvert', {'inFmt': fi, 'outFmt': fo}, {'boxes': b},
             lambda x: O.box_convert(x, fi, fo), ['boxes'])
case('area', 'boxArea', {}, {'boxes': b}, O.box_area, ['boxes'])
wide = rand_boxes(7, lo=-8, hi=30)
case('clip', 'clipBoxesToImage', {'size': [18, 25]}, {'boxes': wide}, lambda x: O.clip_boxes_to_image(x, (18, 25)))
small = rand_boxes(10, min_wh=0.2, max_wh=6)
case('remove_small', 'removeSmallBoxes', {'minSize': 2.5}, {'boxes': small}, lambda x: O.remove_small_boxes(x, 2.5))

# ---- pairwise IoU family (overlapping and disjoint pairs) ----
b1, b2 = rand_boxes(5), rand_boxes(4)
for nm, fn in [('box_iou', O.box_iou), ('generalized_box_iou', O.generalized_box_iou),
               ('distance_box_iou', O.distance_box_iou), ('complete_box_iou', O.complete_box_iou)]:
    op = {'box_iou': 'boxIou', 'generalized_box_iou': 'generalizedBoxIou', 'distance_box_iou': 'distanceBoxIou',
          'complete_box_iou': 'completeBoxIou'}[nm]
    case(nm, op, {}, {'boxes1': b1, 'boxes2': b2}, fn, ['boxes1', 'boxes2'])
case('box_iou_f32', 'boxIou', {}, {'boxes1': b1.float(), 'boxes2': b2.float()}, O.box_iou)

# ---- paired IoU losses ----
p1, p2 = rand_boxes(8), rand_boxes(8)
p2[:3] = p1[:3] + torch.randn(3, 4, dtype=torch.float64) * 0.5  # some near matches
p2[:3, 2:] = torch.maximum(p2[:3, 2:], p2[:3, :2] + 0.5)
for nm, fn, op in [('giou_loss', O.generalized_box_iou_loss, 'generalizedBoxIouLoss'),
                   ('diou_loss', O.distance_box_iou_loss, 'distanceBoxIouLoss'),
                   ('ciou_loss', O.complete_box_iou_loss, 'completeBoxIouLoss')]:
    for red in ['none', 'mean', 'sum']:
        case(f'{nm}_{red}', op, {'reduction': red}, {'boxes1': p1, 'boxes2': p2},
             lambda a, c: fn(a, c, reduction=red), ['boxes1', 'boxes2'])

# ---- focal loss ----
logits = torch.randn(4, 6, dtype=torch.float64) * 2
targets = (torch.rand(4, 6, dtype=torch.float64) > 0.7).double()
for alpha, gamma, red in [(0.25, 2.0, 'none'), (-1.0, 1.5, 'mean'), (0.5, 0.0, 'sum')]:
    case(f'focal_a{alpha}_g{gamma}_{red}', 'sigmoidFocalLoss', {'alpha': alpha, 'gamma': gamma, 'reduction': red},
         {'inputs': logits, 'targets': targets},
         lambda x, t: O.sigmoid_focal_loss(x, t, alpha=alpha, gamma=gamma, reduction=red), ['inputs'])

# ---- NMS (clusters of overlapping boxes, distinct scores) ----
centres = torch.rand(6, 2, dtype=torch.float64) * 40
nb = []
for c in centres:
    for _ in range(8):
        xy = c + torch.randn(2, dtype=torch.float64) * 2
        wh = torch.rand(2, dtype=torch.float64) * 6 + 6
        nb.append(torch.cat([xy, xy + wh]))
nbox = torch.stack(nb)
nscore = torch.randperm(len(nb)).double() / len(nb) + torch.rand(len(nb), dtype=torch.float64) * 1e-3
nidx = torch.randint(0, 3, (len(nb),))
for thr in [0.3, 0.5, 0.7]:
    case(f'nms_{thr}', 'nms', {'iouThreshold': thr}, {'boxes': nbox, 'scores': nscore},
         lambda x, s: O.nms(x, s, thr))
    case(f'batched_nms_{thr}', 'batchedNms', {'iouThreshold': thr}, {'boxes': nbox, 'scores': nscore, 'idxs': nidx},
         lambda x, s, i: O.batched_nms(x, s, i, thr))

# ---- roi_align / roi_pool ----
feat = torch.randn(2, 3, 10, 12, dtype=torch.float64)
rois = torch.tensor([
    [0, 1.0, 1.5, 8.0, 7.0],
    [1, 0.3, 0.2, 11.5, 9.7],
    [0, 5.2, 3.1, 6.1, 3.9],    # smaller than one pixel
    [1, -3.0, -2.0, 4.0, 5.0],  # partly outside
    [0, 9.0, 6.0, 14.5, 13.0],  # partly outside on the far side
    [1, 2.0, 2.0, 2.0, 6.0],    # zero width
], dtype=torch.float64)
for aligned in [False, True]:
    for ratio in [-1, 2]:
        for scale, size in [(1.0, [3, 4]), (0.5, [2, 2])]:
            r = rois.clone()
            r[:, 1:] /= scale
            nm = f'roi_align_a{int(aligned)}_r{ratio}_s{scale}'
            case(nm, 'roiAlign',
                 {'outputSize': size, 'spatialScale': scale, 'samplingRatio': ratio, 'aligned': aligned},
                 {'input': feat, 'rois': r},
                 lambda x, rr: O.roi_align(x, rr, size, scale, ratio, aligned), ['input'])
case('roi_align_f32', 'roiAlign', {'outputSize': [3, 3], 'spatialScale': 1.0, 'samplingRatio': -1, 'aligned': True},
     {'input': feat.float(), 'rois': rois.float()}, lambda x, rr: O.roi_align(x, rr, [3, 3], 1.0, -1, True))
for scale, size in [(1.0, [3, 3]), (0.5, [2, 3])]:
    r = rois.clone()
    r[:, 1:] /= scale
    case(f'roi_pool_s{scale}', 'roiPool', {'outputSize': size, 'spatialScale': scale},
         {'input': feat, 'rois': r}, lambda x, rr: O.roi_pool(x, rr, size, scale), ['input'])

os.makedirs(OUT, exist_ok=True)
write_safetensors(os.path.join(OUT, 'ops.safetensors'), tensors)
with open(os.path.join(OUT, 'ops.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f, indent=1)
print(f'{len(cases)} cases, {len(tensors)} tensors -> {OUT}/ops.*')
