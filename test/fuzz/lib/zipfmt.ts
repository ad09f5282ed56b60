// Zip structure for the mutators: a reader of the records as they lie in the file, a builder, and
// structure-aware mutations (end-of-central-directory counts, local/central mismatches, CRC flips,
// overlapping entries, deflate bombs). Expectations follow CPython's zipfile, which numpy.load
// uses for .npz: it reads the central directory by its size (the entry count is not trusted), checks
// the local header's name and signature against the central one, checks every member's CRC-32
// (stored or deflated) and refuses overlapping entries (3.12+, the "quoted overlap" zip bomb).
import { deflateRawSync } from 'node:zlib';
import { type Rng, concat, crc32, put16le, put32le, u16le, u32le } from './util.js';
import type { Expect, Mutant } from './types.js';

export interface ZipRec {
  cenAt: number; // offset of the central record
  cenLen: number;
  name: string;
  method: number;
  crc: number;
  csize: number;
  size: number;
  localAt: number;
}

export interface ZipLayout {
  eocdAt: number;
  count: number;
  cdSize: number;
  cdOffset: number;
  recs: ZipRec[];
}

/** The records of a well-formed (non-zip64) archive, or null. */
export function readZip(b: Uint8Array): ZipLayout | null {
  let eocdAt = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65535); i--) {
    if (u32le(b, i) === 0x06054b50) {
      eocdAt = i;
      break;
    }
  }
  if (eocdAt < 0) return null;
  const count = u16le(b, eocdAt + 10),
    cdSize = u32le(b, eocdAt + 12),
    cdOffset = u32le(b, eocdAt + 16);
  const recs: ZipRec[] = [];
  let p = cdOffset;
  while (p + 46 <= cdOffset + cdSize && u32le(b, p) === 0x02014b50) {
    const nl = u16le(b, p + 28),
      xl = u16le(b, p + 30),
      cl = u16le(b, p + 32);
    recs.push({
      cenAt: p,
      cenLen: 46 + nl + xl + cl,
      name: Buffer.from(b.subarray(p + 46, p + 46 + nl)).toString('utf8'),
      method: u16le(b, p + 10),
      crc: u32le(b, p + 16),
      csize: u32le(b, p + 20),
      size: u32le(b, p + 24),
      localAt: u32le(b, p + 42),
    });
    p += 46 + nl + xl + cl;
  }
  return { eocdAt, count, cdSize, cdOffset, recs };
}

/** Member data as stored (compressed bytes for deflated members). */
export function rawData(b: Uint8Array, r: ZipRec): Uint8Array {
  const at = r.localAt + 30 + u16le(b, r.localAt + 26) + u16le(b, r.localAt + 28);
  return b.subarray(at, at + r.csize);
}

export interface ZipMember {
  name: string;
  /** Uncompressed bytes, or `raw` for data that is already deflated. */
  data?: Uint8Array;
  raw?: { bytes: Uint8Array; size: number; crc: number };
  deflate?: boolean;
}

/** A plain zip (no zip64, no alignment) of the members in order. */
export function buildZip(members: ZipMember[]): Uint8Array {
  const locals: Uint8Array[] = [],
    centrals: Uint8Array[] = [];
  let off = 0;
  for (const m of members) {
    const name = Buffer.from(m.name, 'utf8');
    let body: Uint8Array, size: number, crc: number, method: number;
    if (m.raw) {
      ({ bytes: body, size, crc } = m.raw);
      method = 8;
    } else {
      const d = m.data!;
      size = d.length;
      crc = crc32(d);
      body = m.deflate ? deflateRawSync(d) : d;
      method = m.deflate ? 8 : 0;
    }
    const h = new Uint8Array(30 + name.length);
    put32le(h, 0, 0x04034b50);
    put16le(h, 4, 20);
    put16le(h, 8, method);
    put32le(h, 14, crc);
    put32le(h, 18, body.length);
    put32le(h, 22, size);
    put16le(h, 26, name.length);
    h.set(name, 30);
    const c = new Uint8Array(46 + name.length);
    put32le(c, 0, 0x02014b50);
    put16le(c, 4, 20);
    put16le(c, 6, 20);
    put16le(c, 10, method);
    put32le(c, 16, crc);
    put32le(c, 20, body.length);
    put32le(c, 24, size);
    put16le(c, 28, name.length);
    put32le(c, 42, off);
    c.set(name, 46);
    locals.push(h, body);
    centrals.push(c);
    off += h.length + body.length;
  }
  const cd = concat(...centrals);
  const e = new Uint8Array(22);
  put32le(e, 0, 0x06054b50);
  put16le(e, 8, members.length);
  put16le(e, 10, members.length);
  put32le(e, 12, cd.length);
  put32le(e, 16, off);
  return concat(...locals, cd, e);
}

/** The members of an archive as builder input (deflated members kept as they are). */
export function membersOf(b: Uint8Array, z: ZipLayout): ZipMember[] {
  return z.recs.map((r) =>
    r.method === 8
      ? { name: r.name, raw: { bytes: rawData(b, r), size: r.size, crc: r.crc } }
      : { name: r.name, data: rawData(b, r) },
  );
}

/** A member of `n` bytes: `prefix` then zeros, deflated (a deflate bomb: about 1000:1). */
export function deflatedZeros(
  n: number,
  prefix: Uint8Array = new Uint8Array(0),
): { bytes: Uint8Array; size: number; crc: number } {
  const d = Buffer.alloc(n);
  d.set(prefix);
  return { bytes: deflateRawSync(d, { level: 1 }), size: n, crc: crc32(d) };
}

