// Many tensors in one collective: their values go into one flat buffer per dtype, one MPI call moves it,
// and the values come back into each tensor's own memory. DistributedDataParallel and
// ZeroRedundancyOptimizer use it to send a model's parameters in a few calls instead of one per tensor.

import type { DType, TypedArray } from '../tensor/dtype.js';
import { fromTypedArray } from '../tensor/creation.js';
import { contiguousValues, type Tensor } from '../tensor/tensor.js';
import { allReduce, broadcast, type ReduceOp } from './collectives.js';

/** Writes `values` (t.numel() of them, in order) into t's memory in place, whatever its strides. */
export function writeInto(t: Tensor, values: TypedArray): void {
  if (values.length !== t.numel())
    throw new Error(`writeInto: ${values.length} values for a tensor of ${t.numel()} ([${t.shape.join(', ')}])`);
  const data = t.storage.data;
  t.storage.version++;
  if (t.isContiguous()) {
    data.set(values as never, t.layout.offset);
    return;
  }
  const { shape, strides, offset } = t.layout;
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < values.length; i++) {
    let o = offset;
    for (let d = 0; d < shape.length; d++) o += idx[d] * strides[d];
    data[o] = values[i];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

function byDtype(tensors: Tensor[]): Map<DType, Tensor[]> {
  const groups = new Map<DType, Tensor[]>();
  for (const t of tensors) {
    const g = groups.get(t.dtype);
    if (g) g.push(t);
    else groups.set(t.dtype, [t]);
  }
  return groups;
}

function flatten(ts: Tensor[]): Tensor {
  const n = ts.reduce((s, t) => s + t.numel(), 0);
  const first = contiguousValues(ts[0]);
  const flat = new (first.constructor as new (n: number) => TypedArray)(n);
  let off = 0;
  for (const t of ts) {
    flat.set(contiguousValues(t) as never, off);
    off += t.numel();
  }
  return fromTypedArray(flat);
}

function unflatten(flat: Tensor, ts: Tensor[]): void {
  const v = flat.storage.data;
  let off = 0;
  for (const t of ts) {
    writeInto(t, v.subarray(off, off + t.numel()));
    off += t.numel();
  }
}

/** Copies every tensor from rank `src` into the same tensor on every rank, one broadcast per dtype. */
export function broadcastCoalesced(tensors: Tensor[], src: number): void {
  for (const ts of byDtype(tensors).values()) {
    const flat = flatten(ts);
    broadcast(flat, src);
    unflatten(flat, ts);
  }
}

/** All-reduces every tensor in place, one all-reduce per dtype. */
export function allReduceCoalesced(tensors: Tensor[], op: ReduceOp = 'sum'): void {
  for (const ts of byDtype(tensors).values()) {
    const flat = flatten(ts);
    allReduce(flat, { op });
    unflatten(flat, ts);
  }
}

/** Sends a JSON value from rank `src` to every rank (`value` is ignored elsewhere); returns it on all. */
export function broadcastJson(value: unknown, src: number): unknown {
  const mine = value === null ? null : new TextEncoder().encode(JSON.stringify(value));
  const len = fromTypedArray(new Int32Array([mine ? mine.length : 0]));
  broadcast(len, src);
  const bytes = fromTypedArray(new Uint8Array(len.storage.data[0]));
  if (mine) (bytes.storage.data as Uint8Array).set(mine);
  // NOTE: a Uint8Array tensor is 'bool' to nabla; broadcast moves its bytes unchanged
  broadcast(bytes, src);
  return JSON.parse(new TextDecoder().decode(bytes.storage.data as Uint8Array));
}
