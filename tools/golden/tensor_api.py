#!/usr/bin/python3
"""Goldens for the tensor API functions (test/ops/tensor_api_golden.test.ts), from PyTorch.

Run with Debian's python3-torch (1.13), not a pyenv python:
    /usr/bin/python3 tools/golden/tensor_api.py
Writes test/golden/tensor_api.safetensors: einsum, roll, meshgrid, lerp, isclose, unique, kthvalue, mode and
torch.linalg (norm, vector_norm, matrix_norm, det, inv, solve, cholesky), in float32 and float64.
Each case <name> stores <name>.in0, ... (inputs), <name>.out0, ... (outputs) and, where gradients are
checked, <name>.w (a fixed weight) and <name>.grad0, ... = d(sum(out0 * w))/d(in_i).
The non-tensor arguments of each case live in the test's table, next to the same case name.
"""
import json
import os
import struct

import numpy as np
import torch

rng = np.random.default_rng(2323)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
tensors = {}


def rand(*shape, lo=-2.0, hi=2.0, dtype=torch.float32):
    return torch.tensor(rng.uniform(lo, hi, size=shape)).to(dtype)


def wellcond(*shape, dtype=torch.float32):
    """Random square matrices plus 4 I: far from singular, so float32 results are stable."""
    n = shape[-1]
    return (rand(*shape, lo=-1, hi=1, dtype=torch.float64) + 4 * torch.eye(n, dtype=torch.float64)).to(dtype)


def spd(*shape, dtype=torch.float32):
    m = rand(*shape, lo=-1, hi=1, dtype=torch.float64)
    n = shape[-1]
    return (m @ m.mT + n * torch.eye(n, dtype=torch.float64)).to(dtype)


def put(name, **ts):
    for k, v in ts.items():
        key = f'{name}.{k}'
        assert key not in tensors, key
        tensors[key] = v.detach().contiguous()


def case(name, fn, *inputs, grad=True):
    ins = [x.clone().requires_grad_(grad and x.is_floating_point()) for x in inputs]
    outs = fn(*ins)
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    put(name, **{f'in{i}': x for i, x in enumerate(inputs)}, **{f'out{i}': o for i, o in enumerate(outs)})
    if grad:
        w = rand(*outs[0].shape, dtype=outs[0].dtype)
        put(name, w=w)
        xs = [x for x in ins if x.requires_grad]
        gs = torch.autograd.grad((outs[0] * w).sum(), xs, allow_unused=True)
        put(name, **{f'grad{i}': torch.zeros_like(x) if g is None else g for i, (g, x) in enumerate(zip(gs, xs))})


D = torch.float64
# ---- einsum ----
case('einsum_matmul', lambda a, b: torch.einsum('ij,jk->ik', a, b), rand(3, 4), rand(4, 5))
case('einsum_bmm', lambda a, b: torch.einsum('bij,bjk->bik', a, b), rand(2, 3, 4), rand(2, 4, 5))
case('einsum_ellipsis_implicit', lambda a, b: torch.einsum('...ij,...jk', a, b), rand(2, 3, 4), rand(4, 5))
case('einsum_trace', lambda a: torch.einsum('ii', a), rand(4, 4))
case('einsum_batch_diagonal', lambda a: torch.einsum('...ii->...i', a), rand(2, 3, 3))
case('einsum_outer', lambda a, b: torch.einsum('i,j->ij', a, b), rand(3), rand(4))
case('einsum_chain', lambda a, b, c: torch.einsum('ij,jk,kl->il', a, b, c), rand(2, 3), rand(3, 4), rand(4, 2))
case('einsum_implicit_sum', lambda a, b: torch.einsum('bij,bkj', a, b), rand(2, 3, 4), rand(2, 5, 4))
case('einsum_broadcast_size1', lambda a, b: torch.einsum('ij,jk', a, b), rand(2, 1), rand(3, 4))
case('einsum_attention_f64', lambda q, k: torch.einsum('bhqd,bhkd->bhqk', q, k), rand(2, 2, 3, 4, dtype=D),
     rand(2, 2, 5, 4, dtype=D))
case('einsum_sum_ellipsis', lambda a: torch.einsum('...ij->ji', a), rand(2, 3, 4))
case('einsum_transpose_upper', lambda a: torch.einsum('Ab->bA', a), rand(3, 2))
# ---- roll, meshgrid, lerp, kthvalue ----
case('roll_dim', lambda x: torch.roll(x, 2, 1), rand(3, 5))
case('roll_flat', lambda x: torch.roll(x, -3), rand(3, 4))
case('roll_multi', lambda x: torch.roll(x, (1, -2), (0, 2)), rand(2, 3, 4, dtype=D))
case('meshgrid_ij', lambda a, b: torch.meshgrid(a, b, indexing='ij'), rand(3), rand(4))
case('meshgrid_xy', lambda a, b, c: torch.meshgrid(a, b, c, indexing='xy'), rand(2), rand(3), rand(4))
case('lerp_scalar', lambda a, b: torch.lerp(a, b, 0.3), rand(3, 4), rand(3, 4))
case('lerp_tensor', lambda a, b, w: torch.lerp(a, b, w), rand(3, 4, dtype=D), rand(4, dtype=D), rand(3, 1, dtype=D))
case('kthvalue', lambda x: torch.kthvalue(x, 2, 1), rand(3, 5))
case('kthvalue_keepdim', lambda x: torch.kthvalue(x, 3, 0, keepdim=True), rand(4, 3, dtype=D))
# ---- isclose (special values), unique ----
inf, nan = float('inf'), float('nan')
ia = torch.tensor([1.0, 1.0, inf, inf, -inf, nan, nan, 0.0, 1e-9, 100.0, 100.0])
ib = torch.tensor([1.0, 1.00001, inf, -inf, -inf, nan, 1.0, 1e-9, 0.0, 100.001, 100.01])
case('isclose', lambda a, b: torch.isclose(a, b), ia, ib, grad=False)
case('isclose_equal_nan', lambda a, b: torch.isclose(a, b, rtol=1e-3, atol=1e-6, equal_nan=True), ia, ib, grad=False)
case('isclose_f64', lambda a, b: torch.isclose(a, b), ia.double(), ib.double() + 1e-9, grad=False)
case('unique', lambda x: torch.unique(x, return_inverse=True, return_counts=True),
     torch.tensor([[3.0, 1.0, 2.0], [1.0, 3.0, -1.0]]), grad=False)
