"""write_safetensors, shared by the golden scripts: NumPy arrays into a .safetensors file (little-endian,
header padded to 8 bytes, as the safetensors library writes it)."""
import json
import struct

import numpy as np

DTYPES = {
    np.dtype('float64'): 'F64',
    np.dtype('float32'): 'F32',
    np.dtype('int64'): 'I64',
    np.dtype('int32'): 'I32',
    np.dtype('uint8'): 'U8',
}


def write_safetensors(path, named, metadata=None, dtype=None):
    """named: {name: array}; dtype (e.g. 'float64') casts every array first; metadata: {str: str}."""
    header, blobs, off = {}, [], 0
    for name, arr in named.items():
        arr = np.array(arr, dtype=dtype, order='C', copy=True)
        b = arr.astype(arr.dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': DTYPES[arr.dtype], 'shape': list(arr.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header['__metadata__'] = metadata
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
