#!/usr/bin/python3
"""Goldens for the core op suite (test/ops/golden.test.ts), from PyTorch.

Run with Debian's python3-torch (1.13), not a pyenv python:
    /usr/bin/python3 tools/golden/core_ops.py
Writes test/golden/core_ops.safetensors (float32 inputs/outputs, int64 indices, bool masks) and
test/golden/core_ops.json (PyTorch's str() of a few tensors, for the printing tests).
Each case <name> stores <name>.in0, <name>.in1, ... (inputs), <name>.out0, ... (outputs) and, where
gradients are checked, <name>.grad0, ... = d(sum(out0 * <name>.w))/d(in_i) with <name>.w a fixed weight.
"""
import json
import os
import struct

import numpy as np
import torch

torch.manual_seed(0)
rng = np.random.default_rng(1234)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
tensors = {}


def f32(*shape, lo=-2.0, hi=2.0):
    return torch.tensor(rng.uniform(lo, hi, size=shape).astype(np.float32))


def put(name, **ts):
    for k, v in ts.items():
        key = f'{name}.{k}'
        assert key not in tensors, key
        tensors[key] = v.detach().contiguous()


def case(name, fn, *inputs, grad=False, ref64=False):
    """Records inputs, outputs of fn(*inputs) and, with grad, input gradients against a fixed weight.
    ref64 computes the expected values in float64 from the float32 inputs, then rounds them to float32:
    at ±1e4 float32 PyTorch itself is off by ~2e-4 relative in the logsumexp gradient (it rounds the
    result, ~1e4, to float32 before exp(x - result)), so there the float64 value is the reference."""
    wide = (lambda t: t.double() if t.is_floating_point() else t) if ref64 else (lambda t: t)
    ins = [wide(x.clone()).requires_grad_(grad and x.is_floating_point()) for x in inputs]
    outs = fn(*ins)
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    narrow = (lambda t: t.float() if t.is_floating_point() else t) if ref64 else (lambda t: t)
    put(name, **{f'in{i}': x for i, x in enumerate(inputs)}, **{f'out{i}': narrow(o) for i, o in enumerate(outs)})
    if grad:
        w = f32(*outs[0].shape)
        put(name, w=w)
        gs = torch.autograd.grad((outs[0] * wide(w)).sum(), [x for x in ins if x.requires_grad])
        put(name, **{f'grad{i}': narrow(g) for i, g in enumerate(gs)})


# ---- broadcast arithmetic and type promotion ----
a, b, c = f32(2, 3, 4), f32(3, 1), f32(4)
case('add', torch.add, a, b, grad=True)
case('sub', torch.sub, a, c, grad=True)
case('mul', torch.mul, b, c, grad=True)
case('div', torch.div, a, f32(3, 1, lo=0.5, hi=2), grad=True)
case('pow', torch.pow, f32(2, 3, 4, lo=0.1, hi=2), b, grad=True)
case('maximum', torch.maximum, a, c, grad=True)
case('minimum', torch.minimum, a, b, grad=True)
case('atan2', torch.atan2, a, b, grad=True)
case('remainder', torch.remainder, a * 3, f32(4, lo=0.5, hi=2))
case('fma', lambda x, y, z: x * y + z, a, b, c, grad=True)
ai = torch.tensor(rng.integers(-5, 6, size=(3, 4)), dtype=torch.int32)
case('promote_int_float', torch.add, ai, f32(4))
case('promote_int_div', torch.div, ai, torch.tensor([2, 3, -4, 7], dtype=torch.int32))
case('promote_int_0dim_float', torch.mul, ai, torch.tensor(2.5, dtype=torch.float64))
case('promote_bool_int', torch.add, torch.tensor([[True, False, True, True]]), ai)
case('where', lambda m, x, y: torch.where(m, x, y), a > 0, a, b, grad=True)

# ---- unary and activations ----
x = f32(5, 6, lo=-4, hi=4)
for name, fn in [('exp', torch.exp), ('tanh', torch.tanh), ('sigmoid', torch.sigmoid), ('gelu', torch.nn.functional.gelu),
                 ('gelu_tanh', lambda t: torch.nn.functional.gelu(t, approximate='tanh')), ('silu', torch.nn.functional.silu),
                 ('elu', torch.nn.functional.elu), ('softplus', torch.nn.functional.softplus), ('erf', torch.erf),
                 ('leaky_relu', lambda t: torch.nn.functional.leaky_relu(t, 0.1)), ('round', torch.round)]:
    case(name, fn, x, grad=name != 'round')
