// safetensors: 8-byte little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {str: str}}, then the raw
// little-endian data; offsets are relative to the end of the header.
// Only the header is parsed up front; each selected tensor is then read by position straight into
// its destination typed array, so a multi-GB file never holds two copies of a tensor.
import { BufferSource, CheckpointError, withFile, withFileAsync, u32, type ByteSource } from './source.js';
import {
  ELEM_SIZE,
  checkedNumel,
  decodeElems,
  decodeElemsAsync,
  defaultElem,
  encodeElems,
  isElemType,
  type ElemType,
  type RawRecord,
  type WritableTensor,
} from './raw.js';
import { writeAtomic } from './atomic.js';
import { Buffer } from '../platform/node.js';

/** The safetensors reference implementation refuses headers above 100 MB; so do we. */
const MAX_HEADER = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: ElemType;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  dataStart: number;
}

export interface SafetensorsReadOptions {
  /** Read only these tensors (each must exist). */
  names?: readonly string[];
  /** Return F16/BF16 tensors as raw bits instead of widening to float32. */
  keepHalf?: boolean;
  /** Keep F16, BF16, I8, U8 and I64 as float16, bfloat16, int8, uint8 and int64 records (raw.ts). */
  keepDtypes?: boolean;
}

/**
 * Parses and validates the header as the reference reader does: sizes, dtypes, shapes, no duplicate
 * names, and offsets that tile the data section exactly.
 */
export function parseSafetensorsHeader(src: ByteSource): SafetensorsHeader {
  const file = src.name;
  const fail = (msg: string): never => {
    throw new CheckpointError(file, `safetensors: ${msg}`);
  };
  if (src.size < 8) fail(`file is ${src.size} bytes, shorter than the 8-byte header length`);
  const lenBytes = src.read(0, 8);
  const hi = u32(lenBytes, 4),
    n = u32(lenBytes, 0);
  if (hi !== 0 || n > MAX_HEADER) fail(`header length ${hi ? '>= 2^32' : n} exceeds the 100 MB limit`);
  if (8 + n > src.size) fail(`header length ${n} is larger than the file (${src.size} bytes)`);
  const raw = src.read(8, n, 'header');
  // NOTE: the format says the header begins with '{' (only trailing space padding is allowed) and is
  // UTF-8; the reference reader refuses leading whitespace and invalid UTF-8, so we do too.
  if (raw[0] !== 0x7b) {
    const found = n ? `byte 0x${raw[0].toString(16).padStart(2, '0')}` : 'an empty header';
    fail(`header must begin with '{', found ${found}`);
  }
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    fail('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`malformed JSON header (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('header is not a JSON object');
  const dup = duplicateKey(text);
  if (dup !== undefined) fail(`the header names ${JSON.stringify(dup)} twice`);
  const dataStart = 8 + n,
    dataLen = src.size - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v === null) continue; // the reference reader's Option: null is no metadata
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('__metadata__ is not an object');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') fail(`__metadata__['${k}'] is not a string`);
        Object.defineProperty(metadata, k, { value: s, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    if (typeof v !== 'object' || v === null) fail(`tensor '${name}': entry is not an object`);
    const { dtype, shape, data_offsets: off } = v as Record<string, unknown>;
    if (!isElemType(dtype)) fail(`tensor '${name}': unknown dtype ${JSON.stringify(dtype)}`);
    const e = dtype as ElemType;
    const numel = checkedNumel(shape, dataLen, { file, tensor: name });
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isSafeInteger(x) && x >= 0)) {
      fail(`tensor '${name}': data_offsets must be two non-negative integers, got ${JSON.stringify(off)}`);
    }
    const [b, end] = off as number[];
    if (b > end || end > dataLen)
      fail(`tensor '${name}': data_offsets [${b}, ${end}] out of range (data section is ${dataLen} bytes)`);
    if (end - b !== numel * ELEM_SIZE[e]) {
      fail(
        `tensor '${name}': data_offsets [${b}, ${end}] span ${end - b} bytes but ${e} shape ` +
          `[${(shape as number[]).join(', ')}] needs ${numel * ELEM_SIZE[e]}`,
      );
    }
    entries.push({ name, dtype: e, shape: (shape as number[]).slice(), begin: dataStart + b, end: dataStart + end });
  }
  checkTiling(entries, dataStart, dataLen, fail);
  return { entries, metadata, dataStart };
}

/**
 * The reference reader's rule: the tensors' byte ranges, sorted, tile the data section exactly from 0
 * to the end of the file, with no hole, no overlap and no trailing bytes.
 */
function checkTiling(
  entries: SafetensorsEntry[],
  dataStart: number,
  dataLen: number,
  fail: (m: string) => never,
): void {
  const sorted = entries.slice().sort((x, y) => x.begin - y.begin || x.end - y.end);
  let at = dataStart,
    prev = '';
  const rel = (x: SafetensorsEntry) => `[${x.begin - dataStart}, ${x.end - dataStart}]`;
  for (const x of sorted) {
    if (x.begin < at) {
      fail(
        `tensors '${prev}' and '${x.name}' have overlapping data_offsets (${rel(x)} starts before ${at - dataStart})`,
      );
    }
    if (x.begin > at) {
      fail(
        `bytes ${at - dataStart} to ${x.begin - dataStart} of the data section belong to no tensor ` +
          `(hole before '${x.name}' at ${rel(x)})`,
      );
    }
    at = x.end;
    prev = x.name;
  }
  if (at !== dataStart + dataLen) {
    fail(
      `${dataStart + dataLen - at} trailing bytes after the last tensor ` +
        `(the tensors cover ${at - dataStart} of the ${dataLen}-byte data section)`,
    );
  }
}

