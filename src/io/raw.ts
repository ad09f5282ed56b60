// Layer 1 records: what every reader produces and every writer consumes, with no dependency on
// Tensor. Element types use safetensors' names ('F32', 'I64', ...) for every format; decodeElems
// turns stored bytes into nabla storage, reading in bounded chunks straight from the source. With
// keepDtypes each type keeps its dtype (F16 -> float16, BF16 -> bfloat16, I8 -> int8, U8 -> uint8,
// I64 -> int64 with the 2^53 range check of tensor/dtype.ts); without it (widening, as before those
// dtypes existed) F16/BF16 -> float32, I64 -> int32 with a range check, U8/I8 -> int32. I16, U16,
// U32 -> int32 and BOOL -> bool either way.
import type { DType, TypedArray } from '../tensor/dtype.js';
import { BufferSource, CheckpointError, repr, type ByteSource } from './source.js';
import { narrowHalf, widenHalf } from './half.js';

export type ElemType =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U8'
  | 'U16'
  | 'U32'
  | 'U64'
  | 'BOOL';

export const ELEM_SIZE: Readonly<Record<ElemType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  U16: 2,
  U32: 4,
  U64: 8,
  BOOL: 1,
};

export function isElemType(s: unknown): s is ElemType {
  return typeof s === 'string' && Object.hasOwn(ELEM_SIZE, s);
}

/** A contiguous row-major tensor in nabla storage. */
export interface RawTensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
  /** The element type in the file ('F16', 'I64', ...). */
  sourceDtype: ElemType;
}

/** With `keepHalf`: half or bfloat16 data kept as raw bits. */
export interface RawHalfTensor {
  dtype: 'float16' | 'bfloat16';
  shape: number[];
  data: Uint16Array;
  sourceDtype: 'F16' | 'BF16';
}

export type RawRecord = RawTensor | RawHalfTensor;

/** What a writer accepts: storage plus the element type to store it as (default from the storage). */
export interface WritableTensor {
  shape: readonly number[];
  data: TypedArray | Uint16Array;
  /** Half records carry 'float16'/'bfloat16' here; nabla dtypes otherwise. */
  dtype?: DType | 'float16' | 'bfloat16';
  /** Stored element type; the default follows `dtype`/the array (float32 -> F32, ...). */
  as?: ElemType;
}

export interface DecodeOptions {
  keepHalf?: boolean;
  /** Keep F16, BF16, I8, U8 and I64 as nabla's float16, bfloat16, int8, uint8 and int64 (no widening). */
  keepDtypes?: boolean;
  bigEndian?: boolean;
}

/** Human-readable context for errors: the file and the tensor. */
export interface Where {
  file: string;
  tensor: string;
}

/** Number of elements of `shape`, validated: non-negative safe integers, product below `limit`. */
export function checkedNumel(shape: unknown, limit: number, where: Where): number {
  if (!Array.isArray(shape)) throw new CheckpointError(where.file, `tensor '${where.tensor}': shape is not a list`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new CheckpointError(where.file, `tensor '${where.tensor}': bad dimension ${repr(d)} in shape`);
    }
  }
  if (shape.includes(0)) return 0; // empty: any other dims are fine, e.g. [100000, 0]
  let n = 1;
  for (const d of shape as number[]) {
    n *= d;
    if (n > limit) {
      throw new CheckpointError(
        where.file,
        `tensor '${where.tensor}': shape ${repr(shape)} needs more elements than the file holds`,
      );
    }
  }
  return n;
}

function nablaDType(e: ElemType, keep: boolean): DType {
  if (keep && e === 'I64') return 'int64';
  if (e === 'F32' || e === 'F16' || e === 'BF16') return 'float32';
  if (e === 'F64') return 'float64';
  if (e === 'BOOL') return 'bool';
  return 'int32';
}

const CHUNK = 1 << 20;

function swapInPlace(b: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= b.length; i += size) {
    for (let j = 0; j < size >> 1; j++) {
      const t = b[i + j];
      b[i + j] = b[i + size - 1 - j];
      b[i + size - 1 - j] = t;
    }
  }
}

