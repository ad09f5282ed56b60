// Seeded mutation fuzzing of every reader, from in-memory buffers: safetensors, zip/torch .pth,
// pickle (bare and inside a torch archive) and .npy/.npz. Every input either parses, producing no
// more data than the input could hold, or throws a CheckpointError that names the file; anything
// else (TypeError, RangeError from a huge allocation, stack overflow, hang) fails the test.
// Reproduce a failure with the seed printed in the assertion message. FUZZ_ITERS=n overrides the
// count per format (default 10,000); FUZZ_SEED=n shifts the seeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as io from './io.js';
import { Generator } from '../../src/tensor/random.js';
import { ioGolden } from './helpers.js';
import { PickleWriter } from '../../src/io/pickle_write.js';

const ITERS = Number(process.env.FUZZ_ITERS ?? 10_000);
/** Added to every format's seed: FUZZ_SEED=n explores other inputs (CI uses 0). */
const SEED = Number(process.env.FUZZ_SEED ?? 0);
const FILE = 'fuzz.bin';
// Every pickle opcode, so mutations also swap one valid opcode for another.
const PICKLE_OPS = [
  ...'()0123FGIJKLMNPQRSTUVXabcdeghijlopqrstu}]',
  '\x80',
  '\x81',
  '\x85',
  '\x86',
  '\x87',
  '\x88',
  '\x89',
  '\x8a',
  '\x8b',
  '\x8c',
  '\x8d',
  '\x8e',
  '\x8f',
  '\x90',
  '\x91',
  '\x92',
  '\x93',
  '\x94',
  '\x95',
  '\x96',
].map((c) => c.charCodeAt(0));
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0xffffffff, 2 ** 31, 2 ** 40];

/** A Uint8Array mutated 1-4 times: bit flips, byte sets, big ints, truncation, inserts, deletes, splices, number swaps,
 * opcode swaps. */
function mutate(src: Uint8Array, g: Generator, textEnd = 0): Uint8Array {
  let b: Uint8Array = Uint8Array.from(src);
  const r = (n: number) => (n <= 0 ? 0 : g.nextUint32() % n);
  const rounds = 1 + r(4);
  for (let k = 0; k < rounds; k++) {
    const at = r(b.length + 1);
    switch (r(10)) {
      case 9:
        if (b.length) b[r(b.length)] = PICKLE_OPS[r(PICKLE_OPS.length)];
        break;
      case 0:
        if (b.length) b[r(b.length)] ^= 1 << r(8);
        break;
      case 1:
        if (b.length) b[r(b.length)] = INTERESTING[r(5)];
        break;
      case 2:
        if (b.length) b[r(b.length)] = r(256);
        break;
      case 3: {
        // a little-endian 32-bit or 64-bit integer at a random place
        const v = INTERESTING[r(INTERESTING.length)];
        const w = r(2) ? 4 : 8;
        for (let i = 0; i < w && at + i < b.length; i++) b[at + i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
        break;
      }
      case 4:
        b = b.subarray(0, r(b.length + 1));
        break;
      case 5: {
        const ins = Uint8Array.from({ length: 1 + r(16) }, () => r(256));
        b = concat(b.subarray(0, at), ins, b.subarray(at));
        break;
      }
      case 6:
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + r(32))));
        break;
      case 7: {
        const from = r(b.length),
          len = r(64);
        b = concat(b.subarray(0, at), b.slice(from, from + len), b.subarray(at));
        break;
      }
      case 8: {
        // rewrite a decimal number in a text header (safetensors JSON, npy dict): lies about sizes
        const end = Math.min(textEnd, b.length);
        if (end === 0) break;
        let i = r(end);
        while (i < end && !(b[i] >= 0x30 && b[i] <= 0x39)) i++;
        let j = i;
        while (j < end && b[j] >= 0x30 && b[j] <= 0x39) j++;
        const nums = ['0', '1', '7', '-1', '4294967296', '99999999999999999999', '1e3', '8', '2'];
        b = concat(b.subarray(0, i), new TextEncoder().encode(nums[r(nums.length)]), b.subarray(j));
        break;
      }
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Total bytes of decoded storage in a parse result (walked iteratively; results may share). */
function outputBytes(x: unknown): number {
  let total = 0;
  const seen = new Set<unknown>();
  const work = [x];
  while (work.length) {
    const o = work.pop();
    if (typeof o !== 'object' || o === null || seen.has(o)) continue;
    seen.add(o);
    if (ArrayBuffer.isView(o)) {
      total += o.byteLength;
      continue;
    }
    if (o instanceof io.TorchTensorRef) {
      work.push(o.storage.data);
      continue;
    }
    if (o instanceof Set) {
      for (const v of o) work.push(v);
      continue;
    }
    for (const v of Object.values(o)) work.push(v);
  }
  return total;
}

function fuzz(
  name: string,
  seeds: { buf: Uint8Array; textEnd: number }[],
  parse: (b: Uint8Array) => unknown,
  seed: number,
): void {
  seed += SEED;
  const g = new Generator(seed);
  const errors = new Map<string, number>();
  let parsed = 0;
  for (let i = 0; i < ITERS; i++) {
    const s = seeds[i % seeds.length];
    const input = mutate(s.buf, g, s.textEnd);
    try {
      const out = parse(input);
      parsed++;
      // widening (F16 -> F32) at most doubles; deflate (npz) can expand up to 1032x by design
      const limit = name === 'npz' ? 1100 * input.length + 4096 : 2 * input.length + 4096;
      assert.ok(outputBytes(out) <= limit, `${name} seed ${seed} iteration ${i}: output larger than the input allows`);
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      if (!(e instanceof io.CheckpointError) || !(e as Error).message.startsWith(`nabla.load(${FILE}`)) {
        assert.fail(
          `${name} seed ${seed} iteration ${i}: threw ${(e as Error)?.name}: ` +
            `${(e as Error)?.message}\n${(e as Error)?.stack}`,
        );
      }
      const kind = (e as Error).message.replace(/[0-9]+/g, 'N').slice(0, 70);
      errors.set(kind, (errors.get(kind) ?? 0) + 1);
    }
  }
  // Most mutations must be caught, and some must still parse: a fuzzer that only ever hits one
  // error is not exploring.
  if (process.env.FUZZ_VERBOSE) {
    const top = [...errors]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, n]) => `${n} x ${k}`);
    console.log(
      `${name}: ${ITERS} inputs, ${parsed} parsed, ${errors.size} distinct errors; most common:\n  ${top.join('\n  ')}`,
    );
  }
  assert.ok(errors.size >= 5, `${name}: only ${errors.size} distinct errors`);
  assert.ok(parsed > 0, `${name}: nothing parsed`);
}

