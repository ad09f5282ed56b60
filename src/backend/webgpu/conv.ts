// Convolution as implicit GEMM, and pooling, in WGSL. The three convolution passes are one tiled
// GEMM (the 64x64-tile, 4x4-per-thread scheme of matmul.ts) whose operand tiles are gathered on the fly
// from the image, the filters or the output gradient, so no im2col buffer is ever written:
//   forward  out[n, g*OCg+m, oh, ow]  = sum_k w[g*OCg+m, (c,kh,kw)=k] * x[n, g*Cg+c, ih, iw]   M=OCg, N=B*L, K=Kc
//   dx       dx[n, g*Cg+m, h, w]      = sum_k w[g*OCg+oc, m, kh, kw] * dy[n, g*OCg+oc, oh, ow]  M=Cg, N=B*H*W,
//                                                                                              K=OCg*KH*KW
//   dw       dw[g*OCg+m, (c,kh,kw)=j] = sum_k dy[n, g*OCg+m, oh, ow] * x[n, g*Cg+c, ih, iw]     M=OCg, N=Kc, K=B*L
// with ih = oh*s - p + kh*d (zero outside the image); for dx, oh = (h + p - kh*d) / s where exact.
// The group is the GEMM's batch index z. Pooling runs one thread per output (per input for the
// max-pool backward, which scans its plane's argmax indices, so no atomics are needed).
// Glossary: B batch, C/OC channels, H,W and OH,OW sizes, KH,KW kernel, G groups, Cg = C/G, OCg = OC/G,
// L = OH*OW, Kc = Cg*KH*KW.

import type { TypedArray } from '../../tensor/dtype.js';
import type { Layout } from '../../tensor/layout.js';
import type { Conv2dParams, Pool2dParams } from '../backend.js';
import { convOutSize, poolOutSize } from '../../util/window.js';
import { GpuArray, alloc, dispatch, grid } from './context.js';
import { PRM, WG } from './strided.js';

// prm: B C H W OC OH OW KH KW sH sW pH pW dH dW G | x off, 4 strides | w off, 4 strides | dy off, 4 strides
const GEOM = `
fn B_() -> i32 { return prm[0]; } fn C_() -> i32 { return prm[1]; } fn H_() -> i32 { return prm[2]; }
fn W_() -> i32 { return prm[3]; } fn OC_() -> i32 { return prm[4]; } fn OH_() -> i32 { return prm[5]; }
fn OW_() -> i32 { return prm[6]; } fn KH_() -> i32 { return prm[7]; } fn KW_() -> i32 { return prm[8]; }
fn G_() -> i32 { return prm[15]; }
fn Cg_() -> i32 { return prm[1] / prm[15]; } fn OCg_() -> i32 { return prm[4] / prm[15]; }
fn xAt(n: i32, c: i32, h: i32, w: i32) -> f32 {
  if (h < 0 || h >= prm[2] || w < 0 || w >= prm[3]) { return 0.0; }
  return x[prm[16] + n * prm[17] + c * prm[18] + h * prm[19] + w * prm[20]];
}
fn wAt(o: i32, c: i32, kh: i32, kw: i32) -> f32 {
  return wt[prm[21] + o * prm[22] + c * prm[23] + kh * prm[24] + kw * prm[25]];
}
fn dyAt(n: i32, o: i32, oh: i32, ow: i32) -> f32 {
  return dy[prm[26] + n * prm[27] + o * prm[28] + oh * prm[29] + ow * prm[30]];
}`;

/** The tiled GEMM over loader functions aAt(z, m, k), bAt(z, k, n) and a writer put(z, m, n, v). */
function gemm(decls: string, loaders: string): string {
  return `${decls}
${PRM(3)}
${GEOM}
${loaders}
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let M = dimM(); let N = dimN(); let K = dimK();
  let z = i32(wid.z);
  let m0 = i32(wid.y) * 64; let n0 = i32(wid.x) * 64;
  let t = i32(lid); let tx = t % 16; let ty = t / 16;
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var k0 = 0; k0 < K; k0 += 16) {
    for (var e = 0; e < 4; e++) {
      let idx = t + e * 256; let m = idx / 16; let kk = idx % 16;
      var v = 0.0;
      if (m0 + m < M && k0 + kk < K) { v = aAt(z, m0 + m, k0 + kk); }
      As[kk * 64 + m] = v;
      let kb = idx / 64; let n = idx % 64;
      var u = 0.0;
      if (k0 + kb < K && n0 + n < N) { u = bAt(z, k0 + kb, n0 + n); }
      Bs[kb * 64 + n] = u;
    }
    workgroupBarrier();
    for (var kk = 0; kk < 16; kk++) {
      let ab = kk * 64 + ty * 4; let bb = kk * 64 + tx * 4;
      let av = vec4<f32>(As[ab], As[ab + 1], As[ab + 2], As[ab + 3]);
      let bv = vec4<f32>(Bs[bb], Bs[bb + 1], Bs[bb + 2], Bs[bb + 3]);
      acc0 += av.x * bv; acc1 += av.y * bv; acc2 += av.z * bv; acc3 += av.w * bv;
    }
    workgroupBarrier();
  }
  var accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var r = 0; r < 4; r++) {
    let gm = m0 + ty * 4 + r;
    for (var c = 0; c < 4; c++) {
      let gn = n0 + tx * 4 + c;
      if (gm < M && gn < N) { put(z, gm, gn, accs[r][c]); }
    }
  }
}`;
}

