#!/usr/bin/python3
"""Writes the checkpoint-format goldens in test/golden/io/ (run with Debian's torch/numpy):
    /usr/bin/python3 tools/golden/io_make.py
Files: state_dict.pth (zip format; every dtype, a shared storage, a transpose and an offset slice),
checkpoint.pth (model + Adam state + primitives), legacy.pth (_use_new_zipfile_serialization=False),
all_dtypes.safetensors (written by hand: no safetensors package in Debian), i64_overflow.safetensors,
<dtype>.npy for each dtype, big_endian.npy, fortran.npy and complex64.npy (error cases),
arrays.npz / arrays_compressed.npz, and expected.json with every tensor's values as bit patterns.
"""
import json, os, sys
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from io_safetensors import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'golden', 'io')
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
rng = np.random.default_rng(0)


def bits(t):
    """Values of a tensor as exact bit patterns after nabla's widening (F16/BF16 -> float32)."""
    t = t.detach().contiguous()
    if t.dtype in (torch.float16, torch.bfloat16, torch.float32):
        return {'dtype': 'float32', 'shape': list(t.shape),
                'u32': t.float().numpy().view(np.uint32).reshape(-1).tolist()}
    if t.dtype == torch.float64:
        return {'dtype': 'float64', 'shape': list(t.shape),
                'u64hex': ['%016x' % v for v in t.numpy().view(np.uint64).reshape(-1).tolist()]}
    if t.dtype == torch.bool:
        return {'dtype': 'bool', 'shape': list(t.shape), 'values': t.to(torch.uint8).reshape(-1).tolist()}
    return {'dtype': 'int32', 'shape': list(t.shape), 'values': t.to(torch.int64).reshape(-1).tolist()}


def np_bits(a):
    a = a.astype(a.dtype.newbyteorder('='), order='C')  # (ascontiguousarray would make 0-d arrays 1-d)
    if a.dtype.kind == 'u' and a.dtype.itemsize > 1:
        a = a.astype(np.int64)  # torch has no uint16
    return bits(torch.from_numpy(a))


def half_bits(t):
    return t.contiguous().view(torch.int16).numpy().view(np.uint16).reshape(-1).tolist()


expected = {}

# --- every dtype --------------------------------------------------------------------------------
dtypes = {
    'f32': torch.randn(3, 4),
    'f64': torch.randn(2, 3, dtype=torch.float64),
    'f16': torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, float('inf'), 0.333]).half(),
    'bf16': torch.tensor([[1.0, -3.25e38], [1e-38, float('-inf')]]).bfloat16(),
    'i64': torch.tensor([-(2 ** 31), 2 ** 31 - 1, 0, -5, 7], dtype=torch.int64),
    'i32': torch.tensor([[-(2 ** 31), 2 ** 31 - 1], [1, -1]], dtype=torch.int32),
    'i16': torch.tensor([-32768, 32767, 3], dtype=torch.int16),
    'i8': torch.tensor([-128, 127, 0, -1], dtype=torch.int8),
    'u8': torch.tensor([0, 255, 128, 7], dtype=torch.uint8),
    'bool': torch.tensor([[True, False, True]]),
    'scalar': torch.tensor(2.5),
    'empty': torch.zeros(0, 3),
}
base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
sd = dict(dtypes)
sd['shared.base'] = base
sd['shared.t'] = base.t()               # non-contiguous view, same storage
sd['shared.slice'] = base[1:, 1:3]      # storage offset 5, strides (4, 1)
sd['shared.row'] = base[2]              # storage offset 8
sd = torch.nn.Module().state_dict().__class__(sd)  # an OrderedDict, like a real state dict
torch.save(sd, os.path.join(OUT, 'state_dict.pth'))
expected['state_dict'] = {k: bits(v) for k, v in sd.items()}
expected['state_dict_views'] = {k: {'offset': v.storage_offset(), 'strides': list(v.stride())}
                                for k, v in sd.items() if k.startswith('shared.')}
expected['half_bits'] = {'f16': half_bits(dtypes['f16']), 'bf16': half_bits(dtypes['bf16'])}