function intOverflow(where: Where, e: ElemType, v: string, i: number, int64 = false): CheckpointError {
  const what = int64
    ? "nabla's int64 (integers of magnitude up to 2^53 - 1, kept exactly: see tensor/dtype.ts)"
    : "int32 (nabla's integer dtype when loading with widening)";
  return new CheckpointError(
    where.file,
    `tensor '${where.tensor}' (${e}) holds ${v} at flat index ${i}, which does not fit in ${what}`,
  );
}

/** One positioned read a decoder needs: fill `dest` from byte `pos`. */
export interface ReadRequest {
  pos: number;
  dest: Uint8Array;
  what: string;
}

/**
 * Decodes `n` elements of type `e` at `pos` into fresh nabla storage, as a generator that yields
 * the reads it needs (so one decoder serves sync and async sources). Direct types are read straight
 * into the destination buffer; converted types go through one 1 MiB chunk at a time.
 */
function* decodeSteps(
  size: number,
  pos: number,
  n: number,
  e: ElemType,
  where: Where,
  opts: DecodeOptions,
): Generator<ReadRequest, RawRecord, void> {
  const what = `tensor '${where.tensor}'`;
  function* direct<A extends TypedArray | Uint16Array>(arr: A): Generator<ReadRequest, A, void> {
    const b = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
    yield { pos, dest: b, what };
    if (opts.bigEndian) swapInPlace(b, ELEM_SIZE[e]);
    return arr;
  }
  if ((e === 'F16' || e === 'BF16') && (opts.keepHalf || opts.keepDtypes)) {
    return {
      dtype: e === 'F16' ? 'float16' : 'bfloat16',
      shape: [],
      data: yield* direct(new Uint16Array(n)),
      sourceDtype: e,
    };
  }
  if (opts.keepDtypes && e === 'I8')
    return { dtype: 'int8', shape: [], data: yield* direct(new Int8Array(n)), sourceDtype: e };
  if (opts.keepDtypes && e === 'U8')
    return { dtype: 'uint8', shape: [], data: yield* direct(new Uint8Array(n)), sourceDtype: e };
  const dtype = nablaDType(e, !!opts.keepDtypes);
  const mk = (data: TypedArray): RawTensor => ({ dtype, shape: [], data, sourceDtype: e });
  if (e === 'F32') return mk(yield* direct(new Float32Array(n)));
  if (e === 'F64') return mk(yield* direct(new Float64Array(n)));
  if (e === 'I32') return mk(yield* direct(new Int32Array(n)));
  const out =
    dtype === 'float32'
      ? new Float32Array(n)
      : dtype === 'bool'
        ? new Uint8Array(n)
        : dtype === 'int64'
          ? new Float64Array(n)
          : new Int32Array(n);
  const per = Math.max(1, Math.floor(CHUNK / size));
  const chunk = new Uint8Array(Math.min(n, per) * size);
  for (let start = 0; start < n; start += per) {
    const m = Math.min(per, n - start);
    const c = chunk.subarray(0, m * size);
    yield { pos: pos + start * size, dest: c, what };
    if (opts.bigEndian) swapInPlace(c, size);
    convertChunk(c, m, e, out, start, where);
  }
  return mk(out);
}

function checkedSteps(srcSize: number, pos: number, n: number, e: ElemType, where: Where, opts: DecodeOptions) {
  const size = ELEM_SIZE[e];
  const bytes = n * size;
  if (!Number.isSafeInteger(bytes) || pos < 0 || pos + bytes > srcSize) {
    throw new CheckpointError(
      where.file,
      `tensor '${where.tensor}': ${bytes} bytes at offset ${pos} run past the end of the data (${srcSize} bytes)`,
    );
  }
  return decodeSteps(size, pos, n, e, where, opts);
}

