"""Checks the fuzz mutators' claims against the reference readers (never run in CI).

The campaign (test/fuzz) labels each mutant with what a reference reader does with it: 'same'
(loads the seed's values), 'sameOrReject', 'reject' or 'any'. This script loads a dumped campaign
with numpy (.npy/.npz), PIL (.png/.jpg) and torch (.pth, weights_only) and reports, per mutation,
how often the reference agrees with the label.

    node dist/test/fuzz/cli.js --count 150 --dump /tmp/fz --formats npy,npz,pth,pth-legacy,png,jpeg
    /usr/bin/python3 tools/golden/fuzz_reference.py /tmp/fz

Exits 1 when a label is contradicted (a 'reject' the reference loads, a 'same' it refuses or loads
with other values).
"""
import hashlib
import json
import sys
import warnings
from collections import Counter, defaultdict

import numpy as np
from PIL import Image

# Fixed hostile inputs are about memory and time, not about labels; the reference may take minutes.
SKIP = ('bomb', '140M', '4M', '20M', 'stride0', 'sof-16384')


class RestrictedPickle:
    """pickle for torch.load whose Unpickler resolves only tensor-checkpoint globals (mutants may name os.system)."""
    import pickle as _p
    load = _p.load

    class Unpickler(_p.Unpickler):
        ALLOWED = ('torch.', 'collections.OrderedDict', 'numpy.', '_codecs.encode', 'builtins.set',
                   'builtins.frozenset')

        def find_class(self, module, name):
            q = f'{module}.{name}'
            if not q.startswith(self.ALLOWED):
                raise RuntimeError(f'refusing global {q}')
            return super().find_class(module, name)


def digest_arrays(d):
    h = hashlib.sha1()
    for k in sorted(d):
        a = np.ascontiguousarray(d[k])
        h.update(f'{k}:{a.dtype.str}:{a.shape}'.encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def load(fmt, path):
    """The reference's value as a digest; raises when the reference refuses the file."""
    if fmt == 'npy':
        return digest_arrays({'': np.load(path, allow_pickle=False)})
    if fmt == 'npz':
        with np.load(path, allow_pickle=False) as z:
            return digest_arrays({k: z[k] for k in z.files if not isinstance(z[k], bytes)})
    if fmt in ('png', 'jpeg'):
        with Image.open(path) as im:
            im.load()
            return hashlib.sha1(f'{im.mode}{im.size}'.encode() + im.tobytes()).hexdigest()[:16]
    if fmt in ('pth', 'pth-legacy'):
        import torch
        v = torch.load(path, pickle_module=RestrictedPickle)
        flat = {}
        stack = [('', v)]
        while stack:
            k, x = stack.pop()
            if isinstance(x, torch.Tensor):
                half = x.dtype in (torch.float16, torch.bfloat16)
                flat[k] = x.detach().float().numpy() if half else x.detach().numpy()
            elif isinstance(x, dict):
                stack.extend((f'{k}.{kk}', vv) for kk, vv in x.items())
            elif isinstance(x, (list, tuple)):
                stack.extend((f'{k}[{i}]', vv) for i, vv in enumerate(x))
        return digest_arrays(flat)
    raise ValueError(f'no reference for {fmt}')


def main():
    root = sys.argv[1]
    manifest = json.load(open(f'{root}/manifest.json'))
    warnings.simplefilter('ignore')
    seeds = {}
    agree = Counter()
    bad = defaultdict(list)
    for inp in manifest:
        fmt, op, expect = inp['format'], inp['op'], inp['expect']
        if fmt == 'safetensors' or any(s in op for s in SKIP):
            continue
        try:
            got, err = load(fmt, inp['path']), None
        except BaseException as e:  # noqa: BLE001 - any refusal counts, including the reference's own bugs
            if isinstance(e, KeyboardInterrupt):
                raise
            got, err = None, f'{type(e).__name__}: {str(e)[:120]}'
        if op == 'seed':
            seeds[inp['seed'].split('|')[0]] = got
            continue
        want = seeds.get(inp['seed'].split('|')[0])
        key = (fmt, op, expect)
        if expect == 'reject' and got is not None:
            bad[key].append(f"{inp['path']}: the reference loads it")
        elif expect == 'same' and got is None:
            bad[key].append(f"{inp['path']}: the reference refuses it: {err}")
        elif expect in ('same', 'sameOrReject') and got is not None and got != want:
            bad[key].append(f"{inp['path']}: the reference loads other values")
        else:
            agree[key] += 1
    for key in sorted(set(agree) | set(bad)):
        if key[2] == 'any':
            continue
        n_bad = len(bad.get(key, []))
        print(f'{key[0]:>10} {key[1]:<32} {key[2]:<12} agree {agree[key]:4d}  contradicted {n_bad:4d}')
        for line in bad.get(key, [])[:3]:
            print(f'{"":>12}{line}')
    sys.exit(1 if any(bad[k] for k in bad if k[2] != 'any') else 0)


if __name__ == '__main__':
    main()