/** Workgroups of the tiled GEMM: 64x64 tiles of (M, N), z groups. */
function gemmGrid(M: number, N: number, z: number): [number, number, number] {
  return [Math.ceil(N / 64), Math.ceil(M / 64), z];
}

function words(
  xs: readonly number[],
  ws: readonly number[],
  OH: number,
  OW: number,
  p: Conv2dParams,
  lx: Layout | null,
  lw: Layout | null,
  ldy: Layout | null,
): Int32Array {
  const [B, C, H, W] = xs,
    [OC, , KH, KW] = ws;
  const lay = (l: Layout | null) => (l ? [l.offset, ...l.strides] : [0, 0, 0, 0, 0]);
  const head = [B, C, H, W, OC, OH, OW, KH, KW, p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW];
  return Int32Array.from([...head, p.groups, ...lay(lx), ...lay(lw), ...lay(ldy)]);
}

const f32 = (...xs: TypedArray[]) => xs.every((x) => x instanceof GpuArray && x.dtype === 'float32');
const DECL = (a: string, b: string) => `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> ${a}: array<f32>;
@group(0) @binding(2) var<storage, read> ${b}: array<f32>;`;

// x (B,C,H,W), w (OC,Cg,KH,KW) -> out (B,OC,OH,OW)
export function conv2d(x: TypedArray, lx: Layout, w: TypedArray, lw: Layout, p: Conv2dParams): TypedArray | undefined {
  if (!f32(x, w)) return undefined;
  const [B, , H, W] = lx.shape,
    [OC, , KH, KW] = lw.shape;
  const OH = convOutSize(H, KH, p.strideH, p.padH, p.dilationH),
    OW = convOutSize(W, KW, p.strideW, p.padW, p.dilationW);
  const out = alloc('float32', B * OC * OH * OW, true);
  if (B * OC * OH * OW === 0) return out as unknown as TypedArray;
  const code = gemm(
    `${DECL('x', 'wt')}\nvar<private> dy: array<f32, 1>;`,
    `fn dimM() -> i32 { return OCg_(); } fn dimN() -> i32 { return B_() * OH_() * OW_(); }
fn dimK() -> i32 { return Cg_() * KH_() * KW_(); }
fn aAt(z: i32, m: i32, k: i32) -> f32 {
  let kw = k % KW_(); let kh = (k / KW_()) % KH_(); let c = k / (KW_() * KH_());
  return wAt(z * OCg_() + m, c, kh, kw);
}
fn bAt(z: i32, k: i32, n: i32) -> f32 {
  let kw = k % KW_(); let kh = (k / KW_()) % KH_(); let c = k / (KW_() * KH_());
  let ow = n % OW_(); let oh = (n / OW_()) % OH_(); let b = n / (OW_() * OH_());
  return xAt(b, z * Cg_() + c, oh * prm[9] - prm[11] + kh * prm[13], ow * prm[10] - prm[12] + kw * prm[14]);
}
fn put(z: i32, m: i32, n: i32, v: f32) {
  let l = n % (OH_() * OW_()); let b = n / (OH_() * OW_());
  out[(b * OC_() + z * OCg_() + m) * OH_() * OW_() + l] = v;
}`,
  );
  const OCg = OC / p.groups;
  dispatch(
    code,
    [out, x as unknown as GpuArray, w as unknown as GpuArray],
    words(lx.shape, lw.shape, OH, OW, p, lx, lw, null),
    gemmGrid(OCg, B * OH * OW, p.groups),
  );
  return out as unknown as TypedArray;
}

