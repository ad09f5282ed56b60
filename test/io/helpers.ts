// Shared by the io tests: exact bit patterns of storage, in the form tools/golden/io_make.py writes.
import { readFileSync } from 'node:fs';
import type { TypedArray } from '../../src/tensor/dtype.js';
import { golden } from '../helpers/data.js';
import * as io from './io.js';

export interface ExpectedTensor {
  dtype: 'float32' | 'float64' | 'int32' | 'bool';
  shape: number[];
  u32?: number[];
  u64hex?: string[];
  values?: number[];
}

/** Values of contiguous storage in expected.json's form (bit patterns for floats). */
export function bitsOf(dtype: string, data: TypedArray): ExpectedTensor {
  const d = data;
  if (dtype === 'float32')
    return { dtype, shape: [], u32: Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length)) };
  if (dtype === 'float64') {
    return {
      dtype,
      shape: [],
      u64hex: Array.from(new BigUint64Array(d.buffer, d.byteOffset, d.length), (v) => v.toString(16).padStart(16, '0')),
    };
  }
  return { dtype: dtype as 'int32' | 'bool', shape: [], values: Array.from(d) };
}

let cache: Record<string, any> | undefined;
/** test/golden/io/expected.json, written by tools/golden/io_make.py. */
export function expected(): Record<string, any> {
  cache ??= JSON.parse(readFileSync(golden('io/expected.json'), 'utf8'));
  return cache!;
}

export const ioGolden = (name: string): string => golden(`io/${name}`);

/** The archive rebuilt after `patch` edits its members' bytes (so CRCs stay right: only the lie is tested). */
export function rezip(zip: Uint8Array, patch: (name: string, data: Buffer) => void, align = 64): Buffer {
  const r = new io.ZipReader(new io.BufferSource(zip));
  const members = r.entries.map((e) => {
    const data = Buffer.from(r.readAll(e));
    patch(e.name, data);
    return { name: e.name, data: [data] };
  });
  return Buffer.concat([...io.zipChunks(members, align)]);
}