case('round_half_even', torch.round, torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5]))

# ---- reductions with keepdim ----
r = f32(3, 4, 5)
case('sum_keepdim', lambda t: t.sum(1, keepdim=True), r, grad=True)
case('sum_dims', lambda t: t.sum((0, 2)), r, grad=True)
case('mean_keepdim', lambda t: t.mean((0, 2), keepdim=True), r, grad=True)
case('prod_dim', lambda t: t.prod(2), r, grad=True)
case('amax_keepdim', lambda t: t.amax((1, 2), keepdim=True), r, grad=True)
case('max_dim', lambda t: t.max(1), r)
case('min_dim_keepdim', lambda t: t.min(2, keepdim=True), r)
case('argmax', lambda t: t.argmax(0), r)
case('argmin_keepdim', lambda t: t.argmin(-1, keepdim=True), r)
case('var_unbiased', lambda t: t.var(1), r, grad=True)
case('var_biased_keepdim', lambda t: t.var((0, 2), unbiased=False, keepdim=True), r, grad=True)
case('std_correction', lambda t: torch.std(t, 2, correction=2), r, grad=True)
case('std', lambda t: t.std(), r, grad=True)
case('norm', lambda t: torch.linalg.vector_norm(t, 2, dim=(1, 2)), r, grad=True)
case('norm_p3_keepdim', lambda t: torch.linalg.vector_norm(t, 3, dim=1, keepdim=True), r, grad=True)
case('cumsum', lambda t: t.cumsum(1), r, grad=True)
case('logsumexp_keepdim', lambda t: t.logsumexp(2, keepdim=True), r, grad=True)

# ---- batched matmul ----
case('matmul_batched', torch.matmul, f32(2, 1, 3, 4), f32(3, 4, 5), grad=True)
case('matmul_1d_2d', torch.matmul, f32(4), f32(4, 3), grad=True)
case('matmul_2d_1d', torch.matmul, f32(3, 4), f32(4), grad=True)
case('matmul_1d_batched', torch.matmul, f32(4), f32(2, 4, 3), grad=True)
case('bmm', torch.bmm, f32(3, 2, 4), f32(3, 4, 2), grad=True)
case('outer', torch.outer, f32(3), f32(4), grad=True)

# ---- softmax / logsumexp at extreme values ----
ext = torch.tensor([[1e4, 1e4 - 1, -1e4, 0.0], [-1e4, -1e4 + 2, -1e4 + 1, -1e4], [1e4, 1e4, 1e4, 1e4],
                    [-1e4, 1e4, -1e4, 1e4], [float('-inf'), 0.0, 1.0, float('-inf')]])
case('softmax_extreme', lambda t: torch.softmax(t, 1), ext, grad=True, ref64=True)
case('log_softmax_extreme', lambda t: torch.log_softmax(t, 1), ext[:4], grad=True, ref64=True)
case('logsumexp_extreme', lambda t: torch.logsumexp(t, 1), ext, grad=True, ref64=True)
case('logsumexp_extreme_dim0', lambda t: torch.logsumexp(t, 0), ext[:4], ref64=True)
case('softmax_dim0', lambda t: torch.softmax(t, 0), r, grad=True)

