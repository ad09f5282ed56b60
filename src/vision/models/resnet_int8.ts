// Static int8 ResNets on uint8 NHWC activations: quantizeResNet(model, calibration) folds every BatchNorm
// into its convolution, calibrates the activation grids on sample inputs (float32 forward with min/max
// observers, as torch.ao.quantization's prepare + calibrate), and returns a QuantizedResNet whose forward
// stays in the integer kernels from the input's quantization to the logits: int8 convolutions with the
// ReLU fused and the output requantized (Kernels.conv2dU8), max pooling on codes, quantized residual
// additions (+ ReLU), global average pooling on codes, and an int8 fc with float32 logits (gemmU8S8).
// Weights are per-channel symmetric int8 (zero point 0), activations per-tensor affine uint8, as
// PyTorch's fbgemm/qnnpack default static configuration.
// Glossary: B batch, C channels, H,W size; an activation's grid (scale, zeroPoint) maps codes to values.

import { noGrad } from '../../autograd/grad_mode.js';
import { BatchNorm2d } from '../../nn/batch_norm.js';
import { Conv2d } from '../../nn/conv.js';
import type { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { MaxPool2d } from '../../nn/pooling.js';
import { Sequential } from '../../nn/containers.js';
import { foldBatchNorm, quantizeChannels, type ObserverFactory } from '../../nn/quantized/static.js';
import { MinMaxObserver, type Observer } from '../../nn/quantized/observer.js';
import { maxPool2d } from '../../ops/conv.js';
import type { ActQParams } from '../../ops/quantized.js';
import {
  addU8,
  avgPool2dU8,
  conv2dU8,
  maxPool2dU8,
  quantizeNhwc,
  type QActivation,
  type QConvWeights,
} from '../../ops/quantized_nhwc.js';
import { be, wrap } from '../../ops/util.js';
import { contiguousValues, Tensor } from '../../tensor/tensor.js';
import { BasicBlock, Bottleneck, type ResNet } from './resnet.js';

const pair = (v: number | readonly number[]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** One convolution with its BatchNorm folded in (and a fused ReLU): float for calibration, then int8. */
class QConv {
  readonly observer: Observer;
  weights: QConvWeights | null = null;
  out: ActQParams | null = null;
  constructor(
    readonly float: Conv2d,
    readonly relu: boolean,
    observer: ObserverFactory,
    readonly name: string,
  ) {
    if (float.groups !== 1 || float.paddingMode !== 'zeros' || typeof float.padding === 'string') {
      throw new Error(`quantizeResNet: ${name} (groups ${float.groups}, padding ${float.padding}) has no int8 version`);
    }
    this.observer = observer();
  }
  // x (B, C, H, W) float32 -> (B, OC, OH, OW), observed
  calibrate(x: Tensor): Tensor {
    let y = this.float.call(x) as Tensor;
    if (this.relu) y = y.relu();
    return this.observer.call(y);
  }
  convert(): void {
    // (OC, C, KH, KW) -> (OC, KH, KW, C): the im2col order of NHWC codes (scales are per OC either way)
    const { q: w, scales } = quantizeChannels(this.float.weight.permute([0, 2, 3, 1]));
    const bias = this.float.bias ? (contiguousValues(this.float.bias.detach().float()) as Float32Array).slice() : null;
    this.weights = {
      w,
      scales,
      bias,
      kernel: pair(this.float.kernelSize),
      stride: pair(this.float.stride),
      padding: pair(this.float.padding as number | [number, number]),
      dilation: pair(this.float.dilation),
    };
    this.out = this.observer.calculateQparams();
  }
  run(a: QActivation): QActivation {
    return conv2dU8(a, this.weights!, this.out!, this.relu);
  }
}

/** A residual block: its convolutions (ReLU after all but the last), the downsample, the sum's grid. */
interface QBlock {
  convs: QConv[];
  down: QConv | null;
  observer: Observer;
  out: ActQParams | null;
}

function convBn(conv: unknown, bn: unknown, relu: boolean, observer: ObserverFactory, name: string): QConv {
  if (!(conv instanceof Conv2d) || !(bn instanceof BatchNorm2d)) {
    throw new Error(
      `quantizeResNet: ${name} is not a Conv2d followed by a BatchNorm2d; pass the unfused float model ` +
        '(before nn.utils.fuse)',
    );
  }
  return new QConv(foldBatchNorm(conv, bn), relu, observer, name);
}

/**
 * A ResNet whose forward runs in int8 on uint8 NHWC codes (made by quantizeResNet): x (B, 3, H, W)
 * float32 -> logits (B, numClasses) float32. Inference only.
 */
export class QuantizedResNet extends Module {
  private input: ActQParams | null = null;
  private readonly inputObserver: Observer;
  private readonly stem: QConv;
  private readonly pool: { kernel: [number, number]; stride: [number, number]; padding: [number, number] };
  private readonly blocks: QBlock[] = [];
  private readonly fc: Linear;
  private fcq: { q: Int8Array; scales: Float32Array; bias: Float32Array | null } | null = null;
  private calibrated = 0;

  constructor(model: ResNet, observer: ObserverFactory = () => new MinMaxObserver()) {
    super();
    this.inputObserver = observer();
    this.stem = convBn(model.conv1, model.bn1, true, observer, 'conv1');
    const mp = model.maxpool;
    if (!(mp instanceof MaxPool2d) || mp.ceilMode) throw new Error('quantizeResNet: expected a floor-mode MaxPool2d');
    if (pair(mp.dilation).some((d) => d !== 1)) throw new Error('quantizeResNet: the max pool must have dilation 1');
    this.pool = { kernel: pair(mp.kernelSize), stride: pair(mp.stride ?? mp.kernelSize), padding: pair(mp.padding) };
    for (const [li, layer] of [model.layer1, model.layer2, model.layer3, model.layer4].entries()) {
      for (const [bi, block] of [...layer.children()].entries()) {
        const at = `layer${li + 1}.${bi}`;
        const convs =
          block instanceof BasicBlock
            ? [
                convBn(block.conv1, block.bn1, true, observer, `${at}.conv1`),
                convBn(block.conv2, block.bn2, false, observer, `${at}.conv2`),
              ]
            : block instanceof Bottleneck
              ? [
                  convBn(block.conv1, block.bn1, true, observer, `${at}.conv1`),
                  convBn(block.conv2, block.bn2, true, observer, `${at}.conv2`),
                  convBn(block.conv3, block.bn3, false, observer, `${at}.conv3`),
                ]
              : null;
        if (!convs)
          throw new Error(`quantizeResNet: ${at} is a ${block.constructor.name}, not a BasicBlock or Bottleneck`);
        let down: QConv | null = null;
        const ds = (block as BasicBlock | Bottleneck).downsample;
        if (ds) {
          if (!(ds instanceof Sequential)) throw new Error(`quantizeResNet: ${at}.downsample is not a Sequential`);
          const [c, b] = [...ds.children()];
          down = convBn(c, b, false, observer, `${at}.downsample`);
        }
        this.blocks.push({ convs, down, observer: observer(), out: null });
      }
    }
    this.fc = model.fc;
  }

  /** Runs the float32 model (BatchNorms folded) on x (B, 3, H, W) and records every activation's range. */
  calibrate(x: Tensor): void {
    noGrad(() => {
      this.inputObserver.call(x);
      let h = this.stem.calibrate(x);
      h = maxPool2d(h, this.pool.kernel, this.pool.stride, this.pool.padding, [1, 1], false);
      for (const b of this.blocks) {
        let t = h;
        for (const c of b.convs) t = c.calibrate(t);
        const id = b.down ? b.down.calibrate(h) : h;
        h = b.observer.call(t.add(id).relu());
      }
    });
    this.calibrated++;
  }

  /** Fixes every grid from the calibration and quantizes the weights; forward then runs in int8. */
  convert(): this {
    if (!this.calibrated) throw new Error('QuantizedResNet: calibrate on sample inputs before convert()');
    this.input = this.inputObserver.calculateQparams();
    this.stem.convert();
    for (const b of this.blocks) {
      for (const c of b.convs) c.convert();
      b.down?.convert();
      b.out = b.observer.calculateQparams();
    }
    const { q, scales } = quantizeChannels(this.fc.weight);
    const bias = this.fc.bias ? (contiguousValues(this.fc.bias.detach().float()) as Float32Array).slice() : null;
    this.fcq = { q, scales, bias };
    return this.eval();
  }

  // x (B, 3, H, W) float32 -> logits (B, numClasses) float32
  forward(x: Tensor): Tensor {
    if (!this.input || !this.fcq) throw new Error('QuantizedResNet: convert() it first');
    if (x.ndim !== 4 || x.shape[1] !== 3)
      throw new Error(`QuantizedResNet: expected input (B, 3, H, W), got [${x.shape}]`);
    let a = this.stem.run(quantizeNhwc(x, this.input));
    a = maxPool2dU8(a, this.pool.kernel, this.pool.stride, this.pool.padding);
    for (const b of this.blocks) {
      let t = a;
      for (const c of b.convs) t = c.run(t);
      a = addU8(t, b.down ? b.down.run(a) : a, b.out!, true);
    }
    const [B, H, W, C] = a.shape;
    const g = avgPool2dU8(a, [H, W]);
    const N = this.fcq.scales.length;
    const y = be().gemmU8S8(g.codes, B, C, g.q, this.fcq.q, this.fcq.scales, this.fcq.bias, null);
    return wrap(y, [B, N], 'float32');
  }
}

/**
 * Static int8 post-training quantization of a torchvision ResNet (eval mode, BatchNorms unfused):
 * calibrates on `calibration` (a batch (B, 3, H, W) or batches) and returns a QuantizedResNet.
 * @example
 * const q = nb.vision.models.quantizeResNet(nb.vision.models.resnet18().eval(), [nb.randn([4, 3, 224, 224])]);
 * const logits = nb.noGrad(() => q.call(x));
 */
export function quantizeResNet(
  model: ResNet,
  calibration: Tensor | Iterable<Tensor>,
  opts: { observer?: ObserverFactory } = {},
): QuantizedResNet {
  const q = new QuantizedResNet(model, opts.observer);
  for (const x of calibration instanceof Tensor ? [calibration] : calibration) q.calibrate(x);
  return q.convert();
}
