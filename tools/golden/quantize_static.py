#!/usr/bin/python3
"""Goldens of torch.ao.quantization.HistogramObserver (quint8, per_tensor_affine, reduce_range False: the
'qnnpack' and 'onednn' qconfigs) -> test/golden/quantize_static.json.

Run with Debian's torch (python3-torch 1.13):
    /usr/bin/python3 tools/golden/quantize_static.py
Each case observes one or more batches (float32 values, stored as lists) and records torch's min_val,
max_val, the range _non_linear_param_search picks and calculate_qparams' (scale, zero_point).
torch 1.13's forward passes int(min), int(max) to torch.histc, so it bins over a truncated range that the
search then reads as [min, max] (later torch bins over the float range). The one-batch cases have integer
extremes, where the two agree, and use torch's class as it is; the cases that widen the range (whose
relaxed max is not an integer) use FloatRange, torch 1.13's forward with the float range.
"""
import json
import os

import numpy as np
import torch
from torch.ao.quantization import HistogramObserver

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'quantize_static.json')


class FloatRange(HistogramObserver):
    """torch 1.13's HistogramObserver.forward with histc over [min, max] instead of [int(min), int(max)]."""

    def forward(self, x_orig):
        x = x_orig.detach()
        min_val, max_val = self.min_val, self.max_val
        same_values = min_val.item() == max_val.item()
        is_uninitialized = min_val == float('inf') and max_val == float('-inf')
        if is_uninitialized or same_values:
            min_val, max_val = torch.aminmax(x)
            self.min_val.resize_(min_val.shape)
            self.min_val.copy_(min_val)
            self.max_val.resize_(max_val.shape)
            self.max_val.copy_(max_val)
            torch.histc(x, self.bins, min=min_val.item(), max=max_val.item(), out=self.histogram)
            return x_orig
        new_min, new_max = torch.aminmax(x)
        combined_min = torch.min(new_min, min_val)
        combined_max = torch.max(new_max, max_val)
        combined_min, combined_max, downsample_rate, start_idx = self._adjust_min_max(
            combined_min, combined_max, self.upsample_rate)
        combined_histogram = torch.histc(x, self.bins, min=combined_min.item(), max=combined_max.item())
        if combined_min == min_val and combined_max == max_val:
            combined_histogram += self.histogram
        else:
            combined_histogram = self._combine_histograms(
                combined_histogram, self.histogram, self.upsample_rate, downsample_rate, start_idx, self.bins)
        self.histogram.detach_().resize_(combined_histogram.shape)
        self.histogram.copy_(combined_histogram)
        self.min_val.detach_().resize_(combined_min.shape)
        self.min_val.copy_(combined_min)
        self.max_val.detach_().resize_(combined_max.shape)
        self.max_val.copy_(combined_max)
        return x_orig


def f32(v):
    """The shortest decimal that reads back as this float32 (JSON stays small; JS Math.fround restores it)."""
    return float(np.format_float_positional(np.float32(v), unique=True))


def g(seed):
    return torch.Generator().manual_seed(seed)


cases = []


def case(name, batches, cls=HistogramObserver):
    o = cls()
    for b in batches:
        o(b)
    lo, hi = o._non_linear_param_search()
    scale, zp = o.calculate_qparams()
    cases.append({
        'name': name,
        'batches': [[f32(v) for v in b.float().numpy()] for b in batches],
        'min_val': o.min_val.item(),
        'max_val': o.max_val.item(),
        'search_min': lo.item(),
        'search_max': hi.item(),
        'scale': scale.item(),
        'zero_point': int(zp.item()),
    })


# a Gaussian bulk with outliers at -4 and 6 (integer extremes)
x = (torch.randn(800, generator=g(0)) * 0.7).clamp(-3.9, 5.9)
x[10], x[20] = -4.0, 6.0
case('gaussian_outliers', [x])
# post-ReLU: a point mass at 0, a heavy tail, one outlier at 9
r = (torch.randn(800, generator=g(1)).exp() - 1.5).relu().clamp(max=8.9)
r[5] = 9.0
case('relu_tail', [r])
# no outlier: a uniform bulk on [-1, 3]
u = torch.rand(400, generator=g(2)) * 4 - 1
u[0], u[1] = -1.0, 3.0
case('uniform', [u])
# three batches that widen the range both ways, then one inside it
b1 = torch.randn(400, generator=g(3)) * 0.5
b2 = torch.randn(400, generator=g(4)) * 1.2 + 0.3
b3 = (torch.randn(400, generator=g(5)) * 0.8).relu() * 3
b4 = torch.randn(400, generator=g(6)) * 0.3
case('widening', [b1, b2, b3, b4], FloatRange)
# post-ReLU batches, the second much wider (a large downsample rate)
c1 = torch.rand(400, generator=g(7)) * 0.05
c2 = (torch.randn(400, generator=g(8)) * 2).relu()
case('relu_wider', [c1, c2], FloatRange)

with open(OUT, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
print(OUT, [(c['name'], c['scale'], c['zero_point']) for c in cases])
