// Gather, indexSelect (embedding), and their adjoints scatter and indexAdd, in WGSL. Indices arrive
// as host Int32Arrays, already bounds-checked by the op layer, and are uploaded for the call.
// The in-place adjoints run one thread per "column" (every position but the indexed dim) that walks
// the indexed dim in order: duplicate indices then add up without atomics (WGSL has no f32 atomics)
// and in the same order as the JS reference.

import type { TypedArray } from '../../tensor/dtype.js';
import { Layout } from '../../tensor/layout.js';
import { GpuArray, alloc, dispatch, errorWord, grid, upload } from './context.js';
import { PRM, WG, computeType, load, store, ty, walkFn } from './strided.js';

const HEAD = `@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = i32(gid.y * nwg.x * ${WG}u + gid.x);
  if (i >= prm[0]) { return; }`;

/**
 * The index buffer of a call (bound at 2): host indices (checked by the op layer) are uploaded; indices
 * already on the GPU are bounds-checked here, and a bad one sets the error word (bound at 3) that the
 * next read-back reports. `guard(j, size, bad)` is the WGSL that runs `bad` for an index j out of range.
 */
function indexArg(idx: Int32Array): {
  bufs: GpuArray[];
  decl: string;
  guard(j: string, size: string, bad: string): string;
} {
  if (!(idx instanceof GpuArray)) {
    return {
      bufs: [upload(idx, 'int32')],
      decl: '@group(0) @binding(2) var<storage, read> idx: array<i32>;',
      guard: () => '',
    };
  }
  return {
    bufs: [idx, errorWord()],
    decl: `@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> errw: array<atomic<u32>>;`,
    guard: (j, size, bad) => `if (${j} < 0 || ${j} >= ${size}) { atomicOr(&errw[0], 1u); ${bad} }`,
  };
}

function without<T>(xs: readonly T[], d: number): T[] {
  return xs.filter((_, i) => i !== d);
}

// x (*), idx (* of lidx's shape) -> out (lidx's shape): out[p] = x[p with p[dim] = idx[p]]
export function gather(x: TypedArray, lx: Layout, dim: number, idx: Int32Array, lidx: Layout): TypedArray | undefined {
  if (!(x instanceof GpuArray)) return undefined;
  const n = idx.length;
  const out = alloc(x.dtype, n);
  if (n === 0) return out as unknown as TypedArray;
  const nd = lidx.shape.length;
  const xs = lx.strides.map((s, d) => (d === dim ? 0 : s));
  // prm: n, nd, x offset, x stride along dim, x size along dim | idx shape (nd) | x strides, dim's zeroed (nd)
  const words = [n, nd, lx.offset, lx.strides[dim], lx.shape[dim], ...lidx.shape, ...xs];
  const ia = indexArg(idx);
  const code = `@group(0) @binding(0) var<storage, read_write> out: array<${ty(x.dtype)}>;
@group(0) @binding(1) var<storage, read> x: array<${ty(x.dtype)}>;
${ia.decl}
${PRM(1 + 1 + ia.bufs.length)}
${walkFn('xOff', 'prm[1]', '5', '5 + prm[1]', 'prm[2]')}
${HEAD}
  let j = idx[i];
  ${ia.guard('j', 'prm[4]', `out[i] = ${ty(x.dtype)}(0); return;`)}
  out[i] = x[xOff(i) + j * prm[3]];
}`;
  dispatch(code, [out, x, ...ia.bufs], Int32Array.from(words), grid(Math.ceil(n / WG)));
  return out as unknown as TypedArray;
}

// x (*) -> out (x's shape with dim -> idx.length)
export function indexSelect(x: TypedArray, lx: Layout, dim: number, idx: Int32Array): TypedArray | undefined {
  if (!(x instanceof GpuArray)) return undefined;
  const shape = [...lx.shape];
  shape[dim] = idx.length;
  const n = shape.reduce((a, b) => a * b, 1);
  const out = alloc(x.dtype, n);
  if (n === 0) return out as unknown as TypedArray;
  const nd = shape.length;
  // the coordinate along dim is the output's (i / inner) % len, looked up in idx
  const inner = Layout.contiguous(shape).strides[dim];
  const xs = lx.strides.map((s, d) => (d === dim ? 0 : s));
  // prm: n, nd, x offset, x stride along dim, inner, idx length, x size along dim | shape (nd) | x strides (nd)
  const words = [n, nd, lx.offset, lx.strides[dim], inner, idx.length, lx.shape[dim], ...shape, ...xs];
  const ia = indexArg(idx);
  const code = `@group(0) @binding(0) var<storage, read_write> out: array<${ty(x.dtype)}>;
@group(0) @binding(1) var<storage, read> x: array<${ty(x.dtype)}>;
${ia.decl}
${PRM(2 + ia.bufs.length)}
${walkFn('xOff', 'prm[1]', '7', '7 + prm[1]', 'prm[2]')}
${HEAD}
  let j = idx[(i / prm[4]) % prm[5]];
  ${ia.guard('j', 'prm[6]', `out[i] = ${ty(x.dtype)}(0); return;`)}
  out[i] = x[xOff(i) + j * prm[3]];
}`;
  dispatch(code, [out, x, ...ia.bufs], Int32Array.from(words), grid(Math.ceil(n / WG)));
  return out as unknown as TypedArray;
}

