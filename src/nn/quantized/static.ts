// Static post-training int8 quantization, the eager flow of torch.ao.quantization without QuantStubs or
// FX: prepare(model) folds each Conv2d's BatchNorm into it, fuses a ReLU that follows a Conv2d or Linear
// in a Sequential, and wraps every Conv2d and Linear with observers of its input and output; running
// the prepared model on calibration data records activation ranges; convert() swaps each wrapped layer
// for its int8 version: per-channel symmetric int8 weights, uint8 activations with the calibrated
// (scale, zero point), u8 x s8 products with int32 sums and a requantizing epilogue (the QNNPACK kernels
// of quantizeDynamic). Where only ReLU, max pooling, Flatten or Dropout lie between two quantized layers
// of a Sequential, the second reads the first's output codes unchanged (its input parameters are the
// first's output ones, as torch passes quint8 tensors along); elsewhere (sigmoid, residual additions,
// means) the activation is dequantized to float32 and the next layer quantizes it with its own observer.
// Glossary: OC output channels, K = C*KH*KW inputs of a convolution's im2col rows, N outputs of a Linear.

import type { ModuleClass } from '../utils/fuse.js';
import { noGrad } from '../../autograd/grad_mode.js';
import { conv2dInt8Static, linearInt8Static, type ActQParams } from '../../ops/quantized.js';
import { fromTypedArray } from '../../tensor/creation.js';
import { contiguousValues, Tensor } from '../../tensor/tensor.js';
import { quantizeSymmetricInt8 } from '../../util/quant.js';
import { ReLU } from '../activations.js';
import { BatchNorm2d } from '../batch_norm.js';
import { Sequential } from '../containers.js';
import { Conv2d } from '../conv.js';
import { Dropout } from '../dropout.js';
import { Identity, Linear } from '../linear.js';
import { Module, Parameter, deepCopyModule } from '../module.js';
import { MaxPool2d } from '../pooling.js';
import { Flatten } from '../shape.js';
import { MinMaxObserver, type Observer } from './observer.js';

/** Makes the observer of one activation (MinMaxObserver, HistogramObserver, ...). */
export type ObserverFactory = () => Observer;

// ---- per-channel symmetric int8 weights (torch's per_channel_symmetric qint8) ----

/** w (OC, K) -> codes (OC, K) and scales (OC): scale[oc] = max|w[oc]| / 127.5, zero point 0. */
export function quantizeChannels(w: Tensor): { q: Int8Array; scales: Float32Array } {
  const OC = w.shape[0],
    v = contiguousValues(w.detach().float()) as Float32Array;
  const K = v.length / OC;
  const q = new Int8Array(v.length),
    scales = new Float32Array(OC);
  for (let c = 0; c < OC; c++) {
    const r = quantizeSymmetricInt8(v.subarray(c * K, (c + 1) * K));
    q.set(r.q, c * K);
    scales[c] = r.scale;
  }
  return { q, scales };
}

// ---- the quantized modules ----

/** An int8 layer's weights (per output channel) and its activations' uint8 parameters. */
abstract class QuantizedLayer extends Module {
  /**
   * Whether the output is rounded to its uint8 grid (the codes a following quantized layer reads); convert
   * turns it off where the output goes on in float32 (into an addition, a sigmoid, a mean, the logits), so
   * that it is not rounded twice.
   */
  requantize: boolean;
  readonly q: Int8Array;
  readonly scales: Float32Array;
  bias: Tensor | null;
  constructor(
    float: Conv2d | Linear,
    public input: ActQParams,
    readonly output: ActQParams,
    readonly relu: boolean,
  ) {
    super();
    this.requantize = true;
    ({ q: this.q, scales: this.scales } = quantizeChannels(float.weight));
    this.bias = float.bias ? noGrad(() => float.bias!.detach().float().contiguous()) : null;
  }
  /**
   * Bias correction (Nagel et al. 2019, "Data-Free Quantization", section 4.2; torch.ao.quantization's
   * _correct_bias does it empirically): rounding the weights shifts each output's expectation by
   * (Wq - W)[oc] . E[x]; subtracting that from the bias removes the shift. weight (OC, C, ...) the float
   * weight these codes came from, inputMean (C) the calibration inputs' mean per channel.
   */
  correctBias(weight: Tensor, inputMean: ArrayLike<number>): void {
    const OC = this.scales.length,
      K = this.q.length / OC,
      per = K / inputMean.length;
    const w = contiguousValues(weight.detach().float());
    const b = this.bias ? contiguousValues(this.bias).slice() : new Float32Array(OC);
    for (let c = 0; c < OC; c++) {
      let shift = 0;
      for (let k = 0; k < K; k++) {
        shift += (this.q[c * K + k] * this.scales[c] - w[c * K + k]) * inputMean[Math.floor(k / per)];
      }
      b[c] -= shift;
    }
    this.bias = fromTypedArray(b as Float32Array, [OC]);
  }
  protected qRepr(): string {
    return `scale=${this.output.scale}, zero_point=${this.output.zeroPoint}, qscheme=torch.per_channel_symmetric${
      this.relu ? ', relu' : ''
    }`;
  }
}

