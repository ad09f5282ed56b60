// NativeBackend: the PartialBackend over the C addon. Each kernel handles float32 on any strided
// layout (up to 8 dims) and declines anything else (other dtypes, ops the addon does not implement,
// aliasing in-place calls) by returning undefined, so the registry runs the JS kernel for that call.
//
// Layout support per kernel: matmul takes any strides (transposed views are not copied), unary /
// binary (+ comparisons to bool) / where / reduce / softmax / copy (+ bool/int32 -> float32 casts) /
// assign take any strides and broadcast (stride 0) inputs;
// conv and pooling take contiguous NCHW and get a native contiguous copy of anything else.

import type { AdamParams, Conv2dParams, PartialBackend, Pool2dParams, SgdParams } from '../backend.js';
import type { BinaryOp, ReduceOp, UnaryOp } from '../op_codes.js';
import { LARGE_ALLOCATION_BYTES, setLargeAllocationHook, type DType, type TypedArray } from '../../tensor/dtype.js';
import { Layout, numel } from '../../tensor/layout.js';
import { ContractView, type ConvArgs, type NablaAddon, type PoolArgs } from './contract.js';
import { loadAddon } from './load.js';
import { NativeQuant } from './quant.js';
import { convOutSize, poolOutSize } from '../../util/window.js';
import { Buffer, IS_NODE } from '../../platform/node.js';

const MAX_DIMS = 8;

/**
 * Output storage for a kernel that writes every element: large outputs skip V8's zero-fill
 * (Buffer.allocUnsafeSlow is an unpooled, uninitialised ArrayBuffer); the kernels all overwrite
 * their whole output, which the parity tests check element by element.
 */
function alloc(n: number): Float32Array {
  // NOTE: the browser build's Buffer is a stand-in that throws (the WASM backend allocates here too)
  if (n < 1024 || !IS_NODE) return new Float32Array(n);
  const y = new Float32Array(Buffer.allocUnsafeSlow(n * 4).buffer, 0, n);
  if (onLargeOutput && n * 4 >= LARGE_ALLOCATION_BYTES) onLargeOutput(y);
  return y;
}

/** Set by a NativeBackend that uses huge pages (see NativeBackend.useHugePages). */
let onLargeOutput: ((a: Float32Array) => void) | undefined;

function isF32(...xs: unknown[]): boolean {
  for (const x of xs) if (!(x instanceof Float32Array)) return false;
  return true;
}

/** Whether two arrays share bytes (resident WASM arrays all view one buffer, but never each other's bytes). */
function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return (
    a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength
  );
}

function fits(...ls: Layout[]): boolean {
  for (const l of ls) if (l.shape.length > MAX_DIMS) return false;
  return true;
}

export class NativeBackend implements PartialBackend {
  /** 'native', or 'wasm' for the same kernels compiled to WebAssembly (src/backend/wasm). */
  readonly name: string = 'native';
  readonly info: Record<string, unknown>;
  /** What the addon implements (native/src/napi/kernels.def, as built): its op sets and supports(). */
  readonly contract: ContractView;
  /** The quantized and bf16 products, with their packed-weight caches. */
  private readonly quant: NativeQuant;

  constructor(
    readonly addon: NablaAddon,
    path?: string,
  ) {
    this.contract = new ContractView(addon.contract());
    this.quant = new NativeQuant(addon);
    const cpu = addon.cpuInfo();
    this.info = { isa: cpu.isa, cpuIsa: cpu.cpuIsa, threads: cpu.threads, addon: path };
  }

  /**
   * Large fresh buffers (tensor storage and kernel outputs of 4 MB or more) get transparent huge
   * pages on Linux: GEMV over GPT-2's weights reads ~30% faster, and fresh outputs fault in 2 MB at
   * a time. NABLA_HUGE_PAGES=0 turns it off.
   */
  useHugePages(on: boolean): void {
    const advise = on
      ? (a: ArrayBufferView) => {
          this.addon.adviseHugePages(a);
        }
      : undefined;
    onLargeOutput = advise;
    setLargeAllocationHook(advise);
  }

