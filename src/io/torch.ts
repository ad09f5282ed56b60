// PyTorch checkpoints (torch.save), read without Python and without executing anything.
//  - zip format (PyTorch >= 1.6): <prefix>/data.pkl is a pickle whose tensors point, by persistent
//    id ('storage', torch.FloatStorage, key, location, numel), at raw records <prefix>/data/<key>;
//    <prefix>/byteorder says 'little' or 'big' (absent = little).
//  - legacy format: pickles of the magic number, protocol version and sys_info, then the main
//    pickle, then a pickle of the storage keys, then for each key an int64 element count and the
//    raw bytes.
// Tensors come back as TorchTensorRef (storage + offset + shape + strides): tensors that share a
// storage share the TorchStorage object, so views stay views.
import type { DType, TypedArray } from '../tensor/dtype.js';
import { BufferSource, CheckpointError, repr, withFile, type ByteSource } from './source.js';
import {
  ELEM_SIZE,
  decodeElems,
  decodeElemsAsync,
  defaultElem,
  encodeElems,
  type ElemType,
  type RawRecord,
} from './raw.js';
import { unpickleAt, type PyCallable, type UnpickleLimits } from './pickle.js';
import { ZipReader, zipChunks, type ZipMemberInput } from './zip.js';
import { writeAtomic } from './atomic.js';
import { PickleWriter } from './pickle_write.js';
import { numpyGlobals } from './numpy_pickle.js';
import { Buffer } from '../platform/node.js';

export const STORAGE_ELEMS: Readonly<Record<string, ElemType>> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};
const ELEM_STORAGE: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(STORAGE_ELEMS).map(([k, v]) => [v, k]),
);

/** One storage: decoded into nabla storage (half types widened unless keepHalf). */
export class TorchStorage {
  data: TypedArray | Uint16Array | null = null;
  dtype: DType | 'float16' | 'bfloat16' = 'float32';
  constructor(
    readonly key: string,
    readonly elem: ElemType,
    readonly numel: number,
  ) {}
}

/** A tensor in a torch checkpoint: a view (offset, shape, strides, in elements) of a storage. */
export class TorchTensorRef {
  constructor(
    readonly storage: TorchStorage,
    readonly offset: number,
    readonly shape: number[],
    readonly strides: number[],
    readonly requiresGrad = false,
    readonly isParameter = false,
  ) {}
}

export interface TorchReadOptions {
  keepHalf?: boolean;
  /** Keep HalfStorage, BFloat16Storage, CharStorage, ByteStorage and LongStorage as float16, bfloat16, int8, uint8, int64. */
  keepDtypes?: boolean;
  /** The unpickler's budgets (UNPICKLE_LIMITS by default). */
  limits?: Partial<UnpickleLimits>;
}

const ZIP_MAGIC = 0x04034b50;

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** The allowed globals of a checkpoint: tensor rebuilders, storage classes, numpy scalars and arrays. */
function torchGlobals(file: string): Record<string, PyCallable> {
  const bad = (m: string): never => {
    throw new CheckpointError(file, m);
  };
  const rebuild = (args: unknown[]): TorchTensorRef => {
    const [storage, offset, size, stride, requiresGrad] = args;
    if (!(storage instanceof TorchStorage)) bad('torch: _rebuild_tensor: first argument is not a storage');
    const st = storage as TorchStorage;
    if (!isInt(offset)) bad(`torch: _rebuild_tensor: bad storage offset ${repr(offset)}`);
    if (
      !Array.isArray(size) ||
      !Array.isArray(stride) ||
      size.length !== stride.length ||
      !size.every(isInt) ||
      !stride.every(isInt)
    ) {
      bad('torch: _rebuild_tensor: size and stride must be tuples of non-negative integers of equal length');
    }
    const shape = size as number[],
      strides = stride as number[];
    let extent = offset as number,
      empty = false;
    for (let i = 0; i < shape.length; i++) {
      if (shape[i] === 0) empty = true;
      extent += (shape[i] - 1) * strides[i];
    }
    if (!empty && !(extent < st.numel)) {
      bad(
        `torch: tensor view (offset ${offset}, size [${shape.join(', ')}], stride [${strides.join(', ')}]) reaches ` +
          `element ${extent} of storage '${st.key}' with ${st.numel} elements`,
      );
    }
    return new TorchTensorRef(st, offset as number, shape.slice(), strides.slice(), requiresGrad === true);
  };
  const parameter = (args: unknown[]): TorchTensorRef => {
    const [t, requiresGrad] = args;
    if (!(t instanceof TorchTensorRef)) bad('torch: _rebuild_parameter: data is not a tensor');
    const r = t as TorchTensorRef;
    return new TorchTensorRef(r.storage, r.offset, r.shape, r.strides, requiresGrad !== false, true);
  };
  const g: Record<string, PyCallable> = {
    ...numpyGlobals(file),
    'torch._utils._rebuild_tensor_v2': rebuild,
    'torch._utils._rebuild_tensor': rebuild,
    'torch._utils._rebuild_parameter': parameter,
    'torch._utils._rebuild_parameter_with_state': parameter,
  };
  for (const name of Object.keys(STORAGE_ELEMS))
    g[`torch.${name}`] = () => bad(`torch: refusing to construct torch.${name} directly`);
  return g;
}

