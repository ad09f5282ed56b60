// Hostile calls of the native addon, run inside a worker: each case is a valid base call of one
// kernel with one argument made hostile (a layout whose getters detach, transfer or shrink a
// buffer, Proxy arrays, valueOf side effects, huge/negative/NaN sizes, detached buffers, wrong
// types, wrong argument counts), plus the same through the public Tensor/Storage/Layout classes.
// The oracle: a clean Error or a normal return, never a crash; and a call whose buffer was detached
// or shrunk while its arguments were read must throw (a normal return read or wrote freed memory).
import { Rng, mix } from './util.js';

type Args = unknown[];
const f = (n: number) => new Float32Array(n).map((_, i) => (i % 7) - 3);
const i32 = (...v: number[]) => Int32Array.from(v);
const u8 = (n: number) => new Uint8Array(n).map((_, i) => i & 1);
const L = (shape: number[]) => {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return { shape, strides, offset: 0 };
};
const P7 = [1, 1, 0, 0, 1, 1, 1];
const P9 = [2, 2, 2, 2, 0, 0, 1, 1, 0];

/** A valid call of every kernel (shapes from test/native/hostile.test.ts). */
export const BASE: Record<string, () => Args> = {
  unary: () => [2, f(4), f(4), L([4]), 0, 0],
  binary: () => [0, f(4), f(4), L([4]), f(4), L([4])],
  reduce: () => [0, f(2), f(6), L([2, 3]), [1]],
  copy: () => [f(6), L([2, 3]), f(6), L([2, 3])],
  compare: () => [9, u8(4), f(4), L([4]), f(4), L([4])],
  where: () => [f(4), u8(4), L([4]), f(4), L([4]), f(4), L([4])],
  castToF32: () => [f(4), i32(1, 2, 3, 4), L([4])],
  softmax: () => [f(6), f(6), L([2, 3]), 1, false],
  matmul: () => [f(4), f(6), L([2, 3]), f(6), L([3, 2])],
  linear: () => [f(4), f(6), L([2, 3]), f(6), L([3, 2]), f(2), -1],
  layerNorm: () => [f(6), f(2), f(2), f(6), L([2, 3]), f(3), f(3), 1e-5],
  batchNorm: () => [f(6), f(3), f(3), f(6), L([2, 3]), null, null, 1e-5, null, false],
  conv2d: () => [f(4), f(16), L([1, 1, 4, 4]), f(9), L([1, 1, 3, 3]), P7.slice()],
  conv2dFused: () => [
    f(4),
    f(16),
    L([1, 1, 4, 4]),
    f(9),
    L([1, 1, 3, 3]),
    P7.slice(),
    null,
    null,
    null,
    false,
    false,
    0,
  ],
  maxPool2d: () => [f(4), new Int32Array(4), f(16), L([1, 1, 4, 4]), P9.slice()],
  avgPool2d: () => [f(4), f(16), L([1, 1, 4, 4]), P9.slice(), false],
  indexSelect: () => [f(6), f(12), L([4, 3]), 0, i32(0, 3)],
  indexAdd: () => [f(12), L([4, 3]), 0, i32(0, 1), f(6), L([2, 3])],
  adamStep: () => [f(4), f(4), f(4), f(4), 1e-3, 0.9, 0.999, 1e-8, 0, false, 1],
  sgdStep: () => [f(4), f(4), f(4), 0.1, 0.9, 0, 0, false, true],
  attention: () => [f(24), f(6), f(24), L([1, 2, 3, 4]), f(24), L([1, 2, 3, 4]), f(24), L([1, 2, 3, 4]), 0.5, true],
};
export const KERNELS = Object.keys(BASE);
/** The argument that is a bare index list (its length is the count of rows to pick). */
const INDEX_LIST: Record<string, number> = { indexSelect: 4, indexAdd: 3 };

const isView = (x: unknown): x is Float32Array | Int32Array | Uint8Array =>
  ArrayBuffer.isView(x) && !(x instanceof DataView);
const isLayout = (x: unknown): x is { shape: number[]; strides: number[]; offset: number } =>
  typeof x === 'object' && x !== null && !ArrayBuffer.isView(x) && 'strides' in x;

declare const gc: undefined | (() => void);

/** Detaches the buffer under `v` and lets the collector free its memory. */
function detach(v: ArrayBufferView): void {
  if (v.buffer.byteLength === 0) return;
  structuredClone(v.buffer, { transfer: [v.buffer as ArrayBuffer] });
  if (typeof gc === 'function') gc();
}

