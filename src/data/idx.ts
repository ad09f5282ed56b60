// The IDX format of MNIST and Fashion-MNIST: a big-endian header (two zero bytes, a type code,
// the number of dims, then one uint32 per dim) followed by the data, row-major and big-endian.
// Files may be gzip-compressed (detected by the gzip magic, whatever the name). Every length is
// checked before reading, so a hostile or truncated file gives an error, never a wrong tensor.

import { readFileSync, gunzipSync } from '../platform/node.js';

const TYPES: Record<number, { name: string; size: number }> = {
  0x08: { name: 'uint8', size: 1 },
  0x09: { name: 'int8', size: 1 },
  0x0b: { name: 'int16', size: 2 },
  0x0c: { name: 'int32', size: 4 },
  0x0d: { name: 'float32', size: 4 },
  0x0e: { name: 'float64', size: 8 },
};

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  /** The element type named in the header. */
  type: 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
  shape: number[];
  /** Row-major values in native byte order. */
  data: IdxData;
}

/** Decompresses when the bytes start with the gzip magic (1f 8b). */
export function maybeGunzip(bytes: Uint8Array, name: string): Uint8Array {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes);
    } catch (e) {
      throw new Error(`readIdx: ${name}: corrupt gzip stream (${(e as Error).message})`);
    }
  }
  return bytes;
}

/** Parses IDX bytes (gzip or not). `name` is used in error messages. */
export function parseIdx(raw: Uint8Array, name = '<buffer>'): IdxArray {
  const b = maybeGunzip(raw, name);
  const fail = (msg: string): never => {
    throw new Error(`readIdx: ${name}: ${msg}`);
  };
  if (b.length < 4) fail(`truncated header: ${b.length} bytes, an IDX file starts with a 4-byte magic number`);
  const hex = [...b.subarray(0, 4)].map((x) => x.toString(16).padStart(2, '0')).join('');
  if (b[0] !== 0 || b[1] !== 0)
    fail(
      `bad magic number 0x${hex}: an IDX file starts with two zero bytes (e.g. 0x00000803 for images, 0x00000801 ` +
        `for labels)`,
    );
  const t = TYPES[b[2]];
  if (!t)
    fail(
      `bad magic number 0x${hex}: unknown element type 0x${b[2].toString(16).padStart(2, '0')} (expected 08, 09, ` +
        `0b, 0c, 0d or 0e)`,
    );
  const ndim = b[3];
  if (ndim === 0) fail(`bad magic number 0x${hex}: zero dimensions`);
  const headerLen = 4 + 4 * ndim;
  if (b.length < headerLen) fail(`truncated header: ${ndim} dims need ${headerLen} bytes, the file has ${b.length}`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shape: number[] = [];
  let n = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    n *= d;
  }
  const need = n * t.size;
  if (n > 2 ** 31 - 1) fail(`dims [${shape.join(', ')}] describe ${n} elements, more than a tensor can hold`);
  const have = b.length - headerLen;
  if (have < need)
    fail(`truncated: dims [${shape.join(', ')}] need ${need} bytes of ${t.name} data, the file has ${have}`);
  if (have > need)
    fail(
      `dims [${shape.join(', ')}] need ${need} bytes of ${t.name} data, but the file has ${have} (${have - need} ` +
        `trailing bytes): the dims disagree with the file size`,
    );
  let data: IdxData;
  switch (t.name) {
    case 'uint8':
      data = b.slice(headerLen);
      break;
    case 'int8':
      data = new Int8Array(b.slice(headerLen).buffer);
      break;
    default: {
      const Arr =
        t.name === 'int16'
          ? Int16Array
          : t.name === 'int32'
            ? Int32Array
            : t.name === 'float32'
              ? Float32Array
              : Float64Array;
      const out = new Arr(n);
      for (let i = 0; i < n; i++) {
        const o = headerLen + i * t.size;
        out[i] =
          t.name === 'int16'
            ? view.getInt16(o, false)
            : t.name === 'int32'
              ? view.getInt32(o, false)
              : t.name === 'float32'
                ? view.getFloat32(o, false)
                : view.getFloat64(o, false);
      }
      data = out;
    }
  }
  return { type: t.name as IdxArray['type'], shape, data };
}

/** Reads an IDX file (gzip or not). */
export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`readIdx: cannot read ${path}: ${(e as Error).message}`);
  }
  return parseIdx(bytes, path);
}