/** Validates a persistent id and returns the storage it names (one object per key). */
function storageResolver(
  file: string,
  limitBytes: number,
  storages: Map<string, TorchStorage>,
  onNew: (s: TorchStorage) => void,
) {
  return (pid: unknown): TorchStorage => {
    const bad = (m: string): never => {
      throw new CheckpointError(file, `torch: persistent id ${m}`);
    };
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5)
      bad("is not a ('storage', type, key, location, numel) tuple");
    const [, type, key, , numel, view] = pid as unknown[];
    const q = (type as { qualname?: unknown })?.qualname;
    const cls = typeof q === 'string' && q.startsWith('torch.') ? q.slice(6) : '';
    const elem = Object.hasOwn(STORAGE_ELEMS, cls) ? STORAGE_ELEMS[cls] : undefined;
    if (!elem) bad(`names an unknown storage type ${typeof q === 'string' ? `'${q}'` : ''}`);
    if (typeof key !== 'string') bad('has a non-string key');
    if (!isInt(numel) || numel * ELEM_SIZE[elem!] > limitBytes)
      bad(`for storage '${key}': ${repr(numel)} elements do not fit in the file`);
    if (view !== undefined && view !== null) bad(`for storage '${key}': legacy storage views are not supported`);
    let s = storages.get(key as string);
    if (s) {
      if (s.elem !== elem || s.numel !== numel) bad(`for storage '${key}' disagrees with an earlier one`);
      return s;
    }
    s = new TorchStorage(key as string, elem!, numel as number);
    storages.set(s.key, s);
    onNew(s);
    return s;
  };
}

/** A storage whose bytes are still to be read: `src` at `pos`. */
interface PendingFill {
  storage: TorchStorage;
  src: ByteSource;
  pos: number;
  bigEndian: boolean;
}

/** The unpickled tree plus the storage reads it needs (done after unpickling, sync or async). */
interface TorchParse {
  value: unknown;
  fills: PendingFill[];
}

const fillArgs = (f: PendingFill, opts: TorchReadOptions): Parameters<typeof decodeElems> => [
  f.src,
  f.pos,
  f.storage.numel,
  f.storage.elem,
  { file: f.src.name, tensor: `storage ${f.storage.key}` },
  { keepHalf: opts.keepHalf, keepDtypes: opts.keepDtypes, bigEndian: f.bigEndian },
];

function setData(s: TorchStorage, r: RawRecord): void {
  s.data = r.data;
  s.dtype = r.dtype;
}

