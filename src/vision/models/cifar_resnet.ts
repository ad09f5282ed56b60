// CIFAR-10 ResNets (He et al. 2015, section 4.2): resnet20/32/44/56/110 with option-A shortcuts
// (subsample by 2 and zero-pad channels), in the layout of akamaster/pytorch_resnet_cifar10, whose
// pretrained ResNet-20 is ../shared/data/cifar10-resnet20.safetensors.
// Glossary: N batch, C channels (16, 32, 64), H,W size (32 -> 16 -> 8).

import type { Tensor } from '../../tensor/tensor.js';
import { noGrad } from '../../autograd/grad_mode.js';
import { Module } from '../../nn/module.js';
import { Conv2d } from '../../nn/conv.js';
import { BatchNorm2d } from '../../nn/batch_norm.js';
import { Linear } from '../../nn/linear.js';
import { Sequential } from '../../nn/containers.js';
import { kaimingNormal_ } from '../../nn/init.js';
import { pad } from '../../ops/indexing.js';

export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

export class CifarBasicBlock extends Module {
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  private readonly shortcutPad: number;
  constructor(inPlanes: number, planes: number, stride: number) {
    super();
    this.conv1 = new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = new Conv2d(planes, planes, 3, { stride: 1, padding: 1, bias: false });
    this.bn2 = new BatchNorm2d(planes);
    this.shortcutPad = stride !== 1 || inPlanes !== planes ? planes / 4 : -1;
  }
  // x (N, inPlanes, H, W) -> (N, planes, H/stride, W/stride)
  forward(x: Tensor): Tensor {
    let out = this.bn1.call(this.conv1.call(x)).relu();
    out = this.bn2.call(this.conv2.call(out));
    // option A: x[:, :, ::2, ::2] with planes/4 zero channels on each side
    const sc =
      this.shortcutPad < 0
        ? x
        : pad(x.slice(2, 0, null, 2).slice(3, 0, null, 2), [0, 0, 0, 0, this.shortcutPad, this.shortcutPad]);
    return out.add(sc).relu();
  }
}

export class CifarResNet extends Module {
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare layer1: Sequential;
  declare layer2: Sequential;
  declare layer3: Sequential;
  declare linear: Linear;

  constructor(blocksPerStage: number, numClasses = 10) {
    super();
    this.conv1 = new Conv2d(3, 16, 3, { stride: 1, padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(16);
    const stage = (cin: number, cout: number, stride: number) =>
      new Sequential(
        ...Array.from(
          { length: blocksPerStage },
          (_, i) => new CifarBasicBlock(i === 0 ? cin : cout, cout, i === 0 ? stride : 1),
        ),
      );
    this.layer1 = stage(16, 16, 1);
    this.layer2 = stage(16, 32, 2);
    this.layer3 = stage(32, 64, 2);
    this.linear = new Linear(64, numClasses);
    noGrad(() => {
      for (const m of this.modules()) if (m instanceof Conv2d || m instanceof Linear) kaimingNormal_(m.weight);
    });
  }

  // x (N, 3, 32, 32) normalised -> logits (N, numClasses)
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 3)
      throw new Error(`CifarResNet: expected input (N, 3, H, W), got [${x.shape.join(', ')}]`);
    let h = this.bn1.call(this.conv1.call(x)).relu();
    h = this.layer3.call(this.layer2.call(this.layer1.call(h))) as Tensor;
    return this.linear.call(h.mean([2, 3]));
  }
}

export const cifarResnet20 = (numClasses = 10) => new CifarResNet(3, numClasses);
export const cifarResnet32 = (numClasses = 10) => new CifarResNet(5, numClasses);
export const cifarResnet44 = (numClasses = 10) => new CifarResNet(7, numClasses);
export const cifarResnet56 = (numClasses = 10) => new CifarResNet(9, numClasses);
export const cifarResnet110 = (numClasses = 10) => new CifarResNet(18, numClasses);
