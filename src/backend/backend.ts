// The backend seam: one contract, `Kernels`, for every kernel a backend may provide, the primitives
// that every op in src/ops is composed from and the fused kernels (linear, norms, attention, conv with
// an epilogue, optimiser steps) that replace a dozen primitives with one pass. Gradients are composed
// from ops, so a new backend implements (any subset of) this interface and nothing else.
//
// Conventions, for every kernel:
// - Inputs come as (buffer, Layout). A layout may be non-contiguous, broadcast (stride 0) or offset.
// - Outputs are freshly allocated, contiguous, row-major buffers that the caller owns. In-place kernels
//   (`assign`, `scatter`, `indexAdd`, `sgdStep`, `adamStep`) write into buffers they are given, say
//   which, and return true.
// - Element dtypes are those of the buffers; the caller has already cast inputs to a common dtype.
//   The fused kernels are float32 kernels: the op layer calls them for float32 tensors only.
// - The JS backend (src/backend/js) implements every kernel and is the oracle. Other backends
//   implement any subset (see `PartialBackend`) and decline a call they do not handle (a dtype, an
//   awkward layout) by returning undefined, the one way to decline, in-place kernels included; the
//   registry then runs the JS kernel for that call, and BACKEND_VALIDATE=js shadow-runs every call they
//   do handle on JS and compares every output (registry.ts).
//
// Storage is a GC-owned TypedArray for the CPU backends (JS, native addon, WASM). A GPU backend will
// keep device buffers behind the same calls: the tensor layer never reads `data` except through
// `Backend.read`, so such a backend only has to materialise host copies there.

import type { DType, TypedArray } from '../tensor/dtype.js';
import type { Layout } from '../tensor/layout.js';
import type { Device } from '../tensor/device.js';
import type { BinaryOp, ReduceOp, UnaryOp } from './op_codes.js';

export interface Conv2dParams {
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  groups: number;
}

export interface Pool2dParams {
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  ceilMode: boolean;
}

/** Adam/AdamW hyper-parameters for one fused step (step counts from 1). */
export interface AdamParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
  step: number;
}
/** SGD hyper-parameters for one fused step; `first` says the momentum buffer holds nothing yet. */
export interface SgdParams {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  first: boolean;
}

