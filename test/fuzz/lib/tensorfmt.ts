// Header-aware mutations of .npy (NumPy's rules: numpy/lib/format.py) and .safetensors (the
// format's specification and its reference reader, safetensors' `read_metadata` and `validate`),
// with the reference's verdict encoded as small predicates.
import { type Rng, ascii, concat, u16le, u32le } from './util.js';
import type { Expect, Mutant } from './types.js';

// ------------------------------------------------------------------------------------------ npy

const ITEMSIZE: Record<string, number> = {
  f8: 8,
  f4: 4,
  f2: 2,
  f16: 16,
  i8: 8,
  i4: 4,
  i2: 2,
  i1: 1,
  u8: 8,
  u4: 4,
  u2: 2,
  u1: 1,
  b1: 1,
  c8: 8,
  c16: 16,
  U4: 16,
  V4: 4,
  'M8[s]': 8,
};

interface NpyParts {
  version: number;
  header: string;
  data: Uint8Array;
}

function splitNpy(b: Uint8Array): NpyParts | null {
  if (b.length < 10 || b[0] !== 0x93 || b[1] !== 0x4e) return null;
  const v = b[6],
    pre = v === 1 ? 10 : 12;
  const hl = v === 1 ? u16le(b, 8) : u32le(b, 8);
  if (pre + hl > b.length) return null;
  return { version: v, header: Buffer.from(b.subarray(pre, pre + hl)).toString('latin1'), data: b.subarray(pre + hl) };
}

/** An .npy with this header dict text (padded to 64 as numpy does) and data. */
export function joinNpy(dict: string, data: Uint8Array, version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  const body = dict.replace(/\s+$/, '');
  const padded = body + ' '.repeat((64 - ((pre + body.length + 1) % 64)) % 64) + '\n';
  const h = new Uint8Array(pre + padded.length);
  h.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(h.buffer);
  if (version === 1) dv.setUint16(8, padded.length, true);
  else dv.setUint32(8, padded.length, true);
  h.set(ascii(padded), pre);
  return concat(h, data);
}

const field = (h: string, key: string): string | undefined =>
  new RegExp(`'${key}':\\s*('[^']*'|\\([^)]*\\)|True|False)`).exec(h)?.[1];

/** The element count of a shape tuple; null when numpy refuses it (not ints), NaN when its rules are murky. */
function numelOf(tuple: string): number | null {
  const dims = tuple
    .replace(/[()\s]/g, '')
    .split(',')
    .filter((x) => x !== '');
  let n = 1;
  for (const d of dims) {
    // NOTE: numpy reads count = prod(shape) items (all of them when negative) and then reshapes,
    // so a -1 dim loads; leave negative dims unlabelled.
    if (/^-\d+$/.test(d)) return NaN;
    if (!/^\d+$/.test(d)) return null;
    n *= Number(d);
  }
  return n;
}

/** NumPy's verdict on the size: 'reject' when the shape needs more bytes than the file has or is invalid. */
function npySizeRule(descr: string, shape: string, dataLen: number): Expect {
  const m = /^'[<>|=]?(.+)'$/.exec(descr);
  const size = m ? ITEMSIZE[m[1]] : undefined;
  const n = numelOf(shape);
  if (n === null || size === undefined) return 'reject';
  if (Number.isNaN(n) || n > 2 ** 53) return 'any';
  return n * size > dataLen ? 'reject' : 'any';
}

