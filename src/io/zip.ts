// A small zip reader and writer: what PyTorch's torch.save archives and NumPy's .npz need.
// Reader: end-of-central-directory record (zip64 too, for checkpoints above 4 GB), the central
// directory, then each member's local header; stored members are read by position through a
// SliceSource, deflated ones are inflated with a size bound. The reader is as strict as Python's
// zipfile (numpy's npz reader): the central directory must fill exactly the bytes the end record
// gives it, names are unique, members may not overlap (a zip bomb's trick), each local header must
// name its member, and every member's CRC-32 is checked, stored ones as they are read (CrcSliceSource).
// Writer: stored or deflated members,
// optional data alignment (torch aligns every record to 64 bytes), zip64 when needed.
import { inflateRawSync, deflateRawSync, zlibCrc32, Buffer } from '../platform/node.js';
import { BufferSource, CheckpointError, SliceSource, u16, u32, u64, type ByteSource } from './source.js';

export interface ZipEntry {
  name: string;
  method: number; // 0 stored, 8 deflated
  compressedSize: number;
  size: number;
  crc: number;
  localOffset: number;
  /** Where the next member (or the central directory) starts: this member must end before it. */
  endBound: number;
}

const SIG_EOCD = 0x06054b50,
  SIG_EOCD64 = 0x06064b50,
  SIG_LOC64 = 0x07064b50,
  SIG_CEN = 0x02014b50,
  SIG_LOC = 0x04034b50;
/** Deflate cannot expand data by more than about 1032:1, so a larger claim is a lie. */
const MAX_DEFLATE_RATIO = 1032;

export class ZipReader {
  readonly entries: ZipEntry[] = [];
  private byName = new Map<string, ZipEntry>();

  constructor(readonly src: ByteSource) {
    this.readDirectory();
  }

  private fail(msg: string): never {
    throw new CheckpointError(this.src.name, `zip: ${msg}`);
  }

