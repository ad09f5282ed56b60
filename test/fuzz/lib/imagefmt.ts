// Chunk-aware PNG and marker-aware JPEG mutations, with PIL's verdicts where they are certain:
// PIL checks the CRC of every chunk it reads before the image data, refuses a stream that ends
// before the image is complete ("image file is truncated"), so an IHDR that claims more pixels
// than the data holds, or a file cut inside IDAT or inside the JPEG scan, is an error.
import { deflateSync } from 'node:zlib';
import { type Rng, ascii, concat, crc32, put32be, u32be } from './util.js';
import type { Mutant } from './types.js';

interface Chunk {
  at: number;
  len: number;
  type: string;
}

function pngChunks(b: Uint8Array): Chunk[] | null {
  if (b.length < 8 || b[0] !== 0x89 || b[1] !== 0x50) return null;
  const out: Chunk[] = [];
  let p = 8;
  while (p + 12 <= b.length) {
    const len = u32be(b, p);
    if (p + 12 + len > b.length) return null;
    out.push({ at: p, len, type: String.fromCharCode(...b.subarray(p + 4, p + 8)) });
    p += 12 + len;
  }
  return out.length ? out : null;
}

/** A chunk with its length and CRC. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const c = new Uint8Array(12 + data.length);
  put32be(c, 0, data.length);
  c.set(ascii(type), 4);
  c.set(data, 8);
  put32be(c, 8 + data.length, crc32(c.subarray(4, 8 + data.length)));
  return c;
}

function fixCrc(b: Uint8Array, c: Chunk): void {
  put32be(b, c.at + 8 + c.len, crc32(b.subarray(c.at + 4, c.at + 8 + c.len)));
}

/** A valid grayscale PNG of w x h zero pixels; large sizes are decompression bombs. */
export function pngZeros(w: number, h: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  put32be(ihdr, 0, w);
  put32be(ihdr, 4, h);
  ihdr[8] = 8;
  ihdr[9] = 0;
  const sig = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const idat = deflateSync(Buffer.alloc(h * (w + 1)), { level: 1 });
  return concat(sig, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', new Uint8Array(0)));
}

export function mutatePng(r: Rng, b: Uint8Array): Mutant | null {
  const cs = pngChunks(b);
  if (cs?.[0].type !== 'IHDR') return null;
  const ihdr = cs[0];
  const idats = cs.filter((c) => c.type === 'IDAT');
  const firstIdat = cs.indexOf(idats[0]);
  const out = Uint8Array.from(b);
  switch (r.int(9)) {
    case 0: {
      // an ancillary text or private chunk: the pixels are unchanged (zTXt/iTXt would need their own layout)
      const c = cs[r.pick([1, cs.length - 1])];
      const text = pngChunk(r.pick(['tEXt', 'prVt']), ascii('Comment\0fuzz'));
      return { bytes: concat(b.subarray(0, c.at), text, b.subarray(c.at)), expect: 'same', op: 'png:ancillary' };
    }
    case 1: {
      // IHDR claims another width or height (CRC fixed)
      const dim = r.int(2);
      const at = ihdr.at + 8 + 4 * dim;
      const v = u32be(b, at);
      const nv = r.pick([v + 1, v * 2, v + 100, Math.max(1, v - 1), 1, 0]);
      put32be(out, at, nv);
      fixCrc(out, ihdr);
      // NOTE: PIL refuses a wider image (its rows run out of data, "image file is truncated") but
      // loads a taller one whose data ends early, so only a grown width has a known verdict.
      if (dim === 0 && nv > v) return { bytes: out, expect: 'reject', op: 'png:ihdr-width-grow' };
      return { bytes: out, expect: 'any', op: dim === 0 ? 'png:ihdr-width-shrink' : 'png:ihdr-height' };
    }
    case 2: {
      // bit depth, colour type, methods, interlace (CRC fixed)
      out[ihdr.at + 16 + r.int(5)] = r.pick([0, 1, 2, 3, 4, 6, 8, 16, 255]);
      fixCrc(out, ihdr);
      return { bytes: out, expect: 'any', op: 'png:ihdr-fields' };
    }
    case 3: {
      // a CRC flip
      const i = r.int(cs.length);
      out[cs[i].at + 8 + cs[i].len + r.int(4)] ^= 1 << r.int(8);
      const early = i < firstIdat;
      return { bytes: out, expect: early ? 'reject' : 'any', op: early ? 'png:crc-before-idat' : 'png:crc-later' };
    }
    case 4: {
      // cut in the first half of the image data (near its end, PIL may already have every pixel)
      if (!idats.length) return null;
      const c = idats[0];
      const cut = c.at + 8 + r.int(Math.max(1, c.len >> 1));
      return { bytes: b.subarray(0, cut), expect: 'reject', op: 'png:truncate-idat' };
    }
    case 5: {
      // the image data split across several IDAT chunks
      if (idats.length !== 1) return null;
      const c = idats[0],
        data = b.subarray(c.at + 8, c.at + 8 + c.len);
      const parts: Uint8Array[] = [];
      for (let p = 0; p < data.length; ) {
        const k = 1 + r.int(Math.max(1, data.length / 2));
        parts.push(pngChunk('IDAT', data.subarray(p, p + k)));
        p += k;
      }
      const bytes = concat(b.subarray(0, c.at), ...parts, b.subarray(c.at + 12 + c.len));
      return { bytes, expect: 'same', op: 'png:split-idat' };
    }
    case 6: {
      // a chunk length field lies
      const c = r.pick(cs);
      put32be(out, c.at, r.pick([0, c.len + 1, c.len - 1, 0x7fffffff, 0xffffffff]) >>> 0);
      return { bytes: out, expect: 'any', op: 'png:length' };
    }
    case 7: {
      // corrupt compressed data with a valid CRC
      if (!idats.length) return null;
      const c = r.pick(idats);
      out[c.at + 8 + r.int(c.len)] ^= 1 << r.int(8);
      fixCrc(out, c);
      return { bytes: out, expect: 'any', op: 'png:idat-data' };
    }
    default: {
      // IEND dropped
      const end = cs[cs.length - 1];
      return { bytes: b.subarray(0, end.at), expect: 'any', op: 'png:no-iend' };
    }
  }
}

interface Segment {
  at: number;
  marker: number;
  len: number;
}

/** The marker segments up to and including SOS, and where the entropy-coded data ends. */
function jpegSegments(b: Uint8Array): { segs: Segment[]; scanStart: number; scanEnd: number } | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  const segs: Segment[] = [];
  let p = 2;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) return null;
    const m = b[p + 1],
      len = (b[p + 2] << 8) | b[p + 3];
    segs.push({ at: p, marker: m, len });
    p += 2 + len;
    if (m === 0xda) {
      let e = b.length - 2;
      while (e > p && !(b[e] === 0xff && b[e + 1] === 0xd9)) e--;
      return { segs, scanStart: p, scanEnd: e };
    }
  }
  return null;
}

