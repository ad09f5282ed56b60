// Turning what fit/evaluate/predict receive into tensors and batches, with clear errors: nested
// number arrays (a string or a ragged row is reported with its position), typed arrays, Tensors,
// lists of them for several inputs/outputs, or records keyed by input/output name; and data that
// arrives already batched (a nabla DataLoader, any iterable or async iterable of [x, y] batches).
// Glossary: N samples, B batch size.

import { Tensor } from '../tensor/tensor.js';
import { fromTypedArray, tensor } from '../tensor/creation.js';
import { indexSelect } from '../ops/indexing.js';
import type { DType, TypedArray } from '../tensor/dtype.js';

/** One array of samples: first dimension N. */
export type ArrayData =
  | Tensor
  | TypedArray
  | number[]
  | number[][]
  | number[][][]
  | number[][][][]
  | readonly unknown[];
/** One or several arrays (by position or by input/output name). */
export type Data = ArrayData | ArrayData[] | Record<string, ArrayData>;

/** A batch from a loader: [x, y], [x, y, sampleWeight], {xs, ys} or {x, y}. */
export type Batch =
  | readonly unknown[]
  | { xs?: unknown; ys?: unknown; x?: unknown; y?: unknown; sampleWeight?: unknown };
export type BatchSource = Iterable<Batch> | AsyncIterable<Batch>;

export function isBatchSource(x: unknown): x is BatchSource {
  if (x === null || typeof x !== 'object' || x instanceof Tensor || Array.isArray(x) || ArrayBuffer.isView(x))
    return false;
  return Symbol.asyncIterator in (x as object) || Symbol.iterator in (x as object);
}

/** Number of batches of a source, when it tells (a DataLoader's length); else undefined. */
export function sourceLength(src: BatchSource): number | undefined {
  const n = (src as { length?: unknown }).length;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v)}`;
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/**
 * A tensor from nested number arrays, a typed array or a Tensor. `what` names it in errors:
 * "fit: x[3][2] is the string \"abc\"; expected a number".
 */
export function toTensor(v: unknown, what: string, op: string, dtype?: DType): Tensor {
  if (v instanceof Tensor) return dtype && v.dtype !== dtype ? v.to(dtype) : v;
  if (ArrayBuffer.isView(v)) {
    const a = v as unknown as TypedArray;
    if (a instanceof Float32Array || a instanceof Float64Array || a instanceof Int32Array)
      return fromTypedArray(a, [a.length]);
    return tensor(a as unknown as Float32Array, { dtype: dtype ?? 'float32' });
  }
  if (!Array.isArray(v))
    throw new Error(
      `${op}: ${what} must be a Tensor, a typed array or a (nested) array of numbers, got ${typeName(v)}`,
    );
  // validate first, so the error points at the offending element
  const shape: number[] = [];
  let probe: unknown = v;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const walk = (x: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof x === 'number') return;
      if (typeof x === 'boolean') return;
      throw new Error(`${op}: ${what}${path} is ${typeName(x)}; expected a number`);
    }
    if (!Array.isArray(x))
      throw new Error(`${op}: ${what}${path} is ${typeName(x)}; expected an array of length ${shape[depth]}`);
    if (x.length !== shape[depth])
      throw new Error(
        `${op}: ${what}${path} has length ${x.length} but ${what}${path.replace(/\[\d+\]$/, '[0]')} has ` +
          `${shape[depth]} (ragged rows)`,
      );
    for (let i = 0; i < x.length; i++) walk(x[i], depth + 1, `${path}[${i}]`);
  };
  walk(v, 0, '');
  return tensor(v as number[], dtype ? { dtype } : {});
}

/** The arrays of `data` in the order of `names` (input or output names). */
export function standardize(
  data: unknown,
  names: readonly string[],
  what: 'x' | 'y' | 'sampleWeight',
  op: string,
): Tensor[] {
  if (data === undefined || data === null) throw new Error(`${op}: ${what} is missing`);
  if (
    Array.isArray(data) &&
    data.length > 0 &&
    data.every((d) => d instanceof Tensor || ArrayBuffer.isView(d)) &&
    names.length > 1
  ) {
    if (data.length !== names.length)
      throw new Error(
        `${op}: the model has ${names.length} ${what === 'x' ? 'inputs' : 'outputs'} (${names.join(', ')}) but ` +
          `${what} has ${data.length} arrays`,
      );
    return data.map((d, i) => toTensor(d, `${what}[${i}] (${names[i]})`, op));
  }
  if (typeof data === 'object' && !Array.isArray(data) && !(data instanceof Tensor) && !ArrayBuffer.isView(data)) {
    const rec = data as Record<string, unknown>;
    const extra = Object.keys(rec).filter((k) => !names.includes(k));
    if (extra.length)
      throw new Error(
        `${op}: ${what} has key(s) ${extra.join(', ')}, which name no ${what === 'x' ? 'input' : 'output'} of the ` +
          `model (${names.join(', ')})`,
      );
    return names.map((n) => {
      if (!(n in rec))
        throw new Error(
          `${op}: ${what} has no entry for '${n}' (the model's ${what === 'x' ? 'inputs' : 'outputs'}: ` +
            `${names.join(', ')})`,
        );
      return toTensor(rec[n], `${what}['${n}']`, op);
    });
  }
  if (names.length > 1)
    throw new Error(
      `${op}: the model has ${names.length} ${what === 'x' ? 'inputs' : 'outputs'} (${names.join(', ')}); pass ` +
        `${what} as an array of ${names.length} Tensors or a record keyed by name`,
    );
  return [toTensor(data, what, op)];
}

