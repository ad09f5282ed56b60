// Reductions in WGSL: reduce (sum, prod, max, min, any, all over any axes), argmax/argmin along one
// axis and softmax / log-softmax along one axis. One workgroup per output element (per row for
// softmax): each thread folds a strided share of the reduced elements, then a tree in workgroup
// memory combines the partial results; short reductions and argReduce run one thread per output.
// Glossary: K kept dims (those of the output), R reduced dims, n the reduced element count.

import type { DType, TypedArray } from '../../tensor/dtype.js';
import { Layout } from '../../tensor/layout.js';
import { ReduceOp } from '../op_codes.js';
import { GpuArray, alloc, dispatch, grid } from './context.js';
import { PRM, computeType, load, store, ty, walkFn } from './strided.js';
import { dtypeOf } from './elementwise.js';

const RWG = 256;
/** Reductions of at most this many elements per output run one thread per output. */
const SHORT_RED = 64;

/** +infinity from a runtime bit pattern (WGSL rejects an infinite constant expression). */
export const INF = 'fn inf_() -> f32 { var u = 0x7f800000u; return bitcast<f32>(u); }';

/**
 * Parameters and WGSL for "kept" dims (one workgroup each) and "reduced" dims (walked by threads):
 * prm = [nOut, nRed, offset, K, R, extra, K shapes, K strides, R shapes, R strides, K output strides].
 * keptOff(o) is o's offset in x, redOff(j) the j-th reduced element's offset from there, outOff(o) its
 * offset in an output contiguous over x's shape (with outFull, for softmax) or the reduced shape.
 */
export function split(
  lx: Layout,
  axes: readonly number[],
  outFull = false,
  extra = 0,
): { words: number[]; fns: string; nOut: number; nRed: number } {
  const kept = [...lx.shape.keys()].filter((d) => !axes.includes(d));
  const ks = kept.map((d) => lx.shape[d]),
    kst = kept.map((d) => lx.strides[d]);
  const rs = axes.map((d) => lx.shape[d]),
    rst = axes.map((d) => lx.strides[d]);
  const nOut = ks.reduce((a, b) => a * b, 1),
    nRed = rs.reduce((a, b) => a * b, 1);
  const full = Layout.contiguous(outFull ? lx.shape : lx.shape.map((n, d) => (axes.includes(d) ? 1 : n)));
  const kos = kept.map((d) => full.strides[d]);
  const words = [nOut, nRed, lx.offset, kept.length, axes.length, extra, ...ks, ...kst, ...rs, ...rst, ...kos];
  const fns = [
    walkFn('keptOff', 'prm[3]', '6', '6 + prm[3]', 'prm[2]'),
    walkFn('redOff', 'prm[4]', '6 + 2 * prm[3]', '6 + 2 * prm[3] + prm[4]', '0'),
    walkFn('outOff', 'prm[3]', '6', '6 + 2 * prm[3] + 2 * prm[4]', '0'),
  ].join('\n');
  return { words, fns, nOut, nRed };
}

/** One thread per output (per row), at o; base is its first element's offset in x. */
const THREAD_HEAD = `@compute @workgroup_size(${RWG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = i32(gid.y * nwg.x * ${RWG}u + gid.x);
  if (o >= prm[0]) { return; }
  let base = keptOff(o);`;

const HEAD = `@compute @workgroup_size(${RWG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lu: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let og = i32(wid.y * nwg.x + wid.x);
  let valid = og < prm[0];
  let o = select(0, og, valid);
  let li = i32(lu);`;

function combine(op: ReduceOp, ct: 'f32' | 'i32'): { init: string; f: string } | null {
  const inf = ct === 'f32' ? 'inf_()' : '2147483647';
  const ninf = ct === 'f32' ? '-inf_()' : '(-2147483647 - 1)';
  const nanMax = (m: string) => (ct === 'f32' ? `select(${m}(a, b), a + b, a != a || b != b)` : `${m}(a, b)`);
  switch (op) {
    case ReduceOp.SUM:
      return { init: `${ct}(0)`, f: 'a + b' };
    case ReduceOp.PROD:
      return { init: `${ct}(1)`, f: 'a * b' };
    case ReduceOp.MAX:
      return { init: ninf, f: nanMax('max') };
    case ReduceOp.MIN:
      return { init: inf, f: nanMax('min') };
    case ReduceOp.ANY:
      return { init: `${ct}(0)`, f: `select(${ct}(0), ${ct}(1), a != ${ct}(0) || b != ${ct}(0))` };
    case ReduceOp.ALL:
      return { init: `${ct}(1)`, f: `select(${ct}(0), ${ct}(1), a != ${ct}(0) && b != ${ct}(0))` };
  }
  return null;
}

