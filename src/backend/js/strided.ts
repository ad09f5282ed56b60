// Strided iteration for the JS backend. Layouts are first coalesced (size-1 dims dropped, dims that
// are contiguous in every operand merged) so that most loops run over one or two dims. Elementwise
// kernels are generated once per (op, arity) with `new Function`, so the inner loop is monomorphic
// and has no per-element call.

import type { DType, TypedArray } from '../../tensor/dtype.js';
import { allocate, storageClass } from '../../tensor/dtype.js';
import { type Layout, contiguousStrides, numel } from '../../tensor/layout.js';

export interface Coalesced {
  shape: number[];
  /** strides[k] = strides of operand k over the coalesced dims */
  strides: number[][];
}

/** Drops size-1 dims and merges adjacent dims that are contiguous in every operand. */
export function coalesce(shape: readonly number[], stridesList: readonly (readonly number[])[]): Coalesced {
  const dims: number[] = [];
  for (let i = 0; i < shape.length; i++) if (shape[i] !== 1) dims.push(i);
  const outShape: number[] = [];
  const outStrides: number[][] = stridesList.map(() => []);
  for (const d of dims) {
    const n = outShape.length;
    if (n > 0) {
      let mergeable = true;
      for (let k = 0; k < stridesList.length; k++) {
        if (outStrides[k][n - 1] !== stridesList[k][d] * shape[d]) {
          mergeable = false;
          break;
        }
      }
      if (mergeable) {
        outShape[n - 1] *= shape[d];
        for (let k = 0; k < stridesList.length; k++) outStrides[k][n - 1] = stridesList[k][d];
        continue;
      }
    }
    outShape.push(shape[d]);
    for (let k = 0; k < stridesList.length; k++) outStrides[k].push(stridesList[k][d]);
  }
  if (outShape.length === 0) {
    outShape.push(1);
    for (let k = 0; k < stridesList.length; k++) outStrides[k].push(0);
  }
  return { shape: outShape, strides: outStrides };
}

/** A generated elementwise kernel: makeElementwise documents its arguments. */
export type ElementwiseKernel = (...args: unknown[]) => void;

/**
 * Builds `(out, shape, X0, s0, o0, X1, s1, o1, ..., p0, p1) => void` that writes
 * out[flat] = expr(x0, x1, ...) over a coalesced shape, in row-major order.
 * `expr` names its inputs x0..x{n-1} (unary forms may use x) and params p0, p1.
 */
export function makeElementwise(arity: number, expr: string, prelude = ''): ElementwiseKernel {
  const args = ['out', 'shape'];
  for (let k = 0; k < arity; k++) args.push(`X${k}`, `s${k}`, `o${k}`);
  args.push('p0', 'p1', 'H');
  const loads = Array.from({ length: arity }, (_, k) => `const x${k} = X${k}[j${k}];`).join(' ');
  const body = `
    ${prelude}
    const nd = shape.length, inner = shape[nd - 1];
    ${Array.from({ length: arity }, (_, k) => `const is${k} = s${k}[nd - 1]; let p${k}_ = o${k};`).join('\n')}
    const idx = new Int32Array(nd);
    let rows = 1; for (let d = 0; d < nd - 1; d++) rows *= shape[d];
    let o = 0;
    for (let r = 0; r < rows; r++) {
      ${Array.from({ length: arity }, (_, k) => `let j${k} = p${k}_;`).join(' ')}
      for (let i = 0; i < inner; i++) {
        ${loads}
        const x = x0;
        out[o++] = (${expr});
        ${Array.from({ length: arity }, (_, k) => `j${k} += is${k};`).join(' ')}
      }
      for (let d = nd - 2; d >= 0; d--) {
        ${Array.from({ length: arity }, (_, k) => `p${k}_ += s${k}[d];`).join(' ')}
        if (++idx[d] < shape[d]) break;
        ${Array.from({ length: arity }, (_, k) => `p${k}_ -= s${k}[d] * shape[d];`).join(' ')}
        idx[d] = 0;
      }
    }`;
  return new Function(...args, body) as ElementwiseKernel;
}

/** Runs a generated elementwise kernel over inputs that all have `shape` (broadcast already applied). */
export function runElementwise(
  fn: ElementwiseKernel,
  outDtype: DType,
  shape: readonly number[],
  inputs: readonly [TypedArray, Layout][],
  p0 = 0,
  p1 = 0,
  helpers: unknown = undefined,
): TypedArray {
  const n = numel(shape);
  const out = allocate(outDtype, n);
  if (n === 0) return out;
  const c = coalesce(
    shape,
    inputs.map(([, l]) => l.strides),
  );
  const args: unknown[] = [out, c.shape];
  inputs.forEach(([buf, l], k) => {
    args.push(buf, c.strides[k], l.offset);
  });
  args.push(p0, p1, helpers);
  fn(...args);
  return out;
}

const copyFn = makeElementwise(1, 'x0');
const copyBoolFn = makeElementwise(1, 'x0 !== 0 ? 1 : 0');

/**
 * A contiguous copy of (x, lx) cast to dtype. Between arrays of the same class (a storage dtype's
 * copy: float16 bits, uint8 values) elements move unchanged; the op layer casts storage dtypes itself.
 */
export function copyContiguous(x: TypedArray, lx: Layout, dtype: DType): TypedArray {
  const same = x instanceof storageClass(dtype);
  if (lx.isContiguous() && same) {
    const n = lx.numel;
    return x.slice(lx.offset, lx.offset + n) as TypedArray;
  }
  return runElementwise(dtype === 'bool' && !same ? copyBoolFn : copyFn, dtype, lx.shape, [[x, lx]]);
}

/** Returns x itself when (x, lx) is already a contiguous, zero-offset buffer of dtype's class; else a copy. */
export function asContiguous(x: TypedArray, lx: Layout, dtype: DType): TypedArray {
  if (lx.offset === 0 && lx.isContiguous() && x.length === lx.numel && x instanceof storageClass(dtype)) return x;
  return copyContiguous(x, lx, dtype);
}

/** (outer, len, inner) of a contiguous shape split around `axis`. */
export function splitAt(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1,
    inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}

export { contiguousStrides };
