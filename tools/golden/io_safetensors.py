"""A hand-written safetensors writer for golden scripts (Debian ships no safetensors package):
8-byte little-endian header length, JSON header padded with spaces to a multiple of 8, raw
little-endian data. Any golden script may use it:
    sys.path.insert(0, os.path.dirname(__file__)); from io_safetensors import write_safetensors
"""
import json, struct
import torch

ST_DTYPES = {torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.bfloat16: 'BF16',
             torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8',
             torch.bool: 'BOOL'}


def raw_bytes(t):
    """Little-endian bytes of a tensor in row-major order (bfloat16 through an int16 view)."""
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for k, t in tensors.items():
        b = raw_bytes(t)
        header[k] = {'dtype': ST_DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