  private readDirectory(): void {
    const { src } = this;
    if (src.size < 22) this.fail(`file is ${src.size} bytes, too short for a zip archive`);
    const tailLen = Math.min(src.size, 22 + 65535 + 20);
    const tailStart = src.size - tailLen;
    const tail = src.read(tailStart, tailLen, 'end of central directory');
    let at = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (u32(tail, i) === SIG_EOCD) {
        at = i;
        break;
      }
    }
    if (at < 0) this.fail('no end-of-central-directory record (not a zip file, or truncated)');
    let count = u16(tail, at + 10);
    let cdSize = u32(tail, at + 12);
    let cdOffset = u32(tail, at + 16);
    let endRecord = tailStart + at; // where the central directory must end
    const diskCount = u16(tail, at + 8);
    // NOTE: as in Python's zipfile, a zip64 locator makes the zip64 record the source of truth.
    if (at >= 20 && u32(tail, at - 20) === SIG_LOC64) {
      const eocd64 = u64(tail, at - 20 + 8);
      if (eocd64 + 56 > tailStart + at - 20) this.fail('zip64 end-of-central-directory offset out of range');
      const r = src.read(eocd64, 56, 'zip64 end of central directory');
      if (u32(r, 0) !== SIG_EOCD64) this.fail('bad zip64 end-of-central-directory signature');
      count = u64(r, 32);
      if (u64(r, 24) !== count) this.fail('zip64 end-of-central-directory entry counts disagree');
      cdSize = u64(r, 40);
      cdOffset = u64(r, 48);
      endRecord = eocd64;
    }
    if (!(cdOffset + cdSize <= src.size))
      this.fail(`central directory [${cdOffset}, ${cdOffset + cdSize}) lies outside the file (${src.size} bytes)`);
    // NOTE: Python's zipfile would accept bytes prepended to the archive and shift every offset;
    // nothing that writes checkpoints does that, so a gap here means a corrupt or doctored file.
    if (cdOffset + cdSize !== endRecord) {
      const cdEnd = cdOffset + cdSize;
      this.fail(
        `central directory [${cdOffset}, ${cdEnd}) does not end where the end-of-central-directory record starts ` +
          `(${endRecord})`,
      );
    }
    if (count * 46 > cdSize) this.fail(`central directory claims ${count} entries but holds only ${cdSize} bytes`);
    if (endRecord === tailStart + at && diskCount !== count) {
      this.fail(
        `end-of-central-directory record counts ${diskCount} entries on this disk but ${count} in all ` +
          '(multi-disk archives are not supported)',
      );
    }
    const cd = src.read(cdOffset, cdSize, 'central directory');
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || u32(cd, p) !== SIG_CEN) this.fail(`central directory entry ${i} is malformed`);
      const flags = u16(cd, p + 8);
      const method = u16(cd, p + 10);
      const crc = u32(cd, p + 16);
      let csize = u32(cd, p + 20),
        size = u32(cd, p + 24);
      const nameLen = u16(cd, p + 28),
        extraLen = u16(cd, p + 30),
        commentLen = u16(cd, p + 32);
      let local = u32(cd, p + 42);
      const end = p + 46 + nameLen + extraLen + commentLen;
      if (end > cd.length) this.fail(`central directory entry ${i} runs past the directory`);
      const name = new TextDecoder().decode(cd.subarray(p + 46, p + 46 + nameLen));
      // zip64 extended information: only the fields whose 32-bit value is 0xffffffff, in order.
      let x = p + 46 + nameLen;
      const xEnd = x + extraLen;
      while (x + 4 <= xEnd) {
        const id = u16(cd, x),
          len = u16(cd, x + 2);
        if (x + 4 + len > xEnd) this.fail(`entry '${name}': extra field runs past the entry`);
        if (id === 1) {
          let q = x + 4;
          const take = (): number => {
            if (q + 8 > x + 4 + len) this.fail(`entry '${name}': zip64 extra field too short`);
            const v = u64(cd, q);
            q += 8;
            return v;
          };
          if (size === 0xffffffff) size = take();
          if (csize === 0xffffffff) csize = take();
          if (local === 0xffffffff) local = take();
        }
        x += 4 + len;
      }
      if (flags & 1) this.fail(`entry '${name}' is encrypted`);
      if (method !== 0 && method !== 8)
        this.fail(`entry '${name}' uses compression method ${method} (only stored and deflate are supported)`);
      if (!(local + 30 + csize <= src.size))
        this.fail(`entry '${name}': data [${local}, ${local + csize}) lies outside the file (${src.size} bytes)`);
      if (method === 0 && size !== csize)
        this.fail(`entry '${name}': stored entry with size ${size} != compressed size ${csize}`);
      if (method === 8 && size > csize * MAX_DEFLATE_RATIO + 1024)
        this.fail(`entry '${name}': claims ${size} bytes from ${csize} compressed, impossible for deflate`);
      if (!(local + 30 + csize <= cdOffset)) {
        this.fail(`entry '${name}': data [${local}, ${local + csize}) runs into the central directory`);
      }
      if (this.byName.has(name)) this.fail(`entry '${name}' appears twice in the central directory`);
      const e: ZipEntry = { name, method, compressedSize: csize, size, crc, localOffset: local, endBound: cdOffset };
      this.entries.push(e);
      this.byName.set(name, e);
      p = end;
    }
    // A count that understates the entries would silently drop members (numpy reads them all).
    if (p !== cd.length) {
      this.fail(
        `central directory holds ${cd.length} bytes but its ${count} entries fill only ${p} (the entry count is wrong)`,
      );
    }
    const byOffset = this.entries.slice().sort((a, b) => a.localOffset - b.localOffset);
    for (let i = 0; i + 1 < byOffset.length; i++) {
      const a = byOffset[i],
        b = byOffset[i + 1];
      if (a.localOffset === b.localOffset) {
        this.fail(`overlapped entries: '${a.name}' and '${b.name}' share a local header (possible zip bomb)`);
      }
      a.endBound = b.localOffset;
    }
  }

  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /** Where the member's data starts, from its local header (which must name the member). */
  private dataStart(e: ZipEntry): number {
    const h = this.src.read(e.localOffset, 30, `local header of '${e.name}'`);
    if (u32(h, 0) !== SIG_LOC) this.fail(`entry '${e.name}': bad local header signature at ${e.localOffset}`);
    const nameLen = u16(h, 26);
    const start = e.localOffset + 30 + nameLen + u16(h, 28);
    if (start + e.compressedSize > this.src.size) this.fail(`entry '${e.name}': data runs past the end of the file`);
    const local = new TextDecoder().decode(this.src.read(e.localOffset + 30, nameLen, `local header of '${e.name}'`));
    if (local !== e.name) this.fail(`entry '${e.name}': its local header names '${local.slice(0, 100)}'`);
    if (start + e.compressedSize > e.endBound) {
      this.fail(`overlapped entries: '${e.name}' runs into the next member (possible zip bomb)`);
    }
    return start;
  }

  /**
   * The member as a byte source: a window of the file when stored (its CRC-32 checked as it is read;
   * call `finish()` once done), the inflated bytes when deflated (checked here).
   */
  open(e: ZipEntry): ByteSource {
    const name = `${this.src.name}:${e.name}`;
    const start = this.dataStart(e);
    const bad = (m: string): never => this.fail(`entry '${e.name}': ${m}`);
    if (e.method === 0) return new CrcSliceSource(this.src, start, e.size, name, e.crc, bad);
    const comp = this.src.read(start, e.compressedSize, `entry '${e.name}'`);
    let out: Buffer;
    try {
      // NOTE: one output chunk one byte larger than the claim: zlib then fills a single buffer and
      // returns a view of it, where the default 16 KiB chunks are concatenated at the end (twice the
      // member's size at the peak).
      out = inflateRawSync(comp, { maxOutputLength: Math.max(1, e.size), chunkSize: Math.max(64, e.size + 1) });
    } catch (err) {
      this.fail(`entry '${e.name}': corrupt deflate data (${(err as Error).message})`);
    }
    if (out.length !== e.size)
      this.fail(`entry '${e.name}': inflated to ${out.length} bytes, directory says ${e.size}`);
    if (crc32(out) !== e.crc) this.fail(`entry '${e.name}': Bad CRC-32 (corrupt data)`);
    return new BufferSource(out, name, true);
  }

  /** Whole member contents (for small members such as data.pkl). */
  readAll(e: ZipEntry): Uint8Array {
    const s = this.open(e);
    const b = s.read(0, s.size, `entry '${e.name}'`);
    s.finish?.();
    return b;
  }
}

