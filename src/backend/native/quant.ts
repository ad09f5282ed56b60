// The native quantized and bf16 products (native/src/quant): the addon's packed weights are made on a
// weight's first use and kept in a WeakMap keyed by its array, as PyTorch keeps packed params, so a
// weight array must not change afterwards (Kernels says so). Every call the addon cannot take (other
// dtypes, more than 2 dims, a weight whose size does not divide by K) is declined for JS to handle.

import type { TypedArray } from '../../tensor/dtype.js';
import type { Layout } from '../../tensor/layout.js';
import type { NablaAddon } from './contract.js';
import { windowOut } from '../../util/window.js';

type QP = { scale: number; zeroPoint: number };

interface PackedQ8 {
  bp: Int8Array;
  colsum: Int32Array;
  K: number;
  N: number;
}

const panels = (N: number) => Math.ceil(N / 16);

export class NativeQuant {
  private readonly q8 = new WeakMap<Int8Array, PackedQ8>();
  private readonly bf16 = new WeakMap<Uint16Array, { bp: Uint16Array; K: number; N: number }>();
  constructor(private readonly addon: NablaAddon) {}

  private packQ8(w: Int8Array, K: number): PackedQ8 | undefined {
    const N = w.length / K;
    if (K <= 0 || !Number.isInteger(N) || N <= 0) return undefined;
    let p = this.q8.get(w);
    if (!p || p.K !== K) {
      p = { bp: new Int8Array(panels(N) * Math.ceil(K / 64) * 64 * 16), colsum: new Int32Array(N), K, N };
      this.addon.q8Pack(p.bp, p.colsum, w, N, K);
      this.q8.set(w, p);
    }
    return p;
  }

  linearInt8Dynamic(
    x: TypedArray,
    lx: Layout,
    w: Int8Array,
    wScale: Float32Array,
    bias: Float32Array | null,
    reduceRange: boolean,
  ): Float32Array | undefined {
    if (!(x instanceof Float32Array) || lx.shape.length !== 2) return undefined;
    const p = this.packQ8(w, lx.shape[1]);
    if (!p || wScale.length < p.N || (bias && bias.length < p.N)) return undefined;
    const y = new Float32Array(lx.shape[0] * p.N);
    this.addon.q8LinearDynamic(y, x, lx, p.bp, p.colsum, wScale, bias, p.N, reduceRange);
    return y;
  }

  gemmU8S8(
    xq: Uint8Array,
    M: number,
    K: number,
    xp: { scale: number; zeroPoint: number },
    w: Int8Array,
    wScale: Float32Array,
    bias: Float32Array | null,
    out: { scale: number; zeroPoint: number } | null,
  ): Float32Array | Uint8Array | undefined {
    const p = this.packQ8(w, K);
    if (!p || xq.length < M * K || wScale.length < p.N || (bias && bias.length < p.N)) return undefined;
    const y = out ? null : new Float32Array(M * p.N),
      yq = out ? new Uint8Array(M * p.N) : null;
    this.addon.q8Gemm(
      y,
      yq,
      out?.scale ?? 1,
      out?.zeroPoint ?? 0,
      xq,
      M,
      K,
      xp.zeroPoint,
      xp.scale,
      p.bp,
      p.colsum,
      wScale,
      bias,
      p.N,
    );
    return (y ?? yq)!;
  }

  linearBf16(x: TypedArray, lx: Layout, w: Uint16Array, bias: Float32Array | null): Float32Array | undefined {
    if (!(x instanceof Float32Array) || lx.shape.length !== 2) return undefined;
    const K = lx.shape[1],
      N = w.length / K;
    if (K <= 0 || !Number.isInteger(N) || N <= 0 || (bias && bias.length < N)) return undefined;
    let p = this.bf16.get(w);
    if (!p || p.K !== K) {
      p = { bp: new Uint16Array(panels(N) * Math.ceil(K / 32) * 32 * 16), K, N };
      this.addon.bf16Pack(p.bp, w, N, K);
      this.bf16.set(w, p);
    }
    const y = new Float32Array(lx.shape[0] * N);
    this.addon.bf16Linear(y, x, lx, p.bp, bias, N);
    return y;
  }

  conv2dU8(
    x: Uint8Array,
    shape: readonly number[],
    xp: QP,
    w: Int8Array,
    wScale: Float32Array,
    bias: Float32Array | null,
    win: readonly number[],
    out: QP,
    relu: boolean,
  ): Uint8Array | undefined {
    const [B, H, W, C] = shape,
      [OH, OW] = windowOut(H, W, win);
    const p = this.packQ8(w, win[0] * win[1] * C);
    if (!p || OH < 1 || OW < 1 || wScale.length < p.N || (bias && bias.length < p.N)) return undefined;
    const y = new Uint8Array(B * OH * OW * p.N);
    this.addon.q8Conv2d(
      y,
      x,
      [...shape],
      xp.zeroPoint,
      xp.scale,
      p.bp,
      p.colsum,
      wScale,
      bias,
      p.N,
      [...win],
      out.scale,
      out.zeroPoint,
      relu,
    );
    return y;
  }

  quantizeNhwcU8(x: Float32Array, shape: readonly number[], p: QP): Uint8Array {
    const y = new Uint8Array(x.length);
    this.addon.q8QuantizeNhwc(y, x, [...shape], p.scale, p.zeroPoint);
    return y;
  }

  addU8(a: Uint8Array, ap: QP, b: Uint8Array, bp: QP, out: QP, relu: boolean): Uint8Array | undefined {
    if (a.length !== b.length) return undefined;
    const y = new Uint8Array(a.length);
    this.addon.q8Add(y, a, ap.scale, ap.zeroPoint, b, bp.scale, bp.zeroPoint, out.scale, out.zeroPoint, relu);
    return y;
  }

  pool2dU8(
    x: Uint8Array,
    shape: readonly number[],
    win: readonly number[],
    mode: 'max' | 'avg',
  ): Uint8Array | undefined {
    const [B, H, W, C] = shape,
      [OH, OW] = windowOut(H, W, win);
    if (OH < 1 || OW < 1) return undefined;
    const y = new Uint8Array(B * OH * OW * C);
    this.addon.q8Pool2d(y, x, [...shape], [...win], mode);
    return y;
  }

  linearWeightOnly(
    x: TypedArray,
    lx: Layout,
    q: Int8Array | Uint8Array,
    scales: Float32Array,
    bits: 4 | 8,
    groupSize: number,
    N: number,
    bias: Float32Array | null,
  ): Float32Array | undefined {
    // NOTE: the kernel reads x's rows in place, so they must be contiguous; a transposed view goes to JS.
    if (!(x instanceof Float32Array) || lx.shape.length !== 2 || (lx.strides[1] !== 1 && lx.shape[1] > 1)) {
      return undefined;
    }
    if (bits === 4 && (groupSize < 32 || groupSize % 32 !== 0)) return undefined;
    const y = new Float32Array(lx.shape[0] * N);
    this.addon.woqLinear(y, x, lx, q, scales, bits, bits === 4 ? groupSize : 0, bias, N);
    return y;
  }
}
