// Small pieces shared by the fuzz campaign: a seeded generator, byte helpers, CRC-32 and the
// pickle opcode table. Nothing here imports nabla, so the mutators stay independent of the code
// they test.
import * as zlib from 'node:zlib';

/** Mulberry32 plus helpers: every mutant is a pure function of (seed, input index). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform integer in [0, n); 0 when n <= 0. */
  int(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
}

/** A seed per (campaign seed, stream, index), so inputs do not depend on the order they are made in. */
export function mix(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h >>> 0;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const u16le = (b: Uint8Array, at: number): number => b[at] | (b[at + 1] << 8);
export const u32le = (b: Uint8Array, at: number): number =>
  (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000;
export const u32be = (b: Uint8Array, at: number): number =>
  b[at] * 0x1000000 + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
export function put16le(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
}
export function put32le(b: Uint8Array, at: number, v: number): void {
  for (let i = 0; i < 4; i++) b[at + i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
}
export function put32be(b: Uint8Array, at: number, v: number): void {
  for (let i = 0; i < 4; i++) b[at + 3 - i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
}

export function crc32(b: Uint8Array): number {
  return zlib.crc32(b) >>> 0;
}

export const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** Argument shape of each pickle opcode: bytes after the opcode, or a text line, or a length prefix. */
type PickleArg = number | 'line' | 'line2' | 'len1' | 'len4' | 'len8' | 'slen4';
export const PICKLE_ARGS: ReadonlyMap<number, PickleArg> = new Map<number, PickleArg>([
  [0x80, 1],
  [0x95, 8],
  [0x2e, 0],
  [0x28, 0],
  [0x30, 0],
  [0x31, 0],
  [0x32, 0],
  [0x4e, 0],
  [0x88, 0],
  [0x89, 0],
  [0x4a, 4],
  [0x4b, 1],
  [0x4d, 2],
  [0x8a, 'len1'],
  [0x8b, 'slen4'],
  [0x49, 'line'],
  [0x4c, 'line'],
  [0x46, 'line'],
  [0x47, 8],
  [0x58, 'len4'],
  [0x8c, 'len1'],
  [0x8d, 'len8'],
  [0x56, 'line'],
  [0x53, 'line'],
  [0x54, 'slen4'],
  [0x55, 'len1'],
  [0x42, 'len4'],
  [0x43, 'len1'],
  [0x8e, 'len8'],
  [0x96, 'len8'],
  [0x29, 0],
  [0x74, 0],
  [0x85, 0],
  [0x86, 0],
  [0x87, 0],
  [0x5d, 0],
  [0x6c, 0],
  [0x61, 0],
  [0x65, 0],
  [0x7d, 0],
  [0x64, 0],
  [0x73, 0],
  [0x75, 0],
  [0x8f, 0],
  [0x90, 0],
  [0x91, 0],
  [0x70, 'line'],
  [0x71, 1],
  [0x72, 4],
  [0x94, 0],
  [0x67, 'line'],
  [0x68, 1],
  [0x6a, 4],
  [0x63, 'line2'],
  [0x93, 0],
  [0x52, 0],
  [0x81, 0],
  [0x92, 0],
  [0x62, 0],
  [0x51, 0],
  [0x50, 'line'],
]);

/**
 * Start offsets of the opcodes of the pickle at `start` (the last one is STOP), or null when the
 * bytes are not a well-formed opcode stream. Lengths are trusted only as far as the buffer goes.
 */
export function pickleOps(b: Uint8Array, start = 0): number[] | null {
  const out: number[] = [];
  let p = start;
  while (p < b.length) {
    out.push(p);
    const op = b[p++];
    const a = PICKLE_ARGS.get(op);
    if (a === undefined) return null;
    if (op === 0x2e) return out;
    if (typeof a === 'number') p += a;
    else if (a === 'line' || a === 'line2') {
      for (let k = a === 'line' ? 1 : 2; k > 0; k--) {
        while (p < b.length && b[p] !== 0x0a) p++;
        p++;
      }
    } else if (a === 'len1') p += 1 + b[p];
    else if (a === 'len4' || a === 'slen4') p += 4 + u32le(b, p);
    else p += 8 + u32le(b, p) + u32le(b, p + 4) * 2 ** 32;
  }
  return null;
}
