// Inference fusion as modules that the fuse pass (nn/utils/fuse.ts) swaps into a model: Conv2d ->
// BatchNorm2d [-> + residual] [-> ReLU] as one convolution pass, Linear / Conv1D -> activation as one
// matmul. The model's own code never sees them: each fused module takes the attribute of the first
// module it replaces and holds the very same parameter and buffer tensors, so state_dict keys, loads
// and optimizers are unchanged.
//
// NOTE why BatchNorm folds at inference: in eval mode it is the per-channel affine y = x * scale +
// shift with scale = weight / sqrt(running_var + eps) and shift = bias - running_mean * scale, so the
// convolution kernel applies it, the residual and the ReLU as it stores each output (onnxruntime folds
// BatchNorm into the convolution for the same reason). Wherever that would not be exactly the
// modules' own forward — training, a gradient to record, a hook on the activation, mismatched shapes,
// a backend without the fused kernel — the fused module runs the modules' composition instead, and in
// training it keeps the one-pass BatchNorm-add-ReLU kernel (BatchNorm2d.forwardAct).
// Glossary: N batch, C input channels, OC output channels, H,W size.

import { isGradEnabled } from '../autograd/grad_mode.js';
import type { Conv2dParams } from '../ops/conv.js';
import { UnaryOp } from '../ops/unary.js';
import { conv2d } from '../ops/conv.js';
import { conv2dFused, linearFused } from '../ops/fused.js';
import { contiguousValues, type Tensor } from '../tensor/tensor.js';
import { BatchNorm2d } from './batch_norm.js';
import { Conv2d } from './conv.js';
import { Module, type Parameter } from './module.js';
import { GELU, ReLU, SiLU, Sigmoid, Tanh } from './activations.js';
import { Identity } from './linear.js';
import { inputError } from './util.js';

/**
 * Sets a plain field. NOTE: its name starts with '_' so that a Module value is not registered as a
 * child; enumerable so that deepCopyModule copies it (a folded BatchNorm maps to the copy's own).
 */
