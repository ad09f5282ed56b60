// NumPy .npy and .npz. An .npy is "\x93NUMPY", a version (1.0, 2.0 or 3.0), a little-endian header
// length (u16, or u32 from 2.0), a Python dict literal {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), } padded with spaces to a multiple of 64 bytes, then the raw data. An .npz is a
// zip of <name>.npy members, stored or deflated.
import { BufferSource, CheckpointError, withFile, withFileAsync, u16, u32, type ByteSource } from './source.js';
import {
  ELEM_SIZE,
  NUMPY_KIND,
  checkedNumel,
  decodeElems,
  decodeElemsAsync,
  defaultElem,
  encodeElems,
  type ElemType,
  type RawRecord,
  type WritableTensor,
} from './raw.js';
import { ZipReader, zipChunks, type ZipMemberInput } from './zip.js';
import { writeAtomic } from './atomic.js';
import { Buffer } from '../platform/node.js';

const MAX_HEADER = 1 << 20;
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

const DESCR: Partial<Record<ElemType, string>> = {
  F64: '<f8',
  F32: '<f4',
  F16: '<f2',
  I64: '<i8',
  I32: '<i4',
  I16: '<i2',
  I8: '|i1',
  U64: '<u8',
  U32: '<u4',
  U16: '<u2',
  U8: '|u1',
  BOOL: '|b1',
};

export interface NpyHeader {
  elem: ElemType;
  bigEndian: boolean;
  shape: number[];
  dataStart: number;
  descr: string;
}

type PyLit = string | boolean | number | null | PyLit[] | { [k: string]: PyLit };