/** torch.ao.nn.quantized.Linear (or LinearReLU): int8 weights per output, static uint8 activations. */
export class QuantizedLinear extends QuantizedLayer {
  constructor(float: Linear, input: ActQParams, output: ActQParams, relu = false) {
    super(float, input, output, relu);
  }
  // x (*, in) -> (*, out), on the output's uint8 grid
  forward(x: Tensor): Tensor {
    return linearInt8Static(
      x,
      this.q,
      this.scales,
      this.bias,
      this.input,
      this.requantize ? this.output : null,
      this.relu,
    );
  }
  override extraRepr(): string {
    const n = this.scales.length;
    return `in_features=${this.q.length / n}, out_features=${n}, ${this.qRepr()}`;
  }
}

/** torch.ao.nn.quantized.Conv2d (or ConvReLU2d) with a folded BatchNorm: groups 1, zero padding. */
export class QuantizedConv2d extends QuantizedLayer {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  constructor(float: Conv2d, input: ActQParams, output: ActQParams, relu = false) {
    super(float, input, output, relu);
    this.kernelSize = float.kernelSize as [number, number];
    this.stride = float.stride as [number, number];
    this.padding = float.padding as [number, number];
    this.dilation = float.dilation as [number, number];
  }
  // x (B, C, H, W) -> (B, OC, OH, OW), on the output's uint8 grid
  forward(x: Tensor): Tensor {
    const p = { stride: this.stride, padding: this.padding, dilation: this.dilation };
    const out = this.requantize ? this.output : null;
    return conv2dInt8Static(x, this.q, this.scales, this.kernelSize, this.bias, p, this.input, out, this.relu);
  }
  override extraRepr(): string {
    return (
      `out_channels=${this.scales.length}, kernel_size=(${this.kernelSize}), stride=(${this.stride}), ` +
      `padding=(${this.padding}), ${this.qRepr()}`
    );
  }
}

// ---- prepare / convert ----

/** A float Conv2d or Linear (BatchNorm folded in, ReLU fused) between observers of its input and output. */
export class ObservedLayer extends Module {
  declare layer: Conv2d | Linear;
  declare inputObserver: Observer;
  declare activationPostProcess: Observer;
  /** With bias correction: the sum over calibration inputs of each input channel's mean (C), and their count. */
  inputMeanSum: Float64Array | null = null;
  inputBatches = 0;
  constructor(
    layer: Conv2d | Linear,
    readonly relu: boolean,
    observer: ObserverFactory,
    readonly biasCorrection = false,
  ) {
    super();
    this.layer = layer;
    this.inputObserver = observer();
    this.activationPostProcess = observer();
  }
  // x -> layer(x) (then ReLU), both observed
  forward(x: Tensor): Tensor {
    this.inputObserver.call(x);
    if (this.biasCorrection) this.recordMean(x);
    let y = this.layer.call(x) as Tensor;
    if (this.relu) y = y.relu();
    return this.activationPostProcess.call(y);
  }
  // x (B, C, H, W) for a Conv2d, (*, C) for a Linear: adds its per-channel mean (C) to inputMeanSum
  private recordMean(x: Tensor): void {
    const conv = this.layer instanceof Conv2d;
    const mean = noGrad(() => (conv ? x.mean([0, 2, 3]) : x.reshape([-1, x.shape[x.ndim - 1]]).mean(0)));
    const v = contiguousValues(mean.float());
    this.inputMeanSum ??= new Float64Array(v.length);
    for (let c = 0; c < v.length; c++) this.inputMeanSum[c] += v[c];
    this.inputBatches++;
  }
  /** The calibration inputs' mean per channel (C), or null when bias correction is off or nothing ran. */
  inputMean(): Float64Array | null {
    const sum = this.inputMeanSum;
    return sum ? sum.map((v) => v / this.inputBatches) : null;
  }
}

