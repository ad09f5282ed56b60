// Layer 2: checkpoints as Tensors. Wraps the layer-1 readers and writers (raw records, storages
// and views) around the Tensor class; storages are never copied on load, and tensors that share a
// storage in a torch file share one Storage here, so views stay views.
import { Tensor, Storage } from '../tensor/tensor.js';
import { Layout } from '../tensor/layout.js';
import type { TypedArray } from '../tensor/dtype.js';
import { BufferSource, CheckpointError, withFileAsync, type ByteSource } from './source.js';
import { fetchBytes, inputName, isUrlString, type ByteInput } from './fetch.js';
import { IS_NODE } from '../platform/node.js';
import type { ElemType, RawHalfTensor, RawRecord, WritableTensor } from './raw.js';
import {
  readSafetensors,
  readSafetensorsAsync,
  writeSafetensorsFile,
  type SafetensorsReadOptions,
} from './safetensors.js';
import { readNpyAsync, readNpzAsync, writeNpyFile, writeNpzFile, type NpzWriteOptions } from './npy.js';
import { NumpyArrayRef } from './numpy_pickle.js';
import {
  type TorchStorage,
  TorchTensorRef,
  readTorchAsync,
  writeTorchFile,
  type StorageOut,
  type TensorOut,
  type TorchReadOptions,
} from './torch.js';

/** A record as a Tensor; with rawHalf (the keepHalf option) half records stay raw bits, as before float16 tensors. */
function toTensor(r: RawRecord, rawHalf = false): Tensor | RawHalfTensor {
  if (rawHalf && (r.dtype === 'float16' || r.dtype === 'bfloat16')) return r as RawHalfTensor;
  return new Tensor(new Storage(r.data as TypedArray), Layout.contiguous(r.shape), r.dtype);
}

/**
 * How the Tensor loaders treat the dtypes nabla gained (float16, bfloat16, int8, uint8, int64): by default
 * every tensor keeps the dtype it was stored in, as torch.load and safetensors do.
 */
export interface WidenOptions {
  /**
   * Widen on load, as nabla did before it had these dtypes: F16/BF16 -> float32, I8/U8 -> int32,
   * I64 -> int32 (refusing values beyond int32).
   */
  widen?: boolean;
}

/** The layer-1 decode flags for a Tensor loader's options. */
function keepFlags(opts: WidenOptions & { keepHalf?: boolean }): { keepDtypes: boolean } {
  return { keepDtypes: !opts.widen && !opts.keepHalf };
}

/** Contiguous storage of a tensor as a writer input (a view of the storage when possible). */
function writable(t: Tensor | RawHalfTensor, as?: ElemType): WritableTensor {
  if (!(t instanceof Tensor)) return { shape: t.shape, data: t.data, dtype: t.dtype, as };
  const n = t.numel();
  const data = t.isContiguous() ? t.storage.data.subarray(t.layout.offset, t.layout.offset + n) : t.toTypedArray();
  return { shape: t.shape, data, dtype: t.dtype, as };
}

function checkTensors(tensors: unknown, op: string): Record<string, Tensor | RawHalfTensor> {
  if (typeof tensors !== 'object' || tensors === null || tensors instanceof Tensor || Array.isArray(tensors)) {
    throw new Error(
      `${op}: expected a Record<string, Tensor>, got ${tensors instanceof Tensor ? 'a Tensor' : typeof tensors}`,
    );
  }
  for (const [k, v] of Object.entries(tensors)) {
    const half =
      typeof v === 'object' &&
      v !== null &&
      (v.dtype === 'float16' || v.dtype === 'bfloat16') &&
      v.data instanceof Uint16Array;
    if (!(v instanceof Tensor) && !half) throw new Error(`${op}: value '${k}' is not a Tensor`);
  }
  return tensors as Record<string, Tensor | RawHalfTensor>;
}

export interface LoadSafetensorsOptions extends Omit<SafetensorsReadOptions, 'keepDtypes'>, WidenOptions {}

/**
 * Runs `fn` on the bytes of `input`: a path in Node is read by position from disk (only what `fn`
 * asks for), anything else (a URL, Response, Blob, bytes) is read into memory first (fetchBytes).
 */
async function withInput<T>(input: ByteInput, fn: (src: ByteSource) => Promise<T>): Promise<T> {
  if (typeof input === 'string' && IS_NODE && !isUrlString(input)) return withFileAsync(input, fn);
  const bytes = await fetchBytes(input);
  // NOTE: fetched bytes belong to us alone, so tensors may be views of them; the caller's bytes may not.
  const owned = !(input instanceof ArrayBuffer || ArrayBuffer.isView(input));
  return fn(new BufferSource(bytes, inputName(input), owned));
}