/** A SOF0 segment claiming h x w pixels, to splice into a real JPEG (a memory bomb). */
export function jpegResize(b: Uint8Array, w: number, h: number): Uint8Array | null {
  const j = jpegSegments(b);
  const sof = j?.segs.find((s) => s.marker >= 0xc0 && s.marker <= 0xc2);
  if (!sof) return null;
  const out = Uint8Array.from(b);
  out[sof.at + 5] = h >> 8;
  out[sof.at + 6] = h & 0xff;
  out[sof.at + 7] = w >> 8;
  out[sof.at + 8] = w & 0xff;
  return out;
}

export function mutateJpeg(r: Rng, b: Uint8Array): Mutant | null {
  const j = jpegSegments(b);
  if (!j) return null;
  const { segs, scanStart, scanEnd } = j;
  const out = Uint8Array.from(b);
  const seg = (data: Uint8Array, marker: number) =>
    concat(Uint8Array.from([0xff, marker, (data.length + 2) >> 8, (data.length + 2) & 0xff]), data);
  switch (r.int(8)) {
    case 0: {
      // a comment or application segment: the pixels are unchanged
      const at = r.pick([2, segs[segs.length - 1].at]);
      const s = seg(ascii('fuzz comment '.repeat(1 + r.int(4))), r.pick([0xfe, 0xef, 0xe5]));
      return { bytes: concat(b.subarray(0, at), s, b.subarray(at)), expect: 'same', op: 'jpeg:comment' };
    }
    case 1: {
      // the frame claims another size
      const w = r.pick([0, 1, 7, 65535, 300, 20000]),
        h = r.pick([0, 1, 9, 65535, 200, 20000]);
      return { bytes: jpegResize(b, w, h) ?? out, expect: 'any', op: 'jpeg:sof-size' };
    }
    case 2: // cut inside the scan
      return {
        bytes: b.subarray(0, scanStart + r.int(Math.max(1, scanEnd - scanStart - 1))),
        expect: 'reject',
        op: 'jpeg:truncate-scan',
      };
    case 3: {
      // a segment length lies
      const s = r.pick(segs);
      const v = r.pick([0, 1, 2, s.len + 1, s.len - 1, 0xffff]);
      out[s.at + 2] = v >> 8;
      out[s.at + 3] = v & 0xff;
      return { bytes: out, expect: 'any', op: 'jpeg:length' };
    }
    case 4: {
      // tables, frame or scan header bytes
      const s = r.pick(segs);
      if (s.len > 2) out[s.at + 4 + r.int(s.len - 2)] = r.int(256);
      return { bytes: out, expect: 'any', op: 'jpeg:segment-byte' };
    }
    case 5: {
      // entropy-coded data
      if (scanEnd > scanStart) out[scanStart + r.int(scanEnd - scanStart)] ^= 1 << r.int(8);
      return { bytes: out, expect: 'any', op: 'jpeg:scan-byte' };
    }
    case 6:
      return { bytes: b.subarray(0, scanEnd), expect: 'any', op: 'jpeg:no-eoi' };
    default: {
      // a segment repeated (two frames, two sets of tables)
      const s = r.pick(segs.slice(0, -1));
      const bytes = concat(b.subarray(0, s.at), b.subarray(s.at, s.at + 2 + s.len), b.subarray(s.at));
      return { bytes, expect: 'any', op: 'jpeg:dup-segment' };
    }
  }
}