export interface Kernels {
  // ---- primitives ----
  /** y = op(x), y contiguous with x's shape. outDtype is x's dtype, or bool for ISNAN/LOGICAL_NOT. */
  unary(op: UnaryOp, x: TypedArray, lx: Layout, outDtype: DType, p0?: number, p1?: number): TypedArray;
  /** y = a (op) b; la and lb already have the output shape (broadcast dims have stride 0). */
  binary(op: BinaryOp, a: TypedArray, la: Layout, b: TypedArray, lb: Layout, outDtype: DType): TypedArray;
  /** Reduces over `axes` (sorted, unique); the output has lx's shape with those axes set to 1. */
  reduce(op: ReduceOp, x: TypedArray, lx: Layout, axes: readonly number[], outDtype: DType): TypedArray;
  /** Index (int32) of the max (or min) along `axis`; output shape = lx.shape with axis set to 1. First index wins ties;
   * NaN wins. */
  argReduce(isMax: boolean, x: TypedArray, lx: Layout, axis: number): Int32Array;
  /** A contiguous copy of x, cast to outDtype. */
  copy(x: TypedArray, lx: Layout, outDtype: DType): TypedArray;
  /** Writes src (already broadcast to ldst's shape, any dtype) into dst at ldst, casting. In place. */
  assign(dst: TypedArray, ldst: Layout, src: TypedArray, lsrc: Layout): true;
  /** (batch..., M, K) @ (batch..., K, N) -> contiguous (batch..., M, N); batch dims already broadcast. */
  matmul(a: TypedArray, la: Layout, b: TypedArray, lb: Layout, outDtype: DType): TypedArray;
  /** cond ? a : b, all three already broadcast to the output shape. */
  where(
    cond: TypedArray,
    lc: Layout,
    a: TypedArray,
    la: Layout,
    b: TypedArray,
    lb: Layout,
    outDtype: DType,
  ): TypedArray;
  /** out[i][j][k] = x[idx[i][j][k]][j][k] (for dim 0); output has lidx's shape. Indices pre-validated. */
  gather(x: TypedArray, lx: Layout, dim: number, idx: Int32Array, lidx: Layout): TypedArray;
  /** In place on contiguous `dst` of shape dstShape: dst[idx[i][j]][j] (=|+=) src[i][j] (for dim 0). */
  scatter(
    dst: TypedArray,
    dstShape: readonly number[],
    dim: number,
    idx: Int32Array,
    lidx: Layout,
    src: TypedArray,
    lsrc: Layout,
    accumulate: boolean,
  ): true;
  /** Selects entries idx along dim: output shape = lx.shape with dim replaced by idx.length. */
  indexSelect(x: TypedArray, lx: Layout, dim: number, idx: Int32Array): TypedArray;
  /** In place on contiguous dst: dst.select(dim, idx[i]) += src.select(dim, i). */
  indexAdd(
    dst: TypedArray,
    dstShape: readonly number[],
    dim: number,
    idx: Int32Array,
    src: TypedArray,
    lsrc: Layout,
  ): true;
  /** Inclusive cumulative sum (or product) along axis. */
  cumulative(isProd: boolean, x: TypedArray, lx: Layout, axis: number, outDtype: DType): TypedArray;
  /** Stable sort along axis: values and int32 indices, both contiguous. NaN sorts as largest. */
  sort(x: TypedArray, lx: Layout, axis: number, descending: boolean): { values: TypedArray; indices: Int32Array };
  /** softmax or log-softmax along axis (numerically stable). */
  softmax(x: TypedArray, lx: Layout, axis: number, log: boolean): TypedArray;
  /** x (N,C,H,W), w (OC,C/groups,KH,KW) -> (N,OC,OH,OW); no bias. */
  conv2d(x: TypedArray, lx: Layout, w: TypedArray, lw: Layout, p: Conv2dParams): TypedArray;
  /** dy (N,OC,OH,OW), w -> dx (N,C,H,W). */
  conv2dBackwardInput(
    dy: TypedArray,
    ldy: Layout,
    w: TypedArray,
    lw: Layout,
    xShape: readonly number[],
    p: Conv2dParams,
  ): TypedArray;
  /** dy (N,OC,OH,OW), x (N,C,H,W) -> dw (OC,C/groups,KH,KW). */
  conv2dBackwardWeight(
    dy: TypedArray,
    ldy: Layout,
    x: TypedArray,
    lx: Layout,
    wShape: readonly number[],
    p: Conv2dParams,
  ): TypedArray;
  /** x (N,C,H,W) -> max values (N,C,OH,OW) and the flat H*W argmax of each window (int32). */
  /** Values and the flat argmax of each window; with withIndices false the indices may be null (a faster pass). */
  maxPool2d(
    x: TypedArray,
    lx: Layout,
    p: Pool2dParams,
    withIndices?: boolean,
  ): { values: TypedArray; indices: Int32Array | null };
  /** x (N,C,H,W) -> mean over each window (N,C,OH,OW). countIncludePad as PyTorch. */
  avgPool2d(x: TypedArray, lx: Layout, p: Pool2dParams, countIncludePad: boolean): TypedArray;
  /** dx (N,C,H,W) from dy (N,C,OH,OW). */
  avgPool2dBackward(
    dy: TypedArray,
    ldy: Layout,
    xShape: readonly number[],
    p: Pool2dParams,
    countIncludePad: boolean,
  ): TypedArray;
  /** dx (xShape = N,C,H,W) = dy (N,C,OH,OW) added at indices (contiguous N,C,OH,OW, flat in each H*W plane, -1 none).
   * */
  maxPool2dBackward(dy: TypedArray, ldy: Layout, indices: Int32Array, xShape: readonly number[]): TypedArray;

