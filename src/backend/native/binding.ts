// The typed surface of the native addon (native/src/addon.c, addon_nn.c). Every function validates
// its arguments and throws an Error naming the kernel ("nabla.matmul: ...") instead of crashing.
// Outputs are caller-allocated Float32Arrays; layouts are { shape, strides, offset } in elements
// (src/tensor/layout.ts). Float32 only: the TS backend declines other dtypes.

export interface LayoutArg {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** Conv2d parameters in the order the addon takes them. */
export type ConvArgs = [strideH: number, strideW: number, padH: number, padW: number, dilationH: number, dilationW: number, groups: number];
/** Pool2d parameters in the order the addon takes them (ceilMode as 0/1). */
export type PoolArgs = [kH: number, kW: number, strideH: number, strideW: number, padH: number, padW: number, dilationH: number, dilationW: number, ceilMode: number];

export interface CpuInfo {
  /** SIMD path in use: 'avx512' | 'avx2' | 'scalar'. */
  isa: string;
  /** Best path this CPU supports. */
  cpuIsa: string;
  threads: number;
}

export interface NablaAddon {
  cpuInfo(): CpuInfo;
  setNumThreads(n: number): void;
  /** Caps the SIMD path (tests and benchmarks compare paths). */
  setIsa(isa: 'scalar' | 'avx2' | 'avx512'): void;
  /** 3x3 stride-1 convolutions by Winograd F(4x4,3x3): never, where faster (the default), or wherever it applies. */
  setWinograd(mode: 'off' | 'auto' | 'always'): void;
  /**
   * Advises Linux to back the 2 MB-aligned interior of x with transparent huge pages (a no-op
   * elsewhere); returns the bytes advised. Contents and lifetime are unchanged.
   */
  adviseHugePages(x: ArrayBufferView): number;
  /** c (M,N) contiguous = act(a (M,K) @ b (K,N) + bias (N)); 2-D, any strides; bias or null; act a UnaryOp code or -1. */
  linear(c: Float32Array, a: Float32Array, la: LayoutArg, b: Float32Array, lb: LayoutArg, bias: Float32Array | null, act: number): void;
  /** a (batch..., M, K) @ b (batch..., K, N) -> c contiguous (batch..., M, N); batch dims equal. */
  matmul(c: Float32Array, a: Float32Array, la: LayoutArg, b: Float32Array, lb: LayoutArg): void;
  /** y contiguous = op(x); op from UnaryOp (see NativeBackend for the supported set). */
  unary(op: number, y: Float32Array, x: Float32Array, lx: LayoutArg, p0: number, p1: number): void;
  /** y contiguous = a op b, la and lb already broadcast to y's shape; op <= BinaryOp.MINIMUM. */
  binary(op: number, y: Float32Array, a: Float32Array, la: LayoutArg, b: Float32Array, lb: LayoutArg): void;
  /** y contiguous = reduce(x) over sorted unique axes; op SUM|PROD|MAX|MIN. */
  reduce(op: number, y: Float32Array, x: Float32Array, lx: LayoutArg, axes: readonly number[]): void;
  /** y at ly = x at lx (same shape). */
  copy(y: Float32Array, ly: LayoutArg, x: Float32Array, lx: LayoutArg): void;
  /** y bool (Uint8Array 0/1) = a op b for op in BinaryOp.EQ..GE on float32 inputs of y's shape. */
  compare(op: number, y: Uint8Array, a: Float32Array, la: LayoutArg, b: Float32Array, lb: LayoutArg): void;
  /** y float32 = cond ? a : b, cond a Uint8Array; all three already broadcast to y's shape. */
  where(y: Float32Array, cond: Uint8Array, lc: LayoutArg, a: Float32Array, la: LayoutArg, b: Float32Array, lb: LayoutArg): void;
  /** y float32 contiguous = x (bool Uint8Array or Int32Array), any layout. */
  castToF32(y: Float32Array, x: Uint8Array | Int32Array, lx: LayoutArg): void;
  /** y contiguous = softmax (or log-softmax) of x along axis. */
  softmax(y: Float32Array, x: Float32Array, lx: LayoutArg, axis: number, log: boolean): void;
  /** x (N,C,H,W), w (OC,C/G,KH,KW) -> y (N,OC,OH,OW); x and w contiguous (any offset). */
  /** Batch norm with batch statistics over N and the spatial dims of contiguous x (N, C, *). */
  /** y = act(bn(x) + residual): residual contiguous like x, or null; act relu or identity. */
  batchNorm(y: Float32Array, mean: Float32Array, variance: Float32Array, x: Float32Array, lx: LayoutArg,
    w: Float32Array | null, b: Float32Array | null, eps: number, residual: Float32Array | null, relu: boolean): void;
  /** yact: the forward's output when it had a relu (masks dy), else null; dr: the residual's gradient, or null. */
  batchNormBackward(dx: Float32Array, dw: Float32Array | null, db: Float32Array | null, dr: Float32Array | null, dy: Float32Array, ldy: LayoutArg,
    x: Float32Array, lx: LayoutArg, yact: Float32Array | null, mean: Float32Array, variance: Float32Array, w: Float32Array | null, eps: number): void;
  conv2d(y: Float32Array, x: Float32Array, lx: LayoutArg, w: Float32Array, lw: LayoutArg, params: ConvArgs): void;
  /**
   * y = act(conv2d(x, w) * scale[oc] + shift[oc] + residual): scale/shift (OC) or null, residual contiguous like y or null.
   * reuseWeights: the same w is likely to come again unchanged (inference), so a transformed copy may be kept (checked
   * against w exactly on every use that does not bring the weightsStamp it was last used with; 0: no stamp).
   */
  conv2dFused(y: Float32Array, x: Float32Array, lx: LayoutArg, w: Float32Array, lw: LayoutArg, params: ConvArgs,
    scale: Float32Array | null, shift: Float32Array | null, residual: Float32Array | null, relu: boolean, reuseWeights: boolean,
    weightsStamp: number): void;
  /** A number unique in the process (1, 2, ...), for conv2dFused's weightsStamp. */
  nextStamp(): number;
  /** dy (N,OC,OH,OW), w -> dx (N,C,H,W); dy and w contiguous. */
  conv2dBackwardInput(dx: Float32Array, dy: Float32Array, ldy: LayoutArg, w: Float32Array, lw: LayoutArg, xShape: readonly number[], params: ConvArgs): void;
  /** dy (N,OC,OH,OW), x (N,C,H,W) -> dw (OC,C/G,KH,KW); dy and x contiguous. */
  conv2dBackwardWeight(dw: Float32Array, dy: Float32Array, ldy: LayoutArg, x: Float32Array, lx: LayoutArg, wShape: readonly number[], params: ConvArgs): void;
  /** x (N,C,H,W) contiguous -> window max values and flat ih*W+iw indices (N,C,OH,OW); indices null: values only. */
  maxPool2d(y: Float32Array, indices: Int32Array | null, x: Float32Array, lx: LayoutArg, params: PoolArgs): void;
  /** x (N,C,H,W) contiguous -> window means (dilation ignored, as the JS backend). */
  avgPool2d(y: Float32Array, x: Float32Array, lx: LayoutArg, params: PoolArgs, countIncludePad: boolean): void;
  /** dy (N,C,OH,OW) contiguous -> dx (N,C,H,W). */
  /** dx (xShape) = dy (N,C,OH,OW) added at indices (N,C,OH,OW, flat per plane; -1 none); indices checked first. */
  maxPool2dBackward(dx: Float32Array, dy: Float32Array, ldy: LayoutArg, indices: Int32Array, xShape: readonly number[]): void;
  avgPool2dBackward(dx: Float32Array, dy: Float32Array, ldy: LayoutArg, xShape: readonly number[], params: PoolArgs, countIncludePad: boolean): void;
  /** Layer norm over the last dim of contiguous x -> y, and per-row mean and rstd (for backward). */
  layerNorm(y: Float32Array, mean: Float32Array, rstd: Float32Array, x: Float32Array, lx: LayoutArg, w: Float32Array | null, b: Float32Array | null, eps: number): void;
  /** dx (and dw, db when given) from dy, x and the forward's mean/rstd. */
  layerNormBackward(dx: Float32Array, dw: Float32Array | null, db: Float32Array | null, dy: Float32Array, ldy: LayoutArg,
    x: Float32Array, lx: LayoutArg, mean: Float32Array, rstd: Float32Array, w: Float32Array | null): void;
  /** y (outer, idx.length, inner) = rows idx of contiguous x along dim; every index is range-checked. */
  indexSelect(y: Float32Array, x: Float32Array, lx: LayoutArg, dim: number, idx: Int32Array): void;
  /** dst (contiguous, ldst) rows idx along dim += src (contiguous); duplicates accumulate. */
  indexAdd(dst: Float32Array, ldst: LayoutArg, dim: number, idx: Int32Array, src: Float32Array, lsrc: LayoutArg): void;
  /** In-place Adam (decoupled=false) / AdamW (true) at step >= 1, PyTorch semantics. */
  adamStep(p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, decoupled: boolean, step: number): void;
  /** In-place SGD; buf is the momentum buffer (null without momentum); first = buf not yet initialised. */
  sgdStep(p: Float32Array, buf: Float32Array | null, g: Float32Array, lr: number, momentum: number, dampening: number,
    weightDecay: number, nesterov: boolean, first: boolean): void;
  /** Fused attention: q, k, v (B,H,T,D) contiguous -> out (B,H,T,D) and lse (B,H,T). */
  attention(out: Float32Array, lse: Float32Array, q: Float32Array, lq: LayoutArg, k: Float32Array, lk: LayoutArg,
    v: Float32Array, lv: LayoutArg, scale: number, causal: boolean): void;
  /** Forward only: q (B,H,T,D) contiguous over k, v (B,KVH,S,D) read in place (rows of D contiguous); causal offset S - T. */
  attentionKv(out: Float32Array, lse: Float32Array, q: Float32Array, lq: LayoutArg, k: Float32Array, lk: LayoutArg,
    v: Float32Array, lv: LayoutArg, scale: number, causal: boolean): void;
  /** Backward of attention from dout and the forward's out and lse -> dq, dk, dv. */
  attentionBackward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, ldout: LayoutArg,
    q: Float32Array, lq: LayoutArg, k: Float32Array, lk: LayoutArg, v: Float32Array, lv: LayoutArg,
    out: Float32Array, lout: LayoutArg, lse: Float32Array, scale: number, causal: boolean): void;
}