export interface AddonCall {
  kernel: string;
  variant: string;
  /** Runs the call; returns normally or throws. */
  run(): unknown;
  /** Whether some input buffer was detached or shrunk before or while the call read it. */
  hostileBuffer(): boolean;
}

const WRONG = (): unknown[] => [
  'x',
  {},
  [],
  null,
  undefined,
  1n,
  Symbol('s'),
  new Float64Array(4),
  new DataView(new ArrayBuffer(16)),
  new Float32Array(new SharedArrayBuffer(16)),
  f(8).subarray(1, 5),
  -1,
  NaN,
  2 ** 53,
  { valueOf: () => 3 },
  () => 1,
  new Uint8Array(0),
];
const NUMS = [NaN, Infinity, -Infinity, -1, -0, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 63, -(2 ** 31), 1e300, 0.5, 4294967295];

/** The call for case `n` of a campaign seeded with `seed`; `nb` is the nabla module and `addon` the raw binding. */
export function addonCase(
  seed: number,
  n: number,
  nb: any,
  addon: Record<string, (...a: unknown[]) => unknown>,
): AddonCall {
  const r = new Rng(mix(seed, 0xadd0, n));
  if (r.chance(0.2)) return publicCase(r, nb);
  const kernel = r.pick(KERNELS);
  const args = BASE[kernel]();
  const views = args
    .map((a, i) => [a, i] as const)
    .filter(([a]) => isView(a))
    .map(([, i]) => i);
  const layouts = args
    .map((a, i) => [a, i] as const)
    .filter(([a]) => isLayout(a))
    .map(([, i]) => i);
  let hostile = false;
  let variant: string;
  const victim = () => args[r.pick(views)] as ArrayBufferView;
  // NOTE: the optimizer steps take no layouts, so only the buffer and number variants apply.
  switch (layouts.length ? r.int(10) : r.pick([5, 6, 7, 9])) {
    case 0: {
      // a layout getter detaches another argument's buffer
      const li = r.pick(layouts),
        v = victim(),
        prop = r.pick(['shape', 'strides', 'offset']);
      const base = args[li] as Record<string, unknown>;
      const val = base[prop];
      args[li] = {
        ...base,
        get [prop]() {
          detach(v);
          hostile = true;
          return val;
        },
      };
      variant = `getter-detach-${prop}`;
      break;
    }
    case 1: {
      // a resizable buffer shrinks to nothing while the arguments are read
      // NOTE: an index list (no layout) shrunk before the kernel reads it is just an empty index, a
      // valid call that selects nothing, so only buffers that must cover a size are shrunk.
      const vi = r.pick(views.filter((i) => i !== INDEX_LIST[kernel])),
        old = args[vi] as Float32Array;
      type Resizable = ArrayBuffer & { resize(n: number): void };
      const Resizable = ArrayBuffer as unknown as new (n: number, o: object) => Resizable;
      const ab = new Resizable(old.byteLength, { maxByteLength: old.byteLength * 4 });
      const Ctor = old.constructor as new (b: ArrayBuffer) => Float32Array;
      const grown = new Ctor(ab);
      grown.set(old);
      args[vi] = grown;
      const li = r.pick(layouts),
        base = args[li] as Record<string, unknown>;
      const sh = base.shape;
      args[li] = {
        ...base,
        get shape() {
          ab.resize(0);
          hostile = true;
          return sh;
        },
      };
      variant = 'resizable-shrink';
      break;
    }
    case 2: {
      // shape or strides behind a Proxy that lies about its length or elements
      const li = r.pick(layouts),
        base = args[li] as Record<string, number[]>,
        prop = r.pick(['shape', 'strides']);
      const arr = base[prop],
        lie = r.int(3);
      args[li] = {
        ...base,
        [prop]: new Proxy(arr, {
          get(t, k) {
            if (k === 'length') return lie === 0 ? 2 ** 31 : lie === 1 ? arr.length + 1 : arr.length;
            if (lie === 2 && typeof k === 'string' && /^\d+$/.test(k)) return r.pick(NUMS);
            return Reflect.get(t, k);
          },
        }),
      };
      variant = `proxy-${prop}-${lie}`;
      break;
    }
    case 3: {
      // a dim with a valueOf that detaches a buffer
      const li = r.pick(layouts),
        base = args[li] as Record<string, number[]>,
        v = victim();
      const sh = base.shape.slice() as unknown[];
      const d = sh[0];
      sh[0] = {
        valueOf: () => {
          detach(v);
          hostile = true;
          return d;
        },
      };
      args[li] = { ...base, shape: sh };
      variant = 'valueof-detach';
      break;
    }
    case 4: {
      // huge, negative, NaN, fractional sizes, strides and offsets
      const li = r.pick(layouts),
        base = args[li] as Record<string, unknown>;
      const prop = r.pick(['shape', 'strides', 'offset']);
      if (prop === 'offset') args[li] = { ...base, offset: r.pick(NUMS) };
      else {
        const a = (base[prop] as number[]).slice();
        a[r.int(a.length)] = r.pick(NUMS);
        args[li] = { ...base, [prop]: a };
      }
      variant = `bad-${prop}`;
      break;
    }
    case 5: {
      // a buffer detached before the call
      detach(victim());
      hostile = true;
      variant = 'detached-before';
      break;
    }
    case 6: {
      // any argument of the wrong type
      args[r.int(args.length)] = r.pick(WRONG());
      variant = 'wrong-type';
      break;
    }
    case 7: {
      // too few or too many arguments
      if (r.chance(0.5)) args.length = r.int(args.length);
      else args.push(...WRONG().slice(0, 1 + r.int(3)));
      variant = 'arg-count';
      break;
    }
    case 8: {
      // a getter that throws: the error must come through unchanged
      const li = r.pick(layouts),
        base = args[li] as Record<string, unknown>;
      args[li] = {
        ...base,
        get strides(): never {
          throw new Error('getter says no');
        },
      };
      variant = 'getter-throws';
      break;
    }
    default: {
      // a number argument replaced by an extreme number
      const ni = args
        .map((a, i) => [a, i] as const)
        .filter(([a]) => typeof a === 'number')
        .map(([, i]) => i);
      if (ni.length) args[r.pick(ni)] = r.pick(NUMS);
      variant = 'bad-number';
    }
  }
  return { kernel, variant, run: () => addon[kernel](...args), hostileBuffer: () => hostile };
}