  // ---- fused kernels: one pass for what ops would otherwise compose from primitives. Their backward
  // kernels are first-order: when a graph of the backward is being recorded (createGraph), ops
  // differentiate their composite formulas (src/ops/fused.ts) instead. ----
  /**
   * A linear layer: act(x (M, K) @ w (K, N) + bias (N)), 2-D of any strides (w may be a transposed
   * view), bias or null, act one of relu/gelu/gelu_tanh/silu/tanh/sigmoid or null.
   */
  linear(
    x: TypedArray,
    lx: Layout,
    w: TypedArray,
    lw: Layout,
    bias: TypedArray | null,
    act: UnaryOp | null,
  ): TypedArray;
  /** In place on contiguous p (and the momentum buffer buf, or null): one SGD step with gradient g. */
  sgdStep(p: TypedArray, g: TypedArray, buf: TypedArray | null, o: SgdParams): true;
  /** In place on contiguous p, m and v: one Adam/AdamW step with gradient g. */
  adamStep(p: TypedArray, g: TypedArray, m: TypedArray, v: TypedArray, o: AdamParams): true;
  /**
   * Batch norm with batch statistics, then optionally + residual and relu: x (N, C, *), w/b (C) or
   * null, residual x's shape or null -> y = act(bn(x) + residual), the batch mean and biased var (C).
   */
  batchNorm(
    x: TypedArray,
    lx: Layout,
    w: TypedArray | null,
    b: TypedArray | null,
    eps: number,
    residual?: { data: TypedArray; layout: Layout } | null,
    relu?: boolean,
  ): { y: Float32Array; mean: Float32Array; var: Float32Array };
  /**
   * Its backward from the forward's mean and var (and its output y when it had a relu): dx, and dw,
   * db and the residual's gradient dr when asked.
   */
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
    yact?: Float32Array | null,
    needR?: boolean,
  ): { dx: Float32Array; dw: Float32Array | null; db: Float32Array | null; dr: Float32Array | null };
  /**
   * Convolution with an epilogue, for inference: y = act(conv2d(x, w) * scale[oc] + shift[oc] + residual),
   * scale/shift (OC) or null, residual of y's shape (N,OC,OH,OW) or null, act relu or identity.
   * A BatchNorm in eval mode is exactly scale/shift, so conv + BN (+ residual) (+ ReLU) is one pass.
   * reuseWeights: w is likely to come again unchanged (inference), so a backend may keep a transformed
   * copy, as long as it checks it against w on every use; except that a use with the weightsStamp
   * (> 0, from nextStamp) it last saw with w's array may trust it: the caller vouches that the
   * contents did not change in between.
   */
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
    reuseWeights?: boolean,
    weightsStamp?: number,
  ): TypedArray;
  /** Layer norm over the last dim: x (R, C), w/b (C) or null -> y (R, C), mean and rstd (R). */
  layerNorm(
    x: TypedArray,
    lx: Layout,
    w: TypedArray | null,
    b: TypedArray | null,
    eps: number,
  ): { y: Float32Array; mean: Float32Array; rstd: Float32Array };
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
  ): { dx: Float32Array; dw: Float32Array | null; db: Float32Array | null };
  /** softmax(q k^T scale + causal mask) v for q, k, v (B, H, T, D), one block of scores at a time; lse (B, H, T). */
  attention(
    q: TypedArray,
    lq: Layout,
    k: TypedArray,
    lk: Layout,
    v: TypedArray,
    lv: Layout,
    scale: number,
    causal: boolean,
  ): { out: Float32Array; lse: Float32Array };
  /**
   * Forward only, for decoding: q (B, H, T, D) over k, v (B, KVH, S, D) read in place (a KV cache
   * view whose rows of D are contiguous; KVH divides H), query t at key position S - T + t.
   */
  attentionKv(
    q: TypedArray,
    lq: Layout,
    k: TypedArray,
    lk: Layout,
    v: TypedArray,
    lv: Layout,
    scale: number,
    causal: boolean,
  ): Float32Array;
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
  ): { dq: Float32Array; dk: Float32Array; dv: Float32Array };

  // ---- quantized and bf16 products, for inference (no gradients). The weights are w (N, K) as
  // torch's Linear; a backend may keep a packed copy keyed by the weight's array (as PyTorch's packed
  // params), so a weight array must not change after its first use. ----
  /**
   * Dynamic int8 linear layer (PyTorch's QNNPACK scheme): x (M, K) quantized per tensor to uint8 over
   * [min(x, 0), max(x, 0)] ([0, 255], or [0, 127] with reduceRange), w (N, K) int8 with zero point 0 and
   * per-row scales wScale (N); y (M, N) = (xq - xz) @ w^T * xs * wScale + bias.
   */
  linearInt8Dynamic(
    x: TypedArray,
    lx: Layout,
    w: Int8Array,
    wScale: Float32Array,
    bias: Float32Array | null,
    reduceRange: boolean,
  ): Float32Array;
  /**
   * u8 x s8 -> s32 GEMM with an epilogue: xq (M, K) uint8 contiguous with its (scale, zeroPoint), w (N, K)
   * int8 with per-row scales; y (M, N) float32 = acc * x.scale * wScale + bias, or, given `out`, uint8
   * requantized clamp(out.zeroPoint + rint(y / out.scale), 0, 255).
   */
  gemmU8S8(
    xq: Uint8Array,
    M: number,
    K: number,
    x: { scale: number; zeroPoint: number },
    w: Int8Array,
    wScale: Float32Array,
    bias: Float32Array | null,
    out: { scale: number; zeroPoint: number } | null,
  ): Float32Array | Uint8Array;
  /** y (M, N) = bf16(x (M, K)) @ w^T + bias with w (N, K) bfloat16 bits, products summed in float32. */
  linearBf16(x: TypedArray, lx: Layout, w: Uint16Array, bias: Float32Array | null): Float32Array;
  /**
   * Weight-only linear for LLM decoding: y (M, N) = x (M, K) @ deq(q)^T + bias. bits 8: q (N, K) int8, scales
   * (N). bits 4: per row ceil(K/G) groups of G/2 bytes (byte j: element j low nibble, j + G/2 high), value
   * (code - 8) * scales[n, g], G = groupSize a multiple of 32 (util/quant.ts quantizeInt4); x is quantized
   * to int8 per group (quantizeActivationGroups) and each group summed in integers (js/quant.ts linearInt4).
   */
  linearWeightOnly(
    x: TypedArray,
    lx: Layout,
    q: Int8Array | Uint8Array,
    scales: Float32Array,
    bits: 4 | 8,
    groupSize: number,
    N: number,
    bias: Float32Array | null,
  ): Float32Array;

  // ---- quantized networks on uint8 NHWC codes (an activation's codes q stand for scale * (q - zeroPoint));
  // a window `win` is [kh, kw, sh, sw, ph, pw, dh, dw]: kernel, stride, padding, dilation ----
  /**
   * Static int8 convolution: x (B, H, W, C) codes of `xp` ([B, H, W, C] = shape; padding reads the zero
   * point), w (OC, KH, KW, C) int8 with per-channel scales wScale (OC) and zero point 0 (kept packed by its
   * array, as gemmU8S8's), + bias, requantized to `out` (clamped at its zero point when `relu`): y (B, OH,
   * OW, OC) codes.
   */
  conv2dU8(
    x: Uint8Array,
    shape: readonly number[],
    xp: { scale: number; zeroPoint: number },
    w: Int8Array,
    wScale: Float32Array,
    bias: Float32Array | null,
    win: readonly number[],
    out: { scale: number; zeroPoint: number },
    relu: boolean,
  ): Uint8Array;
  /** x (B, C, H, W) float32 contiguous ([B, C, H, W] = shape) -> (B, H, W, C) codes of p. */
  quantizeNhwcU8(x: Float32Array, shape: readonly number[], p: { scale: number; zeroPoint: number }): Uint8Array;
  /** The quantized residual addition: a and b codes (same length) -> codes of `out`, ReLU'd when `relu`. */
  addU8(
    a: Uint8Array,
    ap: { scale: number; zeroPoint: number },
    b: Uint8Array,
    bp: { scale: number; zeroPoint: number },
    out: { scale: number; zeroPoint: number },
    relu: boolean,
  ): Uint8Array;
  /**
   * Max (padding ignored) or average (no padding or dilation; mean rounded half up) pooling of x (B, H, W, C)
   * codes -> (B, OH, OW, C) codes on x's grid.
   */
  pool2dU8(x: Uint8Array, shape: readonly number[], win: readonly number[], mode: 'max' | 'avg'): Uint8Array;
}

