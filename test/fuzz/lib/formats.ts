// The formats of the campaign: their seed files (written by nabla's own writers where it has one,
// committed fixtures from test/golden otherwise), the mutators that apply to each, and the fixed
// "special" inputs that reproduce the bugs of issue #24 (bombs, huge pickles, FIFOs) every run.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import * as ioBytes from '../../../src/io/internals.js';
import { encodePng, Image } from '../../../src/vision/image.js';
import { Rng, concat, crc32, pickleOps, put32be, u32be } from './util.js';
import { mutateBytes } from './bytesmut.js';
import { buildZip, deflatedZeros, membersOf, mutateZip, readZip, type ZipFlavour } from './zipfmt.js';
import { hugeCount, legacyPickles, mutatePickle } from './picklefmt.js';
import { joinNpy, joinSt, mutateNpy, mutateSafetensors, safetensorsVerdict } from './tensorfmt.js';
import { jpegResize, mutateJpeg, mutatePng, pngZeros } from './imagefmt.js';
import { mutateWav, wavChunkFlood } from './wavfmt.js';
import { encodeWav } from '../../../src/audio/wav.js';
import { tensor } from '../../../src/tensor/creation.js';
import type { Expect, Loader, Mutant } from './types.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const golden = (p: string): Uint8Array => readFileSync(join(REPO, 'test', 'golden', p));

export interface SeedFile {
  key: string;
  bytes: Uint8Array;
  /** Loaders this seed is loaded with (the seed's digest is taken once per loader). */
  loaders: Loader[];
}

export interface Special {
  op: string;
  make: () => Uint8Array;
  expect: Expect;
  loader: Loader;
  seed: string;
  /** Left out of the bounded CI campaign (the long campaign runs it). */
  longOnly?: boolean;
}

export interface FormatSpec {
  name: string;
  ext: string;
  seeds(): SeedFile[];
  mutate(r: Rng, s: SeedFile): Mutant;
  specials(seeds: SeedFile[]): Special[];
}

type Leaf = {
  storage: { data: Float32Array | Uint16Array | Int32Array; dtype?: 'float16' };
  offset: number;
  shape: number[];
  strides: number[];
};
const leafOf = (x: unknown) => (x && typeof x === 'object' && 'strides' in x ? (x as Leaf) : undefined);
const leaf = (storage: Leaf['storage'], offset: number, shape: number[], strides: number[]): Leaf => ({
  storage,
  offset,
  shape,
  strides,
});

function torchSeed(): Uint8Array {
  const w = { data: Float32Array.from([1, -2, 3.5, 4, 5, 6, 7, 8]) };
  const h = { data: Uint16Array.from([0x3c00, 0xc000, 0x7c00, 0x3555]), dtype: 'float16' as const };
  return ioBytes.serializeTorch(
    {
      'fc.weight': leaf(w, 0, [2, 3], [3, 1]),
      'fc.view': leaf(w, 1, [3, 2], [1, 3]),
      half: leaf(h, 0, [4], [1]),
      ids: leaf({ data: Int32Array.from([7, -1, 2 ** 30]) }, 0, [3], [1]),
      step: 3,
      name: 'fuzz',
      nested: { l: [1, 2.5, 'x', null, true] },
    },
    leafOf,
  );
}

/** The seed with a pickle-level mutation of its data.pkl (re-zipped; deflated when it got large). */
function withPickle(b: Uint8Array, edit: (pkl: Uint8Array) => Mutant | null): Mutant | null {
  const z = readZip(b);
  const rec = z?.recs.find((x) => x.name.endsWith('data.pkl'));
  if (!z || !rec || rec.method !== 0) return null;
  const ms = membersOf(b, z);
  const i = z.recs.indexOf(rec);
  const e = edit(ms[i].data!);
  if (!e) return null;
  ms[i] = { name: rec.name, data: e.bytes, deflate: e.bytes.length > 1 << 20 };
  return { bytes: buildZip(ms), expect: e.expect, op: e.op };
}