/**
 * The column walk shared by scatter and indexAdd, over an iteration shape `it` (src's): for each column
 * c (a position over `it` without dim) and each step j < it[dim] in order,
 * dst[dOff(c) + t * dStride] (=|+=) src[sOff(c) + j * sStride], where the target t is idx[j] (indexAdd)
 * or, with perElement, idx[iOff(c) + j * iStride] (scatter: idx contiguous over `it`).
 */
function columnWalk(
  dst: GpuArray,
  dstShape: readonly number[],
  dim: number,
  src: GpuArray,
  lsrc: Layout,
  idx: Int32Array,
  perElement: boolean,
  accumulate: boolean,
): void {
  const it = lsrc.shape;
  const cols = without(it, dim);
  const nc = cols.reduce((a, b) => a * b, 1),
    len = it[dim];
  if (nc === 0 || len === 0) return;
  const k = cols.length;
  const dStr = Layout.contiguous(dstShape).strides,
    iStr = Layout.contiguous(it).strides;
  // prm: nc, k, src offset, len, dst, src and idx strides along dim, dst size along dim |
  //      cols (k) | dst strides (k) | src strides (k) | idx strides (k)
  const words = [nc, k, lsrc.offset, len, dStr[dim], lsrc.strides[dim], iStr[dim], dstShape[dim]];
  words.push(...cols, ...without(dStr, dim), ...without(lsrc.strides, dim), ...without(iStr, dim));
  const ia = indexArg(idx);
  const sd = src.dtype,
    ct = computeType(dst.dtype);
  const v = load('src[so + j * prm[5]]', sd);
  const upd = accumulate
    ? `dst[t] = ${store(`${load('dst[t]', dst.dtype)} + ${v}`, ct, dst.dtype)};`
    : `dst[t] = ${store(v, computeType(sd), dst.dtype)};`;
  const target = perElement ? 'idx[io + j * prm[6]]' : 'idx[j]';
  const code = `@group(0) @binding(0) var<storage, read_write> dst: array<${ty(dst.dtype)}>;
@group(0) @binding(1) var<storage, read> src: array<${ty(sd)}>;
${ia.decl}
${PRM(2 + ia.bufs.length)}
${walkFn('dOff', 'prm[1]', '8', '8 + prm[1]', '0')}
${walkFn('sOff', 'prm[1]', '8', '8 + 2 * prm[1]', 'prm[2]')}
${walkFn('iOff', 'prm[1]', '8', '8 + 3 * prm[1]', '0')}
${HEAD}
  let dof = dOff(i);
  let so = sOff(i);
  let io = iOff(i);
  for (var j = 0; j < prm[3]; j++) {
    let tj = ${target};
    ${ia.guard('tj', 'prm[7]', 'continue;')}
    let t = dof + tj * prm[4];
    ${upd}
  }
}`;
  dispatch(code, [dst, src, ...ia.bufs], Int32Array.from(words), grid(Math.ceil(nc / WG)));
}

// dst (dstShape, contiguous) in place: dst.select(dim, idx[i]) += src.select(dim, i)
export function indexAdd(
  dst: TypedArray,
  dstShape: readonly number[],
  dim: number,
  idx: Int32Array,
  src: TypedArray,
  lsrc: Layout,
): true | undefined {
  if (!(dst instanceof GpuArray) || !(src instanceof GpuArray) || src.dtype !== dst.dtype) return undefined;
  if (src.buffer === dst.buffer) return undefined;
  const ls = lsrc.shape.length ? lsrc : new Layout([1], [0], lsrc.offset);
  columnWalk(dst, dstShape, dim, src, ls, idx, false, true);
  return true;
}

// dst (dstShape, contiguous) in place: dst[p with p[dim] = idx[p]] (=|+=) src[p] for p over lidx's shape
export function scatter(
  dst: TypedArray,
  dstShape: readonly number[],
  dim: number,
  idx: Int32Array,
  lidx: Layout,
  src: TypedArray,
  lsrc: Layout,
  accumulate: boolean,
): true | undefined {
  if (!(dst instanceof GpuArray) || !(src instanceof GpuArray) || src.buffer === dst.buffer) return undefined;
  if (dstShape.length === 0 || lidx.shape.length !== dstShape.length) return undefined;
  columnWalk(
    dst,
    dstShape,
    dim,
    src,
    new Layout([...lidx.shape], [...lsrc.strides], lsrc.offset),
    idx,
    true,
    accumulate,
  );
  return true;
}