  /** Output storage for `n` floats that a kernel overwrites entirely (WasmBackend: in linear memory). */
  protected alloc(n: number): Float32Array {
    return alloc(n);
  }

  setNumThreads(n: number): void {
    this.addon.setNumThreads(n);
    this.info.threads = n;
  }

  getNumThreads(): number {
    return this.addon.cpuInfo().threads;
  }

  // (batch..., M, K) @ (batch..., K, N) -> (batch..., M, N), any strides
  matmul(a: TypedArray, la: Layout, b: TypedArray, lb: Layout, outDtype: DType): TypedArray | undefined {
    const nd = la.shape.length;
    if (!isF32(a, b) || outDtype !== 'float32' || nd < 2 || lb.shape.length !== nd || !fits(la)) return undefined;
    const outShape = [...la.shape.slice(0, nd - 1), lb.shape[nd - 1]];
    const c = this.alloc(numel(outShape));
    this.addon.matmul(c, a as Float32Array, la, b as Float32Array, lb);
    return c;
  }

  // x (any layout) -> op(x) contiguous
  unary(op: UnaryOp, x: TypedArray, lx: Layout, outDtype: DType, p0 = 0, p1 = 0): TypedArray | undefined {
    if (!isF32(x) || outDtype !== 'float32' || !this.contract.ops.unary.has(op) || !fits(lx)) return undefined;
    const y = this.alloc(lx.numel);
    this.addon.unary(op, y, x as Float32Array, lx, p0, p1);
    return y;
  }

  // a, b broadcast to the output shape -> a op b contiguous (float32, or bool for comparisons)
  binary(op: BinaryOp, a: TypedArray, la: Layout, b: TypedArray, lb: Layout, outDtype: DType): TypedArray | undefined {
    if (!isF32(a, b) || !fits(la)) return undefined;
    if (this.contract.ops.compare.has(op) && outDtype === 'bool') {
      const m = new Uint8Array(la.numel);
      this.addon.compare(op, m, a as Float32Array, la, b as Float32Array, lb);
      return m;
    }
    if (outDtype !== 'float32' || !this.contract.ops.binary.has(op)) return undefined;
    const y = this.alloc(la.numel);
    this.addon.binary(op, y, a as Float32Array, la, b as Float32Array, lb);
    return y;
  }

  // x reduced over axes -> contiguous, axes kept as size 1
  reduce(op: ReduceOp, x: TypedArray, lx: Layout, axes: readonly number[], outDtype: DType): TypedArray | undefined {
    if (!isF32(x) || outDtype !== 'float32' || !this.contract.ops.reduce.has(op) || !fits(lx)) return undefined;
    let n = 1;
    for (let d = 0; d < lx.shape.length; d++) if (!axes.includes(d)) n *= lx.shape[d];
    const y = this.alloc(n);
    this.addon.reduce(op, y, x as Float32Array, lx, axes);
    return y;
  }

  // cond ? a : b, all broadcast to the output shape
  where(
    cond: TypedArray,
    lc: Layout,
    a: TypedArray,
    la: Layout,
    b: TypedArray,
    lb: Layout,
    outDtype: DType,
  ): TypedArray | undefined {
    if (!(cond instanceof Uint8Array) || !isF32(a, b) || outDtype !== 'float32' || !fits(lc)) return undefined;
    const y = this.alloc(lc.numel);
    this.addon.where(y, cond, lc, a as Float32Array, la, b as Float32Array, lb);
    return y;
  }

