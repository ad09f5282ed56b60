// A tiny synchronous safetensors reader for the op goldens (F32, F64, I32, I64 -> int32, BOOL).
// Layout: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// then the raw little-endian data. The full reader lives in src/io; this one keeps the core tests
// independent of it.
import { readFileSync } from 'node:fs';
import { Tensor, Storage } from '../../src/tensor/tensor.js';
import { Layout } from '../../src/tensor/layout.js';
import type { TypedArray } from '../../src/tensor/dtype.js';
import { golden } from './data.js';

export function readSafetensors(path: string): Record<string, Tensor> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out: Record<string, Tensor> = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const bytes = buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    let data: TypedArray;
    let dtype: Tensor['dtype'];
    switch (e.dtype) {
      case 'F32':
        data = new Float32Array(ab);
        dtype = 'float32';
        break;
      case 'F64':
        data = new Float64Array(ab);
        dtype = 'float64';
        break;
      case 'I32':
        data = new Int32Array(ab);
        dtype = 'int32';
        break;
      case 'I64':
        data = Int32Array.from(new BigInt64Array(ab), (v) => Number(v));
        dtype = 'int32';
        break;
      case 'BOOL':
        data = new Uint8Array(ab);
        dtype = 'bool';
        break;
      default:
        throw new Error(`readSafetensors: unsupported dtype ${e.dtype} for '${name}' in ${path}`);
    }
    out[name] = new Tensor(new Storage(data), Layout.contiguous(e.shape), dtype);
  }
  return out;
}

/** The tensors of test/golden/<name>.safetensors. */
export function loadGolden(name: string): Record<string, Tensor> {
  return readSafetensors(golden(`${name}.safetensors`));
}