/** Checks that every array has the same number of samples; returns N. */
export function checkSameLength(groups: { name: string; tensors: Tensor[] }[], op: string): number {
  let n: number | undefined,
    first = '';
  for (const g of groups) {
    g.tensors.forEach((t, i) => {
      if (t.ndim === 0) throw new Error(`${op}: ${g.name} is a scalar; expected one entry per sample`);
      const label = g.tensors.length > 1 ? `${g.name}[${i}]` : g.name;
      if (n === undefined) {
        n = t.shape[0];
        first = label;
        return;
      }
      if (t.shape[0] !== n) {
        throw new Error(
          `${op}: ${first} has ${n} samples but ${label} has ${t.shape[0]}; ${first} and ${label} must have the ` +
            `same length (first dimension)`,
        );
      }
    });
  }
  return n ?? 0;
}

/** Rows idx of each tensor. */
export function take(ts: Tensor[], idx: Tensor): Tensor[] {
  return ts.map((t) => indexSelect(t, 0, idx));
}

/** Rows [start, end) of each tensor (views). */
export function sliceRows(ts: Tensor[], start: number, end: number): Tensor[] {
  return ts.map((t) => t.narrow(0, start, end - start));
}

/** [x, y, sampleWeight?] of one batch from a loader. */
export function unpackBatch(b: unknown, op: string): [unknown, unknown, unknown] {
  if (Array.isArray(b)) {
    if (b.length < 1 || b.length > 3)
      throw new Error(`${op}: a batch must be [x, y] or [x, y, sampleWeight], got an array of ${b.length}`);
    return [b[0], b[1], b[2]];
  }
  if (b && typeof b === 'object') {
    const o = b as Record<string, unknown>;
    if ('xs' in o || 'x' in o) return [o.xs ?? o.x, o.ys ?? o.y, o.sampleWeight];
  }
  throw new Error(`${op}: a batch must be [x, y], [x, y, sampleWeight] or {xs, ys}, got ${typeName(b)}`);
}

/** Iterates a sync or async source. */
export async function* iterate(src: BatchSource): AsyncGenerator<Batch> {
  if (Symbol.asyncIterator in (src as object)) {
    for await (const b of src as AsyncIterable<Batch>) yield b;
    return;
  }
  for (const b of src as Iterable<Batch>) yield b;
}
