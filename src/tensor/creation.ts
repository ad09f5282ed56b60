// Creating tensors: from JS values (nb.tensor), constant fills, ranges, identity and random ones.

import {
  DTYPES,
  type DType,
  type TypedArray,
  allocate,
  castScalar,
  dtypeOfArray,
  isDType,
  isFloating,
  isIntegral,
  isKernelDtype,
} from './dtype.js';
import { Layout, type Shape, fmtShape } from './layout.js';
import { Storage, Tensor } from './tensor.js';
import { type Device, getDefaultDevice } from './device.js';
import { type Generator, checkedNumel, defaultGenerator } from './random.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** 'cpu' or 'webgpu' (after nb.initWebGPU()); the default device when absent (setBackend). */
  device?: Device;
}

export interface TensorOptions extends CreateOptions {
  /** The shape of a flat TypedArray or number[] argument. */
  shape?: Shape;
}

/** Nested arrays of numbers, bigints (int64) or booleans, as `nb.tensor([[1, 2], [3, 4]])` takes them. */
export type Nested = number | boolean | bigint | readonly Nested[];
/** The typed arrays `nb.tensor` copies from; the dtype follows the array unless `dtype` is given. */
export type AnyTypedArray =
  | TypedArray
  | Int8Array
  | Int16Array
  | Uint16Array
  | Uint32Array
  | Uint8ClampedArray
  | BigInt64Array;

function finish(t: Tensor, opts: CreateOptions): Tensor {
  const device = opts.device ?? getDefaultDevice();
  if (device !== 'cpu') t = t.to(device);
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

function checkDtype(d: unknown, op: string): DType {
  if (!isDType(d)) throw new Error(`${op}: unknown dtype '${String(d)}' (expected one of ${DTYPES.join(', ')})`);
  return d;
}

const INT8_RANGE: Partial<Record<DType, [number, number]>> = { int8: [-128, 127], uint8: [0, 255] };

/** castScalar for a value the caller wrote: an int8/uint8 value out of range raises, as torch.tensor and torch.full. */
function castValue(v: number | boolean, dtype: DType, op: string): number {
  const r = INT8_RANGE[dtype];
  if (r && typeof v === 'number' && Number.isFinite(v) && (Math.trunc(v) < r[0] || Math.trunc(v) > r[1])) {
    throw new Error(`${op}: value ${v} cannot be converted to type ${dtype} without overflow`);
  }
  return castScalar(v, dtype);
}

/** Wraps a TypedArray without copying (torch.from_numpy). */
export function fromTypedArray(data: TypedArray, shape?: Shape): Tensor {
  const s = shape ?? [data.length];
  const n = checkedNumel(s, 'fromTypedArray');
  if (n !== data.length)
    throw new Error(`fromTypedArray: shape ${fmtShape(s)} needs ${n} elements but the array has ${data.length}`);
  return new Tensor(new Storage(data, true), Layout.contiguous(s), dtypeOfArray(data));
}

/**
 * Creates a tensor from nested arrays, a number, or a TypedArray (copied).
 * JS numbers become float32 unless `dtype` says otherwise; booleans become bool.
 * @example nb.tensor([[1, 2], [3, 4]], {requiresGrad: true})
 */
export function tensor(values: Nested | AnyTypedArray | Tensor, opts: TensorOptions = {}): Tensor {
  if (values instanceof Tensor)
    return finish(
      values
        .detach()
        .clone()
        .to(opts.dtype ?? values.dtype),
      opts,
    );
  if (ArrayBuffer.isView(values)) return fromArrayView(values as AnyTypedArray, opts);
  const shape: number[] = [];
  let v: Nested = values as Nested;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0] as Nested;
  }
  if (v !== undefined && typeof v !== 'number' && typeof v !== 'boolean' && typeof v !== 'bigint') {
    throw new Error(
      `tensor: could not convert value of type ${typeof v} to a number (expected numbers, booleans, bigints or ` +
        `nested arrays of them)`,
    );
  }
  // NOTE: bigints make int64, as Python ints make torch.int64 (numbers stay float32 / int32 by nabla's defaults)
  const inferred: DType = typeof v === 'boolean' ? 'bool' : typeof v === 'bigint' ? 'int64' : 'float32';
  const dtype = opts.dtype ? checkDtype(opts.dtype, 'tensor') : inferred;
  const n = checkedNumel(shape, 'tensor');
  const data = allocate(dtype, n);
  let k = 0;
  const walk = (x: Nested, dim: number): void => {
    if (dim === shape.length) {
      if (typeof x === 'bigint') x = bigintValue(x, dtype);
      if (typeof x !== 'number' && typeof x !== 'boolean') {
        throw new Error(
          `tensor: expected a number at depth ${dim} but found ${Array.isArray(x) ? 'an array' : typeof x} (ragged ` +
            `nested sequence?)`,
        );
      }
      data[k++] = castValue(x, dtype, 'tensor');
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[dim]) {
      throw new Error(
        `tensor: expected sequence of length ${shape[dim]} at dim ${dim} (got ` +
          `${Array.isArray(x) ? x.length : typeof x})`,
      );
    }
    for (const e of x) walk(e, dim + 1);
  };
  walk(values as Nested, 0);
  if (opts.shape && checkedNumel(opts.shape, 'tensor') !== n) {
    throw new Error(`tensor: shape ${fmtShape(opts.shape)} does not match the ${n} values given`);
  }
  const out = new Tensor(new Storage(data), Layout.contiguous(opts.shape ?? shape), dtype);
  return finish(out, opts);
}