/**
 * Loads a .safetensors file, reading only the header and the selected tensors by position. `path`
 * may also be a URL, a fetch Response, a Blob or the bytes (in Node and in the browser).
 * @example const sd = await nb.io.loadSafetensors('model.safetensors', { names: ['fc.weight'] })
 */
export async function loadSafetensors(
  path: ByteInput,
  opts: LoadSafetensorsOptions & { keepHalf: true },
): Promise<Record<string, Tensor | RawHalfTensor>>;
export async function loadSafetensors(path: ByteInput, opts?: LoadSafetensorsOptions): Promise<Record<string, Tensor>>;
export async function loadSafetensors(
  path: ByteInput,
  opts: LoadSafetensorsOptions = {},
): Promise<Record<string, Tensor | RawHalfTensor>> {
  const read = { ...opts, ...keepFlags(opts) };
  return mapValues((await withInput(path, (src) => readSafetensorsAsync(src, read))).tensors, (r) =>
    toTensor(r, !!opts.keepHalf),
  );
}

/** The `__metadata__` of a .safetensors file (reads only the header). */
export async function loadSafetensorsMetadata(path: ByteInput): Promise<Record<string, string>> {
  return (await withInput(path, async (src) => readSafetensors(src, { names: [] }))).metadata;
}

export interface SaveOptions {
  /** Stored element type per tensor name, e.g. { 'fc.weight': 'F16' } (default from the dtype). */
  dtypes?: Record<string, ElemType>;
}

/** Writes tensors to a .safetensors file atomically. */
export async function saveSafetensors(
  tensors: Record<string, Tensor | RawHalfTensor>,
  path: string,
  metadata?: Record<string, string>,
  opts: SaveOptions = {},
): Promise<void> {
  const t = checkTensors(tensors, 'saveSafetensors');
  writeSafetensorsFile(
    path,
    mapValues(t, (v, k) => writable(v, opts.dtypes?.[k])),
    metadata,
  );
}

/**
 * Loads a torch.save file (zip or legacy). Tensors become Tensors; those sharing a storage in
 * the file share one Storage. Dicts are plain objects, lists and tuples arrays.
 * @example model.loadStateDict(await nb.io.loadTorch('resnet18.pth'))
 */
export async function loadTorch(
  path: ByteInput,
  opts: Omit<TorchReadOptions, 'keepDtypes'> & WidenOptions = {},
  // biome-ignore lint/suspicious/noExplicitAny: a checkpoint holds any pickled structure; callers index it freely
): Promise<any> {
  const read = { ...opts, ...keepFlags(opts) };
  return withInput(path, async (src) => torchToTensors(await readTorchAsync(src, read), src.name, !!opts.keepHalf));
}

/** Replaces every TorchTensorRef (and numpy array) in an unpickled tree by a Tensor, in place (iteratively: no
 * recursion). */