  // contiguous copy; also casts bool / int32 storage to float32 (masks entering arithmetic)
  copy(x: TypedArray, lx: Layout, outDtype: DType): TypedArray | undefined {
    if (outDtype === 'float32' && (x instanceof Uint8Array || x instanceof Int32Array) && fits(lx)) {
      const y = this.alloc(lx.numel);
      this.addon.castToF32(y, x, lx);
      return y;
    }
    if (!isF32(x) || outDtype !== 'float32' || !fits(lx)) return undefined;
    const y = this.alloc(lx.numel);
    this.addon.copy(y, Layout.contiguous(lx.shape), x as Float32Array, lx);
    return y;
  }

  assign(dst: TypedArray, ldst: Layout, src: TypedArray, lsrc: Layout): true | undefined {
    // NOTE: rows are copied in parallel, so overlapping storage (x.assign(x.T)) goes to JS.
    if (!isF32(dst, src) || overlaps(dst, src) || !fits(ldst)) return undefined;
    this.addon.copy(dst as Float32Array, ldst, src as Float32Array, lsrc);
    return true;
  }

  softmax(x: TypedArray, lx: Layout, axis: number, log: boolean): TypedArray | undefined {
    if (!isF32(x) || !fits(lx)) return undefined;
    const y = this.alloc(lx.numel);
    this.addon.softmax(y, x as Float32Array, lx, axis, log);
    return y;
  }

  /** A contiguous float32 version of (x, lx): itself when already contiguous, else a native copy. */
  private contig(x: Float32Array, lx: Layout): [Float32Array, Layout] {
    if (lx.isContiguous()) return [x, lx];
    return [this.copy(x, lx, 'float32') as Float32Array, Layout.contiguous(lx.shape)];
  }

  /**
   * Exactly the elements of (x, lx), contiguous, for a buffer the addon reads without a layout (a
   * residual): a view when contiguous, else a native copy.
   * NOTE: contig's buffer still needs its layout's offset; a subarray does not.
   */
  private dense(x: Float32Array, lx: Layout): Float32Array {
    if (lx.isContiguous()) return x.subarray(lx.offset, lx.offset + lx.numel);
    return this.copy(x, lx, 'float32') as Float32Array;
  }

  // x (M,K) @ w (K,N) + bias (N), then act -> (M,N)
  linear(
    x: TypedArray,
    lx: Layout,
    w: TypedArray,
    lw: Layout,
    bias: TypedArray | null,
    act: UnaryOp | null,
  ): TypedArray | undefined {
    if (!isF32(x, w) || (bias && !isF32(bias)) || lx.shape.length !== 2 || lw.shape.length !== 2) return undefined;
    if (act !== null && !this.contract.ops.linear.has(act)) return undefined;
    const y = this.alloc(lx.shape[0] * lw.shape[1]);
    this.addon.linear(y, x as Float32Array, lx, w as Float32Array, lw, bias as Float32Array | null, act ?? -1);
    return y;
  }

  // x (N,C,H,W), w (OC,C/G,KH,KW) -> (N,OC,OH,OW)
  conv2d(x: TypedArray, lx: Layout, w: TypedArray, lw: Layout, p: Conv2dParams): TypedArray | undefined {
    return this.conv2dFused(x, lx, w, lw, p, null, null, null, false);
  }

  nextStamp(): number {
    return this.addon.nextStamp();
  }

