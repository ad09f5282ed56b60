// GEMM in WGSL: a (batch..., M, K) @ b (batch..., K, N) -> out (batch..., M, N), float32, any strides.
// One workgroup of 16x16 threads computes a 64x64 tile of out, each thread a 4x4 block held in four
// vec4 accumulators; K advances in steps of 16 through workgroup memory, where both tiles are kept
// k-major (M and N contiguous), so the inner loop reads two vec4s and does four vec4 FMAs per k.
// NOTE: the tiles are f32 arrays, not vec4 arrays written by component: a dynamic component write
// to workgroup memory made the kernel 4x slower on SwiftShader. A tile is read from global memory
// with vec4 loads along the operand's contiguous dim (K for a row-major a or a transposed b, N for a
// row-major b) when its strides and offset are multiples of 4, else element by element.
// Where the device has subgroups (and they are not turned off), the inner loop shares a's values
// between lanes by subgroup shuffles instead of workgroup memory (innerLoop), chosen at run time.
// Glossary: M rows of a and out, N columns of b and out, K the reduced dim; B batch.

import type { DType, TypedArray } from '../../tensor/dtype.js';
import type { Layout } from '../../tensor/layout.js';
import { GpuArray, alloc, asGpu, dispatch, useSubgroups } from './context.js';
import { PRM } from './strided.js';
import { dtypeOf } from './elementwise.js';

const TM = 64,
  TN = 64,
  TK = 16;

type Mode = 'scalar' | 'vecK' | 'vecN';

/** Multiply-adds from which a product uses the vec4 loads. */
const VEC_MIN = 1 << 20;

function aligned(l: Layout, dims: number[]): boolean {
  return l.offset % 4 === 0 && dims.every((d) => l.strides[d] % 4 === 0);
}

/**
 * The inner product over one K tile. Plain: every thread reads its 4 a values and 4 b values from
 * workgroup memory per k. Subgroups: the w = min(subgroup size, 16) lanes of a run share one row
 * block (same ty); lane j reads the a values of k = c + j once, and each k's values reach the other
 * lanes by subgroupShuffle, so a is read from workgroup memory once per w k's instead of once per k.
 * NOTE: this assumes lanes are consecutive invocations (true of every implementation we know, not
 * promised by WebGPU); the kernel checks it per subgroup (sgOk) and takes the plain loop if not.
 */
function innerLoop(sg: boolean): string {
  const fma = `acc0 += av.x * bv; acc1 += av.y * bv; acc2 += av.z * bv; acc3 += av.w * bv;`;
  const plain = `for (var kk = 0; kk < ${TK}; kk++) {
      let ab = kk * 64 + ty * 4; let bb = kk * 64 + tx * 4;
      let av = vec4<f32>(As[ab], As[ab + 1], As[ab + 2], As[ab + 3]);
      let bv = vec4<f32>(Bs[bb], Bs[bb + 1], Bs[bb + 2], Bs[bb + 3]);
      ${fma}
    }`;
  if (!sg) return plain;
  return `if (sgOk) {
      for (var c = 0; c < ${TK}; c += w) {
        let ab = (c + slot) * 64 + ty * 4;
        let mine = vec4<f32>(As[ab], As[ab + 1], As[ab + 2], As[ab + 3]);
        for (var j = 0; j < w; j++) {
          let av = subgroupShuffle(mine, u32(lane0 + j));
          let bb = (c + j) * 64 + tx * 4;
          let bv = vec4<f32>(Bs[bb], Bs[bb + 1], Bs[bb + 2], Bs[bb + 3]);
          ${fma}
        }
      }
    } else {
      ${plain}
    }`;
}