/** Parses a torch.save zip archive; storage data is left to the caller's fills. */
function parseTorchZip(src: ByteSource, limits?: Partial<UnpickleLimits>): TorchParse {
  const file = src.name;
  const zip = new ZipReader(src);
  const pkl = zip.entries.find((e) => e.name === 'data.pkl' || /^[^/]*\/data\.pkl$/.test(e.name));
  if (!pkl) throw new CheckpointError(file, 'torch: zip archive has no data.pkl (not a torch.save file)');
  const prefix = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
  const bo = zip.get(`${prefix}byteorder`);
  let bigEndian = false;
  if (bo) {
    const s = new TextDecoder().decode(zip.readAll(bo)).trim();
    if (s !== 'little' && s !== 'big') throw new CheckpointError(file, `torch: unknown byteorder '${s.slice(0, 20)}'`);
    bigEndian = s === 'big';
  }
  const storages = new Map<string, TorchStorage>();
  const fills: PendingFill[] = [];
  const persistentLoad = storageResolver(file, src.size, storages, (s) => {
    const e = zip.get(`${prefix}data/${s.key}`);
    if (!e) throw new CheckpointError(file, `torch: storage '${s.key}' has no record ${prefix}data/${s.key}`);
    const rec = zip.open(e);
    if (rec.size < s.numel * ELEM_SIZE[s.elem]) {
      throw new CheckpointError(
        file,
        `torch: record ${e.name} holds ${rec.size} bytes, storage '${s.key}' needs ${s.numel * ELEM_SIZE[s.elem]}`,
      );
    }
    fills.push({ storage: s, src: rec, pos: 0, bigEndian });
  });
  return {
    value: unpickleAt(zip.readAll(pkl), 0, { file, globals: torchGlobals(file), persistentLoad, limits }).value,
    fills,
  };
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** Parses a legacy (pre-1.6, or _use_new_zipfile_serialization=False) torch.save file. */
function parseTorchLegacy(src: ByteSource, limits?: Partial<UnpickleLimits>): TorchParse {
  // The pickles' total length is unknown up front: read a prefix, doubling while it is too short.
  for (let len = Math.min(src.size, 1 << 20); ; len = Math.min(src.size, len * 2)) {
    try {
      return parseLegacyFrom(src, src.read(0, len, 'pickles'), limits);
    } catch (e) {
      if (!(e instanceof CheckpointError && e.truncated) || len >= src.size) throw e;
    }
  }
}

function parseLegacyFrom(src: ByteSource, head: Uint8Array, limits?: Partial<UnpickleLimits>): TorchParse {
  const file = src.name;
  const bad = (m: string): never => {
    throw new CheckpointError(file, `torch legacy: ${m}`);
  };
  let at = 0;
  const next = (o: Parameters<typeof unpickleAt>[2] = { file, limits }) => {
    const r = unpickleAt(head, at, o);
    at = r.end;
    return r.value;
  };
  const magic = next();
  if (magic !== LEGACY_MAGIC) bad('bad magic number (not a torch.save file)'); // > 2^53: always a bigint
  const proto = next();
  if (proto !== 1001) bad(`unsupported protocol version ${repr(proto)}`);
  const sys = next() as Record<string, unknown> | null;
  const bigEndian = typeof sys === 'object' && sys !== null && sys.little_endian === false;
  const storages = new Map<string, TorchStorage>();
  const value = next({
    file,
    limits,
    globals: torchGlobals(file),
    persistentLoad: storageResolver(file, src.size, storages, () => {}),
  });
  const keys = next();
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))
    bad('storage key list is not a list of strings');
  let pos = at;
  const fills: PendingFill[] = [];
  const filled = new Set<TorchStorage>();
  for (const k of keys as string[]) {
    const s = storages.get(k) ?? bad(`storage key '${k}' was never referenced`);
    const cnt = src.read(pos, 8, `size of storage '${k}'`);
    const v = new DataView(cnt.buffer, cnt.byteOffset, 8);
    const n = bigEndian ? v.getBigInt64(0, false) : v.getBigInt64(0, true);
    if (n !== BigInt(s.numel)) bad(`storage '${k}' records ${n} elements, its tensors say ${s.numel}`);
    pos += 8;
    if (filled.has(s)) bad(`storage key '${k}' appears twice`);
    filled.add(s);
    fills.push({ storage: s, src, pos, bigEndian });
    pos += s.numel * ELEM_SIZE[s.elem];
    if (pos > src.size) bad(`storage '${k}' runs past the end of the file`);
  }
  for (const s of storages.values()) if (!filled.has(s)) bad(`storage '${s.key}' has no data`);
  return { value, fills };
}