/** Every kernel of the seam, with the JS backend's references behind any the backend lacks. */
export interface Backend extends Kernels {
  readonly name: string;
  /** Human-readable detail, e.g. which CPU path the native backend took. */
  readonly info: Record<string, unknown>;
  /**
   * A number not handed out before in this process (1, 2, ...), for conv2dFused's weightsStamp; absent
   * on backends that keep no transformed weights (conv2dFused then gets stamp 0: check everything).
   * NOTE: not a kernel (no inputs, nothing to validate, nothing for JS to fall back to): a stamp
   * vouches for the contents of a backend's own weight cache, so it comes from the backend that keeps
   * that cache (the addon's process-wide counter, shared by every module copy and worker that shares
   * the cache), never from a JS counter that a second copy of nabla would restart at 1.
   */
  nextStamp?(): number;
  /**
   * Zeroed float32 storage of n elements where this backend keeps it (the WASM backend: its linear
   * memory, so its kernels need no copies), or undefined for the JS heap. Not a kernel.
   */
  allocateF32?(n: number): Float32Array | undefined;
}

/** The one way a kernel of an accelerated backend declines a call: it returns undefined. */
export type OrDecline<F> = F extends (...args: infer A) => infer R ? (...args: A) => R | undefined : never;

/**
 * An accelerated backend: any subset of the kernels, each of which may decline a call (returns
 * undefined), plus the nextStamp capability if it caches transformed weights.
 */