/** Direct types of an owned in-memory source, aligned and little-endian: a view, no copy. */
function adopt(src: ByteSource, pos: number, n: number, e: ElemType, opts: DecodeOptions): RawRecord | undefined {
  if (!(src instanceof BufferSource) || !src.owned || opts.bigEndian) return undefined;
  const b = src.buf,
    at = b.byteOffset + pos;
  if (at % ELEM_SIZE[e] !== 0) return undefined;
  if ((e === 'F16' || e === 'BF16') && (opts.keepHalf || opts.keepDtypes)) {
    const dtype = e === 'F16' ? 'float16' : 'bfloat16';
    return { dtype, shape: [], data: new Uint16Array(b.buffer, at, n), sourceDtype: e };
  }
  if (opts.keepDtypes && e === 'I8')
    return { dtype: 'int8', shape: [], data: new Int8Array(b.buffer, at, n), sourceDtype: e };
  if (opts.keepDtypes && e === 'U8')
    return { dtype: 'uint8', shape: [], data: new Uint8Array(b.buffer, at, n), sourceDtype: e };
  if (e === 'F32') return { dtype: 'float32', shape: [], data: new Float32Array(b.buffer, at, n), sourceDtype: e };
  if (e === 'F64') return { dtype: 'float64', shape: [], data: new Float64Array(b.buffer, at, n), sourceDtype: e };
  if (e === 'I32') return { dtype: 'int32', shape: [], data: new Int32Array(b.buffer, at, n), sourceDtype: e };
  return undefined;
}

/** Reads `n` elements of type `e` at `pos` of `src` into fresh nabla storage (see decodeSteps). */
export function decodeElems(
  src: ByteSource,
  pos: number,
  n: number,
  e: ElemType,
  where: Where,
  opts: DecodeOptions = {},
): RawRecord {
  const steps = checkedSteps(src.size, pos, n, e, where, opts);
  const view = adopt(src, pos, n, e, opts);
  if (view) return view;
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return r.value;
    src.readInto(r.value.pos, r.value.dest, r.value.what);
  }
}

/** decodeElems with non-blocking reads, for sources that have them (files). */
export async function decodeElemsAsync(
  src: ByteSource,
  pos: number,
  n: number,
  e: ElemType,
  where: Where,
  opts: DecodeOptions = {},
): Promise<RawRecord> {
  const steps = checkedSteps(src.size, pos, n, e, where, opts);
  const view = adopt(src, pos, n, e, opts);
  if (view) return view;
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return r.value;
    if (src.readIntoAsync) await src.readIntoAsync(r.value.pos, r.value.dest, r.value.what);
    else src.readInto(r.value.pos, r.value.dest, r.value.what);
  }
}

function convertChunk(c: Uint8Array, m: number, e: ElemType, out: TypedArray, at: number, where: Where): void {
  const buf = c.buffer,
    off = c.byteOffset;
  switch (e) {
    case 'F16':
    case 'BF16':
      widenHalf(new Uint16Array(buf, off, m), out as Float32Array, at, e === 'BF16');
      return;
    case 'BOOL':
      for (let i = 0; i < m; i++) out[at + i] = c[i] ? 1 : 0;
      return;
    case 'U8':
      out.set(c.subarray(0, m), at);
      return;
    case 'I8':
      out.set(new Int8Array(buf, off, m), at);
      return;
    case 'I16':
      out.set(new Int16Array(buf, off, m), at);
      return;
    case 'U16':
      out.set(new Uint16Array(buf, off, m), at);
      return;
    case 'U32': {
      const s = new Uint32Array(buf, off, m);
      for (let i = 0; i < m; i++) {
        if (s[i] > 0x7fffffff) throw intOverflow(where, e, String(s[i]), at + i);
        out[at + i] = s[i];
      }
      return;
    }
    case 'I64':
    case 'U64': {
      const s = new Int32Array(buf, off, 2 * m);
      if (out instanceof Float64Array) {
        // int64 storage: exact within ±(2^53 - 1), refused beyond
        for (let i = 0; i < m; i++) {
          const v = s[2 * i + 1] * 4294967296 + (s[2 * i] >>> 0);
          if (!Number.isSafeInteger(v) || (e === 'U64' && v < 0)) {
            const big =
              e === 'I64' ? new BigInt64Array(buf, off + 8 * i, 1)[0] : new BigUint64Array(buf, off + 8 * i, 1)[0];
            throw intOverflow(where, e, big.toString(), at + i, true);
          }
          out[at + i] = v;
        }
        return;
      }
      for (let i = 0; i < m; i++) {
        const lo = s[2 * i],
          hi = s[2 * i + 1];
        if (hi !== lo >> 31 || (e === 'U64' && lo < 0)) {
          const v =
            e === 'I64' ? new BigInt64Array(buf, off + 8 * i, 1)[0] : new BigUint64Array(buf, off + 8 * i, 1)[0];
          throw intOverflow(where, e, v.toString(), at + i);
        }
        out[at + i] = lo;
      }
      return;
    }
    default:
      throw new CheckpointError(where.file, `tensor '${where.tensor}': cannot convert ${e}`);
  }
}