export function torchToTensors(tree: unknown, file = '<checkpoint>', rawHalf = true): unknown {
  const storages = new Map<TorchStorage, Storage>();
  const conv = (r: TorchTensorRef): Tensor | RawHalfTensor => {
    const s = r.storage;
    if (rawHalf && (s.dtype === 'float16' || s.dtype === 'bfloat16')) {
      // keepHalf: half bits cannot be a Tensor; hand back the contiguous bits of the view.
      const n = r.shape.reduce((a, b) => a * b, 1);
      // NOTE: a view reads each element of its storage at most once unless it overlaps itself
      // (stride 0, expand): such a view would be materialised from data the file does not hold,
      // e.g. 4 GB from a 486-byte file. Without keepHalf it stays a view and costs nothing.
      if (n > s.numel) {
        throw new CheckpointError(
          file,
          `torch: keepHalf: tensor of shape [${r.shape.join(', ')}] ` +
            `(strides [${r.strides.join(', ')}]) has ${n} elements but its storage '${s.key}' only ${s.numel}; ` +
            'an overlapping (expanded) half view cannot be returned as raw bits: load without keepHalf',
        );
      }
      const data = new Uint16Array(n);
      gatherStrided(s.data as Uint16Array, r, data);
      return { dtype: s.dtype, shape: r.shape, data, sourceDtype: s.elem as 'F16' | 'BF16' };
    }
    let st = storages.get(s);
    if (!st) {
      st = new Storage(s.data as TypedArray);
      storages.set(s, st);
    }
    const t = new Tensor(st, new Layout(r.shape, r.strides, r.offset), s.dtype);
    if (r.isParameter && r.requiresGrad && t.isFloatingPoint()) t.requiresGrad = true;
    return t;
  };
  if (tree instanceof TorchTensorRef) return conv(tree);
  if (tree instanceof NumpyArrayRef && tree.record) return toTensor(tree.record, rawHalf);
  const seen = new Set<object>();
  const work: object[] = [];
  if (typeof tree === 'object' && tree !== null) work.push(tree);
  while (work.length) {
    const o = work.pop()!;
    if (seen.has(o)) continue;
    seen.add(o);
    if (o instanceof Set || ArrayBuffer.isView(o)) continue;
    const visit = (rec: Record<string | number, unknown>, k: string | number): void => {
      const v = rec[k];
      if (v instanceof TorchTensorRef) rec[k] = conv(v);
      else if (v instanceof NumpyArrayRef && v.record) rec[k] = toTensor(v.record, rawHalf);
      // NOTE: empty containers hold nothing to convert; skipping them keeps millions of [] cheap.
      else if (typeof v === 'object' && v !== null && !(Array.isArray(v) && v.length === 0)) work.push(v);
    };
    if (Array.isArray(o)) for (let i = 0; i < o.length; i++) visit(o as unknown as Record<number, unknown>, i);
    else for (const k of Object.keys(o)) visit(o as Record<string, unknown>, k);
  }
  return tree;
}

function gatherStrided(src: Uint16Array, r: TorchTensorRef, out: Uint16Array): void {
  const nd = r.shape.length,
    idx = new Array<number>(nd).fill(0);
  let contiguous = true;
  for (let d = nd - 1, step = 1; d >= 0; step *= r.shape[d], d--) {
    if (r.shape[d] !== 1 && r.strides[d] !== step) contiguous = false;
  }
  if (contiguous) {
    out.set(src.subarray(r.offset, r.offset + out.length));
    return;
  }
  for (let i = 0; i < out.length; i++) {
    let p = r.offset;
    for (let d = 0; d < nd; d++) p += idx[d] * r.strides[d];
    out[i] = src[p];
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < r.shape[d]) break;
      idx[d] = 0;
    }
  }
}

/**
 * Writes a torch.save-compatible zip (loads with torch.load). Tensors sharing a Storage are
 * written once and reloaded as views of one storage in PyTorch too.
 */
export async function saveTorch(obj: unknown, path: string): Promise<void> {
  const outs = new Map<Storage, StorageOut>();
  writeTorchFile(path, obj, (x): TensorOut | undefined => {
    if (!(x instanceof Tensor)) return undefined;
    let s = outs.get(x.storage);
    if (!s) {
      s = { data: x.storage.data, dtype: x.dtype };
      outs.set(x.storage, s);
    }
    return { storage: s, offset: x.layout.offset, shape: x.shape, strides: x.layout.strides };
  });
}

export async function loadNpy(path: ByteInput, opts: WidenOptions = {}): Promise<Tensor> {
  return toTensor(await withInput(path, (src) => readNpyAsync(src, keepFlags(opts)))) as Tensor;
}

export async function saveNpy(t: Tensor, path: string, opts: { as?: ElemType } = {}): Promise<void> {
  if (!(t instanceof Tensor)) throw new Error('saveNpy: expected a Tensor');
  writeNpyFile(path, writable(t, opts.as));
}

export async function loadNpz(path: ByteInput, opts: WidenOptions = {}): Promise<Record<string, Tensor>> {
  return mapValues(await withInput(path, (src) => readNpzAsync(src, keepFlags(opts))), (r) => toTensor(r) as Tensor);
}

export async function saveNpz(arrays: Record<string, Tensor>, path: string, opts: NpzWriteOptions = {}): Promise<void> {
  writeNpzFile(
    path,
    mapValues(checkTensors(arrays, 'saveNpz'), (v) => writable(v)),
    opts,
  );
}

type Format = 'safetensors' | 'torch' | 'npy' | 'npz';

function formatOf(path: string): Format | undefined {
  const ext = path.toLowerCase().split('.').pop();
  if (ext === 'safetensors') return 'safetensors';
  if (ext === 'pt' || ext === 'pth' || ext === 'bin' || ext === 'ckpt' || ext === 'tar') return 'torch';
  if (ext === 'npy') return 'npy';
  if (ext === 'npz') return 'npz';
  return undefined;
}