export function mutateNpy(r: Rng, b: Uint8Array): Mutant | null {
  const p = splitNpy(b);
  if (!p) return null;
  const descr = field(p.header, 'descr'),
    shape = field(p.header, 'shape'),
    fo = field(p.header, 'fortran_order');
  if (!descr || !shape || !fo) return null;
  const dict = (d: string, s: string, f: string) => `{'descr': ${d}, 'fortran_order': ${f}, 'shape': ${s}, }`;
  switch (r.int(10)) {
    case 0: {
      const s = r.pick([
        '()',
        '(0,)',
        '(1,)',
        '(3,)',
        '(2, 2)',
        '(-1,)',
        '(3, -2)',
        '(2147483648,)',
        '(9007199254740993,)',
        '(4294967296, 4294967296)',
        '(65536, 65536)',
        `(${Array(64).fill('1').join(', ')})`,
        '(1.5,)',
        "('2',)",
        '(None,)',
      ]);
      const expect = npySizeRule(descr, s, p.data.length);
      return { bytes: joinNpy(dict(descr, s, fo), p.data), expect, op: 'npy:shape' };
    }
    case 1: {
      const d = r.pick([
        "'<f8'",
        "'<f4'",
        "'>f4'",
        "'<f2'",
        "'|b1'",
        "'|u1'",
        "'<i8'",
        "'>i2'",
        "'<c8'",
        "'|O'",
        "'<U4'",
        "'|V4'",
        "'<f16'",
        "'bogus'",
        "'<M8[s]'",
      ]);
      const rule = d === "'|O'" ? 'reject' : npySizeRule(d, shape, p.data.length);
      return { bytes: joinNpy(dict(d, shape, fo), p.data), expect: rule, op: 'npy:descr' };
    }
    case 2: {
      // fortran order: the same values when at most one dim exceeds 1
      const dims = shape
        .replace(/[()\s]/g, '')
        .split(',')
        .filter((x) => x !== '' && x !== '1');
      const expect = dims.length <= 1 ? 'sameOrReject' : 'any';
      return { bytes: joinNpy(dict(descr, shape, 'True'), p.data), expect, op: 'npy:fortran' };
    }
    case 3: {
      const junk = Uint8Array.from({ length: 1 + r.int(64) }, () => r.int(256));
      return { bytes: concat(b, junk), expect: 'same', op: 'npy:trailing-bytes' };
    }
    case 4:
      return { bytes: joinNpy(p.header, p.data, r.pick([2, 3])), expect: 'same', op: 'npy:version-2-3' };
    case 5: {
      const h = `{'shape': ${shape}, 'fortran_order': ${fo}, 'descr': ${descr}}`;
      return { bytes: joinNpy(h, p.data), expect: 'same', op: 'npy:key-order' };
    }
    case 6: {
      const extra = r.chance(0.5);
      const h = extra
        ? dict(descr, shape, fo).replace('}', `'extra': 1, }`)
        : `{'descr': ${descr}, 'shape': ${shape}, }`;
      return { bytes: joinNpy(h, p.data), expect: 'reject', op: extra ? 'npy:extra-key' : 'npy:missing-key' };
    }
    case 7: {
      // the header length field lies
      const out = Uint8Array.from(b);
      const pre = p.version === 1 ? 10 : 12;
      const hl = pre === 10 ? u16le(b, 8) : u32le(b, 8);
      const v = r.pick([0, 1, hl - 1, hl + 1, hl + 64, 0xffff]);
      out[8] = v & 0xff;
      out[9] = (v >> 8) & 0xff;
      return { bytes: out, expect: 'any', op: 'npy:header-length' };
    }
    case 8: {
      // deep nesting in the literal
      const d = r.pick([40, 1000, 100_000]);
      // NOTE: (((()))) is just () to Python; past about 200 levels its parser gives up.
      const bytes = joinNpy(dict(descr, '('.repeat(d) + ')'.repeat(d), fo), p.data);
      return { bytes, expect: d > 200 ? 'reject' : 'any', op: `npy:nest-${d}` };
    }
    default: {
      // data shortened by a few bytes: numpy refuses (cannot reshape)
      if (p.data.length === 0) return null;
      const cut = b.length - 1 - r.int(Math.min(8, p.data.length));
      return { bytes: b.subarray(0, cut), expect: 'reject', op: 'npy:short-data' };
    }
  }
}

// ----------------------------------------------------------------------------------- safetensors

const ST_BITS: Record<string, number> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  F64: 64,
  I64: 64,
  U64: 64,
};

/** Number tokens of a JSON text (outside strings). */
function jsonNumbers(t: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === '"') {
      i++;
      while (i < t.length && t[i] !== '"') {
        if (t[i] === '\\') i++;
        i++;
      }
      continue;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i;
      while (j < t.length && /[-+0-9.eE]/.test(t[j])) j++;
      out.push(t.slice(i, j));
      i = j - 1;
    }
  }
  return out;
}

