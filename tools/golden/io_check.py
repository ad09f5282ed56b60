#!/usr/bin/python3
"""Checks that files nabla wrote load in PyTorch and NumPy with the values nabla promised.
    NABLA_WRITE_IO_SAMPLES=/tmp/nabla-io node --test dist/test/io/samples.test.js
    /usr/bin/python3 tools/golden/io_check.py /tmp/nabla-io
.pth files go through torch.load(weights_only=True) (PyTorch's own restricted unpickler) and a
plain torch.load; views must share one storage. safetensors is read by hand (no safetensors
package in Debian). Exits non-zero on the first mismatch.
"""
import json, os, struct, sys
import numpy as np
import torch

DIR = sys.argv[1] if len(sys.argv) > 1 else os.environ.get('NABLA_WRITE_IO_SAMPLES', '/tmp/nabla-io')
want = json.load(open(os.path.join(DIR, 'expected.json')))
NP = {'float32': np.float32, 'float64': np.float64, 'float16': np.float16, 'int64': np.int64, 'int32': np.int32,
      'int16': np.int16, 'int8': np.int8, 'uint8': np.uint8, 'bool': np.bool_}
ST = {'F32': 'float32', 'F64': 'float64', 'F16': 'float16', 'BF16': 'bfloat16', 'I64': 'int64', 'I32': 'int32',
      'I16': 'int16', 'I8': 'int8', 'U8': 'uint8', 'BOOL': 'bool'}
checked = 0
checked_views = []


def same(name, dtype, shape, values, w):
    global checked
    assert dtype == w['dtype'], '%s: dtype %s, want %s' % (name, dtype, w['dtype'])
    assert list(shape) == w['shape'], '%s: shape %s, want %s' % (name, list(shape), w['shape'])
    got = [float(v) for v in values]
    exp = [float(v) for v in w['values']]
    assert got == exp, '%s: values %s, want %s' % (name, got, exp)
    checked += 1


def torch_values(t):
    return t.detach().reshape(-1).to(torch.float64).tolist()


def read_safetensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    assert n % 8 == 0, 'header not padded to 8'
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == '__metadata__':
            continue
        s, e = v['data_offsets']
        raw = b[8 + n + s:8 + n + e]
        if v['dtype'] == 'BF16':
            t = torch.frombuffer(bytearray(raw), dtype=torch.int16).view(torch.bfloat16) if raw else torch.zeros(0, dtype=torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(raw, dtype=NP[ST[v['dtype']]]).copy())
        out[k] = (ST[v['dtype']], t.reshape(v['shape']))
    return out, h.get('__metadata__')


for file, tensors in sorted(want.items()):
    path = os.path.join(DIR, file)
    if file.endswith('.safetensors'):
        got, meta = read_safetensors(path)
        assert meta == {'writer': 'nabla'}, meta
        for k, w in tensors.items():
            dt, t = got[k]
            same('%s:%s' % (file, k), dt, t.shape, torch_values(t), w)
    elif file.endswith('.pth'):
        # NOTE: torch 1.13's weights_only unpickler lacks BINFLOAT, so a checkpoint holding a Python
        # float (lr) only loads without it; pure state dicts go through the restricted loader.
        obj = torch.load(path) if file == 'nabla_ckpt.pth' else torch.load(path, weights_only=True)
        if file == 'nabla_ckpt.pth':
            assert obj['epoch'] == 7 and obj['lr'] == 0.001 and obj['tags'] == ['a', 'b'], obj
            assert obj['nested'] == {'x': [1, 2.5, None, True]}, obj['nested']
            obj = obj['model']
        for k, w in tensors.items():
            t = obj[k]
            same('%s:%s' % (file, k), str(t.dtype).replace('torch.', ''), t.shape, torch_values(t), w)
            if 'offset' in w:
                assert t.storage_offset() == w['offset'] and list(t.stride()) == w['strides'], (k, t.storage_offset(), t.stride())
            if 'sharesWith' in w:
                assert t.storage().data_ptr() == obj[w['sharesWith']].storage().data_ptr(), '%s does not share storage' % k
                checked_views.append(k)
    elif file.endswith('.npy'):
        a = np.load(path)
        same(file, str(a.dtype), a.shape, a.reshape(-1).astype(np.float64).tolist(), tensors['array'])
    elif file.endswith('.npz'):
        z = np.load(path)
        assert sorted(z.files) == sorted(tensors), z.files
        for k, w in tensors.items():
            a = z[k]
            same('%s:%s' % (file, k), str(a.dtype), a.shape, a.reshape(-1).astype(np.float64).tolist(), w)

print('io_check: %d tensors in %d files OK, %d views share their base storage in torch (torch %s, numpy %s)'
      % (checked, len(want), len(checked_views), torch.__version__, np.__version__))