# ---- gather / scatter / indexing ----
g = f32(4, 5)
gi = torch.tensor(rng.integers(0, 4, size=(3, 5)))
case('gather', lambda t, i: t.gather(0, i), g, gi, grad=True)
case('gather_dim1', lambda t, i: t.gather(1, i), g, torch.tensor(rng.integers(0, 5, size=(4, 2))), grad=True)
si = torch.tensor([[0, 1, 2, 0], [1, 2, 0, 1]])
case('scatter', lambda t, i, s: t.scatter(1, i, s), f32(2, 5), si, f32(2, 4), grad=True)
case('scatter_add', lambda t, i, s: t.scatter_add(1, i, s), f32(2, 5), si, f32(2, 4), grad=True)
case('scatter_add_dim0', lambda t, i, s: t.scatter_add(0, i, s), f32(3, 4), si, f32(2, 4), grad=True)
case('index_select', lambda t, i: t.index_select(1, i), g, torch.tensor([4, 0, 0, 2]), grad=True)
case('masked_fill', lambda t, m: t.masked_fill(m, -1.5), g, g > 0.5, grad=True)
case('index_tensor', lambda t, i: t[i], g, torch.tensor([[3, 0], [1, 1]]), grad=True)
case('index_mixed', lambda t: t[1:, None, ::2], g, grad=True)
case('tril', lambda t: t.tril(-1), f32(2, 4, 5), grad=True)
case('triu', lambda t: t.triu(2), f32(4, 5), grad=True)
case('pad_reflect', lambda t: torch.nn.functional.pad(t, (2, 1, 1, 0), mode='reflect'), f32(1, 2, 3, 4), grad=True)
case('pad_replicate', lambda t: torch.nn.functional.pad(t, (1, 2), mode='replicate'), f32(1, 3, 4), grad=True)
case('pad_constant', lambda t: torch.nn.functional.pad(t, (1, 1, 2, 0), value=0.25), f32(3, 4), grad=True)
case('one_hot', lambda t: torch.nn.functional.one_hot(t, 5), torch.tensor([[0, 3], [4, 1]]))

# ---- sort / topk (ties and NaN) ----
s = torch.tensor([[3.0, 1.0, 2.0, 1.0, float('nan'), 2.0], [0.5, -1.0, 0.5, 7.0, -1.0, 0.5]])
case('sort', lambda t: torch.sort(t, stable=True, dim=1), s)
case('sort_descending', lambda t: torch.sort(t, stable=True, dim=1, descending=True), s)
case('argsort_dim0', lambda t: torch.sort(t, stable=True, dim=0)[1], s)
case('topk', lambda t: torch.topk(t, 3, 1), f32(3, 6), grad=True)
case('topk_smallest_dim0', lambda t: torch.topk(t, 2, 0, largest=False), f32(4, 3), grad=True)
case('sort_grad', lambda t: torch.sort(t, 0, descending=True)[0], f32(4, 3), grad=True)

# ---- write safetensors by hand: u64 header length, JSON header, raw little-endian data ----
DT = {torch.float32: ('F32', '<f4'), torch.float64: ('F64', '<f8'), torch.int32: ('I32', '<i4'),
      torch.int64: ('I64', '<i8'), torch.bool: ('BOOL', '|b1')}
header, chunks, off = {'__metadata__': {'generator': 'tools/golden/core_ops.py', 'torch': torch.__version__}}, [], 0
for k in sorted(tensors):
    t = tensors[k]
    code, npdt = DT[t.dtype]
    raw = t.numpy().astype(npdt).tobytes()
    header[k] = {'dtype': code, 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}
    chunks.append(raw)
    off += len(raw)
hb = json.dumps(header, separators=(',', ':')).encode()
hb += b' ' * (-len(hb) % 8)
out = os.path.join(ROOT, 'test', 'golden', 'core_ops.safetensors')
with open(out, 'wb') as fh:
    fh.write(struct.pack('<Q', len(hb)) + hb + b''.join(chunks))

# ---- printing: PyTorch's str() of a few tensors ----
torch.set_printoptions(profile='default')
prints = {
    'float_ints': torch.tensor([1.0, 2.0, -3.0]),
    'float_fixed': torch.tensor([[1.0, 2.5], [-0.125, 100.0]]),
    'float_sci_small': torch.tensor([1e-5, 1.0]),
    'float_sci_large': torch.tensor([1e9, 1.0]),
    'float_specials': torch.tensor([float('nan'), float('inf'), -float('inf'), 1.5]),
    'float64': torch.tensor([1.5, 2.0], dtype=torch.float64),
    'int32': torch.tensor([[1, -20], [300, 4]], dtype=torch.int32),
    'bool': torch.tensor([True, False]),
    'scalar': torch.tensor(3.25),
    'int_scalar': torch.tensor(7, dtype=torch.int32),
    'empty': torch.zeros(0),
    'empty_2d': torch.zeros(2, 0),
    'three_d': torch.arange(12, dtype=torch.float32).reshape(2, 3, 2) / 4,
    'requires_grad': torch.tensor([1.0, 2.0], requires_grad=True),
    'summarized': torch.arange(2000, dtype=torch.int32),
    'summarized_2d': torch.arange(2400, dtype=torch.float32).reshape(40, 60),
}
strs = {k: str(v) for k, v in prints.items()}


