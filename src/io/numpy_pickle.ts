// NumPy values inside pickles (training checkpoints often hold np.float64 metrics or small arrays):
// numpy.dtype, numpy.core.multiarray.scalar and numpy.core.multiarray._reconstruct (numpy 2 spells
// the module numpy._core.multiarray). Scalars become JS numbers (bigint beyond 2^53, booleans for
// b1); arrays become NumpyArrayRef, which layer 2 turns into Tensors. Only numeric dtypes; object
// arrays, Fortran order and anything else are refused.
import { BufferSource, repr } from './source.js';
import { ELEM_SIZE, NUMPY_KIND, checkedNumel, decodeElems, type ElemType, type RawRecord } from './raw.js';
import { SETSTATE, type PyCallable } from './pickle.js';

/** numpy.dtype('f8', False, True), then BUILD (3, '<', None, None, None, -1, -1, 0). */
class NpDType {
  bigEndian = false;
  constructor(readonly elem: ElemType) {}
  [SETSTATE](state: unknown): void {
    if (!Array.isArray(state) || typeof state[1] !== 'string') throw new Error('numpy.dtype: unexpected state');
    if (state[1] !== '<' && state[1] !== '>' && state[1] !== '|' && state[1] !== '=')
      throw new Error(`numpy.dtype: byte order '${state[1]}'`);
    this.bigEndian = state[1] === '>';
  }
}

/** An ndarray from a pickle: `_reconstruct(ndarray, (0,), b'b')`, then BUILD (1, shape, dtype, fortran, bytes). */
export class NumpyArrayRef {
  record: RawRecord | null = null;
  constructor(private file: string) {}
  [SETSTATE](state: unknown): void {
    if (!Array.isArray(state) || state.length !== 5) throw new Error('numpy.ndarray: unexpected state');
    const [, shape, dtype, fortran, raw] = state;
    if (!(dtype instanceof NpDType)) throw new Error('numpy.ndarray: dtype is not a numpy.dtype');
    if (fortran !== false) throw new Error('numpy.ndarray: Fortran-order arrays are not supported');
    if (!(raw instanceof Uint8Array))
      throw new Error('numpy.ndarray: only numeric arrays with raw data are supported (object arrays are refused)');
    const n = checkedNumel(shape, raw.length, { file: this.file, tensor: 'numpy array' });
    if (n * ELEM_SIZE[dtype.elem] !== raw.length)
      throw new Error(`numpy.ndarray: ${raw.length} bytes for ${n} ${dtype.elem} elements`);
    const r = decodeElems(
      new BufferSource(raw, this.file),
      0,
      n,
      dtype.elem,
      { file: this.file, tensor: 'numpy array' },
      { bigEndian: dtype.bigEndian },
    );
    r.shape = (shape as number[]).slice();
    this.record = r;
  }
}

function scalar(dtype: unknown, raw: unknown): number | bigint | boolean {
  if (!(dtype instanceof NpDType) || !(raw instanceof Uint8Array))
    throw new Error('numpy scalar: expected (dtype, bytes)');
  if (raw.length !== ELEM_SIZE[dtype.elem]) throw new Error(`numpy scalar: ${raw.length} bytes for ${dtype.elem}`);
  const b = Uint8Array.from(raw);
  if (dtype.bigEndian) b.reverse();
  const v = new DataView(b.buffer);
  switch (dtype.elem) {
    case 'F64':
      return v.getFloat64(0, true);
    case 'F32':
      return v.getFloat32(0, true);
    case 'F16':
      return (decodeElems(new BufferSource(b), 0, 1, 'F16', { file: '', tensor: '' }).data as Float32Array)[0];
    case 'BOOL':
      return b[0] !== 0;
    case 'I64':
    case 'U64': {
      const x = dtype.elem === 'I64' ? v.getBigInt64(0, true) : v.getBigUint64(0, true);
      return x >= -(2n ** 53n) + 1n && x <= 2n ** 53n - 1n ? Number(x) : x;
    }
    case 'I32':
      return v.getInt32(0, true);
    case 'I16':
      return v.getInt16(0, true);
    case 'I8':
      return v.getInt8(0);
    case 'U32':
      return v.getUint32(0, true);
    case 'U16':
      return v.getUint16(0, true);
    default:
      return b[0];
  }
}

export function numpyGlobals(file: string): Record<string, PyCallable> {
  const dtype: PyCallable = ([spec]) => {
    const m = typeof spec === 'string' ? /^[<>|=]?([a-z]\d+)$/.exec(spec) : null;
    const elem = m ? NUMPY_KIND[m[1]] : undefined;
    if (!elem) throw new Error(`numpy.dtype ${repr(spec)} is not supported`);
    return new NpDType(elem);
  };
  const reconstruct: PyCallable = ([cls]) => {
    if (!(cls as { qualname?: string } | null)?.qualname?.endsWith('.ndarray'))
      throw new Error('_reconstruct: only numpy.ndarray');
    return new NumpyArrayRef(file);
  };
  const g: Record<string, PyCallable> = {
    'numpy.dtype': dtype,
    'numpy.ndarray': () => {
      throw new Error('numpy.ndarray cannot be called directly');
    },
  };
  for (const mod of ['numpy.core.multiarray', 'numpy._core.multiarray']) {
    g[`${mod}.scalar`] = ([d, raw]) => scalar(d, raw);
    g[`${mod}._reconstruct`] = reconstruct;
  }
  return g;
}