// dy (B,OC,OH,OW), w (OC,Cg,KH,KW) -> dx (B,C,H,W)
export function conv2dBackwardInput(
  dy: TypedArray,
  ldy: Layout,
  w: TypedArray,
  lw: Layout,
  xShape: readonly number[],
  p: Conv2dParams,
): TypedArray | undefined {
  if (!f32(dy, w)) return undefined;
  const [B, C, H, W] = xShape;
  const [, , OH, OW] = ldy.shape;
  const out = alloc('float32', B * C * H * W, true);
  if (B * C * H * W === 0) return out as unknown as TypedArray;
  const code = gemm(
    `${DECL('dy', 'wt')}\nvar<private> x: array<f32, 1>;`,
    `fn dimM() -> i32 { return Cg_(); } fn dimN() -> i32 { return B_() * H_() * W_(); }
fn dimK() -> i32 { return OCg_() * KH_() * KW_(); }
fn aAt(z: i32, m: i32, k: i32) -> f32 {
  let kw = k % KW_(); let kh = (k / KW_()) % KH_(); let oc = k / (KW_() * KH_());
  return wAt(z * OCg_() + oc, m, kh, kw);
}
fn bAt(z: i32, k: i32, n: i32) -> f32 {
  let kw = k % KW_(); let kh = (k / KW_()) % KH_(); let oc = k / (KW_() * KH_());
  let w = n % W_(); let h = (n / W_()) % H_(); let b = n / (W_() * H_());
  let th = h + prm[11] - kh * prm[13]; let tw = w + prm[12] - kw * prm[14];
  if (th < 0 || tw < 0 || th % prm[9] != 0 || tw % prm[10] != 0) { return 0.0; }
  let oh = th / prm[9]; let ow = tw / prm[10];
  if (oh >= OH_() || ow >= OW_()) { return 0.0; }
  return dyAt(b, z * OCg_() + oc, oh, ow);
}
fn put(z: i32, m: i32, n: i32, v: f32) {
  let l = n % (H_() * W_()); let b = n / (H_() * W_());
  out[(b * C_() + z * Cg_() + m) * H_() * W_() + l] = v;
}`,
  );
  const Cg = C / p.groups;
  dispatch(
    code,
    [out, dy as unknown as GpuArray, w as unknown as GpuArray],
    words(xShape, lw.shape, OH, OW, p, null, lw, ldy),
    gemmGrid(Cg, B * H * W, p.groups),
  );
  return out as unknown as TypedArray;
}

// dy (B,OC,OH,OW), x (B,C,H,W) -> dw (OC,Cg,KH,KW)
export function conv2dBackwardWeight(
  dy: TypedArray,
  ldy: Layout,
  x: TypedArray,
  lx: Layout,
  wShape: readonly number[],
  p: Conv2dParams,
): TypedArray | undefined {
  if (!f32(dy, x)) return undefined;
  const [OC, Cg, KH, KW] = wShape;
  const [, , OH, OW] = ldy.shape;
  const n = OC * Cg * KH * KW;
  const out = alloc('float32', n, true);
  if (n === 0) return out as unknown as TypedArray;
  const code = gemm(
    `${DECL('dy', 'x')}\nvar<private> wt: array<f32, 1>;`,
    `fn dimM() -> i32 { return OCg_(); } fn dimN() -> i32 { return Cg_() * KH_() * KW_(); }
fn dimK() -> i32 { return B_() * OH_() * OW_(); }
fn aAt(z: i32, m: i32, k: i32) -> f32 {
  let ow = k % OW_(); let oh = (k / OW_()) % OH_(); let b = k / (OW_() * OH_());
  return dyAt(b, z * OCg_() + m, oh, ow);
}
fn bAt(z: i32, k: i32, j: i32) -> f32 {
  let ow = k % OW_(); let oh = (k / OW_()) % OH_(); let b = k / (OW_() * OH_());
  let kw = j % KW_(); let kh = (j / KW_()) % KH_(); let c = j / (KW_() * KH_());
  return xAt(b, z * Cg_() + c, oh * prm[9] - prm[11] + kh * prm[13], ow * prm[10] - prm[12] + kw * prm[14]);
}
fn put(z: i32, m: i32, j: i32, v: f32) {
  out[(z * OCg_() + m) * Cg_() * KH_() * KW_() + j] = v;
}`,
  );
  const OCg = OC / p.groups;
  dispatch(
    code,
    [out, dy as unknown as GpuArray, x as unknown as GpuArray],
    words(lx.shape, wShape, OH, OW, p, lx, null, ldy),
    gemmGrid(OCg, Cg * KH * KW, p.groups),
  );
  return out as unknown as TypedArray;
}

// ---- pooling ----