// x (*) -> out (* with `axes` set to 1)
export function reduce(
  op: ReduceOp,
  x: TypedArray,
  lx: Layout,
  axes: readonly number[],
  outDtype: DType,
): TypedArray | undefined {
  if (!(x instanceof GpuArray) || outDtype === 'float64') return undefined;
  const ct = computeType(x.dtype);
  const c = combine(op, ct);
  if (!c) return undefined;
  const sp = split(lx, axes);
  const out = alloc(outDtype, sp.nOut);
  if (sp.nOut === 0) return out as unknown as TypedArray;
  const head = `@group(0) @binding(0) var<storage, read_write> out: array<${ty(outDtype)}>;
@group(0) @binding(1) var<storage, read> x: array<${ty(x.dtype)}>;
${PRM(2)}
${INF}
fn comb(a: ${ct}, b: ${ct}) -> ${ct} { return ${c.f}; }
${sp.fns}`;
  if (sp.nRed <= SHORT_RED) {
    // NOTE: short reductions (a broadcast gradient summed over a few rows) run one thread per output: a
    // workgroup each would idle all but a few of its threads through eight barriers, per output
    const code = `${head}
${THREAD_HEAD}
  var acc = ${c.init};
  for (var j = 0; j < prm[1]; j++) { acc = comb(acc, ${load('x[base + redOff(j)]', x.dtype)}); }
  out[o] = ${store('acc', ct, outDtype)};
}`;
    dispatch(code, [out, x], Int32Array.from(sp.words), grid(Math.ceil(sp.nOut / RWG)));
    return out as unknown as TypedArray;
  }
  const code = `${head}
var<workgroup> sh: array<${ct}, ${RWG}>;
${HEAD}
  let base = keptOff(o);
  var acc = ${c.init};
  for (var j = li; j < prm[1]; j += ${RWG}) {
    acc = comb(acc, ${load('x[base + redOff(j)]', x.dtype)});
  }
  sh[li] = acc;
  workgroupBarrier();
  for (var s = ${RWG / 2}; s > 0; s >>= 1u) {
    if (li < s) { sh[li] = comb(sh[li], sh[li + s]); }
    workgroupBarrier();
  }
  if (valid && li == 0) { out[o] = ${store('sh[0]', ct, outDtype)}; }
}`;
  dispatch(code, [out, x], Int32Array.from(sp.words), grid(sp.nOut));
  return out as unknown as TypedArray;
}

// x (*) -> int32 index (* with axis set to 1); first index wins ties, NaN wins
export function argReduce(isMax: boolean, x: TypedArray, lx: Layout, axis: number): Int32Array | undefined {
  if (!(x instanceof GpuArray) || x.dtype === 'float64') return undefined;
  const sp = split(lx, [axis]);
  const out = alloc('int32', sp.nOut);
  if (sp.nOut === 0 || sp.nRed === 0) return out as unknown as Int32Array;
  const ct = computeType(x.dtype);
  const better = isMax ? 'v > best' : 'v < best';
  const nan = ct === 'f32' ? ' || (v != v && best == best)' : '';
  const code = `@group(0) @binding(0) var<storage, read_write> out: array<i32>;
@group(0) @binding(1) var<storage, read> x: array<${ty(x.dtype)}>;
${PRM(2)}
${sp.fns}
${THREAD_HEAD}
  var best = ${load('x[base]', x.dtype)};
  var bi = 0;
  for (var j = 1; j < prm[1]; j++) {
    let v = ${load('x[base + redOff(j)]', x.dtype)};
    if (${better}${nan}) { best = v; bi = j; }
  }
  out[o] = bi;
}`;
  dispatch(code, [out, x], Int32Array.from(sp.words), grid(Math.ceil(sp.nOut / RWG)));
  return out as unknown as Int32Array;
}

// x (*) -> softmax or log-softmax along axis, contiguous in x's shape
export function softmax(x: TypedArray, lx: Layout, axis: number, log: boolean): TypedArray | undefined {
  if (!(x instanceof GpuArray) || x.dtype !== 'float32') return undefined;
  // extra: the output's stride along axis (contiguous over x's shape)
  const sp = split(lx, [axis], true, Layout.contiguous(lx.shape).strides[axis]);
  const n = lx.shape.reduce((a, b) => a * b, 1);
  const out = alloc('float32', n);
  if (n === 0) return out as unknown as TypedArray;
  const words = sp.words;
  const at = 5;
  const decls = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
${PRM(2)}
${INF}
${sp.fns}`;
  if (sp.nRed <= SHORT_RED) {
    // short rows (attention over a few keys): one thread per row, as for short reductions
    const code = `${decls}
${THREAD_HEAD}
  let obase = outOff(o);
  let n = prm[1];
  var mx = -inf_();
  for (var j = 0; j < n; j++) { mx = max(mx, x[base + redOff(j)]); }
  var tot = 0.0;
  for (var j = 0; j < n; j++) { tot += exp(x[base + redOff(j)] - mx); }
  for (var j = 0; j < n; j++) {
    let v = x[base + redOff(j)] - mx;
    out[obase + j * prm[${at}]] = ${log ? 'v - log(tot)' : 'exp(v) / tot'};
  }
}`;
    dispatch(code, [out, x], Int32Array.from(words), grid(Math.ceil(sp.nOut / RWG)));
    return out as unknown as TypedArray;
  }
  const code = `${decls}
var<workgroup> sh: array<f32, ${RWG}>;
${HEAD}
  let base = keptOff(o);
  let obase = outOff(o);
  let n = prm[1];
  var m = -inf_();
  for (var j = li; j < n; j += ${RWG}) { m = max(m, x[base + redOff(j)]); }
  sh[li] = m;
  workgroupBarrier();
  for (var s = ${RWG / 2}; s > 0; s >>= 1u) {
    if (li < s) { sh[li] = max(sh[li], sh[li + s]); }
    workgroupBarrier();
  }
  let mx = sh[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var j = li; j < n; j += ${RWG}) { sum += exp(x[base + redOff(j)] - mx); }
  sh[li] = sum;
  workgroupBarrier();
  for (var s = ${RWG / 2}; s > 0; s >>= 1u) {
    if (li < s) { sh[li] = sh[li] + sh[li + s]; }
    workgroupBarrier();
  }
  let tot = sh[0];
  if (valid) {
    for (var j = li; j < n; j += ${RWG}) {
      let v = x[base + redOff(j)] - mx;
      out[obase + j * prm[${at}]] = ${log ? 'v - log(tot)' : 'exp(v) / tot'};
    }
  }
}`;
  dispatch(code, [out, x], Int32Array.from(words), grid(sp.nOut));
  return out as unknown as TypedArray;
}

export { dtypeOf };