export type PartialBackend = {
  readonly name: string;
  readonly info: Record<string, unknown>;
  nextStamp?(): number;
  allocateF32?(n: number): Float32Array | undefined;
} & {
  [K in keyof Kernels]?: OrDecline<Kernels[K]>;
};

/** Kernels that write into buffers they are given, and the positions of those buffers in their arguments. */
export const IN_PLACE_KERNELS: { readonly [K in keyof Kernels]?: readonly number[] } = {
  assign: [0],
  scatter: [0],
  indexAdd: [0],
  sgdStep: [0, 2],
  adamStep: [0, 2, 3],
};

/**
 * An accelerator (WebGPU): kernels over its own DeviceBuffers, passed where the seam says TypedArray
 * (the op layer dispatches on the tensors' device, so a CPU kernel never sees one, and a device kernel
 * sees a TypedArray only for a 0-dim CPU tensor, which it uploads). A kernel it lacks or declines is
 * an error naming the kernel: there is no silent fallback, since JS cannot read its buffers.
 */
export interface DeviceBackend extends PartialBackend {
  readonly device: Exclude<Device, 'cpu'>;
  /** Copies host values to a fresh device buffer of dtype; refuses a dtype it cannot hold. shape names it in errors. */
  upload(data: TypedArray, dtype: DType, shape?: readonly number[]): TypedArray;
  /** A zero-filled device buffer of n elements. */
  zeros(dtype: DType, n: number): TypedArray;
  /** Reads a whole device buffer back (after the work queued before it). */
  download(buf: TypedArray): Promise<TypedArray>;
}