/** conv with bn folded in (eval statistics): w * g / sqrt(var + eps), (b - mean) * g / sqrt(var + eps) + beta. */
export function foldBatchNorm(conv: Conv2d, bn: BatchNorm2d): Conv2d {
  const OC = conv.outChannels;
  const mean = contiguousValues(bn.runningMean!.float()),
    varr = contiguousValues(bn.runningVar!.float());
  const g = bn.weight ? contiguousValues(bn.weight.detach().float()) : null,
    beta = bn.bias ? contiguousValues(bn.bias.detach().float()) : null;
  const scale = new Float32Array(OC),
    shift = new Float32Array(OC);
  for (let c = 0; c < OC; c++) {
    scale[c] = (g ? g[c] : 1) / Math.sqrt(varr[c] + bn.eps);
    shift[c] = (beta ? beta[c] : 0) - mean[c] * scale[c];
  }
  const out = deepCopyModule(conv);
  const w = contiguousValues(conv.weight.detach().float()).slice() as Float32Array;
  const K = w.length / OC;
  for (let c = 0; c < OC; c++) for (let k = 0; k < K; k++) w[c * K + k] *= scale[c];
  const b = conv.bias ? contiguousValues(conv.bias.detach().float()) : new Float32Array(OC);
  const fb = new Float32Array(OC);
  for (let c = 0; c < OC; c++) fb[c] = b[c] * scale[c] + shift[c];
  out.registerParameter('weight', new Parameter(fromTypedArray(w, [...conv.weight.shape])));
  out.registerParameter('bias', new Parameter(fromTypedArray(fb, [OC])));
  return out;
}

const STATIC: ModuleClass[] = [Conv2d, Linear];

export interface PrepareOptions {
  /** The observer of every activation (default MinMaxObserver). */
  observer?: ObserverFactory;
  /** The module types to quantize (default Conv2d and Linear, the ones with a static version). */
  modules?: ModuleClass[];
  /** A type in `modules` without a static quantized version, or a Conv2d it cannot take (groups, padding
   * mode), is an error naming it; true keeps such modules float. */
  keepUnsupported?: boolean;
  /**
   * Record each quantized layer's mean input per channel during calibration, and let convert correct its
   * bias for the shift that rounding the weights causes (Nagel et al. 2019; default false, as torch's
   * prepare/convert, which leave it to torch.ao.quantization._correct_bias).
   */
  biasCorrection?: boolean;
  /** Prepare `model` itself instead of a copy (default false). */
  inplace?: boolean;
}

/** Why a module cannot be statically quantized, or null. */
function unsupported(m: Module): string | null {
  if (m instanceof Conv2d) {
    if (m.groups !== 1) return `Conv2d with groups=${m.groups}`;
    if (m.paddingMode !== 'zeros') return `Conv2d with paddingMode '${m.paddingMode}'`;
    if (typeof m.padding === 'string') return `Conv2d with padding '${m.padding}'`;
  }
  return null;
}

/**
 * Folds BatchNorms into convolutions, fuses ReLUs and attaches observers (torch.ao.quantization.fuse_modules
 * + prepare). Run the result on calibration data (noGrad, any batches), then convert() it.
 * @example
 * const p = nb.quantization.prepare(model.eval());
 * nb.noGrad(() => { for (const x of calib) p.call(x); });
 * const q = nb.quantization.convert(p);
 */
