// Pickle-aware mutations at opcode boundaries: no-op insertions (the value is unchanged, as in
// CPython's Unpickler), duplicated, inserted and deleted opcodes, deep nesting, huge opcode counts
// and memo abuse. Applied to a torch zip's data.pkl (re-zipped, deflated when large) and to the
// main pickle of a legacy torch file.
import { type Rng, ascii, concat, pickleOps } from './util.js';
import type { Expect } from './types.js';

export interface PickleEdit {
  bytes: Uint8Array;
  expect: Expect;
  op: string;
}

// A put at memo index 100000 (a LONG_BINPUT) is a no-op: no seed pickle has that many memo entries.
const NOOPS = [ascii('N0'), ascii('(1'), Uint8Array.from([0x88, 0x30]), ascii(']0'), ascii('Nr\xa0\x86\x01\x000')];
// Opcodes without arguments, or with a small argument, that a random insertion may use.
const INSERTS = [
  ...[...'()012N)t]lae}dsuRbQ'].map((c) => ascii(c)),
  ...[0x85, 0x86, 0x87, 0x8f, 0x90, 0x91, 0x93, 0x94, 0x81, 0x92].map((c) => Uint8Array.from([c])),
  ascii('K\x05'),
  ascii('h\x00'),
  ascii('h\xff'),
  ascii('j\xff\xff\xff\xff'),
  ascii('q\x07'),
  Uint8Array.from([0x8c, 0x01, 0x78]),
  ascii('J\xff\xff\xff\x7f'),
  Uint8Array.from([0x8a, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x80]),
  ascii('X\xff\xff\xff\xff'),
  ascii('B\x00\x00\x00\x10'),
  ascii('ctorch\n_utils\n'),
  ascii('cos\nsystem\n'),
  ascii('ccollections\nOrderedDict\n'),
  Uint8Array.from([0x95, 0xff, 0, 0, 0, 0, 0, 0, 0]),
];

/**
 * One pickle-level mutation of the pickle `p` (a complete pickle ending in STOP). `big` allows the
 * huge-count mutations (hundreds of MB once inflated).
 */
export function mutatePickle(r: Rng, p: Uint8Array, big: boolean): PickleEdit | null {
  const ops = pickleOps(p);
  if (!ops || ops.length < 3) return null;
  // Boundaries strictly after PROTO (and FRAME) and up to STOP.
  let first = 1;
  while (first < ops.length - 1 && p[ops[first]] === 0x95) first++;
  const at = ops[first + r.int(ops.length - first)];
  const stopAt = ops[ops.length - 1];
  const ins = (x: Uint8Array, where = at) => concat(p.subarray(0, where), x, p.subarray(where));
  const k = r.int(big ? 9 : 7);
  switch (k) {
    case 0:
      return { bytes: ins(r.pick(NOOPS)), expect: 'same', op: 'pickle:noop' };
    case 1: {
      // duplicate one opcode with its argument
      const i = first + r.int(ops.length - 1 - first);
      return { bytes: ins(p.slice(ops[i], ops[i + 1]), ops[i]), expect: 'any', op: 'pickle:dup' };
    }
    case 2:
      return { bytes: ins(r.pick(INSERTS)), expect: 'any', op: 'pickle:insert' };
    case 3: {
      // delete one opcode
      const i = first + r.int(ops.length - 1 - first);
      return { bytes: concat(p.subarray(0, ops[i]), p.subarray(ops[i + 1])), expect: 'any', op: 'pickle:delete' };
    }
    case 4: {
      // the whole value wrapped D tuples deep (iterative readers must not recurse on it)
      const d = r.pick([100, 10_000, 200_000]);
      return { bytes: ins(new Uint8Array(d).fill(0x85), stopAt), expect: 'any', op: `pickle:wrap-deep-${d}` };
    }
    case 5: {
      // D nested lists built and dropped: the value is unchanged
      const d = r.pick([1000, 100_000]);
      const nest = concat(new Uint8Array(d).fill(0x28), new Uint8Array(d).fill(0x6c), ascii('0'));
      return { bytes: ins(nest), expect: 'same', op: `pickle:nest-drop-${d}` };
    }
    case 6: {
      // memo abuse: far indices, overwrites, gets of what was never put
      const pick = r.int(3);
      // NOTE: CPython's memo is an array, so a put at index 2^32-2 is a MemoryError there.
      const far = ascii('N\x72\xfe\xff\xff\xff0');
      if (pick === 0) return { bytes: ins(far), expect: 'sameOrReject', op: 'pickle:memo-far-put' };
      if (pick === 1) return { bytes: ins(ascii('j\xfe\xff\xff\xff0')), expect: 'reject', op: 'pickle:memo-get-none' };
      const many = concat(ascii('N'), new Uint8Array(1 + r.int(5000)).fill(0x94), ascii('0'));
      return { bytes: ins(many), expect: 'same', op: 'pickle:memoize-many' };
    }
    default:
      return hugeCount(r.int(4), p, at);
  }
}

/** The huge-count inputs: each is a valid pickle with the seed's value (CPython loads them, slowly). */
export function hugeCount(which: number, p: Uint8Array, at: number): PickleEdit {
  const ins = (x: Uint8Array) => concat(p.subarray(0, at), x, p.subarray(at));
  switch (which) {
    case 0: {
      // 140M NONEs on the stack (CPython: about 1.1 GB; V8 arrays cannot hold that many)
      const n = 140_000_000;
      const x = new Uint8Array(n + 2).fill(0x4e);
      x[0] = 0x28;
      x[n + 1] = 0x31;
      return { bytes: ins(x), expect: 'sameOrReject', op: 'pickle:none-140M' };
    }
    case 1: {
      // 4M empty lists, each dropped at once
      const n = 4_000_000,
        x = new Uint8Array(2 * n);
      for (let i = 0; i < n; i++) {
        x[2 * i] = 0x5d;
        x[2 * i + 1] = 0x30;
      }
      return { bytes: ins(x), expect: 'sameOrReject', op: 'pickle:empty-lists-4M' };
    }
    case 2: {
      // 20M memo entries (V8 Maps hold at most 2^24)
      const n = 20_000_000;
      const x = new Uint8Array(n + 2).fill(0x94);
      x[0] = 0x4e;
      x[n + 1] = 0x30;
      return { bytes: ins(x), expect: 'sameOrReject', op: 'pickle:memoize-20M' };
    }
    default: {
      // 4M empty dicts appended to one list
      const n = 4_000_000,
        x = new Uint8Array(2 * n + 3);
      x[0] = 0x5d;
      x[1] = 0x28;
      x.fill(0x7d, 2, 2 + n);
      x[2 + n] = 0x65;
      x[3 + n] = 0x30;
      return { bytes: ins(x.subarray(0, n + 4)), expect: 'sameOrReject', op: 'pickle:dicts-4M' };
    }
  }
}

/** Byte ranges [start, end) of the consecutive pickles at the start of a legacy torch file. */
export function legacyPickles(b: Uint8Array, count = 5): [number, number][] {
  const out: [number, number][] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const ops = pickleOps(b, at);
    if (!ops) break;
    const end = ops[ops.length - 1] + 1;
    out.push([at, end]);
    at = end;
  }
  return out;
}
