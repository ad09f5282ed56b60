#!/usr/bin/python3
"""Goldens for the Fréchet distance of src/models/fid.ts (FID's formula), computed in float64 by torch.

Run with Debian's torch 1.13:  /usr/bin/python3 tools/golden/fid.py
scipy is not installed here, so pytorch-fid's scipy.linalg.sqrtm(sigma1 @ sigma2) is replaced by the same
quantity through torch: tr sqrtm(S1 S2) = sum of sqrt(eigenvalues of S1 S2) (torch.linalg.eigvals, a general
non-symmetric eigensolver, so independent of nabla's symmetric route), and sqrtm(S) of a symmetric PSD S by
torch.linalg.eigh, checked by squaring it back.
Writes test/golden/fid.safetensors, for each case '<case>.':
  x1, x2        features (N, D)
  mu1, sigma1   mean and unbiased covariance of x1 (numpy.cov(rowvar=False))
  sqrtm1        the PSD square root of sigma1
  fid           the squared Fréchet distance between the Gaussians of x1 and x2 (shape [1])
Cases: 'full' (N=300, D=16, correlated features, shifted mean), 'lowrank' (N=10 < D=16: singular
covariances), 'same' (x2 = x1: distance 0). Never run in CI.
"""
import os

import numpy as np
import torch
from safetensors_out import write_safetensors as _write

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'golden')
torch.manual_seed(0)


def write_safetensors(path, tensors, metadata=None):
    _write(path, tensors, metadata, dtype='float64')  # every golden here is float64


def stats(x):
    return x.mean(0), torch.from_numpy(np.cov(x.numpy(), rowvar=False))


def sqrtm_psd(s):
    w, v = torch.linalg.eigh(s)
    r = v @ torch.diag(w.clamp(min=0).sqrt()) @ v.T
    assert torch.allclose(r @ r, s, atol=1e-9 * max(1.0, s.abs().max().item())), 'sqrtm check failed'
    return r


def fid(x1, x2):
    m1, s1 = stats(x1)
    m2, s2 = stats(x2)
    ev = torch.linalg.eigvals(s1 @ s2)
    tr_sqrt = ev.real.clamp(min=0).sqrt().sum()
    return ((m1 - m2) ** 2).sum() + s1.trace() + s2.trace() - 2 * tr_sqrt


out = {}
mix = torch.randn(16, 16, dtype=torch.float64)
cases = {
    'full': (torch.randn(300, 16, dtype=torch.float64) @ mix, torch.randn(300, 16, dtype=torch.float64) @ mix * 0.7 + 0.5),
    'lowrank': (torch.randn(10, 16, dtype=torch.float64), torch.randn(10, 16, dtype=torch.float64) + 0.2),
}
x = torch.rand(50, 8, dtype=torch.float64)
cases['same'] = (x, x.clone())
for name, (x1, x2) in cases.items():
    mu1, sigma1 = stats(x1)
    out[f'{name}.x1'] = x1
    out[f'{name}.x2'] = x2
    out[f'{name}.mu1'] = mu1
    out[f'{name}.sigma1'] = sigma1
    out[f'{name}.sqrtm1'] = sqrtm_psd(sigma1)
    out[f'{name}.fid'] = fid(x1, x2).reshape(1)
    print(name, out[f'{name}.fid'].item())
write_safetensors(os.path.join(OUT, 'fid.safetensors'), {k: v.numpy() for k, v in out.items()})