export function prepare<M extends Module>(model: M, opts: PrepareOptions = {}): M {
  const observer = opts.observer ?? (() => new MinMaxObserver());
  const wanted = opts.modules ?? STATIC;
  const bad = wanted.filter((c) => !STATIC.includes(c));
  if (bad.length && !opts.keepUnsupported) {
    throw new Error(
      `quantization.prepare: ${bad.map((c) => c.name).join(', ')} ${bad.length > 1 ? 'have' : 'has'} no static ` +
        `quantized version (supported: Conv2d, Linear); pass keepUnsupported: true to keep ` +
        `${bad.length > 1 ? 'them' : 'it'} in float`,
    );
  }
  const root = (opts.inplace ? model : deepCopyModule(model)).eval() as M;
  if (root instanceof Conv2d || root instanceof Linear) {
    throw new Error('quantization.prepare: the model itself is a Conv2d/Linear; wrap it in a Sequential');
  }
  const visit = (parent: Module): void => {
    const names = [...parent._modules.keys()];
    for (let i = 0; i < names.length; i++) {
      const child = parent._modules.get(names[i]);
      if (!child) continue;
      const cls = child.constructor as ModuleClass;
      const isLayer = (cls === Conv2d || cls === Linear) && wanted.includes(cls);
      if (!isLayer) {
        visit(child);
        continue;
      }
      const why = unsupported(child);
      if (why) {
        if (opts.keepUnsupported) continue;
        throw new Error(
          `quantization.prepare: ${names[i]} (${why}) has no static quantized version; pass keepUnsupported: true ` +
            `to keep it in float`,
        );
      }
      const layerName = names[i];
      let layer = child as Conv2d | Linear;
      // NOTE: a BatchNorm registered right after its convolution reads that convolution's output (the
      // layouts of Sequential, torchvision's and the CIFAR ResNets' blocks), so it folds into it.
      const next = parent._modules.get(names[i + 1]);
      if (layer instanceof Conv2d && next instanceof BatchNorm2d && next.numFeatures === layer.outChannels) {
        layer = foldBatchNorm(layer, next);
        parent.registerModule(names[i + 1], new Identity());
        i++;
      }
      // a ReLU module that follows in a Sequential is fused (ConvReLU2d, LinearReLU)
      const after = parent._modules.get(names[i + 1]);
      const relu = parent instanceof Sequential && after instanceof ReLU;
      if (relu) parent.registerModule(names[i + 1], new Identity());
      parent.registerModule(layerName, new ObservedLayer(layer, relu, observer, opts.biasCorrection));
      if (relu) i++;
    }
  };
  visit(root);
  return root;
}

/** Modules that keep a uint8 grid as it is: a quantized layer after them can read the codes unchanged. */
function keepsGrid(m: Module | null | undefined): boolean {
  return (
    m instanceof Identity || m instanceof MaxPool2d || m instanceof Flatten || m instanceof Dropout || m instanceof ReLU
  );
}

/**
 * Swaps every observed layer of a prepared, calibrated model for its int8 version
 * (torch.ao.quantization.convert). Inference only.
 */
export function convert<M extends Module>(prepared: M, opts: { inplace?: boolean } = {}): M {
  const root = opts.inplace ? prepared : deepCopyModule(prepared);
  const all: QuantizedLayer[] = [],
    readers = new Set<QuantizedLayer>();
  const visit = (parent: Module): void => {
    let prev: QuantizedLayer | null = null;
    for (const [name, child] of [...parent._modules]) {
      if (child instanceof ObservedLayer) {
        const input = child.inputObserver.calculateQparams(),
          output = child.activationPostProcess.calculateQparams();
        const q =
          child.layer instanceof Conv2d
            ? new QuantizedConv2d(child.layer, input, output, child.relu)
            : new QuantizedLinear(child.layer, input, output, child.relu);
        const mean = child.inputMean();
        if (mean) q.correctBias(child.layer.weight, mean);
        // NOTE: in a Sequential, the codes pass from layer to layer through grid-keeping modules
        if (prev && parent instanceof Sequential) {
          q.input = prev.output;
          readers.add(prev);
        }
        parent.registerModule(name, q);
        all.push(q);
        prev = q;
      } else {
        if (child && !keepsGrid(child)) {
          prev = null;
          visit(child);
        }
      }
    }
  };
  visit(root);
  for (const q of all) q.requantize = readers.has(q);
  return root.eval() as M;
}

export interface QuantizeStaticOptions extends PrepareOptions {}

/**
 * prepare, calibrate on `calibration` (a batch or batches of inputs), convert: static post-training
 * int8 quantization of a convolutional network or an MLP.
 * @example const q = nb.quantization.quantizeStatic(net.eval(), [x.narrow(0, 0, 500)]);
 */
export function quantizeStatic<M extends Module>(
  model: M,
  calibration: Tensor | Iterable<Tensor>,
  opts: QuantizeStaticOptions = {},
): M {
  const p = prepare(model, opts);
  const batches = calibration instanceof Tensor ? [calibration] : calibration;
  let n = 0;
  noGrad(() => {
    for (const x of batches) {
      (p as Module).call(x);
      n++;
    }
  });
  if (n === 0) throw new Error('quantizeStatic: no calibration batches');
  return convert(p, { inplace: true });
}