# ---- exact special values: unary ops at 0, -0, ±inf, NaN and a few ordinary points (float32) ----
def enc(v):
    return 'nan' if v != v else 'inf' if v == float('inf') else '-inf' if v == float('-inf') else v


F = torch.nn.functional
SPECIAL_IN = [0.0, -0.0, float('inf'), float('-inf'), float('nan'), 1.0, -1.0, 0.5, -2.5, 100.0, -100.0, 1e-30]
UNARY = {
    'exp': torch.exp, 'log': torch.log, 'log2': torch.log2, 'log1p': torch.log1p, 'expm1': torch.expm1,
    'sqrt': torch.sqrt, 'rsqrt': torch.rsqrt, 'reciprocal': torch.reciprocal, 'square': torch.square,
    'sigmoid': torch.sigmoid, 'tanh': torch.tanh, 'relu': torch.relu, 'gelu': F.gelu,
    'geluTanh': lambda t: F.gelu(t, approximate='tanh'), 'silu': F.silu, 'softplus': F.softplus, 'elu': F.elu,
    'leakyRelu': F.leaky_relu, 'abs': torch.abs, 'neg': torch.neg, 'sign': torch.sign, 'floor': torch.floor,
    'ceil': torch.ceil, 'round': torch.round, 'trunc': torch.trunc, 'sin': torch.sin, 'cos': torch.cos,
    'erf': torch.erf, 'atan': torch.atan, 'sinh': torch.sinh, 'cosh': torch.cosh, 'isnan': torch.isnan,
}
special = {'inputs': [enc(v) for v in SPECIAL_IN]}
xs = torch.tensor(SPECIAL_IN, dtype=torch.float32)
for k, fn in UNARY.items():
    special[k] = [enc(float(v)) for v in fn(xs).tolist()]
BA = [0.0, 1.0, -1.0, 0.0, float('inf'), float('nan'), 2.0, -3.0, -3.0, float('inf'), 7.5]
BB = [0.0, 0.0, 0.0, 2.0, float('inf'), 1.0, float('nan'), 2.0, -2.0, 2.0, -2.0]
ta, tb = torch.tensor(BA), torch.tensor(BB)
binary_special = {'a': [enc(v) for v in BA], 'b': [enc(v) for v in BB]}
for k, fn in {'add': torch.add, 'sub': torch.sub, 'mul': torch.mul, 'div': torch.div, 'pow': torch.pow,
              'maximum': torch.maximum, 'minimum': torch.minimum, 'remainder': torch.remainder,
              'floorDivide': lambda x, y: torch.div(x, y, rounding_mode='floor'), 'atan2': torch.atan2,
              'eq': torch.eq, 'lt': torch.lt, 'ge': torch.ge}.items():
    binary_special[k] = [enc(float(v)) for v in fn(ta, tb).tolist()]

# ---- type promotion: result dtype of (tensor, other) for every dtype and kind of other ----
DTS = {'bool': torch.bool, 'int32': torch.int32, 'float32': torch.float32, 'float64': torch.float64}
promotion = []
for an, ad in DTS.items():
    a_ = torch.ones(2, dtype=ad)
    for bn, bd in DTS.items():
        for kind, b_ in [('tensor', torch.ones(2, dtype=bd)), ('0-dim', torch.ones((), dtype=bd))]:
            promotion.append([an, kind, bn, str(torch.result_type(a_, b_)).replace('torch.', '')])
    for kind, b_ in [('int', 2), ('float', 2.5), ('bool', True)]:
        promotion.append([an, 'number', kind, str(torch.result_type(a_, b_)).replace('torch.', '')])
    a0 = torch.ones((), dtype=ad)
    for bn, bd in DTS.items():
        promotion.append(['0-dim ' + an, '0-dim', bn, str(torch.result_type(a0, torch.ones((), dtype=bd))).replace('torch.', '')])

with open(os.path.join(ROOT, 'test', 'golden', 'core_ops.json'), 'w') as fh:
    json.dump({'generator': 'tools/golden/core_ops.py', 'torch': torch.__version__, 'str': strs, 'unary_special': special,
               'binary_special': binary_special, 'promotion': promotion}, fh, indent=None)
    fh.write('\n')
print(f'wrote {out} ({os.path.getsize(out)} bytes, {len(tensors)} tensors)')