// prm: M N K nb | aOff aSM aSK | bOff bSK bSN | batch shapes | a batch strides | b batch strides
function source(aMode: Mode, bMode: Mode, sg: boolean): string {
  // the batch dims' rank nb = prm[3] is read at run time (see strided.ts Params)
  const batch = (which: 'a' | 'b', base: number, first: string) => `
fn ${which}Batch(z: i32) -> i32 {
  var r = z;
  var o = prm[${base}];
  for (var d = prm[3] - 1; d >= 0; d--) {
    let s = prm[10 + d];
    o += (r % s) * prm[${first} + d];
    r /= s;
  }
  return o;
}`;
  const aLoad =
    aMode === 'vecK'
      ? `  {
    let m = t / 4; let kq = t % 4; let gm = m0 + m; let gk = k0 + kq * 4;
    var v = vec4<f32>(0.0);
    if (gm < M && gk < K) { v = a[(abase + gm * prm[5] + gk) / 4]; }
    let ab = kq * 256 + m;
    As[ab] = v.x; As[ab + 64] = v.y; As[ab + 128] = v.z; As[ab + 192] = v.w;
  }`
      : `  for (var e = 0; e < 4; e++) {
    let idx = t + e * 256; let m = idx / 16; let kk = idx % 16; let gm = m0 + m; let gk = k0 + kk;
    var v = 0.0;
    if (gm < M && gk < K) { v = a[abase + gm * prm[5] + gk * prm[6]]; }
    As[kk * 64 + m] = v;
  }`;
  const bLoad =
    bMode === 'vecN'
      ? `  {
    let kk = t / 16; let nq = t % 16; let gk = k0 + kk; let gn = n0 + nq * 4;
    var v = vec4<f32>(0.0);
    if (gk < K && gn < N) { v = b[(bbase + gk * prm[8] + gn) / 4]; }
    let bb = kk * 64 + nq * 4;
    Bs[bb] = v.x; Bs[bb + 1] = v.y; Bs[bb + 2] = v.z; Bs[bb + 3] = v.w;
  }`
      : bMode === 'vecK'
        ? `  {
    let n = t / 4; let kq = t % 4; let gn = n0 + n; let gk = k0 + kq * 4;
    var v = vec4<f32>(0.0);
    if (gn < N && gk < K) { v = b[(bbase + gn * prm[9] + gk) / 4]; }
    let bb = kq * 256 + n;
    Bs[bb] = v.x; Bs[bb + 64] = v.y; Bs[bb + 128] = v.z; Bs[bb + 192] = v.w;
  }`
        : `  for (var e = 0; e < 4; e++) {
    let idx = t + e * 256; let kk = idx / 64; let n = idx % 64; let gk = k0 + kk; let gn = n0 + n;
    var v = 0.0;
    if (gk < K && gn < N) { v = b[bbase + gk * prm[8] + gn * prm[9]]; }
    Bs[kk * 64 + n] = v;
  }`;
  const elt = (m: Mode) => (m === 'scalar' ? 'f32' : 'vec4<f32>');
  // subgroup ops sit in loops whose bounds the uniformity analysis cannot prove subgroup-uniform
  const head = sg ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n' : '';
  const sgArgs = sg ? ',\n        @builtin(subgroup_invocation_id) sgi: u32, @builtin(subgroup_size) sgs: u32' : '';
  const sgSetup = sg
    ? `
  let w = i32(min(sgs, 16u)); let slot = i32(sgi) % w; let lane0 = i32(sgi) - slot;
  // the w lanes of a run are consecutive invocations of one row block
  let sgOk = subgroupAll(subgroupShuffle(t, u32(lane0)) == t - slot && (t - slot) % w == 0 && 16 % w == 0);`
    : '';
  return `${head}@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<${elt(aMode)}>;
@group(0) @binding(2) var<storage, read> b: array<${elt(bMode)}>;
${PRM(3)}
var<workgroup> As: array<f32, ${TK * 64}>;
var<workgroup> Bs: array<f32, ${TK * 64}>;
${batch('a', 4, '10 + prm[3]')}
${batch('b', 7, '10 + 2 * prm[3]')}
// NOTE: written without dynamic indexing into vectors or arrays of registers: SwiftShader took
// seconds to compile a pipeline with it
fn putRow(obase: i32, gm: i32, gn: i32, M: i32, N: i32, v: vec4<f32>) {
  if (gm >= M) { return; }
  let o = obase + gm * N + gn;
  if (gn < N) { out[o] = v.x; }
  if (gn + 1 < N) { out[o + 1] = v.y; }
  if (gn + 2 < N) { out[o + 2] = v.z; }
  if (gn + 3 < N) { out[o + 3] = v.w; }
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32${sgArgs}) {
  let M = prm[0]; let N = prm[1]; let K = prm[2];
  let z = i32(wid.z);
  let abase = aBatch(z); let bbase = bBatch(z);
  let m0 = i32(wid.y) * ${TM}; let n0 = i32(wid.x) * ${TN};
  let t = i32(lid); let tx = t % 16; let ty = t / 16;${sgSetup}
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var k0 = 0; k0 < K; k0 += ${TK}) {
${aLoad}
${bLoad}
    workgroupBarrier();
    ${innerLoop(sg)}
    workgroupBarrier();
  }
  let obase = z * M * N;
  let gm = m0 + ty * 4;
  let gn = n0 + tx * 4;
  putRow(obase, gm, gn, M, N, acc0);
  putRow(obase, gm + 1, gn, M, N, acc1);
  putRow(obase, gm + 2, gn, M, N, acc2);
  putRow(obase, gm + 3, gn, M, N, acc3);
}`;
}