  // x (N,C,H,W), w (OC,C/G,KH,KW) -> act(conv * scale[oc] + shift[oc] + residual) (N,OC,OH,OW)
  conv2dFused(
    x: TypedArray,
    lx: Layout,
    w: TypedArray,
    lw: Layout,
    p: Conv2dParams,
    scale: TypedArray | null,
    shift: TypedArray | null,
    residual: { data: TypedArray; layout: Layout } | null,
    relu: boolean,
    reuseWeights = false,
    weightsStamp = 0,
  ): TypedArray | undefined {
    if (!isF32(x, w) || lx.shape.length !== 4 || lw.shape.length !== 4) return undefined;
    if ((scale && !isF32(scale)) || (shift && !isF32(shift)) || (residual && !isF32(residual.data))) return undefined;
    const [N, , H, W] = lx.shape,
      [OC, , KH, KW] = lw.shape;
    const OH = convOutSize(H, KH, p.strideH, p.padH, p.dilationH),
      OW = convOutSize(W, KW, p.strideW, p.padW, p.dilationW);
    if (OH < 1 || OW < 1 || !groupsOk(lx.shape[1], lw.shape, p.groups)) return undefined;
    if (residual && residual.layout.shape.join() !== [N, OC, OH, OW].join()) return undefined;
    const y = this.alloc(N * OC * OH * OW);
    const [xc, lxc] = this.contig(x as Float32Array, lx),
      [wc, lwc] = this.contig(w as Float32Array, lw);
    const res = residual ? this.dense(residual.data as Float32Array, residual.layout) : null;
    if (scale || shift || res || relu || reuseWeights) {
      this.addon.conv2dFused(
        y,
        xc,
        lxc,
        wc,
        lwc,
        convArgs(p),
        scale as Float32Array | null,
        shift as Float32Array | null,
        res,
        relu,
        reuseWeights,
        wc === w ? weightsStamp : 0,
      );
    } else this.addon.conv2d(y, xc, lxc, wc, lwc, convArgs(p));
    return y;
  }

  // dy (N,OC,OH,OW), w -> dx (N,C,H,W)
  conv2dBackwardInput(
    dy: TypedArray,
    ldy: Layout,
    w: TypedArray,
    lw: Layout,
    xShape: readonly number[],
    p: Conv2dParams,
  ): TypedArray | undefined {
    if (!isF32(dy, w) || ldy.shape.length !== 4 || lw.shape.length !== 4 || xShape.length !== 4) return undefined;
    if (!groupsOk(xShape[1], lw.shape, p.groups)) return undefined;
    const dx = this.alloc(numel(xShape));
    const [dyc, ldyc] = this.contig(dy as Float32Array, ldy),
      [wc, lwc] = this.contig(w as Float32Array, lw);
    this.addon.conv2dBackwardInput(dx, dyc, ldyc, wc, lwc, xShape, convArgs(p));
    return dx;
  }

  // dy (N,OC,OH,OW), x (N,C,H,W) -> dw (OC,C/G,KH,KW)
  conv2dBackwardWeight(
    dy: TypedArray,
    ldy: Layout,
    x: TypedArray,
    lx: Layout,
    wShape: readonly number[],
    p: Conv2dParams,
  ): TypedArray | undefined {
    if (!isF32(dy, x) || ldy.shape.length !== 4 || lx.shape.length !== 4 || wShape.length !== 4) return undefined;
    if (!groupsOk(lx.shape[1], wShape, p.groups)) return undefined;
    const dw = this.alloc(numel(wShape));
    const [dyc, ldyc] = this.contig(dy as Float32Array, ldy),
      [xc, lxc] = this.contig(x as Float32Array, lx);
    this.addon.conv2dBackwardWeight(dw, dyc, ldyc, xc, lxc, wShape, convArgs(p));
    return dw;
  }

  // x (N,C,H,W) -> values, indices (N,C,OH,OW)
  maxPool2d(
    x: TypedArray,
    lx: Layout,
    p: Pool2dParams,
    withIndices = true,
  ): { values: TypedArray; indices: Int32Array | null } | undefined {
    if (!isF32(x) || lx.shape.length !== 4 || !poolOk(p)) return undefined;
    const [N, C, H, W] = lx.shape;
    const OH = poolOutSize(H, p.kH, p.strideH, p.padH, p.dilationH, p.ceilMode),
      OW = poolOutSize(W, p.kW, p.strideW, p.padW, p.dilationW, p.ceilMode);
    if (OH < 1 || OW < 1) return undefined;
    const values = this.alloc(N * C * OH * OW),
      indices = withIndices ? new Int32Array(values.length) : null;
    const [xc, lxc] = this.contig(x as Float32Array, lx);
    this.addon.maxPool2d(values, indices, xc, lxc, poolArgs(p));
    return { values, indices };
  }

