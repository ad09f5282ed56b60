// Ops on the quantized and bf16 products of the backend seam (Kernels: linearInt8Dynamic, linearBf16,
// linearWeightOnly): inference only, like PyTorch's quantized modules, so they record no graph and
// refuse an input that needs a gradient. The weights are plain typed arrays owned by the quantized
// module that calls them (PyTorch's packed params are opaque too).
// Glossary: * leading dims, K inputs, N outputs.

import { isGradEnabled } from '../autograd/grad_mode.js';
import { fmtShape } from '../tensor/layout.js';
import { contiguousValues, type Tensor } from '../tensor/tensor.js';
import { quantizeU8 } from '../util/quant.js';
import { convOutSize } from '../util/window.js';
import { be, dataOf, wrap } from './util.js';

function rows(x: Tensor, K: number, op: string): Tensor {
  if (x.device !== 'cpu') {
    throw new Error(
      `${op}: the int8/int4/bf16 kernels run on the CPU only, and x of shape ${fmtShape(x.shape)} is on ` +
        `${x.device}: keep the float32 layer on ${x.device}, or run the quantized one on the CPU ` +
        '(await x.toAsync("cpu"))',
    );
  }
  if (x.dtype !== 'float32') throw new Error(`${op}: expected a float32 input, got ${x.dtype}`);
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== K) {
    throw new Error(`${op}: expected input (*, ${K}), got ${fmtShape(x.shape)}`);
  }
  if (x.requiresGrad && isGradEnabled()) {
    throw new Error(`${op}: quantized layers are for inference and have no gradient; call it under noGrad()`);
  }
  return x.reshape([-1, K]);
}

function biasValues(bias: Tensor | null, N: number, op: string): Float32Array | null {
  if (!bias) return null;
  if (bias.numel() !== N || bias.dtype !== 'float32') {
    throw new Error(`${op}: expected a float32 bias of ${N} values, got ${fmtShape(bias.shape)} ${bias.dtype}`);
  }
  return contiguousValues(bias) as Float32Array;
}

/**
 * Dynamic int8 linear (QNNPACK's scheme, Kernels.linearInt8Dynamic): x (*, K) float32 -> (*, N) float32,
 * w (N, K) int8 with per-row scales wScale (N).
 */
export function linearInt8Dynamic(
  x: Tensor,
  w: Int8Array,
  wScale: Float32Array,
  bias: Tensor | null,
  N: number,
  reduceRange = false,
): Tensor {
  const op = 'linearInt8Dynamic';
  const K = w.length / N,
    x2 = rows(x, K, op);
  const y = be(x2).linearInt8Dynamic(dataOf(x2, op), x2.layout, w, wScale, biasValues(bias, N, op), reduceRange);
  return wrap(y, [...x.shape.slice(0, -1), N], 'float32');
}

/** bf16 linear: x (*, K) rounded to bf16 @ w (N, K) bf16 bits ^T + bias, float32 sums -> (*, N). */
export function linearBf16(x: Tensor, w: Uint16Array, bias: Tensor | null, N: number): Tensor {
  const op = 'linearBf16';
  const K = w.length / N,
    x2 = rows(x, K, op);
  const y = be(x2).linearBf16(dataOf(x2, op), x2.layout, w, biasValues(bias, N, op));
  return wrap(y, [...x.shape.slice(0, -1), N], 'float32');
}

/**
 * Weight-only int8 (per row) / int4 (groups of groupSize) linear (Kernels.linearWeightOnly):
 * x (*, K) float32 -> (*, N). int4 multiplies x quantized to int8 per group (llama.cpp's Q4_0 x Q8_0).
 */
export function linearWeightOnly(
  x: Tensor,
  q: Int8Array | Uint8Array,
  scales: Float32Array,
  bits: 4 | 8,
  groupSize: number,
  N: number,
  K: number,
  bias: Tensor | null,
): Tensor {
  const op = 'linearWeightOnly';
  let x2 = rows(x, K, op);
  if (x2.ndim === 2 && x2.layout.strides[1] !== 1 && K > 1) x2 = x2.contiguous();
  const y = be(x2).linearWeightOnly(dataOf(x2, op), x2.layout, q, scales, bits, groupSize, N, biasValues(bias, N, op));
  return wrap(y, [...x.shape.slice(0, -1), N], 'float32');
}

/** An activation's static quantization: uint8 codes q stand for scale * (q - zeroPoint). */
export interface ActQParams {
  scale: number;
  zeroPoint: number;
}

/** float32 values -> uint8 codes (util/quant.ts quantizeU8, as torch.quantize_per_tensor to quint8). */
function quantizeInput(x: Tensor, p: ActQParams): Uint8Array {
  return quantizeU8(contiguousValues(x) as Float32Array, p);
}

/**
 * The GEMM's (M, N) result as float32: uint8 codes dequantized with `out`, or float32 sums (then ReLU'd
 * when `relu`); transposed per image to (B, N, P) when M = B * P rows are a convolution's pixels.
 */