// prm: n | C H W OH OW kH kW sH sW pH pW dH dW | x off, 4 strides
function poolWords(n: number, xs: readonly number[], OH: number, OW: number, p: Pool2dParams, l: Layout): Int32Array {
  const [, C, H, W] = xs;
  const head = [n, C, H, W, OH, OW, p.kH, p.kW, p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW];
  return Int32Array.from([...head, l.offset, ...l.strides]);
}

const POOL_HEAD = `@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = i32(gid.y * nwg.x * ${WG}u + gid.x);
  if (i >= prm[0]) { return; }
  let C = prm[1]; let H = prm[2]; let W = prm[3]; let OH = prm[4]; let OW = prm[5];`;

// x (B,C,H,W) -> values, flat-H*W argmax indices (B,C,OH,OW)
export function maxPool2d(
  x: TypedArray,
  lx: Layout,
  p: Pool2dParams,
): { values: TypedArray; indices: Int32Array | null } | undefined {
  if (!f32(x)) return undefined;
  const [B, C, H, W] = lx.shape;
  const OH = poolOutSize(H, p.kH, p.strideH, p.padH, p.dilationH, p.ceilMode),
    OW = poolOutSize(W, p.kW, p.strideW, p.padW, p.dilationW, p.ceilMode);
  const n = B * C * OH * OW;
  const values = alloc('float32', n),
    indices = alloc('int32', n);
  if (n > 0) {
    const code = `@group(0) @binding(0) var<storage, read_write> vals: array<f32>;
@group(0) @binding(1) var<storage, read_write> idx: array<i32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
${PRM(3)}
${POOL_HEAD}
  let ow = i % OW; let oh = (i / OW) % OH; let c = (i / (OW * OH)) % C; let b = i / (OW * OH * C);
  var best = 0.0; var bi = -1;
  for (var kh = 0; kh < prm[6]; kh++) {
    let ih = oh * prm[8] - prm[10] + kh * prm[12];
    if (ih < 0 || ih >= H) { continue; }
    for (var kw = 0; kw < prm[7]; kw++) {
      let iw = ow * prm[9] - prm[11] + kw * prm[13];
      if (iw < 0 || iw >= W) { continue; }
      let v = x[prm[14] + b * prm[15] + c * prm[16] + ih * prm[17] + iw * prm[18]];
      if (bi < 0 || v > best || (v != v && best == best)) { best = v; bi = ih * W + iw; }
    }
  }
  vals[i] = best;
  idx[i] = bi;
}`;
    dispatch(
      code,
      [values, indices, x as unknown as GpuArray],
      poolWords(n, lx.shape, OH, OW, p, lx),
      grid(Math.ceil(n / WG)),
    );
  }
  return { values: values as unknown as TypedArray, indices: indices as unknown as Int32Array };
}

// dy, indices (B,C,OH,OW) -> dx (B,C,H,W): each input sums the outputs whose argmax it is
export function maxPool2dBackward(
  dy: TypedArray,
  ldy: Layout,
  indices: Int32Array,
  xShape: readonly number[],
): TypedArray | undefined {
  if (!f32(dy) || !(indices instanceof GpuArray)) return undefined;
  const [B, C, H, W] = xShape;
  const [, , OH, OW] = ldy.shape;
  const n = B * C * H * W;
  const dx = alloc('float32', n);
  if (n === 0) return dx as unknown as TypedArray;
  // NOTE: every output is scanned per input plane position only within its (b, c) plane; windows are
  // not inverted (strides, dilation, ceil mode), so the cost is H*W*OH*OW per plane: pooling layers of
  // small images, as the models here have
  const code = `@group(0) @binding(0) var<storage, read_write> dx: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
${PRM(3)}
${POOL_HEAD}
  let hw = i % (H * W); let c = (i / (H * W)) % C; let b = i / (H * W * C);
  var s = 0.0;
  let base = (b * C + c) * OH * OW;
  for (var o = 0; o < OH * OW; o++) {
    if (idx[base + o] == hw) {
      s += dy[prm[14] + b * prm[15] + c * prm[16] + (o / OW) * prm[17] + (o % OW) * prm[18]];
    }
  }
  dx[i] = s;
}`;
  const p0: Pool2dParams = {
    kH: 1,
    kW: 1,
    strideH: 1,
    strideW: 1,
    padH: 0,
    padW: 0,
    dilationH: 1,
    dilationW: 1,
    ceilMode: false,
  };
  dispatch(
    code,
    [dx, dy as unknown as GpuArray, indices],
    poolWords(n, xShape, OH, OW, p0, ldy),
    grid(Math.ceil(n / WG)),
  );
  return dx as unknown as TypedArray;
}

