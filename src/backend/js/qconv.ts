// The JS references of the quantized network ops on uint8 NHWC codes (native/src/quant/qconv.h): the
// int8 convolution (im2col in (kh, kw, c) order, then gemmU8S8 with its requantizing epilogue), the input's
// quantization to NHWC, the quantized residual addition and max / average pooling. Integer sums are
// exact and the float steps are rounded to float32 in the addon's order, so the native results match
// these bit for bit.
// Glossary: B batch, H,W size, C channels, OC output channels; a window `win` is [kh, kw, sh, sw, ph, pw,
// dh, dw] (kernel, stride, padding, dilation); an activation's codes q stand for scale * (q - zeroPoint).

import { roundHalfEven, type QParams } from '../../util/quant.js';
import { windowOut } from '../../util/window.js';
import { gemmU8S8 } from './quant.js';

/** Calls fn(t, ih * W + iw) for each tap t = i * kw + j of output pixel (oh, ow)'s window that lies in the input. */
function eachTap(
  H: number,
  W: number,
  win: readonly number[],
  oh: number,
  ow: number,
  fn: (t: number, p: number) => void,
): void {
  const [kh, kw, sh, sw, ph, pw, dh, dw] = win;
  for (let i = 0; i < kh; i++) {
    const ih = oh * sh - ph + i * dh;
    if (ih < 0 || ih >= H) continue;
    for (let j = 0; j < kw; j++) {
      const iw = ow * sw - pw + j * dw;
      if (iw >= 0 && iw < W) fn(i * kw + j, ih * W + iw);
    }
  }
}

/**
 * y (B, OH, OW, OC) codes of `out` = the int8 convolution of x (B, H, W, C) codes of `xp` (padding reads the
 * zero point) with w (OC, KH, KW, C) int8 (per-channel scales wScale, zero point 0) plus bias, clamped at
 * out's zero point when `relu`.
 */
export function conv2dU8(
  x: Uint8Array,
  shape: readonly number[],
  xp: QParams,
  w: Int8Array,
  wScale: Float32Array,
  bias: Float32Array | null,
  win: readonly number[],
  out: QParams,
  relu: boolean,
): Uint8Array {
  const [B, H, W, C] = shape,
    [kh, kw] = win;
  const [OH, OW] = windowOut(H, W, win);
  const K = kh * kw * C,
    M = B * OH * OW;
  const cols = new Uint8Array(M * K).fill(xp.zeroPoint);
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const row = ((b * OH + oh) * OW + ow) * K,
          img = b * H * W;
        eachTap(H, W, win, oh, ow, (t, p) => cols.set(x.subarray((img + p) * C, (img + p + 1) * C), row + t * C));
      }
  const y = gemmU8S8(cols, M, K, xp, w, wScale, bias, out) as Uint8Array;
  if (relu) for (let i = 0; i < y.length; i++) y[i] = Math.max(y[i], out.zeroPoint);
  return y;
}

/** y (B, H, W, C) codes = quantized x (B, C, H, W) float32 contiguous (util/quant.ts quantizeU8's rounding). */
export function quantizeNhwcU8(x: Float32Array, shape: readonly number[], p: QParams): Uint8Array {
  const [B, C, H, W] = shape,
    HW = H * W;
  const inv = Math.fround(1 / p.scale);
  const y = new Uint8Array(B * C * HW);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < HW; i++) {
        const v = roundHalfEven(Math.fround(x[(b * C + c) * HW + i] * inv)) + p.zeroPoint;
        y[(b * HW + i) * C + c] = Math.min(255, Math.max(0, v));
      }
  return y;
}

/** y = requantized (dequant(a) + dequant(b)) with `out`, clamped at out's zero point when `relu`. */
export function addU8(a: Uint8Array, ap: QParams, b: Uint8Array, bp: QParams, out: QParams, relu: boolean): Uint8Array {
  if (a.length !== b.length) throw new Error(`addU8: a has ${a.length} codes but b has ${b.length}`);
  const as = Math.fround(ap.scale),
    bs = Math.fround(bp.scale),
    inv = Math.fround(1 / out.scale),
    lo = relu ? out.zeroPoint : 0;
  const y = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = Math.fround(Math.fround((a[i] - ap.zeroPoint) * as) + Math.fround((b[i] - bp.zeroPoint) * bs));
    y[i] = Math.min(255, Math.max(lo, roundHalfEven(Math.fround(v * inv)) + out.zeroPoint));
  }
  return y;
}

/**
 * Max (padding ignored) or average (no padding; the mean rounded half up, floor((2 sum + n) / 2n)) pooling
 * of x (B, H, W, C) codes into (B, OH, OW, C) codes on the same grid.
 */
export function pool2dU8(
  x: Uint8Array,
  shape: readonly number[],
  win: readonly number[],
  mode: 'max' | 'avg',
): Uint8Array {
  const [B, H, W, C] = shape,
    [kh, kw, , , ph, pw, dh, dw] = win;
  if (mode === 'avg' && (ph || pw || dh !== 1 || dw !== 1)) {
    throw new Error('pool2dU8: average pooling takes no padding and no dilation');
  }
  const [OH, OW] = windowOut(H, W, win);
  const y = new Uint8Array(B * OH * OW * C),
    n = kh * kw,
    acc = new Float64Array(C);
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        acc.fill(0); // 0 is every code's lower bound: the max over the taps inside the input
        eachTap(H, W, win, oh, ow, (_, p) => {
          const src = (b * H * W + p) * C;
          for (let c = 0; c < C; c++) acc[c] = mode === 'max' ? Math.max(acc[c], x[src + c]) : acc[c] + x[src + c];
        });
        const dst = ((b * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) y[dst + c] = mode === 'max' ? acc[c] : Math.floor((2 * acc[c] + n) / (2 * n));
      }
  return y;
}
