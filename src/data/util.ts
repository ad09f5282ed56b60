// Small helpers shared by the data loaders.
import { Layout } from '../tensor/layout.js';
import { Storage, Tensor } from '../tensor/tensor.js';
import type { DType, TypedArray } from '../tensor/dtype.js';

/** A tensor over an existing buffer (no copy). */
export function fromBuffer(data: TypedArray, shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(new Storage(data), Layout.contiguous(shape), dtype);
}

/** A 1-D int32 tensor of indices. */
export function wrapInt32(values: readonly number[] | Int32Array): Tensor {
  const d = values instanceof Int32Array ? values : Int32Array.from(values);
  return fromBuffer(d, [d.length], 'int32');
}
