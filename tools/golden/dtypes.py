#!/usr/bin/python3
"""Goldens for nabla's dtypes (float16, bfloat16, int8, uint8, int64 beside float32, float64, int32, bool).

Run with Debian's PyTorch 1.13:  /usr/bin/python3 tools/golden/dtypes.py
Writes test/golden/dtypes.json:
- casts: float32 and float64 inputs (rounding ties, overflow, subnormals, inf, NaN, out-of-range values) cast to
  every dtype; float16/bfloat16 results as bit patterns (uint16), integers and bools as numbers;
- int_casts: integer values narrowed to int8/uint8/int32 (wraparound);
- arith: int8/uint8 add, sub, mul, neg (overflow wraps), float16/bfloat16 add, mul, div, exp, sum, mean, matmul as bits;
- promotion: torch.result_type for every pair of dtypes (1-D tensors), a tensor with a 0-dim tensor, and with
  Python scalars;
- reductions: sum/prod/cumsum dtypes and values, max and argmax on integer dtypes.
NaN bits of a bfloat16 cast differ between PyTorch's scalar (0x7fc0) and vectorised (0xffff) paths; NaN inputs
are recorded as values (null) for bfloat16 and the test checks NaN-ness. Never run in CI; the tests read the JSON.
"""
import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'golden', 'dtypes.json')
D = {
    'float32': torch.float32, 'float64': torch.float64, 'float16': torch.float16, 'bfloat16': torch.bfloat16,
    'int8': torch.int8, 'uint8': torch.uint8, 'int32': torch.int32, 'int64': torch.int64, 'bool': torch.bool,
}
NAME = {v: k for k, v in D.items()}
# nabla has no int16: torch's int8 + uint8 -> int16 is recorded as it is; the test maps it to int32


def enc(x):
    """JSON-safe values: NaN -> None, inf -> 'inf' strings."""
    if isinstance(x, list):
        return [enc(v) for v in x]
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if math.isinf(x):
            return 'inf' if x > 0 else '-inf'
    return x


def out(t):
    """A tensor as {dtype, values} with float16/bfloat16 as bits."""
    name = NAME[t.dtype]
    if t.dtype in (torch.float16, torch.bfloat16):
        return {'dtype': name, 'bits': (t.contiguous().view(torch.int16).to(torch.int32) & 0xffff).reshape(-1).tolist()}
    if t.dtype == torch.bool:
        return {'dtype': name, 'values': [int(v) for v in t.reshape(-1).tolist()]}
    return {'dtype': name, 'values': enc(t.reshape(-1).tolist())}


F32 = [0.0, -0.0, 0.5, 1.5, 2.5, -2.5, -1.5, 0.49999997, 1.00390625, 1.01171875, 1.0009765625, 1.00146484375,
       1.0 + 2 ** -11, 1.0 + 3 * 2 ** -11, 65504.0, 65519.0, 65520.0, 1e5, 3.3895314e38, 3.4e38, 1e-8, 6e-8, 2.9e-8,
       5.96e-8, 6.1e-5, 3.0e-5, 1e-40, 127.9, 128.0, -128.9, -129.0, 255.5, 256.0, 300.0, -300.0, -0.9, 0.9,
       1e10, -1e10, 3e9, 2147483520.0, -2147483648.0, float('inf'), float('-inf'), float('nan')]
F64 = [1.0 + 2 ** -11 + 2 ** -40, 1.0 + 2 ** -8 + 2 ** -30, 0.1, 1 / 3, 65519.99, 1e300, -1e-300, 2.5, 9007199254740991.0]
INTS = [0, 1, -1, 127, 128, -128, -129, 255, 256, 1000, -1000, 65535, 2 ** 31 - 1, -2 ** 31, 2 ** 31, 2 ** 40 + 5,
        -2 ** 40 - 3]

casts = {}
for src_name, vals in (('float32', F32), ('float64', F64)):
    x = torch.tensor(vals, dtype=D[src_name])
    entry = {'input': enc(x.tolist())}
    for name, d in D.items():
        if name == src_name:
            continue
        y = x.to(d)
        if name == 'int64':
            # values beyond 2^53 (and NaN/inf, which torch maps to INT64_MIN) are refused by nabla: recorded as None
            entry[name] = {'dtype': name, 'values': [v if abs(v) <= 2 ** 53 - 1 and math.isfinite(s) else None
                                                     for v, s in zip(y.tolist(), x.tolist())]}
        else:
            entry[name] = out(y)
    casts[src_name] = entry

