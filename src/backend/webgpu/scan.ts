// Cumulative sums and products, and stable sort, along one axis in WGSL (x of any strides; outputs
// contiguous in x's shape). Cumulative: one thread per row, a sequential scan (rows are what the
// models have: positions or probabilities, short next to the thread count). Sort: one thread per
// element, which counts the elements of its row that sort before it (smaller, or equal and earlier:
// stable) and writes itself at that rank, so no two threads write one place and no pass synchronises.
// NOTE: the rank count costs n^2 comparisons per row of n, in parallel: fine for rows up to about a
// vocabulary (top-p sampling), and exact, ties and NaN included (NaN sorts as the largest, as in torch).
// Glossary: n the row length (the axis), rows the product of the other dims.

import type { DType, TypedArray } from '../../tensor/dtype.js';
import { Layout } from '../../tensor/layout.js';
import { GpuArray, alloc, dispatch, grid } from './context.js';
import { PRM, computeType, load, store, ty } from './strided.js';
import { split } from './reduce.js';

const SWG = 64;

const HEAD = `@compute @workgroup_size(${SWG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = i32(gid.y * nwg.x * ${SWG}u + gid.x);`;

// x (*) -> inclusive cumulative sum or product along axis, outDtype, contiguous in x's shape
export function cumulative(
  isProd: boolean,
  x: TypedArray,
  lx: Layout,
  axis: number,
  outDtype: DType,
): TypedArray | undefined {
  if (!(x instanceof GpuArray) || outDtype === 'float64' || outDtype === 'bool') return undefined;
  // extra: the output's stride along axis
  const sp = split(lx, [axis], true, Layout.contiguous(lx.shape).strides[axis]);
  const out = alloc(outDtype, sp.nOut * sp.nRed);
  if (sp.nOut * sp.nRed === 0) return out as unknown as TypedArray;
  const ct = computeType(outDtype);
  const code = `@group(0) @binding(0) var<storage, read_write> out: array<${ty(outDtype)}>;
@group(0) @binding(1) var<storage, read> x: array<${ty(x.dtype)}>;
${PRM(2)}
${sp.fns}
${HEAD}
  if (g >= prm[0]) { return; }
  let base = keptOff(g);
  let obase = outOff(g);
  var acc = ${ct}(${isProd ? 1 : 0});
  for (var j = 0; j < prm[1]; j++) {
    acc = acc ${isProd ? '*' : '+'} ${ct}(${load('x[base + redOff(j)]', x.dtype)});
    out[obase + j * prm[5]] = ${store('acc', ct, outDtype)};
  }
}`;
  dispatch(code, [out, x], Int32Array.from(sp.words), grid(Math.ceil(sp.nOut / SWG)));
  return out as unknown as TypedArray;
}

// x (*) -> values (x's dtype) and int32 indices along axis, sorted stably, contiguous in x's shape
export function sort(
  x: TypedArray,
  lx: Layout,
  axis: number,
  descending: boolean,
): { values: TypedArray; indices: Int32Array } | undefined {
  if (!(x instanceof GpuArray) || x.dtype === 'float64') return undefined;
  const sp = split(lx, [axis], true, Layout.contiguous(lx.shape).strides[axis]);
  const n = sp.nOut * sp.nRed;
  const values = alloc(x.dtype, n),
    indices = alloc('int32', n);
  if (n === 0) return { values: values as unknown as TypedArray, indices: indices as unknown as Int32Array };
  const ct = computeType(x.dtype);
  // before(a at k, b at j): a sorts ahead of b; NaN is the largest value, and ties keep their order
  const ahead = descending ? '(a > b)' : '(a < b)';
  const order = `${ahead} || ((a == b) && (k < j))`;
  const before =
    ct === 'f32'
      ? `let na = isNan(a); let nb = isNan(b);
  if (na && nb) { return k < j; }
  if (na || nb) { return ${descending ? 'na' : 'nb'}; }
  return ${order};`
      : `return ${order};`;
  const code = `@group(0) @binding(0) var<storage, read_write> vals: array<${ty(x.dtype)}>;
@group(0) @binding(1) var<storage, read_write> idx: array<i32>;
@group(0) @binding(2) var<storage, read> x: array<${ty(x.dtype)}>;
${PRM(3)}
${sp.fns}
// NOTE: NaN by its bits: a compiler may fold v != v to false (WGSL lets it assume no NaN)
fn isNan(v: ${ct}) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
fn before(a: ${ct}, k: i32, b: ${ct}, j: i32) -> bool {
  ${before}
}
${HEAD}
  let n = prm[1];
  if (g >= prm[0] * n) { return; }
  let row = g / n; let j = g % n;
  let base = keptOff(row);
  let b = ${load('x[base + redOff(j)]', x.dtype)};
  var rank = 0;
  for (var k = 0; k < n; k++) {
    if (before(${load('x[base + redOff(k)]', x.dtype)}, k, b, j)) { rank++; }
  }
  let o = outOff(row) + rank * prm[5];
  vals[o] = x[base + redOff(j)];
  idx[o] = j;
}`;
  dispatch(code, [values, indices, x], Int32Array.from(sp.words), grid(Math.ceil(n / SWG)));
  return { values: values as unknown as TypedArray, indices: indices as unknown as Int32Array };
}