/**
 * The safetensors reference reader's verdict on a whole file: the header length, strict UTF-8, a
 * header starting with '{', JSON that deserialises into {name: {dtype, shape: [usize], data_offsets:
 * [usize, usize]}, __metadata__: {str: str}}, offsets that tile the data section exactly from 0
 * (no holes, no overlaps, nothing after the last tensor) and sizes matching dtype and shape.
 * 'unknown' where JavaScript's JSON cannot tell (integers beyond 2^53, 1.0 for 1).
 */
export function safetensorsVerdict(b: Uint8Array): 'accept' | 'reject' | 'unknown' {
  if (b.length < 8) return 'reject';
  const n = u32le(b, 0) + u32le(b, 4) * 2 ** 32;
  if (n > 100_000_000 || 8 + n > b.length) return 'reject';
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(8, 8 + n));
  } catch {
    return 'reject';
  }
  if (!text.startsWith('{')) return 'reject';
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'reject';
  }
  const nums = jsonNumbers(text);
  const exotic = nums.some((x) => !/^\d+$/.test(x) || Number(x) > 2 ** 53);
  const verdict = structure(json, b.length - 8 - n);
  return verdict === 'accept' && exotic ? 'unknown' : verdict;
}

function structure(json: unknown, dataLen: number): 'accept' | 'reject' {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'reject';
  const spans: [number, number, bigint][] = [];
  for (const [k, v] of Object.entries(json)) {
    if (k === '__metadata__') {
      if (v === null) continue;
      if (typeof v !== 'object' || Array.isArray(v)) return 'reject';
      if (Object.values(v).some((s) => typeof s !== 'string')) return 'reject';
      continue;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'reject';
    const { dtype, shape, data_offsets: off } = v as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in ST_BITS)) return 'reject';
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return 'reject';
    if (!Array.isArray(off) || off.length !== 2) return 'reject';
    if (!off.every((d) => Number.isSafeInteger(d) && d >= 0)) return 'reject';
    const bits = (shape as number[]).reduce((a, d) => a * BigInt(d), 1n) * BigInt(ST_BITS[dtype]);
    if (bits % 8n !== 0n) return 'reject';
    spans.push([off[0] as number, off[1] as number, bits / 8n]);
  }
  spans.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let at = 0;
  for (const [s, e, size] of spans) {
    if (s !== at || e < s || BigInt(e - s) !== size) return 'reject';
    at = e;
  }
  return at === dataLen ? 'accept' : 'reject';
}

interface StParts {
  header: Record<string, any>;
  data: Uint8Array;
}

function splitSt(b: Uint8Array): StParts | null {
  const n = u32le(b, 0);
  try {
    return { header: JSON.parse(Buffer.from(b.subarray(8, 8 + n)).toString('utf8')), data: b.subarray(8 + n) };
  } catch {
    return null;
  }
}

/** A safetensors file from a header text and data (the text padded with `pad` trailing spaces). */
export function joinSt(text: string, data: Uint8Array, pad = 0): Uint8Array {
  const h = Buffer.from(text + ' '.repeat(pad), 'utf8');
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(h.length), true);
  return concat(len, h, data);
}