/** Expectations of a mutated member carry over to the archive: numpy reads every member. */
function npzMemberEdit(r: Rng, b: Uint8Array): Mutant | null {
  const z = readZip(b);
  if (!z) return null;
  const ms = membersOf(b, z);
  const stored = ms.map((m, i) => [m, i] as const).filter(([m]) => m.data);
  if (!stored.length) return null;
  const [m, i] = r.pick(stored);
  const e = mutateNpy(r, m.data!);
  if (!e) return null;
  ms[i] = { name: m.name, data: e.bytes, deflate: r.chance(0.3) };
  return { bytes: buildZip(ms), expect: e.expect, op: `npz-member:${e.op}` };
}

const zipSeedOp = (r: Rng, b: Uint8Array, flavour: ZipFlavour) => mutateZip(r, b, flavour);

function st(): FormatSpec {
  return {
    name: 'safetensors',
    ext: 'safetensors',
    seeds: () => [
      {
        key: 'st-nabla',
        loaders: ['load', 'keepHalf'],
        bytes: ioBytes.serializeSafetensors(
          {
            w: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
            h: { shape: [2], data: Float32Array.from([0.5, -2]), as: 'F16' },
            i: { shape: [3], data: Int32Array.from([1, -2, 3]), as: 'I64' },
            m: { shape: [2], data: Uint8Array.from([1, 0]) },
            e: { shape: [0, 3], data: new Float32Array(0) },
          },
          { note: 'fuzz' },
        ),
      },
      { key: 'st-golden', loaders: ['load'], bytes: golden('io/all_dtypes.safetensors') },
    ],
    mutate: (r, s) => {
      const m = (r.chance(0.5) ? mutateSafetensors(r, s.bytes) : null) ?? mutateBytes(r, s.bytes);
      // The reference reader's verdict holds for every mutant, byte-level ones too.
      if (m.expect === 'any' && safetensorsVerdict(m.bytes) === 'reject') m.expect = 'reject';
      return m;
    },
    specials: (seeds) => {
      const base = seeds[0].bytes;
      const n = Number(new DataView(base.buffer, base.byteOffset).getBigUint64(0, true));
      const text = Buffer.from(base.subarray(8, 8 + n))
        .toString('utf8')
        .trimEnd();
      const deep = '['.repeat(1e6) + ']'.repeat(1e6),
        seed = 'st-nabla';
      return [
        {
          op: 'st:trailing-data',
          make: () => concat(base, new Uint8Array(16)),
          expect: 'reject',
          loader: 'load',
          seed,
        },
        {
          op: 'st:deep-json-1M',
          make: () => joinSt(text.replace(/^\{/, `{"deep":${deep},`), base.subarray(8 + n)),
          expect: 'reject',
          loader: 'load',
          seed,
        },
      ];
    },
  };
}

function npy(): FormatSpec {
  return {
    name: 'npy',
    ext: 'npy',
    seeds: () => [
      {
        key: 'npy-nabla',
        loaders: ['load'],
        bytes: ioBytes.serializeNpy({ shape: [3, 2], data: Float64Array.from([1, -2, 3.25, NaN, 1e300, -0]) }),
      },
      ...['float32', 'float16', 'int64', 'bool', 'big_endian', 'scalar', 'uint8'].map((k) => ({
        key: `npy-${k}`,
        loaders: ['load'] as Loader[],
        bytes: golden(`io/${k}.npy`),
      })),
    ],
    mutate: (r, s) => (r.chance(0.5) ? mutateNpy(r, s.bytes) : null) ?? mutateBytes(r, s.bytes),
    specials: () => [],
  };
}

/** An .npz whose one member inflates to `bytes` of float32 zeros (a deflate bomb, ratio about 1000:1). */
function npzBomb(bytes: number): Uint8Array {
  const n = bytes / 4;
  const header = joinNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': (${n},), }`, new Uint8Array(0));
  return buildZip([{ name: 'bomb.npy', raw: deflatedZeros(header.length + bytes, header) }]);
}

function npz(): FormatSpec {
  return {
    name: 'npz',
    ext: 'npz',
    seeds: () => {
      const arrays = {
        a: { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
        b: { shape: [3], data: Int32Array.from([5, -6, 7]) },
        c: { shape: [], data: Float64Array.from([0.5]) },
      };
      return [
        { key: 'npz-stored', loaders: ['load'], bytes: ioBytes.serializeNpz(arrays) },
        { key: 'npz-deflated', loaders: ['load'], bytes: ioBytes.serializeNpz(arrays, { compress: true }) },
        { key: 'npz-golden', loaders: ['load'], bytes: golden('io/arrays.npz') },
        { key: 'npz-golden-compressed', loaders: ['load'], bytes: golden('io/arrays_compressed.npz') },
      ];
    },
    mutate: (r, s) => {
      const k = r.int(10);
      const m = k < 5 ? zipSeedOp(r, s.bytes, 'npz') : k < 7 ? npzMemberEdit(r, s.bytes) : null;
      return m ?? mutateBytes(r, s.bytes);
    },
    specials: (seeds) => {
      const b = seeds[0].bytes,
        seed = 'npz-stored';
      return [
        { op: 'npz:deflate-bomb-320MiB', make: () => npzBomb(320 << 20), expect: 'any', loader: 'load', seed },
        {
          op: 'npz:deflate-bomb-1GiB',
          make: () => npzBomb(1 << 30),
          expect: 'any',
          loader: 'load',
          seed,
          longOnly: true,
        },
        ...[0, 1, 3, 4].map(
          (c): Special => ({
            op: `npz:forced-zip-${c}`,
            make: () => mutateZip(new Rng(c), b, 'npz', c)!.bytes,
            expect: mutateZip(new Rng(c), b, 'npz', c)!.expect,
            loader: 'load',
            seed,
          }),
        ),
      ];
    },
  };
}

function pth(): FormatSpec {
  return {
    name: 'pth',
    ext: 'pth',
    seeds: () => [
      { key: 'pth-nabla', loaders: ['load', 'keepHalf'], bytes: torchSeed() },
      { key: 'pth-golden', loaders: ['load'], bytes: golden('io/state_dict.pth') },
      { key: 'pth-checkpoint', loaders: ['load'], bytes: golden('io/checkpoint.pth') },
    ],
    mutate: (r, s) => {
      const k = r.int(10);
      const m =
        k < 4 ? zipSeedOp(r, s.bytes, 'torch') : k < 7 ? withPickle(s.bytes, (p) => mutatePickle(r, p, false)) : null;
      return m ?? mutateBytes(r, s.bytes);
    },
    specials: (seeds) => {
      const b = seeds[0].bytes;
      const huge = (w: number) => () => withPickle(b, (p) => hugeCount(w, p, pickleOps(p)![1]))!.bytes;
      // A 1-element half storage viewed as 2^31 elements: keepHalf must not materialise 4 GB.
      const one = { data: Uint16Array.from([0x3c00]), dtype: 'float16' as const };
      const stride0 = () => ioBytes.serializeTorch({ w: leaf(one, 0, [65536, 32768], [0, 0]) }, leafOf);
      return [
        { op: 'pickle:none-140M', make: huge(0), expect: 'sameOrReject', loader: 'load', seed: 'pth-nabla' },
        { op: 'pickle:empty-lists-4M', make: huge(1), expect: 'sameOrReject', loader: 'load', seed: 'pth-nabla' },
        { op: 'pickle:memoize-20M', make: huge(2), expect: 'sameOrReject', loader: 'load', seed: 'pth-nabla' },
        { op: 'pickle:dicts-4M', make: huge(3), expect: 'sameOrReject', loader: 'load', seed: 'pth-nabla' },
        { op: 'torch:stride0-half-keepHalf', make: stride0, expect: 'any', loader: 'keepHalf', seed: 'pth-nabla' },
      ];
    },
  };
}

function legacy(): FormatSpec {
  return {
    name: 'pth-legacy',
    ext: 'pth',
    seeds: () => [{ key: 'legacy-golden', loaders: ['load', 'keepHalf'], bytes: golden('io/legacy.pth') }],
    mutate: (r, s) => {
      const ranges = legacyPickles(s.bytes);
      if (ranges.length >= 4 && r.chance(0.5)) {
        const [a, e] = ranges[r.chance(0.8) ? 3 : r.int(ranges.length)];
        const m = mutatePickle(r, s.bytes.subarray(a, e), false);
        const bytes = m && concat(s.bytes.subarray(0, a), m.bytes, s.bytes.subarray(e));
        if (m && bytes) return { bytes, expect: m.expect, op: `legacy-${m.op}` };
      }
      return mutateBytes(r, s.bytes);
    },
    specials: () => [],
  };
}

function png(): FormatSpec {
  return {
    name: 'png',
    ext: 'png',
    seeds: () => [
      ...['gray', 'rgb', 'rgba'].map((k) => ({
        key: `png-${k}`,
        loaders: ['image'] as Loader[],
        bytes: golden(`vision/${k}.png`),
      })),
      {
        key: 'png-nabla',
        loaders: ['image'],
        bytes: encodePng(
          new Image(
            5,
            3,
            'RGB',
            Uint8Array.from({ length: 45 }, (_, i) => (i * 37) & 255),
          ),
        ),
      },
    ],
    mutate: (r, s) => (r.chance(0.6) ? mutatePng(r, s.bytes) : null) ?? mutateBytes(r, s.bytes),
    specials: (seeds) => [
      {
        op: 'png:bomb-16384x16384',
        make: () => pngZeros(16384, 16384),
        expect: 'any',
        loader: 'image',
        seed: seeds[0].key,
      },
      {
        op: 'png:ihdr-width-grow-forced',
        make: () => forcedPngGrow(seeds[3].bytes),
        expect: 'reject',
        loader: 'image',
        seed: seeds[3].key,
      },
    ],
  };
}

/**
 * The case: IHDR twice as wide as the data (CRC fixed). PIL says "image file is truncated";
 * pngjs's own files (every row filter 0, so a misaligned filter byte still reads as 0) decode to a
 * mostly-zero image.
 */
function forcedPngGrow(b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  put32be(out, 16, u32be(b, 16) * 2);
  put32be(out, 29, crc32(out.subarray(12, 29)));
  return out;
}

function jpg(): FormatSpec {
  const rgba = Buffer.from(Uint8Array.from({ length: 9 * 7 * 4 }, (_, i) => (i * 29) & 255));
  const small = new Uint8Array(jpeg.encode({ width: 9, height: 7, data: rgba }, 90).data);
  return {
    name: 'jpeg',
    ext: 'jpg',
    seeds: () => [
      { key: 'jpeg-golden', loaders: ['image'], bytes: golden('vision/rgb.jpg') },
      { key: 'jpeg-jpegjs', loaders: ['image'], bytes: small },
    ],
    mutate: (r, s) => (r.chance(0.6) ? mutateJpeg(r, s.bytes) : null) ?? mutateBytes(r, s.bytes),
    specials: (seeds) => [
      {
        op: 'jpeg:sof-16384x16384',
        make: () => jpegResize(seeds[0].bytes, 16384, 16384)!,
        expect: 'any',
        loader: 'image',
        seed: seeds[0].key,
      },
    ],
  };
}

function wav(): FormatSpec {
  const x = tensor([
    [0, 0.5, -0.25, 0.75, -1, 0.125],
    [0.1, -0.1, 0.2, -0.2, 0.3, -0.3],
  ]);
  return {
    name: 'wav',
    ext: 'wav',
    seeds: () => [
      ...['u8_mono', 's24_3ch', 'f32_stereo'].map((k) => ({
        key: `wav-${k}`,
        loaders: ['audio'] as Loader[],
        bytes: golden(`audio/${k}.wav`),
      })),
      { key: 'wav-nabla-s16', loaders: ['audio'], bytes: encodeWav(x, 16000) },
    ],
    mutate: (r, s) => (r.chance(0.6) ? mutateWav(r, s.bytes) : null) ?? mutateBytes(r, s.bytes),
    specials: (seeds) => {
      const seed = seeds[3].key,
        base = seeds[3].bytes;
      const huge = Uint8Array.from(base);
      new DataView(huge.buffer).setUint32(40, 0xfffffff0, true);
      return [
        { op: 'wav:data-size-4G', make: () => huge, expect: 'reject', loader: 'audio', seed },
        { op: 'wav:chunk-flood-1M', make: () => wavChunkFlood(base, 1 << 20), expect: 'reject', loader: 'audio', seed },
      ];
    },
  };
}

export const FORMATS: Record<string, () => FormatSpec> = {
  safetensors: st,
  npy,
  npz,
  pth,
  'pth-legacy': legacy,
  png,
  jpeg: jpg,
  wav,
};