/** Which reference rules apply: 'npz' (numpy via zipfile) or 'torch' (PyTorch's miniz reader). */
export type ZipFlavour = 'npz' | 'torch';

/** One zip-structure mutation of `b`, or null when `b` is not a zip this code understands. */
/** `force` picks the mutation (for the fixed inputs that every campaign runs). */
export function mutateZip(r: Rng, b: Uint8Array, flavour: ZipFlavour, force?: number): Mutant | null {
  const z = readZip(b);
  if (!z || z.recs.length === 0) return null;
  const npz = flavour === 'npz';
  const out = Uint8Array.from(b);
  const rec = r.pick(z.recs);
  const strict = (): Expect => (npz ? 'reject' : 'sameOrReject');
  switch (force ?? r.int(13)) {
    case 0: {
      // the EOCD count understates or overstates the entries: zipfile ignores it
      let k = force === 0 ? z.count - 1 : r.int(z.count + 3);
      if (k === z.count) k = 0;
      put16le(out, z.eocdAt + 8, k);
      put16le(out, z.eocdAt + 10, k);
      return { bytes: out, expect: 'sameOrReject', op: k < z.count ? 'zip:eocd-count-under' : 'zip:eocd-count-over' };
    }
    case 1: {
      // CRC flipped in both headers: the data no longer matches
      const bit = 1 << r.int(32);
      put32le(out, rec.cenAt + 16, (rec.crc ^ bit) >>> 0);
      put32le(out, rec.localAt + 14, (rec.crc ^ bit) >>> 0);
      return { bytes: out, expect: strict(), op: `zip:crc-flip-${rec.method ? 'deflated' : 'stored'}` };
    }
    case 2: {
      // central CRC only
      put32le(out, rec.cenAt + 16, (rec.crc ^ (1 << r.int(32))) >>> 0);
      return { bytes: out, expect: strict(), op: 'zip:crc-flip-central' };
    }
    case 3: {
      // two central entries point at one local header: overlapping entries
      // NOTE: zipfile refuses these (3.12); PyTorch's miniz reader does not look, but issue #24 asks
      // nabla's shared zip reader to refuse them for both.
      if (z.recs.length < 2) return null;
      const other = z.recs.find((x) => x !== rec)!;
      put32le(out, rec.cenAt + 42, other.localAt);
      return { bytes: out, expect: 'reject', op: 'zip:overlap' };
    }
    case 4: {
      // the local header's name differs from the central one
      const nl = u16le(b, rec.localAt + 26);
      if (nl === 0) return null;
      out[rec.localAt + 30 + r.int(nl)] ^= 0x01;
      return { bytes: out, expect: strict(), op: 'zip:local-name-mismatch' };
    }
    case 5: {
      // local extra length grows: the data start moves
      put16le(out, rec.localAt + 28, u16le(b, rec.localAt + 28) + 1 + r.int(8));
      return { bytes: out, expect: npz ? 'reject' : 'any', op: 'zip:local-extra-shift' };
    }
    case 6: {
      // local sizes disagree with the central ones (zipfile trusts the central directory)
      put32le(out, rec.localAt + 18 + 4 * r.int(2), r.pick([0, 1, rec.csize + 1, 0xffffffff]));
      return { bytes: out, expect: 'sameOrReject', op: 'zip:local-size-mismatch' };
    }
    case 7: {
      // a bad local header signature
      out[rec.localAt + r.int(4)] ^= 0x20;
      return { bytes: out, expect: npz ? 'reject' : 'any', op: 'zip:local-signature' };
    }
    case 8: {
      // an unsupported or changed compression method
      const m = r.pick([1, 12, 14, 99, rec.method === 0 ? 8 : 0]);
      put16le(out, rec.cenAt + 10, m);
      put16le(out, rec.localAt + 8, m);
      return { bytes: out, expect: npz ? 'reject' : 'any', op: 'zip:method' };
    }
    case 9: {
      // an extra member that is not part of the content
      const ms = membersOf(b, z);
      // NOTE: PyTorch refuses members outside the archive's top directory, so torch's junk stays inside it.
      const top = npz ? '' : `${z.recs[0].name.split('/')[0]}/`;
      const name = top + r.pick(['junk.txt', 'extra/notes', '.npy.bak']);
      ms.splice(r.int(ms.length + 1), 0, { name, data: Uint8Array.from({ length: r.int(64) }, () => r.int(256)) });
      return { bytes: buildZip(ms), expect: 'same', op: 'zip:extra-member' };
    }
    case 10: {
      // the same members, deflated, and in another order
      const ms = membersOf(b, z).map((m) => (m.data ? { ...m, deflate: r.chance(0.7) } : m));
      for (let i = ms.length - 1; i > 0; i--) {
        const j = r.int(i + 1);
        [ms[i], ms[j]] = [ms[j], ms[i]];
      }
      return { bytes: buildZip(ms), expect: 'same', op: 'zip:rezip-deflate-reorder' };
    }
    case 11: {
      // the central size says more than the member inflates to (zipfile reads what there is)
      if (rec.method !== 8) return null;
      put32le(out, rec.cenAt + 24, rec.size + 1 + r.int(100));
      return { bytes: out, expect: 'sameOrReject', op: 'zip:size-lie' };
    }
    default: {
      // a comment after the EOCD, with or without its length
      const junk = Uint8Array.from({ length: 1 + r.int(40) }, () => r.int(256));
      if (r.chance(0.5)) {
        put16le(out, z.eocdAt + 20, junk.length);
        return { bytes: concat(out, junk), expect: 'same', op: 'zip:comment' };
      }
      return { bytes: concat(out, junk), expect: 'sameOrReject', op: 'zip:trailing-junk' };
    }
  }
}