/** The first top-level key of a valid JSON object text that appears twice (JSON.parse keeps only the last). */
function duplicateKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // '"': scan to the closing quote, skipping escapes
      const start = i;
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (j < text.length && ' \t\n\r'.includes(text[j])) j++;
      if (text[j] !== ':') continue;
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (seen.has(key)) return key;
      seen.add(key);
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return undefined;
}

function select(
  src: ByteSource,
  opts: SafetensorsReadOptions,
): { header: SafetensorsHeader; entries: SafetensorsEntry[] } {
  const header = parseSafetensorsHeader(src);
  let entries = header.entries;
  if (opts.names) {
    const byName = new Map(entries.map((x) => [x.name, x]));
    entries = opts.names.map((nm) => {
      const x = byName.get(nm);
      if (!x) throw new CheckpointError(src.name, `safetensors: no tensor named '${nm}' (the file has ${byName.size})`);
      return x;
    });
  }
  return { header, entries };
}

function store(tensors: Record<string, RawRecord>, x: SafetensorsEntry, r: RawRecord): void {
  r.shape = x.shape;
  Object.defineProperty(tensors, x.name, { value: r, enumerable: true, writable: true, configurable: true });
}

type DecodeArgs = Parameters<typeof decodeElems>;
const argsOf = (src: ByteSource, x: SafetensorsEntry, opts: SafetensorsReadOptions): DecodeArgs => [
  src,
  x.begin,
  (x.end - x.begin) / ELEM_SIZE[x.dtype],
  x.dtype,
  { file: src.name, tensor: x.name },
  { keepHalf: opts.keepHalf, keepDtypes: opts.keepDtypes },
];

/**
 * Reads one tensor of an already parsed header (no second header parse): for loaders that go
 * tensor by tensor, e.g. `for (const e of parseSafetensorsHeader(src).entries) use(readSafetensorsEntry(src, e))`.
 */
export function readSafetensorsEntry(
  src: ByteSource,
  entry: SafetensorsEntry,
  opts: { keepHalf?: boolean; keepDtypes?: boolean } = {},
): RawRecord {
  const r = decodeElems(...argsOf(src, entry, opts));
  r.shape = entry.shape.slice();
  return r;
}

/** Reads the selected tensors of an open source. */
export function readSafetensors(src: ByteSource, opts: SafetensorsReadOptions = {}): SafetensorsContents {
  const { header, entries } = select(src, opts);
  const tensors: Record<string, RawRecord> = {};
  for (const x of entries) store(tensors, x, decodeElems(...argsOf(src, x, opts)));
  return { tensors, metadata: header.metadata };
}

/** readSafetensors with non-blocking reads of the tensor data (the header is read synchronously). */
export async function readSafetensorsAsync(
  src: ByteSource,
  opts: SafetensorsReadOptions = {},
): Promise<SafetensorsContents> {
  const { header, entries } = select(src, opts);
  const tensors: Record<string, RawRecord> = {};
  for (const x of entries) store(tensors, x, await decodeElemsAsync(...argsOf(src, x, opts)));
  return { tensors, metadata: header.metadata };
}

export interface SafetensorsContents {
  tensors: Record<string, RawRecord>;
  metadata: Record<string, string>;
}

/** Buffer-level parse (used by the fuzz test and for in-memory files). */
export function parseSafetensors(
  buf: Uint8Array,
  opts: SafetensorsReadOptions = {},
  name = '<buffer>',
): SafetensorsContents {
  return readSafetensors(new BufferSource(buf, name), opts);
}

/** Reads a safetensors file by positioned reads: only the header and the selected tensors. */
export function readSafetensorsFile(path: string, opts: SafetensorsReadOptions = {}): SafetensorsContents {
  return withFile(path, (src) => readSafetensors(src, opts));
}

export function readSafetensorsFileAsync(
  path: string,
  opts: SafetensorsReadOptions = {},
): Promise<SafetensorsContents> {
  return withFileAsync(path, (src) => readSafetensorsAsync(src, opts));
}

/** Header + data chunks of a safetensors file; data chunks are views of the storage when possible. */
export function* safetensorsChunks(
  tensors: Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): Generator<Uint8Array> {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`saveSafetensors: metadata['${k}'] must be a string`);
    }
    header.__metadata__ = metadata;
  }
  const plan: [string, WritableTensor, ElemType][] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__')
      throw new Error(`saveSafetensors: '__metadata__' is reserved and cannot name a tensor`);
    const e = t.as ?? defaultElem(t);
    let numel = 1;
    for (const d of t.shape) numel *= d;
    if (numel !== t.data.length)
      throw new Error(
        `saveSafetensors: tensor '${name}' has shape [${t.shape.join(', ')}] but ${t.data.length} elements`,
      );
    const bytes = numel * ELEM_SIZE[e];
    Object.defineProperty(header, name, {
      value: { dtype: e, shape: [...t.shape], data_offsets: [offset, offset + bytes] },
      enumerable: true,
    });
    plan.push([name, t, e]);
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // NOTE: pad the header with spaces to a multiple of 8 so the data section stays aligned, as the
  // reference implementation does.
  const enc = new TextEncoder();
  let hb = enc.encode(json);
  const pad = (8 - (hb.length % 8)) % 8;
  if (pad) {
    json += ' '.repeat(pad);
    hb = enc.encode(json);
  }
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(hb.length), true);
  yield len;
  yield hb;
  for (const [name, t, e] of plan) yield encodeElems(t, e, name);
}

/** Serialises to one buffer (small files, tests). */
export function serializeSafetensors(
  tensors: Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  return Buffer.concat([...safetensorsChunks(tensors, metadata)]);
}

/** Writes a safetensors file atomically. */
export function writeSafetensorsFile(
  path: string,
  tensors: Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): void {
  writeAtomic(path, safetensorsChunks(tensors, metadata));
}