case('unique_dim0', lambda x: torch.unique(x, dim=0, return_inverse=True, return_counts=True),
     torch.tensor([[1, 2], [0, 5], [1, 2], [0, 1]], dtype=torch.int32), grad=False)
case('unique_dim1', lambda x: torch.unique(x, dim=1, return_counts=True),
     torch.tensor([[1.0, 2.0, 1.0, 0.0], [3.0, 0.0, 3.0, 0.0]]), grad=False)
# ---- torch.linalg ----
L = torch.linalg
case('linalg_norm_flat', lambda x: L.norm(x), rand(2, 3, 4))
case('linalg_norm_ord1_matrix', lambda x: L.norm(x, 1), rand(3, 4))
case('linalg_norm_inf_matrix', lambda x: L.norm(x, inf), rand(3, 4, dtype=D))
case('linalg_norm_fro_dims', lambda x: L.norm(x, 'fro', (0, 2)), rand(2, 3, 4))
case('linalg_norm_vector_dim', lambda x: L.norm(x, 3, 1, keepdim=True), rand(2, 3, 4))
case('linalg_vector_norm', lambda x: L.vector_norm(x, 1.5, (0, 2)), rand(2, 3, 4))
case('linalg_vector_norm_inf', lambda x: L.vector_norm(x, -inf), rand(2, 5))
case('linalg_matrix_norm_m1', lambda x: L.matrix_norm(x, -1), rand(2, 3, 4))
case('linalg_matrix_norm_minf', lambda x: L.matrix_norm(x, -inf, keepdim=True), rand(2, 3, 4, dtype=D))
case('linalg_det', lambda a: L.det(a), wellcond(2, 4, 4))
case('linalg_det_f64', lambda a: L.det(a), rand(3, 3, dtype=D))
case('linalg_inv', lambda a: L.inv(a), wellcond(2, 3, 3))
case('linalg_inv_f64', lambda a: L.inv(a), wellcond(4, 4, dtype=D))
case('linalg_solve', lambda a, b: L.solve(a, b), wellcond(3, 3), rand(3, 2))
case('linalg_solve_vector_batch', lambda a, b: L.solve(a, b), wellcond(2, 3, 3, dtype=D), rand(2, 3, dtype=D))
case('linalg_solve_broadcast', lambda a, b: L.solve(a, b), wellcond(2, 3, 3), rand(3, 2))
case('linalg_solve_right', lambda a, b: L.solve(a, b, left=False), wellcond(3, 3, dtype=D), rand(2, 3, dtype=D))
case('linalg_cholesky', lambda a: L.cholesky(a), spd(2, 3, 3))
case('linalg_cholesky_f64', lambda a: L.cholesky(a), spd(4, 4, dtype=D))
# ---- mode: small integers in float, so rows have ties (the smallest tied value, its last index) ----
case('mode', lambda x: torch.mode(x, 1), torch.tensor(rng.integers(0, 3, size=(4, 7))).float())
case('mode_keepdim_dim0', lambda x: torch.mode(x, 0, keepdim=True),
     torch.tensor(rng.integers(-2, 2, size=(6, 3))).double())
# ---- spectral matrix norms (singular values), tall, wide and batched over other dims ----
case('linalg_matrix_norm_nuc', lambda x: L.matrix_norm(x, 'nuc'), rand(2, 4, 3))
case('linalg_matrix_norm_2_wide', lambda x: L.matrix_norm(x, 2), rand(3, 5, dtype=D))
case('linalg_matrix_norm_m2_dims', lambda x: L.matrix_norm(x, -2, (0, 2), keepdim=True), rand(4, 2, 3, dtype=D))
case('linalg_norm_nuc_wide', lambda x: L.norm(x, 'nuc'), rand(3, 6))

# ---- write safetensors by hand: u64 header length, JSON header, raw little-endian data ----
DT = {torch.float32: ('F32', '<f4'), torch.float64: ('F64', '<f8'), torch.int32: ('I32', '<i4'),
      torch.int64: ('I64', '<i8'), torch.bool: ('BOOL', '|b1')}
header, chunks, off = {'__metadata__': {'generator': 'tools/golden/tensor_api.py', 'torch': torch.__version__}}, [], 0
for k in sorted(tensors):
    t = tensors[k]
    code, npdt = DT[t.dtype]
    raw = t.numpy().astype(npdt).tobytes()
    header[k] = {'dtype': code, 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}
    chunks.append(raw)
    off += len(raw)
hb = json.dumps(header, separators=(',', ':')).encode()
hb += b' ' * (-len(hb) % 8)
out = os.path.join(ROOT, 'test', 'golden', 'tensor_api.safetensors')
with open(out, 'wb') as fh:
    fh.write(struct.pack('<Q', len(hb)) + hb + b''.join(chunks))
print(f'wrote {out} ({os.path.getsize(out)} bytes, {len(tensors)} tensors)')