// x (B,C,H,W) -> mean over each window (B,C,OH,OW); countIncludePad as PyTorch
export function avgPool2d(
  x: TypedArray,
  lx: Layout,
  p: Pool2dParams,
  countIncludePad: boolean,
): TypedArray | undefined {
  if (!f32(x)) return undefined;
  const [B, C, H, W] = lx.shape;
  const OH = poolOutSize(H, p.kH, p.strideH, p.padH, 1, p.ceilMode),
    OW = poolOutSize(W, p.kW, p.strideW, p.padW, 1, p.ceilMode);
  const n = B * C * OH * OW;
  const y = alloc('float32', n);
  if (n === 0) return y as unknown as TypedArray;
  // window [h0, h1) clipped to the padded image for the divisor, to the image for the sum (torch)
  const code = `@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
${PRM(2)}
${POOL_HEAD}
  let ow = i % OW; let oh = (i / OW) % OH; let c = (i / (OW * OH)) % C; let b = i / (OW * OH * C);
  var h0 = oh * prm[8] - prm[10]; var w0 = ow * prm[9] - prm[11];
  var h1 = min(h0 + prm[6], H + prm[10]); var w1 = min(w0 + prm[7], W + prm[11]);
  let padded = (h1 - h0) * (w1 - w0);
  h0 = max(h0, 0); w0 = max(w0, 0); h1 = min(h1, H); w1 = min(w1, W);
  var s = 0.0;
  for (var ih = h0; ih < h1; ih++) {
    for (var iw = w0; iw < w1; iw++) { s += x[prm[14] + b * prm[15] + c * prm[16] + ih * prm[17] + iw * prm[18]]; }
  }
  let div = ${countIncludePad ? 'padded' : '(h1 - h0) * (w1 - w0)'};
  y[i] = s / f32(div);
}`;
  dispatch(code, [y, x as unknown as GpuArray], poolWords(n, lx.shape, OH, OW, p, lx), grid(Math.ceil(n / WG)));
  return y as unknown as TypedArray;
}

// dy (B,C,OH,OW) -> dx (B,C,H,W): each input sums dy / divisor over the windows that hold it
export function avgPool2dBackward(
  dy: TypedArray,
  ldy: Layout,
  xShape: readonly number[],
  p: Pool2dParams,
  countIncludePad: boolean,
): TypedArray | undefined {
  if (!f32(dy)) return undefined;
  const [B, C, H, W] = xShape;
  const [, , OH, OW] = ldy.shape;
  const n = B * C * H * W;
  const dx = alloc('float32', n);
  if (n === 0) return dx as unknown as TypedArray;
  // the windows of output oh cover [oh*s - p, oh*s - p + k) (clipped as in the forward): the outputs
  // whose windows may hold ih are oh in [(ih + p - k) / s, (ih + p) / s], each checked exactly
  const code = `@group(0) @binding(0) var<storage, read_write> dx: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
${PRM(2)}
${POOL_HEAD}
  let iw = i % W; let ih = (i / W) % H; let c = (i / (W * H)) % C; let b = i / (W * H * C);
  let kH = prm[6]; let kW = prm[7]; let sH = prm[8]; let sW = prm[9]; let pH = prm[10]; let pW = prm[11];
  var s = 0.0;
  for (var oh = max(0, (ih + pH - kH) / sH); oh <= min(OH - 1, (ih + pH) / sH); oh++) {
    let h0 = oh * sH - pH; let h1 = min(h0 + kH, H + pH);
    let ch0 = max(h0, 0); let ch1 = min(h1, H);
    if (ih < ch0 || ih >= ch1) { continue; }
    for (var ow = max(0, (iw + pW - kW) / sW); ow <= min(OW - 1, (iw + pW) / sW); ow++) {
      let w0 = ow * sW - pW; let w1 = min(w0 + kW, W + pW);
      let cw0 = max(w0, 0); let cw1 = min(w1, W);
      if (iw < cw0 || iw >= cw1) { continue; }
      let div = ${countIncludePad ? '(h1 - h0) * (w1 - w0)' : '(ch1 - ch0) * (cw1 - cw0)'};
      s += dy[prm[14] + b * prm[15] + c * prm[16] + oh * prm[17] + ow * prm[18]] / f32(div);
    }
  }
  dx[i] = s;
}`;
  dispatch(code, [dx, dy as unknown as GpuArray], poolWords(n, xShape, OH, OW, p, ldy), grid(Math.ceil(n / WG)));
  return dx as unknown as TypedArray;
}