/** Parses the restricted Python literal of an .npy header (dict, str, int, bool, None, tuple). */
function parseLiteral(s: string, fail: (m: string) => never): PyLit {
  let i = 0;
  const ws = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const value = (depth: number): PyLit => {
    if (depth > 32) fail('header literal nested too deeply');
    ws();
    const c = s[i];
    if (c === "'" || c === '"') {
      const j = s.indexOf(c, i + 1);
      if (j < 0) fail('unterminated string in header');
      const v = s.slice(i + 1, j);
      i = j + 1;
      return v;
    }
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: PyLit[] = [];
      const obj: { [k: string]: PyLit } = {};
      for (;;) {
        ws();
        if (s[i] === close) {
          i++;
          break;
        }
        const v = value(depth + 1);
        if (c === '{') {
          ws();
          if (s[i] !== ':' || typeof v !== 'string') fail('malformed dict in header');
          i++;
          Object.defineProperty(obj, v as string, {
            value: value(depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else items.push(v);
        ws();
        if (s[i] === ',') i++;
        else if (s[i] !== close) fail(`unexpected '${s[i] ?? 'end'}' in header`);
      }
      return c === '{' ? obj : items;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(s.slice(i, i + 24));
    if (!m) fail(`unexpected '${s.slice(i, i + 10)}' in header`);
    i += m![0].length;
    const t = m![0];
    return t === 'True' ? true : t === 'False' ? false : t === 'None' ? null : Number(t.replace('L', ''));
  };
  const v = value(0);
  ws();
  if (i !== s.length) fail('trailing characters after the header dict');
  return v;
}

export function parseNpyHeader(src: ByteSource): NpyHeader {
  const fail = (m: string): never => {
    throw new CheckpointError(src.name, `npy: ${m}`);
  };
  if (src.size < 10) fail(`file is ${src.size} bytes, too short for an .npy header`);
  const pre = src.read(0, Math.min(12, src.size));
  for (let k = 0; k < 6; k++) if (pre[k] !== MAGIC[k]) fail('bad magic (not an .npy file)');
  const major = pre[6];
  if (major < 1 || major > 3) fail(`unsupported format version ${major}.${pre[7]}`);
  let hlen: number, start: number;
  if (major === 1) {
    hlen = u16(pre, 8);
    start = 10;
  } else {
    if (pre.length < 12) fail('truncated header');
    hlen = u32(pre, 8);
    start = 12;
  }
  if (hlen > MAX_HEADER) fail(`header length ${hlen} exceeds the 1 MiB limit`);
  if (start + hlen > src.size) fail(`header length ${hlen} is larger than the file (${src.size} bytes)`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(src.read(start, hlen, 'header'));
  const d = parseLiteral(text.trim(), fail);
  if (typeof d !== 'object' || d === null || Array.isArray(d)) fail('header is not a dict');
  // NOTE: numpy's read_array_header refuses any other key set ("Header does not contain the correct keys").
  const keys = Object.keys(d as object).sort();
  if (keys.length !== 3 || keys[0] !== 'descr' || keys[1] !== 'fortran_order' || keys[2] !== 'shape') {
    const got = keys.map((k) => `'${k}'`).join(', ') || 'none';
    fail(`header keys must be exactly 'descr', 'fortran_order' and 'shape', got ${got}`);
  }
  const { descr, fortran_order: fo, shape } = d as Record<string, PyLit>;
  if (typeof descr !== 'string') fail(`unhandled dtype ${JSON.stringify(descr)} (structured dtypes are not supported)`);
  const m = /^([<>|=])([a-z]\d+)$/.exec(descr as string);
  const elem = m ? NUMPY_KIND[m[2]] : undefined;
  if (!elem) fail(`unhandled dtype '${descr}' (supported: float16/32/64, int8-64, uint8-64, bool)`);
  if (fo !== false)
    fail(
      fo === true
        ? 'Fortran-order arrays are not supported (save with np.ascontiguousarray)'
        : 'fortran_order is not a bool',
    );
  const dataStart = start + hlen;
  checkedNumel(shape, src.size - dataStart, { file: src.name, tensor: 'array' });
  return {
    elem: elem!,
    bigEndian: m![1] === '>',
    shape: (shape as number[]).slice(),
    dataStart,
    descr: descr as string,
  };
}

export interface NpyReadOptions {
  keepHalf?: boolean;
  /** Keep float16, int8, uint8 and int64 arrays in those dtypes (raw.ts). */
  keepDtypes?: boolean;
}

function npyArgs(src: ByteSource, opts: NpyReadOptions): [Parameters<typeof decodeElems>, number[]] {
  const h = parseNpyHeader(src);
  let n = 1;
  for (const d of h.shape) n *= d;
  const need = n * ELEM_SIZE[h.elem];
  if (src.size - h.dataStart < need) {
    throw new CheckpointError(
      src.name,
      `npy: shape [${h.shape.join(', ')}] of ${h.descr} needs ${need} bytes of data, the file has ` +
        `${src.size - h.dataStart}`,
    );
  }
  return [
    [
      src,
      h.dataStart,
      n,
      h.elem,
      { file: src.name, tensor: 'array' },
      { keepHalf: opts.keepHalf, keepDtypes: opts.keepDtypes, bigEndian: h.bigEndian },
    ],
    h.shape,
  ];
}

export function readNpy(src: ByteSource, opts: NpyReadOptions = {}): RawRecord {
  const [args, shape] = npyArgs(src, opts);
  const r = Object.assign(decodeElems(...args), { shape });
  src.finish?.();
  return r;
}

/** readNpy with a non-blocking read of the data. */
export async function readNpyAsync(src: ByteSource, opts: NpyReadOptions = {}): Promise<RawRecord> {
  const [args, shape] = npyArgs(src, opts);
  const r = Object.assign(await decodeElemsAsync(...args), { shape });
  src.finish?.();
  return r;
}

export function parseNpy(buf: Uint8Array, opts: NpyReadOptions = {}, name = '<buffer>'): RawRecord {
  return readNpy(new BufferSource(buf, name), opts);
}

export function readNpyFile(path: string, opts: NpyReadOptions = {}): RawRecord {
  return withFile(path, (src) => readNpy(src, opts));
}

/** Every <name>.npy member of an .npz, keyed by name without '.npy'. */
export function readNpz(src: ByteSource, opts: NpyReadOptions = {}): Record<string, RawRecord> {
  const out: Record<string, RawRecord> = {};
  for (const [name, m] of npzMembers(src)) setOwn(out, name, readNpy(m, opts));
  return out;
}

export async function readNpzAsync(src: ByteSource, opts: NpyReadOptions = {}): Promise<Record<string, RawRecord>> {
  const out: Record<string, RawRecord> = {};
  for (const [name, m] of npzMembers(src)) setOwn(out, name, await readNpyAsync(m, opts));
  return out;
}

function* npzMembers(src: ByteSource): Generator<[string, ByteSource]> {
  const zip = new ZipReader(src);
  for (const e of zip.entries) if (e.name.endsWith('.npy')) yield [e.name.slice(0, -4), zip.open(e)];
}

function setOwn<T>(o: Record<string, T>, k: string, v: T): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

export function parseNpz(buf: Uint8Array, opts: NpyReadOptions = {}, name = '<buffer>'): Record<string, RawRecord> {
  return readNpz(new BufferSource(buf, name), opts);
}

export function readNpzFile(path: string, opts: NpyReadOptions = {}): Record<string, RawRecord> {
  return withFile(path, (src) => readNpz(src, opts));
}

export function readNpyFileAsync(path: string, opts: NpyReadOptions = {}): Promise<RawRecord> {
  return withFileAsync(path, (src) => readNpyAsync(src, opts));
}

export function readNpzFileAsync(path: string, opts: NpyReadOptions = {}): Promise<Record<string, RawRecord>> {
  return withFileAsync(path, (src) => readNpzAsync(src, opts));
}

/** Header bytes of an .npy (version 1.0, or 2.0 when the header is too long for a u16). */
export function npyHeader(elem: ElemType, shape: readonly number[]): Uint8Array {
  const descr = DESCR[elem];
  if (!descr) throw new Error(`saveNpy: numpy has no dtype for ${elem}`);
  const tup = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tup}, }`;
  const v2 = dict.length + 11 > 65535;
  const pre = v2 ? 12 : 10;
  dict += ' '.repeat((64 - ((pre + dict.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(pre + dict.length);
  out.set(MAGIC);
  out[6] = v2 ? 2 : 1;
  const dv = new DataView(out.buffer);
  if (v2) dv.setUint32(8, dict.length, true);
  else dv.setUint16(8, dict.length, true);
  for (let k = 0; k < dict.length; k++) out[pre + k] = dict.charCodeAt(k);
  return out;
}

/** Header + data of an .npy (the data is a view of the storage when no conversion is needed). */
export function npyParts(t: WritableTensor, name = 'array'): Uint8Array[] {
  const e = t.as ?? defaultElem(t);
  let n = 1;
  for (const d of t.shape) n *= d;
  if (n !== t.data.length)
    throw new Error(`saveNpy: '${name}' has shape [${t.shape.join(', ')}] but ${t.data.length} elements`);
  return [npyHeader(e, t.shape), encodeElems(t, e, name)];
}

export function serializeNpy(t: WritableTensor): Uint8Array {
  return Buffer.concat(npyParts(t));
}

export function writeNpyFile(path: string, t: WritableTensor): void {
  writeAtomic(path, npyParts(t));
}

export interface NpzWriteOptions {
  /** Deflate each member (np.savez_compressed); default stored (np.savez). */
  compress?: boolean;
}

export function* npzChunks(arrays: Record<string, WritableTensor>, opts: NpzWriteOptions = {}): Generator<Uint8Array> {
  function* members(): Generator<ZipMemberInput> {
    for (const [k, t] of Object.entries(arrays))
      yield { name: `${k}.npy`, data: npyParts(t, k), deflate: opts.compress };
  }
  yield* zipChunks(members());
}

export function serializeNpz(arrays: Record<string, WritableTensor>, opts: NpzWriteOptions = {}): Uint8Array {
  return Buffer.concat([...npzChunks(arrays, opts)]);
}

export function writeNpzFile(path: string, arrays: Record<string, WritableTensor>, opts: NpzWriteOptions = {}): void {
  writeAtomic(path, npzChunks(arrays, opts));
}
