#!/usr/bin/python3
"""Goldens of torch.nn.utils.prune masks and of the distillation loss -> test/golden/prune.safetensors.

Run with Debian's torch (python3-torch 1.13): /usr/bin/python3 tools/golden/prune.py
The pruned tensors hold small integers, so that many magnitudes (and channel norms) tie exactly:
which of the tied entries torch prunes is decided by torch.topk on the CPU (std::partial_sort when
k * 64 <= n, else std::nth_element), and the masks record it.
Tensor names: <case>/w (the weight before pruning), <case>/mask (weight_mask after the steps),
<case>/x and <case>/y (an input and the pruned module's output); global/w0, w1, mask0, mask1;
distill/s, distill/t (logits), distill/y (int64 labels), distill/loss.
"""
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.prune as prune

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'prune.safetensors')
tensors = {}


def put(name, t):
    tensors[name] = t.detach().contiguous().clone()


def ints(*shape, lo, hi, seed):
    return torch.randint(lo, hi, shape, generator=torch.Generator().manual_seed(seed)).float()


def case(name, module, steps, x):
    with torch.no_grad():
        module.weight.copy_(ints(*module.weight.shape, lo=-3, hi=4, seed=len(name) * 7 + 1))
    put(f'{name}/w', module.weight)
    put(f'{name}/b', module.bias)
    for step in steps:
        step(module)
    put(f'{name}/mask', module.weight_mask)
    put(f'{name}/x', x)
    with torch.no_grad():
        put(f'{name}/y', module(x))


torch.manual_seed(0)
x8 = torch.randn(3, 8, generator=torch.Generator().manual_seed(1))
# nth_element (38 * 64 > 128)
case('l1_nth', nn.Linear(8, 16), [lambda m: prune.l1_unstructured(m, 'weight', amount=0.3)], x8)
# partial_sort (50 * 64 <= 5120)
case('l1_partial', nn.Linear(80, 64), [lambda m: prune.l1_unstructured(m, 'weight', amount=50)],
     torch.randn(2, 80, generator=torch.Generator().manual_seed(2)))
# an absolute count, a half rounding to even (0.25 * 10 = 2.5 -> 2)
case('l1_count', nn.Linear(5, 2), [lambda m: prune.l1_unstructured(m, 'weight', amount=0.25)],
     torch.randn(1, 5, generator=torch.Generator().manual_seed(3)))
xc = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(4))
case('ln_conv_l2_dim0', nn.Conv2d(3, 8, 3), [lambda m: prune.ln_structured(m, 'weight', amount=0.5, n=2, dim=0)], xc)
case('ln_conv_l1_dim1', nn.Conv2d(3, 8, 3), [lambda m: prune.ln_structured(m, 'weight', amount=1, n=1, dim=1)], xc)
case('ln_linear_inf_dim-1', nn.Linear(8, 16),
     [lambda m: prune.ln_structured(m, 'weight', amount=0.375, n=float('inf'), dim=-1)], x8)
# pruning composes (PruningContainer): the amounts are fractions of what is left
case('compose', nn.Conv2d(3, 8, 3), [
    lambda m: prune.l1_unstructured(m, 'weight', amount=0.3),
    lambda m: prune.ln_structured(m, 'weight', amount=0.25, n=2, dim=0),
    lambda m: prune.l1_unstructured(m, 'weight', amount=0.2),
], xc)

a, b = nn.Linear(8, 16), nn.Linear(16, 4)
with torch.no_grad():
    a.weight.copy_(ints(16, 8, lo=-4, hi=5, seed=21))
    b.weight.copy_(ints(4, 16, lo=-4, hi=5, seed=22))
put('global/w0', a.weight)
put('global/w1', b.weight)
prune.l1_unstructured(b, 'weight', amount=0.25)  # b starts pruned: its pruned entries stay pruned
prune.global_unstructured([(a, 'weight'), (b, 'weight')], pruning_method=prune.L1Unstructured, amount=0.4)
put('global/mask0', a.weight_mask)
put('global/mask1', b.weight_mask)

s = torch.randn(6, 5, generator=torch.Generator().manual_seed(5)) * 3
t = torch.randn(6, 5, generator=torch.Generator().manual_seed(6)) * 3
y = torch.tensor([0, 4, 2, 2, 1, 3])
T, alpha = 4.0, 0.3
loss = alpha * F.cross_entropy(s, y) + (1 - alpha) * F.kl_div(
    F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction='batchmean') * T * T
put('distill/s', s)
put('distill/t', t)
put('distill/y', y)
put('distill/loss', loss.reshape(1))


def write(path, ts):
    codes = {torch.float32: ('F32', '<f4'), torch.int64: ('I64', '<i8')}
    header, blobs, off = {}, [], 0
    for k, v in ts.items():
        code, np_dtype = codes[v.dtype]
        raw = v.numpy().astype(np_dtype).tobytes()
        header[k] = {'dtype': code, 'shape': list(v.shape), 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header['__metadata__'] = {'generator': 'tools/golden/prune.py', 'torch': torch.__version__}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)


write(OUT, tensors)
print(f'wrote {len(tensors)} tensors, {os.path.getsize(OUT)} bytes to {os.path.normpath(OUT)}')