const stSample = io.serializeSafetensors(
  {
    w: { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    h: { shape: [2], data: new Float32Array([0.5, -2]), as: 'F16' },
    i: { shape: [3], data: new Int32Array([1, -2, 3]), as: 'I64' },
    m: { shape: [2], data: new Uint8Array([1, 0]) },
  },
  { note: 'fuzz' },
);
const headerEnd = (b: Uint8Array) => 8 + new DataView(b.buffer, b.byteOffset).getUint32(0, true);

test(`fuzz safetensors (${ITERS} mutations)`, () => {
  const golden = readFileSync(ioGolden('all_dtypes.safetensors'));
  fuzz(
    'safetensors',
    [stSample, golden].map((buf) => ({ buf, textEnd: headerEnd(buf) })),
    (b) => io.parseSafetensors(b, {}, FILE),
    1,
  );
});

const tensorLeaf = (x: unknown) =>
  x && typeof x === 'object' && 'strides' in x
    ? (x as io.TorchTensorRef & { storage: { data: Float32Array } })
    : undefined;

test(`fuzz torch .pth zip and legacy (${ITERS} mutations)`, () => {
  const base = { data: new Float32Array([1, 2, 3, 4, 5, 6]) };
  const mine = io.serializeTorch(
    {
      a: { storage: base, offset: 0, shape: [2, 3], strides: [3, 1] },
      t: { storage: base, offset: 1, shape: [2, 2], strides: [1, 3] },
      n: 3,
    },
    tensorLeaf,
  );
  const seeds = [mine, readFileSync(ioGolden('state_dict.pth')), readFileSync(ioGolden('legacy.pth'))];
  fuzz(
    'pth',
    seeds.map((buf) => ({ buf, textEnd: 0 })),
    (b) => io.parseTorch(b, {}, FILE),
    2,
  );
});

test(`fuzz pickle: bare, and as a torch data.pkl (${ITERS} mutations each)`, () => {
  const zip = new io.ZipReader(new io.BufferSource(readFileSync(ioGolden('checkpoint.pth'))));
  const pklEntry = zip.entries.find((e) => e.name.endsWith('data.pkl'))!;
  const pkl = zip.readAll(pklEntry);
  const others = zip.entries.filter((e) => e !== pklEntry).map((e) => ({ name: e.name, data: [zip.readAll(e)] }));
  // the checkpoint's own data.pkl, re-zipped with its storages after mutation
  const inTorch = (b: Uint8Array) =>
    io.parseTorch(concat(...io.zipChunks([{ name: pklEntry.name, data: [b] }, ...others])), {}, FILE);
  fuzz('pickle in torch', [{ buf: pkl, textEnd: 0 }], inTorch, 3);
  // bare: primitives, containers, memo references, a set and an OrderedDict, no torch globals
  const w = new PickleWriter();
  w.dump({
    a: [1, -2, 2.5, 'x', null, true, { b: [300, 70000, -(2 ** 31), 2 ** 40, -(2 ** 60)] }],
    s: 'ünï',
    bytes: new Uint8Array([1, 2]),
  });
  const plain = w.bytes();
  const extra = Uint8Array.from([
    0x80,
    2,
    0x63,
    ...Buffer.from('collections\nOrderedDict\n'),
    0x71,
    0,
    0x29,
    0x52,
    0x71,
    1,
    0x28,
    0x8c,
    1,
    0x6b,
    0x8f,
    0x71,
    2,
    0x28,
    0x4b,
    1,
    0x4b,
    2,
    0x90,
    0x8c,
    1,
    0x6c,
    0x68,
    2,
    0x75,
    0x2e,
  ]);
  assert.deepEqual(Object.keys(io.unpickle(extra) as object), ['k', 'l']);
  fuzz(
    'pickle',
    [plain, extra, pkl].map((buf) => ({ buf, textEnd: 0 })),
    (b) => io.unpickle(b, { file: FILE }),
    6,
  );
});

test(`fuzz npy and npz (${ITERS} mutations each)`, () => {
  const npys = ['float32', 'float16', 'int64', 'bool', 'big_endian', 'scalar'].map((n) =>
    readFileSync(ioGolden(`${n}.npy`)),
  );
  npys.push(Buffer.from(io.serializeNpy({ shape: [3, 2], data: new Float64Array(6) })));
  fuzz(
    'npy',
    npys.map((buf) => ({ buf, textEnd: 10 + buf.readUInt16LE(8) })),
    (b) => io.parseNpy(b, {}, FILE),
    4,
  );
  const npz = [readFileSync(ioGolden('arrays.npz')), readFileSync(ioGolden('arrays_compressed.npz'))];
  fuzz(
    'npz',
    npz.map((buf) => ({ buf, textEnd: 0 })),
    (b) => io.parseNpz(b, {}, FILE),
    5,
  );
});