/** A JSON-level mutation; the expectation comes from `safetensorsVerdict` unless the edit keeps the content. */
export function mutateSafetensors(r: Rng, b: Uint8Array): Mutant | null {
  const p = splitSt(b);
  if (!p) return null;
  const h = p.header;
  const names = Object.keys(h).filter((k) => k !== '__metadata__');
  if (!names.length) return null;
  const name = r.pick(names);
  const t = h[name];
  let keep = false,
    op: string,
    out: Uint8Array;
  switch (r.int(12)) {
    case 0: {
      // entries in another order
      const ks = Object.keys(h);
      for (let i = ks.length - 1; i > 0; i--) {
        const j = r.int(i + 1);
        [ks[i], ks[j]] = [ks[j], ks[i]];
      }
      out = joinSt(JSON.stringify(Object.fromEntries(ks.map((k) => [k, h[k]]))), p.data);
      keep = true;
      op = 'st:reorder';
      break;
    }
    case 1:
      out = joinSt(JSON.stringify(h), p.data, 1 + r.int(20));
      keep = true;
      op = 'st:pad';
      break;
    case 2: {
      const m = r.chance(0.5) ? { ...h, __metadata__: { format: 'pt', note: 'ü'.repeat(r.int(5)) } } : { ...h };
      if (!m.__metadata__) delete m.__metadata__;
      out = joinSt(JSON.stringify(m), p.data);
      keep = true;
      op = 'st:metadata';
      break;
    }
    case 3: {
      const n = t.shape.reduce((a: number, x: number) => a * x, 1);
      t.shape = r.pick([
        [],
        [0],
        [n + 1],
        [-1],
        [1.5],
        ['2'],
        [2 ** 53],
        [2 ** 40, 2 ** 40],
        Array(64).fill(1),
        null,
        [4294967296, 4294967296, 0],
      ]);
      out = joinSt(JSON.stringify(h), p.data);
      op = 'st:shape';
      break;
    }
    case 4: {
      t.dtype = r.pick([
        'F32',
        'F64',
        'F16',
        'BF16',
        'I64',
        'I32',
        'I16',
        'I8',
        'U8',
        'U16',
        'U32',
        'U64',
        'BOOL',
        'F8_E4M3',
        'f32',
        'Q4',
        7,
        null,
      ]);
      out = joinSt(JSON.stringify(h), p.data);
      op = 'st:dtype';
      break;
    }
    case 5: {
      const [s, e] = t.data_offsets as number[];
      const d = r.pick([1, -1, 2, 8, -8, 2 ** 32]);
      t.data_offsets = r.pick([
        [s + d, e + d],
        [s, e + d],
        [s + d, e],
        [e, s],
        [0, e],
        [s, 2 ** 53],
        [-1, e],
        [s, e, e],
        [s + 0.5, e],
      ]);
      out = joinSt(JSON.stringify(h), p.data);
      op = 'st:offsets';
      break;
    }
    case 6: {
      // the header length field lies
      out = Uint8Array.from(b);
      const v = u32le(b, 0) + r.pick([-1, 1, -8, 8, 2 ** 31, 100_000_001]);
      new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, v)), true);
      op = 'st:header-length';
      break;
    }
    case 7:
      out = concat(
        b,
        Uint8Array.from({ length: 1 + r.int(32) }, () => r.int(256)),
      );
      op = 'st:trailing-data';
      break;
    case 8:
      out = joinLeading(h, p.data, r);
      op = 'st:leading-space';
      break;
    case 9: {
      // a deep JSON value where a tensor entry should be
      const d = r.pick([1000, 100_000]);
      const text = JSON.stringify(h).replace(/^\{/, `{"deep":${'['.repeat(d)}${']'.repeat(d)},`);
      out = joinSt(text, p.data);
      op = `st:deep-json-${d}`;
      break;
    }
    case 10: {
      // an extra field in an entry (the reference ignores unknown fields)
      t.extra = 'x';
      out = joinSt(JSON.stringify(h), p.data);
      keep = true;
      op = 'st:extra-field';
      break;
    }
    default: {
      // a hole: bytes inserted after one tensor's data, later offsets shifted
      const k = 1 + r.int(16);
      const [, e] = t.data_offsets as number[];
      for (const nm of names) {
        const o = h[nm].data_offsets as number[];
        if (o[0] >= e && nm !== name) h[nm].data_offsets = [o[0] + k, o[1] + k];
      }
      out = joinSt(JSON.stringify(h), concat(p.data.subarray(0, e), new Uint8Array(k), p.data.subarray(e)));
      op = 'st:hole';
    }
  }
  const v = safetensorsVerdict(out);
  const expect: Expect = v === 'reject' ? 'reject' : keep && v === 'accept' ? 'same' : 'any';
  return { bytes: out, expect, op };
}

function joinLeading(h: Record<string, unknown>, data: Uint8Array, r: Rng): Uint8Array {
  return joinSt(r.pick([' ', '\n', '\t', '\ufeff']) + JSON.stringify(h), data);
}