/** The element type a storage is written as when the caller does not say. */
export function defaultElem(t: WritableTensor): ElemType {
  if (t.dtype === 'float16') return 'F16';
  if (t.dtype === 'bfloat16') return 'BF16';
  if (t.dtype === 'int8') return 'I8';
  if (t.dtype === 'uint8') return 'U8';
  if (t.dtype === 'int64') return 'I64';
  const d = t.data;
  if (d instanceof Float32Array) return 'F32';
  if (d instanceof Float64Array) return 'F64';
  if (d instanceof Int32Array) return 'I32';
  if (d instanceof Uint16Array) return 'F16';
  return 'BOOL';
}

/**
 * Little-endian bytes of `t.data` stored as `e`. When the storage already is `e` this is a view
 * (no copy); otherwise a converted copy. Narrowing integers checks the range.
 */
export function encodeElems(t: WritableTensor, e: ElemType, name: string): Uint8Array {
  let d = t.data;
  const view = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const isHalfSrc = d instanceof Uint16Array;
  if (isHalfSrc) {
    const srcElem = t.dtype === 'bfloat16' ? 'BF16' : 'F16';
    if (e === srcElem) return view(d);
    // stored as another type: from the values the bits stand for
    const f = new Float32Array(d.length);
    widenHalf(d as Uint16Array, f, 0, srcElem === 'BF16');
    d = f;
  }
  // NOTE: int64 storage is a Float64Array of its values (tensor/dtype.ts), written as I64 below
  else if (defaultElem(t) === e && e !== 'BOOL' && e !== 'I64') return view(d);
  const n = d.length;
  const fail = (i: number): never => {
    throw new Error(`save: tensor '${name}' value ${d[i]} at flat index ${i} does not fit in ${e}`);
  };
  switch (e) {
    case 'F32':
      return view(Float32Array.from(d));
    case 'F64':
      return view(Float64Array.from(d));
    case 'F16':
    case 'BF16':
      return view(narrowHalf(d instanceof Float32Array ? d : Float32Array.from(d), e === 'BF16'));
    case 'BOOL': {
      const o = new Uint8Array(n);
      for (let i = 0; i < n; i++) o[i] = d[i] ? 1 : 0;
      return o;
    }
    case 'I64':
    case 'U64': {
      const o = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const v = d[i];
        if (!Number.isSafeInteger(v) || (e === 'U64' && v < 0)) fail(i);
        o[i] = BigInt(v);
      }
      return view(o);
    }
    default: {
      const [Ctor, lo, hi] = INT_TARGETS[e];
      const o = new Ctor(n);
      for (let i = 0; i < n; i++) {
        const v = d[i];
        if (!Number.isInteger(v) || v < lo || v > hi) fail(i);
        o[i] = v;
      }
      return view(o);
    }
  }
}

const INT_TARGETS: Record<string, [new (n: number) => ArrayBufferView & { [i: number]: number }, number, number]> = {
  I32: [Int32Array, -0x80000000, 0x7fffffff],
  I16: [Int16Array, -0x8000, 0x7fff],
  I8: [Int8Array, -0x80, 0x7f],
  U8: [Uint8Array, 0, 0xff],
  U16: [Uint16Array, 0, 0xffff],
  U32: [Uint32Array, 0, 0xffffffff],
};

/** NumPy's dtype kind+size codes ('<f4' -> 'f4') as element types: the .npy header and numpy's pickles share them. */
export const NUMPY_KIND: Readonly<Record<string, ElemType>> = {
  f8: 'F64',
  f4: 'F32',
  f2: 'F16',
  i8: 'I64',
  i4: 'I32',
  i2: 'I16',
  i1: 'I8',
  u8: 'U64',
  u4: 'U32',
  u2: 'U16',
  u1: 'U8',
  b1: 'BOOL',
};
