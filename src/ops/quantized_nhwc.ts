// Ops of quantized convolutional networks on uint8 NHWC activations (Kernels.conv2dU8, quantizeNhwcU8,
// addU8, pool2dU8): the codes stay uint8 from one layer to the next, each layer requantizing its int32
// sums straight to the next activation's grid, as PyTorch's quantized modules pass quint8 tensors along.
// Inference only. An activation is a plain record (codes, NHWC shape, grid), not a Tensor: no other op
// reads NHWC codes, so quantizeNhwc enters the integer domain and dequantizeNhwc (or a float output)
// leaves it.
// Glossary: B batch, H,W size, C channels, OC output channels, KH,KW kernel.

import { isGradEnabled } from '../autograd/grad_mode.js';
import { fmtShape } from '../tensor/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import { windowOut } from '../util/window.js';
import type { ActQParams } from './quantized.js';
import { be, dataOf, wrap } from './util.js';

/** uint8 codes of an activation in NHWC order: codes[((b*H + h)*W + w)*C + c] stands for q.scale * (code - q.zeroPoint). */
export interface QActivation {
  codes: Uint8Array;
  shape: [number, number, number, number];
  q: ActQParams;
}

/** An int8 convolution's weights: w (OC, KH, KW, C) int8 with per-channel scales (OC), zero point 0, float32 bias. */
export interface QConvWeights {
  w: Int8Array;
  scales: Float32Array;
  bias: Float32Array | null;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

const nchw = (s: readonly number[]) => `(${s[0]}, ${s[3]}, ${s[1]}, ${s[2]})`;

/** x (B, C, H, W) float32 (any layout, CPU) -> its NHWC codes on grid p. */
export function quantizeNhwc(x: Tensor, p: ActQParams): QActivation {
  const op = 'quantizeNhwc';
  if (x.device !== 'cpu' || x.dtype !== 'float32' || x.ndim !== 4) {
    throw new Error(
      `${op}: expected a float32 (B, C, H, W) CPU tensor, got ${fmtShape(x.shape)} ${x.dtype} on ${x.device}`,
    );
  }
  if (x.requiresGrad && isGradEnabled()) {
    throw new Error(`${op}: quantized networks are for inference and have no gradient; call it under noGrad()`);
  }
  const xc = x.contiguous();
  const [B, C, H, W] = x.shape;
  const codes = be().quantizeNhwcU8(dataOf(xc, op).subarray(xc.layout.offset) as Float32Array, [B, C, H, W], p);
  return { codes, shape: [B, H, W, C], q: p };
}

/** NHWC codes -> (B, C, H, W) float32 values. */
export function dequantizeNhwc(a: QActivation): Tensor {
  const [B, H, W, C] = a.shape,
    HW = H * W;
  const y = new Float32Array(a.codes.length);
  const s = Math.fround(a.q.scale);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < HW; i++)
      for (let c = 0; c < C; c++)
        y[(b * C + c) * HW + i] = Math.fround((a.codes[(b * HW + i) * C + c] - a.q.zeroPoint) * s);
  return wrap(y, [B, C, H, W], 'float32');
}

function win(k: [number, number], s: [number, number], p: [number, number], d: [number, number]): number[] {
  return [k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1]];
}

function outSize(op: string, a: QActivation, w: number[]): [number, number] {
  const [OH, OW] = windowOut(a.shape[1], a.shape[2], w);
  if (OH < 1 || OW < 1) throw new Error(`${op}: input ${nchw(a.shape)} is too small for a ${w[0]}x${w[1]} window`);
  if (2 * w[4] > w[6] * (w[0] - 1) + 1 || 2 * w[5] > w[7] * (w[1] - 1) + 1) {
    throw new Error(`${op}: padding (${w[4]}, ${w[5]}) is more than half the ${w[0]}x${w[1]} window`);
  }
  return [OH, OW];
}

/** The static int8 convolution (groups 1): a (B, H, W, C) codes -> (B, OH, OW, OC) codes on `out` (ReLU fused when `relu`). */
export function conv2dU8(a: QActivation, wt: QConvWeights, out: ActQParams, relu = false): QActivation {
  const op = 'conv2dU8';
  const OC = wt.scales.length,
    [KH, KW] = wt.kernel;
  const C = wt.w.length / (OC * KH * KW);
  if (a.shape[3] !== C) {
    throw new Error(`${op}: the weight (${OC}, ${C}, ${KH}, ${KW}) expects ${C} channels, got input ${nchw(a.shape)}`);
  }
  const w = win(wt.kernel, wt.stride, wt.padding, wt.dilation);
  const [OH, OW] = outSize(op, a, w);
  const codes = be().conv2dU8(a.codes, a.shape, a.q, wt.w, wt.scales, wt.bias, w, out, relu);
  return { codes, shape: [a.shape[0], OH, OW, OC], q: out };
}

/** The quantized residual addition (+ ReLU): a and b codes of one shape -> codes on `out`. */
export function addU8(a: QActivation, b: QActivation, out: ActQParams, relu = false): QActivation {
  if (a.shape.some((v, i) => v !== b.shape[i])) {
    throw new Error(`addU8: shapes ${nchw(a.shape)} and ${nchw(b.shape)} differ`);
  }
  return { codes: be().addU8(a.codes, a.q, b.codes, b.q, out, relu), shape: [...a.shape], q: out };
}

/** Max pooling of codes (B, H, W, C) -> (B, OH, OW, C), same grid (floor mode). */
export function maxPool2dU8(
  a: QActivation,
  kernel: [number, number],
  stride: [number, number] = kernel,
  padding: [number, number] = [0, 0],
  dilation: [number, number] = [1, 1],
): QActivation {
  const w = win(kernel, stride, padding, dilation);
  const [OH, OW] = outSize('maxPool2dU8', a, w);
  return { codes: be().pool2dU8(a.codes, a.shape, w, 'max'), shape: [a.shape[0], OH, OW, a.shape[3]], q: a.q };
}

/** Average pooling of codes (no padding; the mean rounded half up) -> (B, OH, OW, C), same grid. */
export function avgPool2dU8(a: QActivation, kernel: [number, number], stride: [number, number] = kernel): QActivation {
  const w = win(kernel, stride, [0, 0], [1, 1]);
  const [OH, OW] = outSize('avgPool2dU8', a, w);
  return { codes: be().pool2dU8(a.codes, a.shape, w, 'avg'), shape: [a.shape[0], OH, OW, a.shape[3]], q: a.q };
}
