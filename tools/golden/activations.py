#!/usr/bin/python3
"""PyTorch goldens for the activations added through the kernel seam of issue #15: hardswish, mish.

Run with Debian's torch 1.13 (not a pyenv python):  /usr/bin/python3 tools/golden/activations.py
Writes test/golden/activations.safetensors: for each op and dtype (f32, f64), under '<op>.<dtype>.':
  x    inputs: the kinks -3 and 3 (exact), their float neighbours, zeros, ±inf, NaN, huge values, and a
       sweep over [-8, 8]; 301 values, so torch takes its vectorised kernels (a tensor of fewer than a
       vector's elements runs the scalar tail, which in 1.13 gives hardswish'(3) = 1.5, not 1)
  y    op(x)
  gy   the upstream gradient (random)
  gx   d sum(y * gy) / dx
All tensors are stored as float64 (the f32 case holds float32 values exactly). Never run in CI.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
from safetensors_out import write_safetensors as _write

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'golden')
torch.manual_seed(0)


def write_safetensors(path, tensors, metadata=None):
    _write(path, tensors, metadata, dtype='float64')  # every golden here is float64


def inputs(dtype):
    special = [-3.0, 3.0, -0.0, 0.0, float('inf'), -float('inf'), float('nan'), 1e4, -1e4, 100.0, -100.0, 30.0,
               -30.0, 20.0, -20.0]
    kinks = torch.tensor([-3.0, 3.0], dtype=dtype)
    near = torch.cat([torch.nextafter(kinks, kinks - 1), torch.nextafter(kinks, kinks + 1)])
    sweep = torch.linspace(-8, 8, 301 - len(special) - 4, dtype=dtype)
    return torch.cat([torch.tensor(special, dtype=dtype), near, sweep])


OPS = {'hardswish': F.hardswish, 'mish': F.mish}
tensors = {}
for op, fn in OPS.items():
    for dname, dtype in (('f32', torch.float32), ('f64', torch.float64)):
        x = inputs(dtype).requires_grad_(True)
        y = fn(x)
        gy = torch.randn(y.shape, dtype=dtype)
        (y * gy).sum().backward()
        for k, v in (('x', x), ('y', y), ('gy', gy), ('gx', x.grad)):
            tensors[f'{op}.{dname}.{k}'] = v.detach().numpy().astype(np.float64)

write_safetensors(os.path.join(OUT, 'activations.safetensors'), tensors,
                  {'torch': torch.__version__, 'script': 'tools/golden/activations.py'})
print('wrote', len(tensors), 'tensors')