  avgPool2d(x: TypedArray, lx: Layout, p: Pool2dParams, countIncludePad: boolean): TypedArray | undefined {
    if (!isF32(x) || lx.shape.length !== 4 || !poolOk(p)) return undefined;
    const [N, C, H, W] = lx.shape;
    const OH = poolOutSize(H, p.kH, p.strideH, p.padH, 1, p.ceilMode),
      OW = poolOutSize(W, p.kW, p.strideW, p.padW, 1, p.ceilMode);
    if (OH < 1 || OW < 1) return undefined;
    const y = this.alloc(N * C * OH * OW);
    const [xc, lxc] = this.contig(x as Float32Array, lx);
    this.addon.avgPool2d(y, xc, lxc, poolArgs(p), countIncludePad);
    return y;
  }

  // dy (N,C,OH,OW), indices -> dx (N,C,H,W)
  maxPool2dBackward(
    dy: TypedArray,
    ldy: Layout,
    indices: Int32Array,
    xShape: readonly number[],
  ): TypedArray | undefined {
    if (!isF32(dy) || ldy.shape.length !== 4 || xShape.length !== 4) return undefined;
    const dx = this.alloc(numel(xShape));
    const [dyc, ldyc] = this.contig(dy as Float32Array, ldy);
    this.addon.maxPool2dBackward(dx, dyc, ldyc, indices, xShape);
    return dx;
  }

  avgPool2dBackward(
    dy: TypedArray,
    ldy: Layout,
    xShape: readonly number[],
    p: Pool2dParams,
    countIncludePad: boolean,
  ): TypedArray | undefined {
    if (!isF32(dy) || ldy.shape.length !== 4 || xShape.length !== 4 || !poolOk(p)) return undefined;
    const dx = this.alloc(numel(xShape));
    const [dyc, ldyc] = this.contig(dy as Float32Array, ldy);
    this.addon.avgPool2dBackward(dx, dyc, ldyc, xShape, poolArgs(p), countIncludePad);
    return dx;
  }
  // x (..., len along dim, ...) -> rows idx along dim (embedding lookup for dim 0)
  indexSelect(x: TypedArray, lx: Layout, dim: number, idx: Int32Array): TypedArray | undefined {
    if (!isF32(x) || !fits(lx) || lx.shape.length === 0) return undefined;
    const [xc, lxc] = this.contig(x as Float32Array, lx);
    const shape = lx.shape.slice();
    shape[dim] = idx.length;
    const y = this.alloc(numel(shape));
    this.addon.indexSelect(y, xc, lxc, dim, idx);
    return y;
  }

  // dst (dstShape, contiguous) rows idx along dim += src (embedding backward for dim 0)
  indexAdd(
    dst: TypedArray,
    dstShape: readonly number[],
    dim: number,
    idx: Int32Array,
    src: TypedArray,
    lsrc: Layout,
  ): true | undefined {
    if (!isF32(dst, src) || overlaps(dst, src) || dstShape.length === 0 || dstShape.length > MAX_DIMS) return undefined;
    const [sc, lsc] = this.contig(src as Float32Array, lsrc);
    this.addon.indexAdd(dst as Float32Array, Layout.contiguous(dstShape), dim, idx, sc, lsc);
    return true;
  }

  // ---- fused kernels ----