int_casts = {'input': INTS}
xi = torch.tensor(INTS, dtype=torch.int64)
for name in ('int8', 'uint8', 'int32', 'float16', 'bfloat16', 'float32', 'bool'):
    int_casts[name] = out(xi.to(D[name]))

a8 = torch.tensor([100, 127, -128, -100, 50, 0, -1, 64], dtype=torch.int8)
b8 = torch.tensor([100, 1, -1, -100, 3, -128, -128, 2], dtype=torch.int8)
au = torch.tensor([200, 255, 0, 10, 128, 1, 16, 3], dtype=torch.uint8)
bu = torch.tensor([100, 1, 1, 20, 2, 255, 16, 200], dtype=torch.uint8)
h = torch.tensor([1.0, 2 ** -11, 1000.0, -3.14159, 65504.0, 1e-4, 0.1, 7.0])
g = torch.tensor([2 ** -11, 1.0, 0.1, 2.71828, 1.0, 3e-5, 0.2, 3.0])
arith = {
    'int8': {'a': a8.tolist(), 'b': b8.tolist(), 'add': out(a8 + b8), 'sub': out(a8 - b8), 'mul': out(a8 * b8),
             'neg': out(-a8), 'add_scalar_300': out(a8 + 300), 'mul_scalar': out(a8 * 3)},
    'uint8': {'a': au.tolist(), 'b': bu.tolist(), 'add': out(au + bu), 'sub': out(au - bu), 'mul': out(au * bu),
              'neg': out(-au), 'add_scalar_300': out(au + 300), 'mul_scalar': out(au * 3)},
}
for name in ('float16', 'bfloat16'):
    x, y = h.to(D[name]), g.to(D[name])
    m = torch.arange(12, dtype=torch.float32).reshape(3, 4).mul(0.37).to(D[name])
    n = torch.arange(8, dtype=torch.float32).reshape(4, 2).mul(-1.3).add(0.11).to(D[name])
    arith[name] = {'a': out(x), 'b': out(y), 'add': out(x + y), 'sub': out(x - y), 'mul': out(x * y),
                   'div': out(x / y), 'exp': out(y.exp()) if name == 'bfloat16' else None, 'add_scalar': out(x + (2 ** -11 + 1e-7)),
                   'sum': out(x.sum().reshape(1)), 'mean': out(x.mean().reshape(1)),
                   'm': out(m), 'n': out(n), 'matmul': out(m @ n) if name == 'bfloat16' else None}
# NOTE: torch 1.13's CPU kernels lack exp and matmul for float16 ('exp_vml_cpu' / 'addmm_impl_cpu_' not implemented
# for 'Half'); nabla computes them in float32 like bfloat16, and the test checks them against float32 rounded once.

names = list(D)
promotion = {'tensor_tensor': {}, 'tensor_zerodim': {}, 'tensor_int': {}, 'tensor_float': {}, 'tensor_bool': {}}
for p in names:
    tp = torch.ones(2, dtype=D[p])
    promotion['tensor_int'][p] = NAME[torch.result_type(tp, 2)]
    promotion['tensor_float'][p] = NAME[torch.result_type(tp, 2.5)]
    promotion['tensor_bool'][p] = NAME[torch.result_type(tp, True)]
    for q in names:
        promotion['tensor_tensor'][p + ',' + q] = NAME.get(torch.result_type(tp, torch.ones(2, dtype=D[q])), 'int16')
        promotion['tensor_zerodim'][p + ',' + q] = NAME.get(torch.result_type(tp, torch.ones((), dtype=D[q])), 'int16')

reductions = {}
for name in ('int8', 'uint8', 'int64', 'bool'):
    x = torch.tensor([[1, 0, 1], [1, 1, 0]] if name == 'bool' else [[100, 27, 3], [120, 1, 2]], dtype=D[name])
    reductions[name] = {'input': x.to(torch.int64).tolist(), 'sum': out(x.sum().reshape(1)),
                        'sum0': out(x.sum(0)), 'cumsum1': out(x.cumsum(1)), 'prod': out(x.prod().reshape(1)),
                        'max': None if name == 'bool' else out(x.max().reshape(1)),
                        'argmax': int(x.to(torch.int64).argmax().item())}

with open(OUT, 'w') as f:
    json.dump({'torch': torch.__version__, 'casts': casts, 'int_casts': int_casts, 'arith': arith,
               'promotion': promotion, 'reductions': reductions}, f, separators=(',', ':'))
print('wrote', OUT, os.path.getsize(OUT), 'bytes')