function finish(
  y: Uint8Array | Float32Array,
  out: ActQParams | null,
  relu: boolean,
  B: number,
  P: number,
  N: number,
  nchw: boolean,
): Float32Array {
  const r = new Float32Array(y.length);
  const s = out ? out.scale : 1,
    z = out ? out.zeroPoint : 0,
    lo = relu && !out ? 0 : -Infinity;
  const val = (v: number) => Math.max(lo, s * (v - z));
  if (!nchw) {
    for (let i = 0; i < y.length; i++) r[i] = val(y[i]);
    return r;
  }
  for (let b = 0; b < B; b++)
    for (let q = 0; q < P; q++) {
      const src = (b * P + q) * N;
      for (let n = 0; n < N; n++) r[(b * N + n) * P + q] = val(y[src + n]);
    }
  return r;
}

function staticInput(x: Tensor, op: string): void {
  if (x.dtype !== 'float32') throw new Error(`${op}: expected a float32 input, got ${x.dtype}`);
  if (x.requiresGrad && isGradEnabled()) {
    throw new Error(`${op}: quantized layers are for inference and have no gradient; call it under noGrad()`);
  }
}

/**
 * Static int8 linear (torch.ao.nn.quantized.Linear): x (*, K) float32 on input's grid is quantized with
 * `input`, multiplied by w (N, K) int8 (per-row scales wScale, zero point 0) in u8 x s8 -> s32, the bias
 * added and the result requantized with `output` (Kernels.gemmU8S8) and returned dequantized (*, N); with
 * output null the float32 sums are returned (ReLU'd when `relu`; with `output`, its clamp at the zero point
 * of a range starting at 0 is the ReLU).
 */
export function linearInt8Static(
  x: Tensor,
  w: Int8Array,
  wScale: Float32Array,
  bias: Tensor | null,
  input: ActQParams,
  output: ActQParams | null,
  relu = false,
): Tensor {
  const op = 'linearInt8Static';
  const N = wScale.length,
    K = w.length / N;
  staticInput(x, op);
  const x2 = rows(x, K, op);
  const M = x2.shape[0];
  const yq = be().gemmU8S8(quantizeInput(x2, input), M, K, input, w, wScale, biasValues(bias, N, op), output);
  return wrap(finish(yq, output, relu, 1, M, N, false), [...x.shape.slice(0, -1), N], 'float32');
}

export interface Conv2dInt8Params {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

/**
 * Static int8 convolution (torch.ao.nn.quantized.Conv2d, groups 1): im2col of the uint8 input (padded with
 * its zero point, which stands for 0.0), then the u8 x s8 GEMM with the requantizing epilogue.
 * x (B, C, H, W) float32, w (OC, C*KH*KW) int8 with per-channel scales (OC) -> (B, OC, OH, OW), dequantized
 * (or float32 sums with output null, as linearInt8Static).
 */
export function conv2dInt8Static(
  x: Tensor,
  w: Int8Array,
  wScale: Float32Array,
  kernel: [number, number],
  bias: Tensor | null,
  p: Conv2dInt8Params,
  input: ActQParams,
  output: ActQParams | null,
  relu = false,
): Tensor {
  const op = 'conv2dInt8Static';
  staticInput(x, op);
  const OC = wScale.length,
    [KH, KW] = kernel;
  const K = w.length / OC,
    C = K / (KH * KW);
  if (x.ndim !== 4 || x.shape[1] !== C) {
    throw new Error(`${op}: expected input (B, ${C}, H, W), got ${fmtShape(x.shape)}`);
  }
  const [B, , H, W] = x.shape;
  const OH = convOutSize(H, KH, p.stride[0], p.padding[0], p.dilation[0]),
    OW = convOutSize(W, KW, p.stride[1], p.padding[1], p.dilation[1]);
  if (OH < 1 || OW < 1) throw new Error(`${op}: input ${fmtShape(x.shape)} is too small for a ${KH}x${KW} kernel`);
  const xq = quantizeInput(x, input);
  // cols (B*OH*OW, C*KH*KW), in the weight's (C, KH, KW) order
  const P = OH * OW;
  const cols = new Uint8Array(B * P * K).fill(input.zeroPoint);
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const row = ((b * OH + oh) * OW + ow) * K;
        for (let c = 0; c < C; c++) {
          const plane = (b * C + c) * H * W;
          for (let kh = 0; kh < KH; kh++) {
            const ih = oh * p.stride[0] - p.padding[0] + kh * p.dilation[0];
            if (ih < 0 || ih >= H) continue;
            const dst = row + (c * KH + kh) * KW;
            for (let kw = 0; kw < KW; kw++) {
              const iw = ow * p.stride[1] - p.padding[1] + kw * p.dilation[1];
              if (iw >= 0 && iw < W) cols[dst + kw] = xq[plane + ih * W + iw];
            }
          }
        }
      }
  const yq = be().gemmU8S8(cols, B * P, K, input, w, wScale, biasValues(bias, OC, op), output);
  return wrap(finish(yq, output, relu, B, P, OC, true), [B, OC, OH, OW], 'float32');
}