  /** Fused layer norm over the last dim: x (..., C), w/b (C) or null -> y, mean and rstd per row. */
  layerNorm(
    x: TypedArray,
    lx: Layout,
    w: TypedArray | null,
    b: TypedArray | null,
    eps: number,
  ): { y: Float32Array; mean: Float32Array; rstd: Float32Array } | undefined {
    if (!isF32(x) || (w && !isF32(w)) || (b && !isF32(b)) || lx.shape.length === 0 || !fits(lx)) return undefined;
    const C = lx.shape[lx.shape.length - 1],
      R = C > 0 ? lx.numel / C : 0;
    if (C === 0) return undefined;
    const [xc, lxc] = this.contig(x as Float32Array, lx);
    const y = this.alloc(R * C),
      mean = this.alloc(R),
      rstd = this.alloc(R);
    this.addon.layerNorm(y, mean, rstd, xc, lxc, w as Float32Array | null, b as Float32Array | null, eps);
    return { y, mean, rstd };
  }

  /** Batch norm with batch statistics, then + residual and relu if given: x (N, C, *) -> y, mean and biased var (C). */
  batchNorm(
    x: TypedArray,
    lx: Layout,
    w: TypedArray | null,
    b: TypedArray | null,
    eps: number,
    residual: { data: TypedArray; layout: Layout } | null = null,
    relu = false,
  ): { y: Float32Array; mean: Float32Array; var: Float32Array } | undefined {
    if (!isF32(x) || (w && !isF32(w)) || (b && !isF32(b)) || lx.shape.length < 2 || !fits(lx)) return undefined;
    if (residual && (!isF32(residual.data) || residual.layout.shape.join() !== lx.shape.join())) return undefined;
    const C = lx.shape[1];
    if (C === 0 || lx.numel === 0) return undefined;
    const [xc, lxc] = this.contig(x as Float32Array, lx);
    const res = residual ? this.dense(residual.data as Float32Array, residual.layout) : null;
    const y = this.alloc(lx.numel),
      mean = this.alloc(C),
      variance = this.alloc(C);
    this.addon.batchNorm(
      y,
      mean,
      variance,
      xc,
      lxc,
      w as Float32Array | null,
      b as Float32Array | null,
      eps,
      res,
      relu,
    );
    return { y, mean, var: variance };
  }

  /** Backward of batchNorm from the forward's mean and var (and relu output yact): dx, and dw/db/dr when asked. */
  batchNormBackward(
    dy: TypedArray,
    ldy: Layout,
    x: TypedArray,
    lx: Layout,
    mean: Float32Array,
    variance: Float32Array,
    w: TypedArray | null,
    eps: number,
    needW: boolean,
    needB: boolean,
    yact: Float32Array | null = null,
    needR = false,
  ): { dx: Float32Array; dw: Float32Array | null; db: Float32Array | null; dr: Float32Array | null } | undefined {
    if (!isF32(dy, x) || (w && !isF32(w)) || lx.shape.length < 2 || !fits(lx)) return undefined;
    const C = lx.shape[1];
    const [dyc, ldyc] = this.contig(dy as Float32Array, ldy),
      [xc, lxc] = this.contig(x as Float32Array, lx);
    const dx = this.alloc(lx.numel),
      dw = needW ? this.alloc(C) : null,
      db = needB ? this.alloc(C) : null,
      dr = needR ? this.alloc(lx.numel) : null;
    this.addon.batchNormBackward(
      dx,
      dw,
      db,
      dr,
      dyc,
      ldyc,
      xc,
      lxc,
      yact,
      mean,
      variance,
      w as Float32Array | null,
      eps,
    );
    return { dx, dw, db, dr };
  }

  /** Backward of layerNorm: dx, and dw/db when asked (w null = no affine weight). */
  layerNormBackward(
    dy: TypedArray,
    ldy: Layout,
    x: TypedArray,
    lx: Layout,
    mean: Float32Array,
    rstd: Float32Array,
    w: TypedArray | null,
    needW: boolean,
    needB: boolean,
  ): { dx: Float32Array; dw: Float32Array | null; db: Float32Array | null } | undefined {
    if (!isF32(dy, x) || (w && !isF32(w)) || lx.shape.length === 0 || !fits(lx)) return undefined;
    const C = lx.shape[lx.shape.length - 1];
    const [dyc, ldyc] = this.contig(dy as Float32Array, ldy),
      [xc, lxc] = this.contig(x as Float32Array, lx);
    const dx = this.alloc(lx.numel),
      dw = needW ? this.alloc(C) : null,
      db = needB ? this.alloc(C) : null;
    this.addon.layerNormBackward(dx, dw, db, dyc, ldyc, xc, lxc, mean, rstd, w as Float32Array | null);
    return { dx, dw, db };
  }