/**
 * Guesses the format of a file with an unknown extension from its first bytes; a file that matches
 * none gets an error naming the formats tried (not the parse error of whichever reader went last).
 */
function sniff(path: string, src: ByteSource): Format {
  {
    const b = src.read(0, Math.min(24, src.size));
    if (b[0] === 0x93 && b[1] === 0x4e) return 'npy';
    if (b[0] === 0x50 && b[1] === 0x4b) return 'torch';
    if (b[0] === 0x80) return 'torch';
    // safetensors: a little-endian u64 header length that fits in the file, then a JSON object
    if (b.length > 8) {
      const n = (b[0] | (b[1] << 8) | (b[2] << 16)) + b[3] * 2 ** 24 + (b[4] | (b[5] << 8) | (b[6] << 16)) * 2 ** 32;
      let i = 8;
      while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
      if (b[7] === 0 && n > 0 && 8 + n <= src.size && b[i] === 0x7b) return 'safetensors';
    }
    const head = Array.from(b.subarray(0, 8), (v) => v.toString(16).padStart(2, '0')).join(' ');
    const first = head || 'none, the file is empty';
    throw new CheckpointError(
      path,
      `not a recognised checkpoint format (first bytes: ${first}). ` +
        "Tried safetensors (an 8-byte header length, then a JSON header '{'), PyTorch zip (torch.save, 'PK'), " +
        "PyTorch legacy pickle (0x80), NumPy .npy ('\\x93NUMPY') and .npz (zip); " +
        'name the file .safetensors, .pt/.pth/.bin, .npy or .npz to pick a reader',
    );
  }
}

/**
 * Loads a checkpoint, choosing the format by extension: .safetensors, .pt/.pth/.bin/.ckpt
 * (torch.save), .npy, .npz; other extensions are recognised by content.
 * @example model.loadStateDict(await nb.load('model.safetensors'))
 */
// biome-ignore lint/suspicious/noExplicitAny: a checkpoint holds any pickled structure; callers index it freely
export async function load(path: ByteInput, opts: WidenOptions = {}): Promise<any> {
  const name = inputName(path);
  // NOTE: a URL's query (?download=true) is not part of its file name.
  const known = formatOf(isUrlString(name) ? name.replace(/[?#].*$/, '') : name);
  if (typeof path === 'string' && IS_NODE && !isUrlString(path)) {
    return withFileAsync(path, (src) => loadSource(known ?? sniff(path, src), src, opts));
  }
  // Anything else is read once; the format comes from its name when that has an extension, else from the bytes.
  const bytes = await fetchBytes(path);
  const src = new BufferSource(bytes, name, !(path instanceof ArrayBuffer || ArrayBuffer.isView(path)));
  return loadSource(known ?? sniff(name, src), src, opts);
}

// biome-ignore lint/suspicious/noExplicitAny: as load
async function loadSource(f: Format, src: ByteSource, opts: WidenOptions): Promise<any> {
  const k = keepFlags(opts);
  if (f === 'safetensors') return mapValues((await readSafetensorsAsync(src, k)).tensors, (r) => toTensor(r));
  if (f === 'torch') return torchToTensors(await readTorchAsync(src, k), src.name, false);
  if (f === 'npy') return toTensor(await readNpyAsync(src, k));
  return mapValues(await readNpzAsync(src, k), (r) => toTensor(r) as Tensor);
}

/**
 * Saves atomically, choosing the format by extension (.safetensors, .pt/.pth/.bin, .npy, .npz).
 * @example await nb.save(model.stateDict(), 'model.safetensors')
 */
export async function save(obj: unknown, path: string): Promise<void> {
  const f = formatOf(path);
  if (!f) throw new Error(`save(${path}): unknown extension (use .safetensors, .pt, .pth, .bin, .npy or .npz)`);
  if (f === 'safetensors') return saveSafetensors(obj as Record<string, Tensor>, path);
  if (f === 'torch') return saveTorch(obj, path);
  if (f === 'npy') return saveNpy(obj as Tensor, path);
  return saveNpz(obj as Record<string, Tensor>, path);
}

function mapValues<A, B>(o: Record<string, A>, f: (v: A, k: string) => B): Record<string, B> {
  const out: Record<string, B> = {};
  for (const [k, v] of Object.entries(o))
    Object.defineProperty(out, k, { value: f(v, k), enumerable: true, writable: true, configurable: true });
  return out;
}

export { CheckpointError };