/**
 * A stored member that checks its CRC-32 as it is read: reads that extend the checked prefix feed
 * the CRC, and the read that completes the member compares it, so data that fails the check never
 * reaches the caller's result. `finish()` reads whatever the caller skipped.
 */
class CrcSliceSource extends SliceSource {
  private done = 0;
  private crc = 0;
  constructor(
    parent: ByteSource,
    start: number,
    size: number,
    name: string,
    private readonly expected: number,
    private readonly bad: (m: string) => never,
  ) {
    super(parent, start, size, name);
    if (size === 0) this.check();
  }
  private feed(pos: number, b: Uint8Array): void {
    if (pos > this.done || pos + b.byteLength <= this.done) return;
    this.crc = crc32(b.subarray(this.done - pos), this.crc);
    this.done = pos + b.byteLength;
    if (this.done === this.size) this.check();
  }
  private check(): void {
    if (this.crc >>> 0 !== this.expected >>> 0) {
      this.bad(`Bad CRC-32 (the directory says ${hex(this.expected)}, the data gives ${hex(this.crc)})`);
    }
  }
  override read(pos: number, len: number, what = 'read'): Uint8Array {
    const b = super.read(pos, len, what);
    this.feed(pos, b);
    return b;
  }
  override readInto(pos: number, dest: Uint8Array, what = 'read'): void {
    super.readInto(pos, dest, what);
    this.feed(pos, dest);
  }
  override async readIntoAsync(pos: number, dest: Uint8Array, what = 'read'): Promise<void> {
    await super.readIntoAsync(pos, dest, what);
    this.feed(pos, dest);
  }
  finish(): void {
    while (this.done < this.size) this.read(this.done, Math.min(this.size - this.done, 1 << 20), 'CRC-32 check');
  }
}

const hex = (x: number): string => `0x${(x >>> 0).toString(16).padStart(8, '0')}`;

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE), table-driven.
const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

// NOTE: zlib.crc32 (Node >= 20.15) is several times faster than the table loop on large records.
const nativeCrc = zlibCrc32;

export function crc32(data: Uint8Array, crc = 0): number {
  if (nativeCrc) return nativeCrc(data, crc) >>> 0;
  return crc32Table(data, crc);
}