function setField(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * A BatchNorm2d whose normalisation runs inside the convolution before it (see ConvBn2d): it keeps
 * the BatchNorm's tensors under their names, so state_dict, loadStateDict and optimizers see it as
 * before, and its own forward is the identity.
 */
export class FoldedBatchNorm2d extends BatchNorm2d {
  constructor(bn: BatchNorm2d) {
    super(bn.numFeatures, {
      eps: bn.eps,
      momentum: bn.momentum,
      affine: bn.affine,
      trackRunningStats: bn.trackRunningStats,
      dtype: (bn.running_mean ?? bn.weight)?.dtype,
    });
    this.weight = bn.weight;
    this.bias = bn.bias;
    this.running_mean = bn.running_mean;
    this.running_var = bn.running_var;
    this.num_batches_tracked = bn.num_batches_tracked;
    this.training = bn.training;
  }
  // x (N, C, H, W) -> x: the convolution before it has applied the normalisation
  override forward(x: Tensor): Tensor {
    return x;
  }
  override registerForwardHook(_fn?: unknown): never {
    throw this.hookError();
  }
  override registerForwardPreHook(_fn?: unknown): never {
    throw this.hookError();
  }
  private hookError(): Error {
    return new Error(
      'FoldedBatchNorm2d: this BatchNorm runs inside the convolution before it (nn.utils.fuse); ' +
        'register the hook on that ConvBn2d, or before fusing',
    );
  }
}

interface Affine {
  deps: (Tensor | null)[];
  versions: number[];
  eps: number;
  scale: Float32Array | null;
  shift: Float32Array | null;
}

/**
 * act(bn(conv(x)) + residual), the fused replacement of a Conv2d (zero padding) followed by a
 * BatchNorm2d and optionally a ReLU. It holds the Conv2d's weight and bias under the same names; the
 * BatchNorm's state stays in the FoldedBatchNorm2d that takes the BatchNorm's place.
 * x (N, C, H, W), residual (N, OC, OH, OW) or null -> (N, OC, OH, OW)
 */
export class ConvBn2d extends Module {
  declare weight: Parameter;
  declare bias: Parameter | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly dilation: number[];
  readonly groups: number;
  declare private readonly _bn: FoldedBatchNorm2d | null;
  declare private readonly _act: ReLU | null;
  declare private _affine: Affine | null;

  /** conv with zero padding of numbers; bn (its folded stand-in) and act may be null. */
  constructor(conv: Conv2d, bn: FoldedBatchNorm2d | null, act: ReLU | null) {
    super();
    if (conv.paddingMode !== 'zeros' || typeof conv.padding === 'string') {
      throw new Error(
        'ConvBn2d: only zero padding given as numbers can be fused, ' +
          `got paddingMode '${conv.paddingMode}', padding ${JSON.stringify(conv.padding)}`,
      );
    }
    if (bn && bn.numFeatures !== conv.outChannels) {
      throw new Error(
        `ConvBn2d: BatchNorm2d(${bn.numFeatures}) cannot follow a convolution with ${conv.outChannels} ` +
          'output channels',
      );
    }
    this.inChannels = conv.inChannels;
    this.outChannels = conv.outChannels;
    this.kernelSize = conv.kernelSize;
    this.stride = conv.stride;
    this.padding = conv.padding;
    this.dilation = conv.dilation;
    this.groups = conv.groups;
    this.weight = conv.weight;
    this.registerParameter('bias', conv.bias);
    this.training = conv.training;
    setField(this, '_bn', bn);
    setField(this, '_act', act);
    setField(this, '_affine', null);
  }

  override forward(x: Tensor, residual: Tensor | null = null): Tensor {
    const bn = this._bn,
      act = this._act;
    const actHooked = act?.hasForwardHooks() ?? false;
    const evalStats =
      bn === null ||
      (!bn.training &&
        bn.running_mean !== null &&
        bn.running_var !== null &&
        bn.running_mean.dtype === 'float32' &&
        bn.running_var.dtype === 'float32');
    const grads = isGradEnabled() && [this.weight, this.bias, bn?.weight, bn?.bias].some((t) => t?.requiresGrad);
    if (evalStats && !actHooked && !grads && x.ndim === 4 && x.shape[1] === this.inChannels) {
      const p: Conv2dParams = {
        strideH: this.stride[0],
        strideW: this.stride[1],
        padH: this.padding[0],
        padW: this.padding[1],
        dilationH: this.dilation[0],
        dilationW: this.dilation[1],
        groups: this.groups,
      };
      const [scale, shift] = this.foldedAffine();
      // NOTE: reuseWeights: an eval-mode module's weights come again unchanged, so the backend may keep
      // them transformed (Winograd) between calls; the storage stamp tells it when they change.
      const y = conv2dFused(x, this.weight, p, scale, shift, residual, act !== null, true);
      if (y) return y;
    }
    // the modules' own composition; in training BatchNorm adds the residual and applies the ReLU in its
    // own fused kernel when it can (one pass each way instead of three)
    if (x.ndim !== 3 && (x.ndim !== 4 || x.shape[x.ndim - 3] !== this.inChannels)) {
      throw inputError(this, `(N, ${this.inChannels}, H, W) or (${this.inChannels}, H, W)`, x);
    }
    const h = conv2d(
      x,
      this.weight,
      this.bias,
      this.stride as [number, number],
      this.padding as [number, number],
      this.dilation as [number, number],
      this.groups,
    );
    if (bn && !actHooked && (!residual || residual.shape.join() === h.shape.join())) {
      return bn.forwardAct(h, residual, act !== null);
    }
    let y = bn ? bn.forwardAct(h, null, false) : h;
    if (residual) y = y.add(residual);
    return act ? (act.call(y) as Tensor) : y;
  }

  /**
   * The eval-mode affine (scale, shift) per output channel, float32 (OC), of the BatchNorm after the
   * conv's bias (scale null without a BatchNorm). Kept while the same tensors hold the same versions
   * and none of their arrays has been handed out (then writes could not be seen): recomputing it for
   * each of ResNet-18's 20 convolutions was ~2% of an inference at batch 1.
   */
  private foldedAffine(): [Float32Array | null, Float32Array | null] {
    const bn = this._bn;
    const deps = [bn?.running_mean ?? null, bn?.running_var ?? null, bn?.weight ?? null, bn?.bias ?? null, this.bias];
    const kept = this._affine,
      eps = bn ? bn.eps : 0;
    if (
      kept &&
      kept.eps === eps &&
      deps.every(
        (t, i) => t === kept.deps[i] && (t === null || (!t.storage.exposed && t.storage.version === kept.versions[i])),
      )
    ) {
      return [kept.scale, kept.shift];
    }
    const OC = this.outChannels;
    const cb = this.bias && contiguousValues(this.bias);
    let scale: Float32Array | null = null,
      shift: Float32Array | null = cb ? Float32Array.from(cb) : null;
    if (bn) {
      const mean = contiguousValues(bn.running_mean!),
        v = contiguousValues(bn.running_var!);
      const w = bn.weight && contiguousValues(bn.weight),
        b = bn.bias && contiguousValues(bn.bias);
      scale = new Float32Array(OC);
      shift = new Float32Array(OC);
      for (let c = 0; c < OC; c++) {
        const s = (w ? w[c] : 1) / Math.sqrt(v[c] + bn.eps);
        scale[c] = s;
        shift[c] = (b ? b[c] : 0) + ((cb ? cb[c] : 0) - mean[c]) * s;
      }
    }
    this._affine = { deps, versions: deps.map((t) => (t ? t.storage.version : 0)), eps, scale, shift };
    return [scale, shift];
  }

  override extraRepr(): string {
    const py = (b: boolean) => (b ? 'True' : 'False');
    return (
      `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize.join(', ')}), ` +
      `stride=(${this.stride.join(', ')}), padding=(${this.padding.join(', ')})${this.bias ? '' : ', bias=False'}, ` +
      `batch_norm=${py(this._bn !== null)}, relu=${py(this._act !== null)}`
    );
  }
}

/** Whether conv -> bn (-> act) can become a ConvBn2d: the exact classes, zero padding, no hooks. */
export function canFuseConvBn(conv: unknown, bn: unknown, act: unknown = null): conv is Conv2d {
  // NOTE: exact classes: a subclass may have changed forward
  const okConv =
    conv instanceof Conv2d &&
    conv.constructor === Conv2d &&
    !conv.hasForwardHooks() &&
    conv.paddingMode === 'zeros' &&
    typeof conv.padding !== 'string';
  const okBn =
    bn === null ||
    (bn instanceof BatchNorm2d &&
      bn.constructor === BatchNorm2d &&
      !bn.hasForwardHooks() &&
      okConv &&
      bn.numFeatures === conv.outChannels);
  return (
    okConv && okBn && (act === null || (act instanceof ReLU && act.constructor === ReLU && !act.hasForwardHooks()))
  );
}

/**
 * Swaps parent[convName] -> parent[bnName] (-> parent[actName]) for a ConvBn2d, the BatchNorm's folded
 * stand-in and an Identity; returns the ConvBn2d, or null (nothing changed) when they cannot fuse.
 */
export function fuseConvBnAct(
  parent: Module,
  convName: string,
  bnName: string,
  actName: string | null = null,
): ConvBn2d | null {
  const conv = parent._modules.get(convName),
    bn = parent._modules.get(bnName);
  const act = actName === null ? null : parent._modules.get(actName);
  if (act === undefined || !canFuseConvBn(conv, bn ?? undefined, act)) return null;
  const folded = new FoldedBatchNorm2d(bn as BatchNorm2d);
  const fusedConv = new ConvBn2d(conv, folded, act as ReLU | null);
  parent.registerModule(convName, fusedConv);
  parent.registerModule(bnName, folded);
  if (actName !== null) parent.registerModule(actName, new Identity());
  return fusedConv;
}

/** The activation module as an op code the fused matmul kernel applies, or null. */
export function activationOp(m: Module): UnaryOp | null {
  if (m instanceof ReLU) return UnaryOp.RELU;
  if (m instanceof GELU) return m.approximate === 'tanh' ? UnaryOp.GELU_TANH : UnaryOp.GELU;
  if (m instanceof SiLU) return UnaryOp.SILU;
  if (m instanceof Tanh) return UnaryOp.TANH;
  if (m instanceof Sigmoid) return UnaryOp.SIGMOID;
  return null;
}

/** A module with a Linear's weight and bias (Linear, GPT-2's Conv1D), as LinearAct wraps it. */
export type LinearLike = Module & { weight: Parameter; bias: Parameter | null };

/**
 * act(linear(x)), the fused replacement of a linear layer followed by an activation module. It holds
 * the layer's weight and bias under the same names; weightLayout says how the layer stores its weight:
 * 'out_in' as nn.Linear, 'in_out' as Hugging Face's Conv1D. Runs the layer and the activation
 * themselves wherever the fused kernel does not apply (gradients, a hooked activation, no kernel).
 * x (*, in) -> (*, out)
 */
export class LinearAct extends Module {
  declare weight: Parameter;
  declare bias: Parameter | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
  declare private readonly _layer: LinearLike;
  declare private readonly _act: Module;
  declare private readonly _op: UnaryOp;

  constructor(
    layer: LinearLike,
    act: Module,
    readonly weightLayout: 'out_in' | 'in_out',
  ) {
    super();
    const op = activationOp(act);
    if (op === null) {
      throw new Error(`LinearAct: ${act.constructor.name} has no fused kernel (ReLU, GELU, SiLU, Tanh, Sigmoid)`);
    }
    if (layer.weight.ndim !== 2) {
      throw new Error(`LinearAct: expected a 2-D weight, got [${layer.weight.shape.join(', ')}]`);
    }
    const [a, b] = layer.weight.shape;
    [this.inFeatures, this.outFeatures] = weightLayout === 'out_in' ? [b, a] : [a, b];
    this.weight = layer.weight;
    this.registerParameter('bias', layer.bias);
    this.training = layer.training;
    setField(this, '_layer', layer);
    setField(this, '_act', act);
    setField(this, '_op', op);
  }

  override forward(x: Tensor): Tensor {
    if (!this._act.hasForwardHooks() && x.ndim >= 1 && x.shape[x.ndim - 1] === this.inFeatures) {
      const w = this.weightLayout === 'out_in' ? this.weight.t() : this.weight; // (in, out)
      const y = linearFused(x.reshape([-1, this.inFeatures]), w, this.bias, this._op);
      if (y) return y.view([...x.shape.slice(0, -1), this.outFeatures]);
    }
    // NOTE: the layer's own forward, on the tensors this module holds now (they may have been replaced)
    const layer = this._layer;
    if (layer.weight !== this.weight) layer.weight = this.weight;
    if (layer.bias !== this.bias) layer.bias = this.bias;
    return this._act.call(layer.forward(x)) as Tensor;
  }

  override extraRepr(): string {
    return (
      `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'}, ` +
      `activation=${this._act.constructor.name}`
    );
  }
}

/** Whether layer -> act can become a LinearAct: no hooks, a 2-D weight, an activation with a kernel op. */
export function canFuseLinearAct(layer: unknown, act: unknown): layer is LinearLike {
  return (
    layer instanceof Module &&
    !(layer instanceof LinearAct) &&
    !layer.hasForwardHooks() &&
    act instanceof Module &&
    !act.hasForwardHooks() &&
    activationOp(act) !== null &&
    (layer as unknown as Partial<LinearLike>).weight?.ndim === 2
  );
}

/** Swaps parent[layerName] -> parent[actName] for a LinearAct and an Identity; the LinearAct, or null. */
export function fuseLinearAct(
  parent: Module,
  layerName: string,
  actName: string,
  weightLayout: 'out_in' | 'in_out',
): LinearAct | null {
  const layer = parent._modules.get(layerName),
    act = parent._modules.get(actName);
  if (!canFuseLinearAct(layer, act)) return null;
  const fusedLayer = new LinearAct(layer, act as Module, weightLayout);
  parent.registerModule(layerName, fusedLayer);
  parent.registerModule(actName, new Identity());
  return fusedLayer;
}