/** Either torch format, sniffed from the first bytes. */
function parseTorchAny(src: ByteSource, limits?: Partial<UnpickleLimits>): TorchParse {
  const head = src.read(0, Math.min(4, src.size));
  if (head.length === 4 && new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true) === ZIP_MAGIC)
    return parseTorchZip(src, limits);
  if (head.length >= 1 && head[0] === 0x80) return parseTorchLegacy(src, limits);
  throw new CheckpointError(src.name, 'torch: neither a zip archive nor a legacy pickle (not a torch.save file?)');
}

/** Reads a torch.save file (zip or legacy): the unpickled tree with TorchTensorRef leaves. */
export function readTorch(src: ByteSource, opts: TorchReadOptions = {}): unknown {
  const p = parseTorchAny(src, opts.limits);
  for (const f of p.fills) {
    setData(f.storage, decodeElems(...fillArgs(f, opts)));
    f.src.finish?.();
  }
  return p.value;
}

/** readTorch with non-blocking storage reads (the pickle and zip directory are read synchronously). */
export async function readTorchAsync(src: ByteSource, opts: TorchReadOptions = {}): Promise<unknown> {
  const p = parseTorchAny(src, opts.limits);
  for (const f of p.fills) {
    setData(f.storage, await decodeElemsAsync(...fillArgs(f, opts)));
    f.src.finish?.();
  }
  return p.value;
}

export function parseTorch(buf: Uint8Array, opts: TorchReadOptions = {}, name = '<buffer>'): unknown {
  return readTorch(new BufferSource(buf, name), opts);
}

export function readTorchFile(path: string, opts: TorchReadOptions = {}): unknown {
  return withFile(path, (src) => readTorch(src, opts));
}

// ---------------------------------------------------------------------------------------------
// Writing: a torch.save-compatible zip (archive/data.pkl, archive/data/<key>, archive/version).

/** A storage to write: its data and the element type (default from the array). */
export interface StorageOut {
  data: TypedArray | Uint16Array;
  dtype?: DType | 'float16' | 'bfloat16';
  as?: ElemType;
}

/** A tensor to write; tensors with the same `storage` object share one record. */
export interface TensorOut {
  storage: StorageOut;
  offset: number;
  shape: readonly number[];
  strides: readonly number[];
}

/** Zip chunks of a checkpoint; `toTensor` returns the storage view of a tensor leaf, else undefined. */
export function* torchChunks(obj: unknown, toTensor: (x: unknown) => TensorOut | undefined): Generator<Uint8Array> {
  const keys = new Map<StorageOut, string>();
  const w = new PickleWriter(
    (x) => toTensor(x) !== undefined,
    (w, x) => {
      const t = toTensor(x)!;
      let key = keys.get(t.storage);
      if (key === undefined) {
        key = String(keys.size);
        keys.set(t.storage, key);
      }
      const e = t.storage.as ?? defaultElem({ shape: [], data: t.storage.data, dtype: t.storage.dtype });
      const cls = ELEM_STORAGE[e];
      if (!cls) throw new Error(`save: torch has no storage type for ${e}`);
      w.tensor(key, cls, t.storage.data.length, t.offset, t.shape, t.strides);
    },
  );
  w.dump(obj);
  const pkl = w.bytes();
  // NOTE: data.pkl must come first: PyTorch takes the archive's folder name from the first entry.
  function* members(): Generator<ZipMemberInput> {
    yield { name: 'archive/data.pkl', data: [pkl] };
    for (const [s, key] of keys) {
      const e = s.as ?? defaultElem({ shape: [], data: s.data, dtype: s.dtype });
      yield {
        name: `archive/data/${key}`,
        data: [encodeElems({ shape: [s.data.length], data: s.data, dtype: s.dtype }, e, `storage ${key}`)],
      };
    }
    yield { name: 'archive/byteorder', data: [new TextEncoder().encode('little')] };
    yield { name: 'archive/version', data: [new TextEncoder().encode('3\n')] };
  }
  yield* zipChunks(members(), 64);
}

export function writeTorchFile(path: string, obj: unknown, toTensor: (x: unknown) => TensorOut | undefined): void {
  writeAtomic(path, torchChunks(obj, toTensor));
}

export function serializeTorch(obj: unknown, toTensor: (x: unknown) => TensorOut | undefined): Uint8Array {
  return Buffer.concat([...torchChunks(obj, toTensor)]);
}