/** A bigint as a number, refused where the dtype would not hold it exactly (int64: 2^53, see tensor/dtype.ts). */
function bigintValue(v: bigint, dtype: DType): number {
  const n = Number(v);
  if (isIntegral(dtype) && BigInt(n) !== v) {
    throw new Error(`tensor: int64 value ${v} does not fit in nabla's int64 (integers up to 2^53 - 1 in magnitude)`);
  }
  return n;
}

function fromArrayView(a: AnyTypedArray, opts: TensorOptions): Tensor {
  let natural: DType;
  if (a instanceof Float32Array) natural = 'float32';
  else if (a instanceof Float64Array) natural = 'float64';
  else natural = 'int32';
  const dtype = opts.dtype ? checkDtype(opts.dtype, 'tensor') : natural;
  const shape = opts.shape ?? [a.length];
  const n = checkedNumel(shape, 'tensor');
  if (n !== a.length)
    throw new Error(`tensor: shape ${fmtShape(shape)} needs ${n} elements but the array has ${a.length}`);
  const data = allocate(dtype, n);
  if (a instanceof BigInt64Array) {
    const wide = dtype === 'int64';
    for (let i = 0; i < n; i++) {
      const v = a[i];
      if (wide ? v > 9007199254740991n || v < -9007199254740991n : v > 2147483647n || v < -2147483648n)
        throw new Error(
          `tensor: int64 value ${v} at index ${i} does not fit in ${wide ? "nabla's int64 (2^53)" : 'int32'}`,
        );
      data[i] = castScalar(Number(v), dtype, true);
    }
  } else if (!isKernelDtype(dtype)) {
    const fromInt = !(a instanceof Float32Array || a instanceof Float64Array);
    for (let i = 0; i < n; i++) data[i] = castScalar(a[i], dtype, fromInt);
  } else if (dtype === 'bool') {
    for (let i = 0; i < n; i++) data[i] = a[i] ? 1 : 0;
  } else {
    (data as Float64Array).set(a as unknown as Float64Array);
  }
  return finish(new Tensor(new Storage(data), Layout.contiguous(shape), dtype), opts);
}

