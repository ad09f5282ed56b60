// Conv2d -> BatchNorm2d [-> + residual] [-> ReLU] as one convolution pass for inference, and as a
// convolution plus one fused BatchNorm-add-ReLU pass in training: the building block of ResNets. In eval mode BatchNorm is the per-channel affine y = x * scale + shift with
// scale = weight / sqrt(running_var + eps) and shift = bias - running_mean * scale, so the
// convolution kernel applies it, the residual and the ReLU as it stores each output (onnxruntime
// folds BatchNorm into the convolution for the same reason). Anywhere it would not be exactly the
// modules' own forward — training, a gradient to record, forward hooks, non-zero padding modes,
// mismatched shapes, a backend without the fused kernel — it runs the modules themselves.

import { isGradEnabled } from '../autograd/grad_mode.js';
import type { Conv2dParams } from '../ops/conv.js';
import { conv2dFused } from '../ops/fused.js';
import { contiguousValues, type Tensor } from '../tensor/tensor.js';
import { BatchNorm2d } from './batch_norm.js';
import { Conv2d } from './conv.js';
import type { Module } from './module.js';
import { ReLU } from './activations.js';
import { Sequential } from './containers.js';

export interface ConvBatchNormOptions {
  /** Added after the BatchNorm (a residual connection), of the output's shape. */
  residual?: Tensor | null;
  /** Applied last; its forward hooks, if any, are honoured by running it unfused. */
  activation?: Module | null;
}

interface Affine { deps: (Tensor | null)[]; versions: number[]; eps: number; scale: Float32Array; shift: Float32Array }
const affines = new WeakMap<BatchNorm2d, Affine>();

/**
 * The eval-mode affine of bn (after conv's bias), per output channel, as float32 (C). Kept per module
 * while the same tensors hold the same versions and none of their arrays has been handed out (then
 * writes could not be seen): recomputing it for each of ResNet-18's 20 convolutions was ~2% of an
 * inference at batch 1.
 */
function bnAffine(conv: Conv2d, bn: BatchNorm2d): [Float32Array, Float32Array] {
  const deps = [bn.running_mean, bn.running_var, bn.weight, bn.bias, conv.bias];
  const kept = affines.get(bn);
  if (kept && kept.eps === bn.eps &&
    deps.every((t, i) => t === kept.deps[i] && (t === null || (!t.storage.exposed && t.storage.version === kept.versions[i])))) {
    return [kept.scale, kept.shift];
  }
  const [scale, shift] = computeAffine(conv, bn);
  affines.set(bn, { deps, versions: deps.map((t) => (t ? t.storage.version : 0)), eps: bn.eps, scale, shift });
  return [scale, shift];
}

function computeAffine(conv: Conv2d, bn: BatchNorm2d): [Float32Array, Float32Array] {
  const C = bn.numFeatures;
  const mean = contiguousValues(bn.running_mean!), v = contiguousValues(bn.running_var!);
  const w = bn.weight && contiguousValues(bn.weight), b = bn.bias && contiguousValues(bn.bias), cb = conv.bias && contiguousValues(conv.bias);
  const scale = new Float32Array(C), shift = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const s = (w ? w[c] : 1) / Math.sqrt(v[c] + bn.eps);
    scale[c] = s;
    shift[c] = (b ? b[c] : 0) + ((cb ? cb[c] : 0) - mean[c]) * s;
  }
  return [scale, shift];
}

/**
 * activation(bn(conv(x)) + residual): x (N, C, H, W) -> (N, OC, OH, OW). One fused convolution pass
 * in eval mode without gradients; otherwise conv.call, bn.call, add and activation.call.
 */
export function convBatchNorm(conv: Conv2d, bn: BatchNorm2d, x: Tensor, opts: ConvBatchNormOptions = {}): Tensor {
  const { residual = null, activation = null } = opts;
  const relu = activation instanceof ReLU && !activation.hasForwardHooks();
  const fusable = !bn.training && bn.running_mean !== null && bn.running_var !== null && bn.numFeatures === conv.outChannels &&
    !conv.hasForwardHooks() && !bn.hasForwardHooks() && conv.paddingMode === 'zeros' && typeof conv.padding !== 'string' &&
    x.ndim === 4 && x.shape[1] === conv.inChannels && (activation === null || relu) &&
    !(isGradEnabled() && (conv.weight.requiresGrad || (conv.bias?.requiresGrad ?? false) || (bn.weight?.requiresGrad ?? false) || (bn.bias?.requiresGrad ?? false)));
  if (fusable && bn.running_mean!.dtype === 'float32' && bn.running_var!.dtype === 'float32') {
    const p: Conv2dParams = {
      strideH: conv.stride[0], strideW: conv.stride[1], padH: conv.padding[0] as number, padW: conv.padding[1] as number,
      dilationH: conv.dilation[0], dilationW: conv.dilation[1], groups: conv.groups,
    };
    const [scale, shift] = bnAffine(conv, bn);
    // an eval-mode module: its weights come again unchanged, so the backend may keep them transformed
    const y = conv2dFused(x, conv.weight, p, scale, shift, residual, relu, true);
    if (y) return y;
  }
  // training, or a gradient to record: the BatchNorm adds the residual and applies the ReLU in its
  // own fused kernel when it can (one pass each way instead of three), else the modules in turn
  const h = conv.call(x) as Tensor;
  if (!bn.hasForwardHooks() && (activation === null || relu) && (!residual || residual.shape.join() === h.shape.join())) {
    return bn.forwardAct(h, residual, relu);
  }
  let y = bn.call(h) as Tensor;
  if (residual) y = y.add(residual);
  return activation ? (activation.call(y) as Tensor) : y;
}

/**
 * A downsample branch: Sequential(Conv2d, BatchNorm2d) through convBatchNorm (fused in eval mode), any
 * other module through its own call.
 */
export function convBatchNormBranch(m: Module, x: Tensor): Tensor {
  if (m instanceof Sequential && m.length === 2 && !m.hasForwardHooks()) {
    const conv = m.at(0), bn = m.at(1);
    if (conv instanceof Conv2d && bn instanceof BatchNorm2d) return convBatchNorm(conv, bn, x);
  }
  return m.call(x) as Tensor;
}