  /** In-place Adam/AdamW on contiguous float32 p, m, v with gradient g. */
  adamStep(p: TypedArray, g: TypedArray, m: TypedArray, v: TypedArray, o: AdamParams): true | undefined {
    if (!isF32(p, g, m, v)) return undefined;
    this.addon.adamStep(
      p as Float32Array,
      m as Float32Array,
      v as Float32Array,
      g as Float32Array,
      o.lr,
      o.beta1,
      o.beta2,
      o.eps,
      o.weightDecay,
      o.decoupled,
      o.step,
    );
    return true;
  }

  /**
   * Fused scaled-dot-product attention, q, k, v (B,H,T,D) -> out (B,H,T,D) plus lse (B,H,T) for the
   * backward: softmax(q k^T * scale + causal mask) v without materialising the (T,T) scores.
   */
  attention(
    q: TypedArray,
    lq: Layout,
    k: TypedArray,
    lk: Layout,
    v: TypedArray,
    lv: Layout,
    scale: number,
    causal: boolean,
  ): { out: Float32Array; lse: Float32Array } | undefined {
    if (!isF32(q, k, v) || lq.shape.length !== 4) return undefined;
    const [B, H, T] = lq.shape;
    const [qc, lqc] = this.contig(q as Float32Array, lq),
      [kc, lkc] = this.contig(k as Float32Array, lk),
      [vc, lvc] = this.contig(v as Float32Array, lv);
    const o = this.alloc(lq.numel),
      lse = this.alloc(B * H * T);
    this.addon.attention(o, lse, qc, lqc, kc, lkc, vc, lvc, scale, causal);
    return { out: o, lse };
  }

  /** Forward only: q (B,H,T,D) over k, v (B,KVH,S,D) read in place (rows of D contiguous). */
  attentionKv(
    q: TypedArray,
    lq: Layout,
    k: TypedArray,
    lk: Layout,
    v: TypedArray,
    lv: Layout,
    scale: number,
    causal: boolean,
  ): Float32Array | undefined {
    if (!isF32(q, k, v) || lq.shape.length !== 4 || lk.shape.length !== 4 || lv.shape.length !== 4) return undefined;
    const D = lq.shape[3],
      rows = (l: Layout) => l.strides[3] === 1 && (l.shape[2] <= 1 || l.strides[2] === D);
    if (!rows(lk) || !rows(lv)) return undefined;
    const [B, H, T] = lq.shape;
    const [qc, lqc] = this.contig(q as Float32Array, lq);
    const o = this.alloc(lq.numel),
      lse = this.alloc(B * H * T);
    this.addon.attentionKv(o, lse, qc, lqc, k as Float32Array, lk, v as Float32Array, lv, scale, causal);
    return o;
  }