export function full(shape: Shape, value: number | boolean, opts: CreateOptions = {}): Tensor {
  const dtype = checkDtype(opts.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32'), 'full');
  const data = allocate(dtype, checkedNumel(shape, 'full'));
  // NOTE: fresh typed arrays are already zero; not writing them keeps a large zeros()/empty() lazy
  // (untouched pages are not resident), which checkpoint loading relies on to hold one copy.
  const v = castValue(value, dtype, 'full');
  if (v !== 0 || Object.is(v, -0)) data.fill(v);
  return finish(new Tensor(new Storage(data), Layout.contiguous(shape), dtype), opts);
}

export const zeros = (shape: Shape, opts: CreateOptions = {}) => full(shape, 0, opts);
export const ones = (shape: Shape, opts: CreateOptions = {}) => full(shape, 1, opts);
/** Uninitialised in PyTorch; zero-filled here (a fresh TypedArray is zeroed anyway). */
export const empty = (shape: Shape, opts: CreateOptions = {}) => full(shape, 0, opts);
export const zerosLike = (t: Tensor, opts: CreateOptions = {}) =>
  full(t.shape, 0, { dtype: t.dtype, device: t.device, ...opts });
export const onesLike = (t: Tensor, opts: CreateOptions = {}) =>
  full(t.shape, 1, { dtype: t.dtype, device: t.device, ...opts });
export const emptyLike = (t: Tensor, opts: CreateOptions = {}) =>
  full(t.shape, 0, { dtype: t.dtype, device: t.device, ...opts });
export const fullLike = (t: Tensor, value: number, opts: CreateOptions = {}) =>
  full(t.shape, value, { dtype: t.dtype, device: t.device, ...opts });

/** arange(end) | arange(start, end, step?): int32 when all arguments are integers, else float32. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new Error('arange: step must be nonzero');
  if ((end - start) / step < 0)
    throw new Error(
      `arange: upper bound and larger bound inconsistent with step sign (start ${start}, end ${end}, step ${step})`,
    );
  const n = Math.max(0, Math.ceil((end - start) / step));
  const allInt = [start, end, step].every(Number.isInteger);
  const dtype = checkDtype(opts.dtype ?? (allInt ? 'int32' : 'float32'), 'arange');
  const data = allocate(dtype, checkedNumel([n], 'arange'));
  if (isKernelDtype(dtype)) for (let i = 0; i < n; i++) data[i] = start + i * step;
  else for (let i = 0; i < n; i++) data[i] = castScalar(start + i * step, dtype);
  return finish(new Tensor(new Storage(data), Layout.contiguous([n]), dtype), opts);
}

export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0)
    throw new Error(`linspace: number of steps must be non-negative, got ${steps}`);
  const dtype = checkDtype(opts.dtype ?? 'float32', 'linspace');
  const data = allocate(dtype, steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  // PyTorch fills the second half from the end, so the last value is exactly `end`.
  // (one step gives [start], as torch.linspace does)
  const half = steps === 1 ? 1 : Math.floor(steps / 2);
  for (let i = 0; i < steps; i++)
    data[i] = castScalar(i < half ? start + step * i : end - step * (steps - 1 - i), dtype);
  return finish(new Tensor(new Storage(data), Layout.contiguous([steps]), dtype), opts);
}

export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  const t = zeros([n, m], opts.dtype ? { dtype: opts.dtype, device: 'cpu' } : { device: 'cpu' });
  const one = castScalar(1, t.dtype);
  for (let i = 0; i < Math.min(n, m); i++) t.storage.data[i * m + i] = one;
  return finish(t, opts);
}

export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

export function rand(shape: Shape, opts: RandomOptions = {}): Tensor {
  return finish((opts.generator ?? defaultGenerator()).uniform(shape, 0, 1, opts.dtype ?? 'float32'), opts);
}

export function randn(shape: Shape, opts: RandomOptions = {}): Tensor {
  return finish((opts.generator ?? defaultGenerator()).normal(shape, 0, 1, opts.dtype ?? 'float32'), opts);
}

/** Integers uniform in [low, high): randint(high, shape) or randint(low, high, shape). */
export function randint(
  low: number,
  high: number | Shape,
  shape?: Shape | RandomOptions,
  opts: RandomOptions = {},
): Tensor {
  if (Array.isArray(high)) {
    opts = (shape as RandomOptions) ?? {};
    shape = high;
    high = low;
    low = 0;
  }
  const hi = high as number,
    sh = shape as Shape;
  if (!(hi > low)) throw new Error(`randint: expected low < high, but got low=${low} and high=${hi}`);
  const dtype = checkDtype(opts.dtype ?? 'int32', 'randint');
  const g = opts.generator ?? defaultGenerator();
  const data = allocate(dtype, checkedNumel(sh, 'randint'));
  for (let i = 0; i < data.length; i++) data[i] = castScalar(g.randint(low, hi), dtype, true);
  return new Tensor(new Storage(data), Layout.contiguous(sh), dtype);
}

export function randperm(n: number, opts: RandomOptions = {}): Tensor {
  const p = (opts.generator ?? defaultGenerator()).permutation(n);
  const t = new Tensor(new Storage(p), Layout.contiguous([n]), 'int32');
  return opts.dtype && opts.dtype !== 'int32' ? t.to(opts.dtype) : t;
}

export function randLike(t: Tensor, opts: RandomOptions = {}): Tensor {
  return rand(t.shape, { dtype: isFloating(t.dtype) ? t.dtype : 'float32', ...opts });
}

export function randnLike(t: Tensor, opts: RandomOptions = {}): Tensor {
  return randn(t.shape, { dtype: isFloating(t.dtype) ? t.dtype : 'float32', ...opts });
}
