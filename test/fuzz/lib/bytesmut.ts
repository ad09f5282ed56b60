// Format-blind byte mutations: bit flips, interesting values, little-endian integers, truncation,
// insertion, deletion and splices, 1 to 4 rounds. Nothing is known about the result ('any').
import { type Rng, concat } from './util.js';
import type { Mutant } from './types.js';

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0xffffffff, 2 ** 31, 2 ** 40, 2 ** 53 - 1];

export function mutateBytes(r: Rng, src: Uint8Array): Mutant {
  let b: Uint8Array = Uint8Array.from(src);
  const rounds = 1 + r.int(4);
  const names: string[] = [];
  for (let k = 0; k < rounds; k++) {
    const at = r.int(b.length + 1);
    const kind = r.int(8);
    names.push(['flip', 'byte', 'rand', 'int', 'trunc', 'insert', 'delete', 'splice'][kind]);
    switch (kind) {
      case 0:
        if (b.length) b[r.int(b.length)] ^= 1 << r.int(8);
        break;
      case 1:
        if (b.length) b[r.int(b.length)] = r.pick([0, 1, 0x7f, 0x80, 0xff]);
        break;
      case 2:
        if (b.length) b[r.int(b.length)] = r.int(256);
        break;
      case 3: {
        // a little-endian 16/32/64-bit integer
        const v = r.pick(INTERESTING),
          w = r.pick([2, 4, 8]);
        for (let i = 0; i < w && at + i < b.length; i++) b[at + i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
        break;
      }
      case 4:
        b = b.subarray(0, r.int(b.length + 1));
        break;
      case 5: {
        const ins = Uint8Array.from({ length: 1 + r.int(16) }, () => r.int(256));
        b = concat(b.subarray(0, at), ins, b.subarray(at));
        break;
      }
      case 6:
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + r.int(32))));
        break;
      default: {
        const from = r.int(b.length),
          len = r.int(64);
        b = concat(b.subarray(0, at), b.slice(from, from + len), b.subarray(at));
      }
    }
  }
  return { bytes: Uint8Array.from(b), expect: 'any', op: `bytes:${names.join('+')}` };
}