legacy = {k: sd[k] for k in ['f32', 'f64', 'f16', 'i64', 'u8', 'bool', 'shared.base', 'shared.t', 'shared.slice']}
torch.save(legacy, os.path.join(OUT, 'legacy.pth'), _use_new_zipfile_serialization=False)
expected['legacy'] = {k: bits(v) for k, v in legacy.items()}

# --- a training checkpoint: model, Adam state, primitives ---------------------------------------
model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
model(torch.randn(4, 3)).sum().backward()
opt.step()
ckpt = {'model': model.state_dict(), 'optimizer': opt.state_dict(), 'epoch': 3, 'best': 0.875,
        'name': 'mlp', 'flags': [True, None, -7, 2 ** 40], 'pair': (1, 2.5),
        'metrics': {'acc': np.float64(0.9352), 'n': np.int64(7), 'f': np.float32(0.5), 'ok': np.bool_(True),
                    'hist': np.arange(4, dtype=np.float32).reshape(2, 2), 'ids': np.array([1, -2], dtype='>i8')}}
torch.save(ckpt, os.path.join(OUT, 'checkpoint.pth'))
expected['checkpoint'] = {
    'model': {k: bits(v) for k, v in model.state_dict().items()},
    'exp_avg_0': bits(opt.state_dict()['state'][0]['exp_avg']),
    'param_groups': [{k: v for k, v in g.items()} for g in opt.state_dict()['param_groups']],
}

# --- safetensors, written by hand (tools/golden/io_safetensors.py) -----------------------------
write_safetensors(os.path.join(OUT, 'all_dtypes.safetensors'), dtypes, {'format': 'pt', 'source': 'io_make.py'})
expected['safetensors'] = {k: bits(v) for k, v in dtypes.items()}
write_safetensors(os.path.join(OUT, 'i64_overflow.safetensors'), {'ok': torch.tensor([1]), 'big': torch.tensor([0, 5_000_000_000])})

# --- numpy ----------------------------------------------------------------------------------------
npys = {
    'float32': rng.standard_normal((2, 3)).astype(np.float32),
    'float64': rng.standard_normal(4),
    'float16': np.array([1.5, -0.0, 65504, 6e-8], dtype=np.float16),
    'int64': np.array([[-(2 ** 31), 2 ** 31 - 1], [3, -4]], dtype=np.int64),
    'int32': np.array([1, -2, 3], dtype=np.int32),
    'int16': np.array([-32768, 32767], dtype=np.int16),
    'int8': np.array([-128, 5], dtype=np.int8),
    'uint8': np.array([0, 255, 9], dtype=np.uint8),
    'uint16': np.array([0, 65535], dtype=np.uint16),
    'bool': np.array([True, False, True]),
    'scalar': np.array(3.25, dtype=np.float32),
}
for k, a in npys.items():
    np.save(os.path.join(OUT, k + '.npy'), a)
np.save(os.path.join(OUT, 'big_endian.npy'), np.array([1.0, -2.0, 3.5], dtype='>f4'))
np.save(os.path.join(OUT, 'fortran.npy'), np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
np.save(os.path.join(OUT, 'complex64.npy'), np.array([1 + 2j], dtype=np.complex64))
expected['npy'] = {k: np_bits(a) for k, a in npys.items()}
expected['npy']['big_endian'] = np_bits(np.array([1.0, -2.0, 3.5], dtype=np.float32))
np.savez(os.path.join(OUT, 'arrays.npz'), a=npys['float32'], b=npys['int64'], c=npys['bool'])
np.savez_compressed(os.path.join(OUT, 'arrays_compressed.npz'), a=npys['float32'], b=npys['int64'], c=npys['bool'])

with open(os.path.join(OUT, 'expected.json'), 'w') as f:
    json.dump(expected, f, indent=None, separators=(',', ':'))
total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
print('wrote %d files, %d bytes, torch %s numpy %s' % (len(os.listdir(OUT)), total, torch.__version__, np.__version__))
