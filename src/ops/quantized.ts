// Ops on the quantized and bf16 products of the backend seam (Kernels: linearInt8Dynamic, linearBf16,
// linearWeightOnly): inference only, like PyTorch's quantized modules, so they record no graph and
// refuse an input that needs a gradient. The weights are plain typed arrays owned by the quantized
// module that calls them (PyTorch's packed params are opaque too).
// Glossary: * leading dims, K inputs, N outputs.

import { isGradEnabled } from '../autograd/grad_mode.js';
import { fmtShape } from '../tensor/layout.js';
import { contiguousValues, type Tensor } from '../tensor/tensor.js';
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
 * x (*, K) float32 -> (*, N).
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