  /** Backward of attention: dq, dk, dv (B,H,T,D) from dout and the forward's out and lse. */
  attentionBackward(
    dout: TypedArray,
    ldout: Layout,
    q: TypedArray,
    lq: Layout,
    k: TypedArray,
    lk: Layout,
    v: TypedArray,
    lv: Layout,
    out: Float32Array,
    lse: Float32Array,
    scale: number,
    causal: boolean,
  ): { dq: Float32Array; dk: Float32Array; dv: Float32Array } | undefined {
    if (!isF32(dout, q, k, v) || lq.shape.length !== 4) return undefined;
    const [dc, ldc] = this.contig(dout as Float32Array, ldout),
      [qc, lqc] = this.contig(q as Float32Array, lq);
    const [kc, lkc] = this.contig(k as Float32Array, lk),
      [vc, lvc] = this.contig(v as Float32Array, lv);
    const dq = this.alloc(lq.numel),
      dk = this.alloc(lq.numel),
      dv = this.alloc(lq.numel);
    this.addon.attentionBackward(
      dq,
      dk,
      dv,
      dc,
      ldc,
      qc,
      lqc,
      kc,
      lkc,
      vc,
      lvc,
      out,
      Layout.contiguous(lq.shape),
      lse,
      scale,
      causal,
    );
    return { dq, dk, dv };
  }

  /** In-place SGD (momentum buffer optional). */
  sgdStep(p: TypedArray, g: TypedArray, buf: TypedArray | null, o: SgdParams): true | undefined {
    if (!isF32(p, g) || (buf && !isF32(buf))) return undefined;
    this.addon.sgdStep(
      p as Float32Array,
      buf as Float32Array | null,
      g as Float32Array,
      o.lr,
      o.momentum,
      o.dampening,
      o.weightDecay,
      o.nesterov,
      o.first,
    );
    return true;
  }

  // quantized and bf16 products (backend.ts documents them; native/quant.ts packs and calls)
  linearInt8Dynamic(...a: Parameters<NativeQuant['linearInt8Dynamic']>): Float32Array | undefined {
    return this.quant.linearInt8Dynamic(...a);
  }
  gemmU8S8(...a: Parameters<NativeQuant['gemmU8S8']>): Float32Array | Uint8Array | undefined {
    return this.quant.gemmU8S8(...a);
  }
  linearBf16(...a: Parameters<NativeQuant['linearBf16']>): Float32Array | undefined {
    return this.quant.linearBf16(...a);
  }
  linearWeightOnly(...a: Parameters<NativeQuant['linearWeightOnly']>): Float32Array | undefined {
    return this.quant.linearWeightOnly(...a);
  }
  conv2dU8(...a: Parameters<NativeQuant['conv2dU8']>): Uint8Array | undefined {
    return this.quant.conv2dU8(...a);
  }
  quantizeNhwcU8(...a: Parameters<NativeQuant['quantizeNhwcU8']>): Uint8Array | undefined {
    return this.quant.quantizeNhwcU8(...a);
  }
  addU8(...a: Parameters<NativeQuant['addU8']>): Uint8Array | undefined {
    return this.quant.addU8(...a);
  }
  pool2dU8(...a: Parameters<NativeQuant['pool2dU8']>): Uint8Array | undefined {
    return this.quant.pool2dU8(...a);
  }
}

/** Shapes the addon accepts; anything else goes to JS, which reports it. */
function groupsOk(C: number, wShape: readonly number[], groups: number): boolean {
  return groups >= 1 && wShape[1] * groups === C && wShape[0] % groups === 0;
}

function convArgs(p: Conv2dParams): ConvArgs {
  return [p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW, p.groups];
}

/** The addon requires padding <= kernel/2 (PyTorch's rule); other pools go to JS. */
function poolOk(p: Pool2dParams): boolean {
  return 2 * p.padH <= p.kH && 2 * p.padW <= p.kW;
}

function poolArgs(p: Pool2dParams): PoolArgs {
  return [p.kH, p.kW, p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW, p.ceilMode ? 1 : 0];
}

export interface NativeLoad {
  backend: NativeBackend | null;
  reason?: string;
}

/** Loads the addon and wraps it; never throws. */
export function loadNativeBackend(): NativeLoad {
  const r = loadAddon();
  if (!r.addon) return { backend: null, reason: r.reason };
  try {
    return { backend: new NativeBackend(r.addon, r.path) };
  } catch (e) {
    return { backend: null, reason: `the addon loaded but failed to start: ${(e as Error).message}` };
  }
}