export function matmul(a: TypedArray, la: Layout, b: TypedArray, lb: Layout, outDtype: DType): TypedArray | undefined {
  if (outDtype !== 'float32' || dtypeOf(a, outDtype) !== 'float32' || dtypeOf(b, outDtype) !== 'float32')
    return undefined;
  const nd = la.shape.length;
  const M = la.shape[nd - 2],
    K = la.shape[nd - 1],
    N = lb.shape[nd - 1];
  const bshape = la.shape.slice(0, nd - 2);
  const nbatch = bshape.reduce((x, y) => x * y, 1);
  if (nbatch > 65535) return undefined;
  // an empty sum (K = 0) is zeros
  const out = alloc('float32', nbatch * M * N, K === 0);
  if (nbatch * M * N === 0 || K === 0) return out as unknown as TypedArray;
  const batchDims = [...bshape.keys()];
  // NOTE: a product under VEC_MIN multiply-adds is bound by the launch, not by its loads: it takes the
  // scalar variant, so small models compile one GEMM pipeline instead of up to six (each costs
  // seconds to compile on SwiftShader)
  const vec = nbatch * M * N * K >= VEC_MIN;
  let aMode: Mode = 'scalar';
  if (vec && la.strides[nd - 1] === 1 && K % 4 === 0 && aligned(la, [nd - 2, ...batchDims])) aMode = 'vecK';
  let bMode: Mode = 'scalar';
  if (vec && lb.strides[nd - 1] === 1 && N % 4 === 0 && aligned(lb, [nd - 2, ...batchDims])) bMode = 'vecN';
  else if (vec && lb.strides[nd - 2] === 1 && K % 4 === 0 && aligned(lb, [nd - 1, ...batchDims])) bMode = 'vecK';
  const nb = Math.max(1, bshape.length);
  const words = [
    M,
    N,
    K,
    nb,
    la.offset,
    la.strides[nd - 2],
    la.strides[nd - 1],
    lb.offset,
    lb.strides[nd - 2],
    lb.strides[nd - 1],
    ...(bshape.length ? bshape : [1]),
    ...(bshape.length ? batchDims.map((d) => la.strides[d]) : [0]),
    ...(bshape.length ? batchDims.map((d) => lb.strides[d]) : [0]),
  ];
  const code = source(aMode, bMode, useSubgroups());
  dispatch(code, [out, asGpu(a, 'float32'), asGpu(b, 'float32')], Int32Array.from(words), [
    Math.ceil(N / TN),
    Math.ceil(M / TM),
    nbatch,
  ]);
  return out as unknown as TypedArray;
}

export { GpuArray };
