// Chunk-aware WAV mutations for nb.audio's reader (issue 20), with the verdicts a RIFF reader must
// reach: a data chunk that claims more bytes than remain, a cut inside the samples, or an unknown
// format code are errors; an extra ancillary chunk, a changed RIFF size or trailing bytes change nothing.
import { type Rng, ascii, concat, put16le as put16, put32le as put32 } from './util.js';
import type { Mutant } from './types.js';

interface Chunk {
  at: number;
  size: number;
  id: string;
}

function chunks(b: Uint8Array): Chunk[] | null {
  if (b.length < 12 || String.fromCharCode(...b.subarray(0, 4)) !== 'RIFF') return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Chunk[] = [];
  for (let p = 12; p + 8 <= b.length; ) {
    const size = dv.getUint32(p + 4, true);
    out.push({ at: p, size, id: String.fromCharCode(...b.subarray(p, p + 4)) });
    p += 8 + size + (size & 1);
  }
  return out;
}

/** A chunk with its 8-byte header (and pad byte when odd). */
export function riffChunk(id: string, body: Uint8Array): Uint8Array {
  const c = new Uint8Array(8 + body.length + (body.length & 1));
  c.set(ascii(id), 0);
  put32(c, 4, body.length);
  c.set(body, 8);
  return c;
}

export function mutateWav(r: Rng, b: Uint8Array): Mutant | null {
  const cs = chunks(b);
  const fmt = cs?.find((c) => c.id === 'fmt '),
    data = cs?.find((c) => c.id === 'data');
  if (!cs || !fmt || !data) return null;
  const out = Uint8Array.from(b);
  switch (r.int(8)) {
    case 0: {
      // an ancillary chunk (odd length: the pad byte must be honoured) before data
      const c = riffChunk(r.pick(['LIST', 'junk', 'fact', 'bext']), ascii('fuzz'.repeat(1 + r.int(3)) + 'x'));
      const bytes = concat(b.subarray(0, data.at), c, b.subarray(data.at));
      return { bytes, expect: 'same', op: 'wav:ancillary' };
    }
    case 1:
      put32(out, 4, r.pick([0, 4, b.length, 0xffffffff]) >>> 0);
      return { bytes: out, expect: 'same', op: 'wav:riff-size' };
    case 2: {
      // the data chunk claims more than remains
      put32(out, data.at + 4, (data.size + 1 + r.int(1 << 30)) >>> 0);
      return { bytes: out, expect: 'reject', op: 'wav:data-size-grow' };
    }
    case 3: {
      // cut inside the samples
      const cut = data.at + 8 + r.int(Math.max(1, data.size));
      return { bytes: b.subarray(0, cut), expect: 'reject', op: 'wav:truncate-data' };
    }
    case 4: {
      put16(out, fmt.at + 8, r.pick([0, 2, 6, 7, 0x55, 0x2000, 0xffff]));
      return { bytes: out, expect: 'reject', op: 'wav:format-code' };
    }
    case 5: {
      // channels, rate, byte rate, block align or bits
      const f = r.pick([2, 4, 8, 12, 14]);
      if (f === 4 || f === 8) put32(out, fmt.at + 8 + f, r.pick([0, 1, 0x7fffffff, 0xffffffff]) >>> 0);
      else put16(out, fmt.at + 8 + f, r.pick([0, 1, 3, 7, 64, 0xffff]));
      return { bytes: out, expect: 'any', op: 'wav:fmt-field' };
    }
    case 6: {
      put32(out, fmt.at + 4, r.pick([0, 8, 15, 0x7fffffff, 0xffffffff]) >>> 0);
      return { bytes: out, expect: 'any', op: 'wav:fmt-size' };
    }
    default:
      return { bytes: concat(b, new Uint8Array(1 + r.int(9))), expect: 'same', op: 'wav:trailing' };
  }
}

/** A WAV whose only fmt chunk is preceded by n empty chunks (a chunk flood). */
export function wavChunkFlood(seed: Uint8Array, n: number): Uint8Array {
  const flood = new Uint8Array(8 * n);
  for (let i = 0; i < n; i++) flood.set(ascii('junk'), 8 * i);
  return concat(seed.subarray(0, 12), flood, seed.subarray(12));
}