export function crc32Table(data: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export interface ZipMemberInput {
  name: string;
  /** The member's bytes, possibly in several pieces (never concatenated when stored). */
  data: Uint8Array[];
  deflate?: boolean;
}

/**
 * Zip archive chunks. `align` pads each local header's extra field so member data starts at a
 * multiple of `align` (torch uses 64). Zip64 records are written when an offset or size needs them
 * (or always with `forceZip64`, for tests).
 */
export function* zipChunks(
  members: Iterable<ZipMemberInput>,
  align = 0,
  opts: { forceZip64?: boolean } = {},
): Generator<Uint8Array> {
  const enc = new TextEncoder();
  const central: Uint8Array[] = [];
  let offset = 0,
    count = 0;
  for (const m of members) {
    const name = enc.encode(m.name);
    let parts = m.data;
    let size = 0,
      crc = 0;
    for (const p of parts) {
      size += p.byteLength;
      crc = crc32(p, crc);
    }
    let method = 0,
      csize = size;
    if (m.deflate) {
      const c = deflateRawSync(Buffer.concat(parts));
      parts = [c];
      csize = c.length;
      method = 8;
    }
    const big = opts.forceZip64 === true || size >= 0xffffffff || csize >= 0xffffffff || offset >= 0xffffffff;
    const z64local = big ? 20 : 0;
    let pad = 0;
    if (align > 0) {
      const dataAt = offset + 30 + name.length + z64local + 4;
      pad = (align - (dataAt % align)) % align;
    }
    const extraLen = z64local + (align > 0 ? 4 + pad : 0);
    const h = Buffer.alloc(30 + name.length + extraLen);
    h.writeUInt32LE(SIG_LOC, 0);
    h.writeUInt16LE(big ? 45 : 20, 4);
    h.writeUInt16LE(0x800, 6); // UTF-8 names
    h.writeUInt16LE(method, 8);
    h.writeUInt32LE(crc, 14);
    h.writeUInt32LE(big ? 0xffffffff : csize, 18);
    h.writeUInt32LE(big ? 0xffffffff : size, 22);
    h.writeUInt16LE(name.length, 26);
    h.writeUInt16LE(extraLen, 28);
    h.set(name, 30);
    let x = 30 + name.length;
    if (big) {
      h.writeUInt16LE(1, x);
      h.writeUInt16LE(16, x + 2);
      h.writeBigUInt64LE(BigInt(size), x + 4);
      h.writeBigUInt64LE(BigInt(csize), x + 12);
      x += 20;
    }
    if (align > 0) {
      h.writeUInt16LE(0xcafe, x);
      h.writeUInt16LE(pad, x + 2);
    }
    yield h;
    for (const p of parts) yield p;
    const c = Buffer.alloc(46 + name.length + (big ? 28 : 0));
    c.writeUInt32LE(SIG_CEN, 0);
    c.writeUInt16LE(big ? 45 : 20, 4);
    c.writeUInt16LE(big ? 45 : 20, 6);
    c.writeUInt16LE(0x800, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(big ? 0xffffffff : csize, 20);
    c.writeUInt32LE(big ? 0xffffffff : size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(big ? 28 : 0, 30);
    c.writeUInt32LE(big ? 0xffffffff : offset, 42);
    c.set(name, 46);
    if (big) {
      const y = 46 + name.length;
      c.writeUInt16LE(1, y);
      c.writeUInt16LE(24, y + 2);
      c.writeBigUInt64LE(BigInt(size), y + 4);
      c.writeBigUInt64LE(BigInt(csize), y + 12);
      c.writeBigUInt64LE(BigInt(offset), y + 20);
    }
    central.push(c);
    offset += h.length + csize;
    count++;
  }
  const cdStart = offset;
  let cdSize = 0;
  for (const c of central) {
    yield c;
    cdSize += c.length;
  }
  const need64 = opts.forceZip64 === true || count >= 0xffff || cdStart >= 0xffffffff || cdSize >= 0xffffffff;
  if (need64) {
    const r = Buffer.alloc(56 + 20);
    r.writeUInt32LE(SIG_EOCD64, 0);
    r.writeBigUInt64LE(44n, 4);
    r.writeUInt16LE(45, 12);
    r.writeUInt16LE(45, 14);
    r.writeBigUInt64LE(BigInt(count), 24);
    r.writeBigUInt64LE(BigInt(count), 32);
    r.writeBigUInt64LE(BigInt(cdSize), 40);
    r.writeBigUInt64LE(BigInt(cdStart), 48);
    r.writeUInt32LE(SIG_LOC64, 56);
    r.writeBigUInt64LE(BigInt(cdStart + cdSize), 64);
    r.writeUInt32LE(1, 72);
    yield r;
  }
  const e = Buffer.alloc(22);
  e.writeUInt32LE(SIG_EOCD, 0);
  e.writeUInt16LE(need64 ? 0xffff : count, 8);
  e.writeUInt16LE(need64 ? 0xffff : count, 10);
  e.writeUInt32LE(need64 ? 0xffffffff : cdSize, 12);
  e.writeUInt32LE(need64 ? 0xffffffff : cdStart, 16);
  yield e;
}