/** The same hostility through the public classes: Tensor ops on detached storage and odd Layouts. */
function publicCase(r: Rng, nb: any): AddonCall {
  let hostile = false;
  const a = nb.randn([4, 4]),
    b = nb.randn([4, 4]);
  const conv2d = nb.nn.functional.conv2d;
  // [name, call, whether the call reads b]: only a buffer the op reads may be detached, or a correct
  // result from the intact input would count as accepting invalid input.
  const ops: [string, () => unknown, boolean][] = [
    ['add', () => nb.add(a, b), true],
    ['matmul', () => nb.matmul(a, b), true],
    ['sum', () => nb.sum(a, 1), false],
    ['softmax', () => nb.softmax(a, 1), false],
    ['exp', () => nb.exp(a), false],
    ['conv2d', () => conv2d(a.reshape([1, 1, 4, 4]), b.reshape([1, 1, 4, 4]).narrow(2, 0, 3).narrow(3, 0, 3)), true],
    ['contiguous', () => a.t().contiguous(), false],
    ['toTypedArray', () => a.toTypedArray(), false],
  ];
  const [name, op, readsB] = r.pick(ops);
  switch (r.int(3)) {
    case 0: {
      detach(readsB && r.chance(0.5) ? b.storage.data : a.storage.data);
      hostile = true;
      return { kernel: `api:${name}`, variant: 'detached-storage', run: op, hostileBuffer: () => hostile };
    }
    case 1: {
      const n = r.pick(NUMS);
      return {
        kernel: `api:${name}`,
        variant: 'bad-layout',
        run: () => {
          const layout = new nb.Layout([4, 4], r.chance(0.5) ? [n, 1] : [4, 1], r.chance(0.5) ? n : 0);
          const t = new nb.Tensor(a.storage, layout, 'float32');
          return nb.add(t, b);
        },
        hostileBuffer: () => false,
      };
    }
    default: {
      const big = r.pick([
        [2 ** 20, 2 ** 20],
        [0, 4],
        [2 ** 26, 2 ** 26],
      ]);
      return {
        kernel: `api:${name}`,
        variant: 'stride0-huge',
        run: () => nb.exp(new nb.Tensor(a.storage, new nb.Layout(big, [0, 0], 0), 'float32')),
        hostileBuffer: () => false,
      };
    }
  }
}
