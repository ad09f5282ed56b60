#!/usr/bin/python3
"""Goldens of torch.ao.quantization.quantize_dynamic (qint8) on the QNNPACK engine
-> test/golden/quantize_dynamic.safetensors.

Run with Debian's torch (python3-torch 1.13, engines qnnpack and onednn, no fbgemm):
    /usr/bin/python3 tools/golden/quantize_dynamic.py
QNNPACK's scheme, which nabla reproduces: activations quantized per tensor to uint8 over
[min(x, 0), max(x, 0)] on the full 8 bits (onednn would reduce them to 7), weights per-tensor
symmetric int8 (MinMaxObserver, scale = max|w| / 127.5, zero point 0), bias float.
Each layer is the only child of a Sequential (quantize_dynamic never swaps the model itself).
Tensor names: <case>/sd/<key> (float32 state dict of the Sequential: 0.weight, ...), <case>/in, <case>/out (the quantized model's output),
<case>/float_out (the float model's), and for Linear <case>/wq (the int8 codes, as int64) and <case>/wscale.
For the RNNs the outputs are out, h_n (and c_n for the LSTM).
"""
import json
import os
import struct

import torch
import torch.nn as nn
from torch.ao.quantization import quantize_dynamic

torch.backends.quantized.engine = 'qnnpack'
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'golden', 'quantize_dynamic.safetensors')
tensors = {}


def put(name, t):
    tensors[name] = t.detach().contiguous().clone()


def case(name, make, x, seed):
    torch.manual_seed(seed)
    # NOTE: quantize_dynamic swaps children only, never the model itself: the layer goes in a Sequential
    m = nn.Sequential(make()).float().eval()
    for k, v in m.state_dict().items():
        put(f'{name}/sd/{k}', v)
    q = quantize_dynamic(m, {nn.Linear, nn.LSTM, nn.GRU}, dtype=torch.qint8)
    put(f'{name}/in', x)
    with torch.no_grad():
        outs, fouts = q(x), m(x)
    if isinstance(outs, tuple):
        flat = [outs[0]] + (list(outs[1]) if isinstance(outs[1], tuple) else [outs[1]])
        fflat = [fouts[0]] + (list(fouts[1]) if isinstance(fouts[1], tuple) else [fouts[1]])
    else:
        flat, fflat = [outs], [fouts]
    for i, (o, f) in enumerate(zip(flat, fflat)):
        put(f'{name}/out{i}', o)
        put(f'{name}/float_out{i}', f)
    assert type(q[0]).__module__.startswith('torch.ao.nn.quantized.dynamic'), type(q[0])
    if isinstance(q[0], torch.ao.nn.quantized.dynamic.Linear):
        w = q[0].weight()
        put(f'{name}/wq', w.int_repr().to(torch.int64))
        put(f'{name}/wscale', torch.tensor([w.q_scale()], dtype=torch.float32))


def rn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


case('linear', lambda: nn.Linear(37, 23), rn(5, 37, seed=1) * 2, seed=10)
case('linear_3d', lambda: nn.Linear(64, 17, bias=False), rn(2, 3, 64, seed=2) + 0.5, seed=11)
case('linear_positive', lambda: nn.Linear(20, 9), rn(4, 20, seed=3).abs(), seed=12)
case('lstm', lambda: nn.LSTM(10, 12, num_layers=2, bidirectional=True), rn(4, 3, 10, seed=4), seed=13)
case('lstm_batch_first', lambda: nn.LSTM(6, 8, batch_first=True), rn(2, 5, 6, seed=5), seed=14)
case('gru', lambda: nn.GRU(10, 12, num_layers=2), rn(4, 3, 10, seed=6), seed=15)


def write(path, ts):
    codes = {torch.float32: ('F32', '<f4'), torch.int64: ('I64', '<i8')}
    header, blobs, off = {}, [], 0
    for k, t in ts.items():
        code, np_dtype = codes[t.dtype]
        b = t.numpy().astype(np_dtype).tobytes()
        header[k] = {'dtype': code, 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header['__metadata__'] = {'generator': 'tools/golden/quantize_dynamic.py', 'torch': torch.__version__,
                              'engine': torch.backends.quantized.engine}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


write(OUT, tensors)
print(f'wrote {len(tensors)} tensors, {os.path.getsize(OUT)} bytes to {os.path.normpath(OUT)}')
