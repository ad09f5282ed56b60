// WGSL code generation for strided operands. A kernel's parameters are one i32 array, `prm`, bound
// last: the element count, the iteration shape, then each operand's offset and strides (broadcast
// dims have stride 0), then any f32 scalars as bits. An operand that is contiguous over the shape
// (any offset) gets the flat index as its offset, so the common case does no index arithmetic.

import type { DType } from '../../tensor/dtype.js';
import type { Layout } from '../../tensor/layout.js';
import { wgslType, type WgslType } from './context.js';

/** Threads per workgroup of the elementwise kernels. */
export const WG = 256;

/** The flat thread index over a 2-D grid of WG-thread workgroups (see context.grid). */
export const MAIN_HEAD = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = i32((wid.y * nwg.x + wid.x) * ${WG}u + li);`;

export function ty(d: DType): WgslType {
  const t = wgslType(d);
  if (!t) throw new Error(`webgpu: dtype ${d} has no WGSL type`);
  return t;
}

/** The type values of dtype d are computed in: f32 for float32, i32 for int32 and bool. */
export function computeType(d: DType): 'f32' | 'i32' {
  return d === 'float32' ? 'f32' : 'i32';
}

/** A stored element `e` of dtype d as its compute type. */
export function load(e: string, d: DType): string {
  return d === 'bool' ? `i32(${e})` : e;
}

/** A value `v` of compute type ct as an element of dtype d (torch's casts: truncation, != 0 for bool). */
export function store(v: string, ct: 'f32' | 'i32', d: DType): string {
  if (d === 'bool') return `select(0u, 1u, (${v}) != ${ct}(0))`;
  const t = ty(d);
  return t === ct ? v : `${t}(${v})`;
}

/** Scalar slots at the head of every prm array (after n and nd). */
const SCALARS = 8;

/**
 * Builds the prm array and the offset functions for operands iterated over one shape:
 * prm = [n, nd, 8 f32 scalar slots, shape (nd), then per operand: offset, strides (nd)].
 * NOTE: the WGSL reads the rank and every position from prm at run time, so one shader serves every
 * shape: compiling a pipeline costs far more than the index arithmetic (about 0.2 s each on
 * SwiftShader). Only "every operand contiguous" gets a flat variant, the common case on a GPU.
 */
export class Params {
  readonly words: number[];
  private nScalars = 0;
  private readonly layouts: Layout[] = [];
  constructor(readonly shape: readonly number[]) {
    let n = 1;
    for (const s of shape) n *= s;
    this.words = [n, shape.length, ...new Array<number>(SCALARS).fill(0), ...shape];
  }
  get n(): number {
    return this.words[0];
  }
  /** Adds an operand seen through layout l (of this shape); returns the name of its offset function. */
  operand(l: Layout): string {
    this.layouts.push(l);
    this.words.push(l.offset, ...l.strides);
    return `off${this.layouts.length - 1}`;
  }
  /** The offset functions of the operands added so far. */
  get fns(): string[] {
    const flat = this.n <= 1 || this.layouts.every((l) => l.isContiguous());
    return this.layouts.map((_, k) => {
      const base = `2 + ${SCALARS} + prm[1] + ${k} * (prm[1] + 1)`;
      if (flat) return `fn off${k}(i: i32) -> i32 { return prm[${base}] + i; }`;
      return `fn off${k}(i: i32) -> i32 {
  let b = ${base};
  var r = i;
  var o = prm[b];
  for (var d = prm[1] - 1; d >= 0; d--) {
    let s = prm[${2 + SCALARS} + d];
    o += (r % s) * prm[b + 1 + d];
    r /= s;
  }
  return o;
}`;
    });
  }
  /** Sets the next f32 scalar slot; returns the WGSL expression that reads it. */
  scalar(x: number): string {
    if (this.nScalars === SCALARS) throw new Error('webgpu: too many kernel scalars');
    const at = 2 + this.nScalars++;
    F32[0] = x;
    this.words[at] = I32[0];
    return `bitcast<f32>(prm[${at}])`;
  }
  array(): Int32Array {
    return Int32Array.from(this.words);
  }
}
const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

export const PRM = (binding: number) => `@group(0) @binding(${binding}) var<storage, read> prm: array<i32>;`;

/**
 * A WGSL function `name(i) -> offset`: i decomposed row-major over the `nd` sizes at prm[shapeAt..],
 * each coordinate times the stride at prm[strideAt..], plus `start`. All four are WGSL expressions
 * (read from prm at run time: see Params).
 */
export function walkFn(name: string, nd: string, shapeAt: string, strideAt: string, start: string): string {
  return `fn ${name}(i: i32) -> i32 {
  var r = i;
  var o = ${start};
  for (var d = ${nd} - 1; d >= 0; d--) {
    let s = prm[${shapeAt} + d];
    o += (r % s) * prm[${strideAt} + d];
    r /= s;
  }
  return o;
}`;
}
