// torchvision's ResNets (He et al. 2015): resnet18/34 (BasicBlock) and resnet50/101/152
// (Bottleneck, v1.5: stride on the 3x3 conv). Architecture, initialisation and state_dict names
// match torchvision 0.14, so `loadStateDict(await nb.load('resnet18.pth'))` works on its files.
// The forwards are torchvision's; nn.utils.fuse(model) folds each BatchNorm, residual and ReLU into
// the convolution before it for inference (resnet_fuse.ts holds the block patterns).
// Glossary: N batch, C channels, H,W size; planes = block width before expansion.

import type { Tensor } from '../../tensor/tensor.js';
import { noGrad } from '../../autograd/grad_mode.js';
import { Module } from '../../nn/module.js';
import { Conv2d } from '../../nn/conv.js';
import { BatchNorm2d } from '../../nn/batch_norm.js';
import { ReLU } from '../../nn/activations.js';
import { MaxPool2d, AdaptiveAvgPool2d } from '../../nn/pooling.js';
import { Linear } from '../../nn/linear.js';
import { Sequential } from '../../nn/containers.js';
import { kaimingNormal_ } from '../../nn/init.js';

const conv3x3 = (cin: number, cout: number, stride = 1, groups = 1) =>
  new Conv2d(cin, cout, 3, { stride, padding: 1, groups, bias: false });
const conv1x1 = (cin: number, cout: number, stride = 1) => new Conv2d(cin, cout, 1, { stride, bias: false });

interface Block extends Module { forward(x: Tensor): Tensor }
interface BlockClass {
  expansion: number;
  new (inplanes: number, planes: number, stride: number, downsample: Module | null, groups: number, baseWidth: number): Block;
}

export class BasicBlock extends Module {
  static expansion = 1;
  declare conv1: Conv2d; declare bn1: BatchNorm2d; declare relu: ReLU;
  declare conv2: Conv2d; declare bn2: BatchNorm2d; declare downsample: Module | null;
  constructor(inplanes: number, planes: number, stride = 1, downsample: Module | null = null, groups = 1, baseWidth = 64) {
    super();
    if (groups !== 1 || baseWidth !== 64) throw new Error('BasicBlock only supports groups=1 and baseWidth=64');
    this.conv1 = conv3x3(inplanes, planes, stride);
    this.bn1 = new BatchNorm2d(planes);
    this.relu = new ReLU();
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = new BatchNorm2d(planes);
    this.registerModule('downsample', downsample);
  }
  // x (N, inplanes, H, W) -> (N, planes, H/stride, W/stride)
  forward(x: Tensor): Tensor {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.bn2.call(this.conv2.call(out));
    const identity = this.downsample ? (this.downsample.call(x) as Tensor) : x;
    return this.relu.call(out.add(identity));
  }
}

export class Bottleneck extends Module {
  static expansion = 4;
  declare conv1: Conv2d; declare bn1: BatchNorm2d; declare conv2: Conv2d; declare bn2: BatchNorm2d;
  declare conv3: Conv2d; declare bn3: BatchNorm2d; declare relu: ReLU; declare downsample: Module | null;
  constructor(inplanes: number, planes: number, stride = 1, downsample: Module | null = null, groups = 1, baseWidth = 64) {
    super();
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    this.conv1 = conv1x1(inplanes, width);
    this.bn1 = new BatchNorm2d(width);
    this.conv2 = conv3x3(width, width, stride, groups);
    this.bn2 = new BatchNorm2d(width);
    this.conv3 = conv1x1(width, planes * Bottleneck.expansion);
    this.bn3 = new BatchNorm2d(planes * Bottleneck.expansion);
    this.relu = new ReLU();
    this.registerModule('downsample', downsample);
  }
  // x (N, inplanes, H, W) -> (N, 4*planes, H/stride, W/stride)
  forward(x: Tensor): Tensor {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.relu.call(this.bn2.call(this.conv2.call(out)));
    out = this.bn3.call(this.conv3.call(out));
    const identity = this.downsample ? (this.downsample.call(x) as Tensor) : x;
    return this.relu.call(out.add(identity));
  }
}

export interface ResNetOptions {
  numClasses?: number;
  /** Zero-init the last BN of each residual branch, so each block starts as an identity. */
  zeroInitResidual?: boolean;
  groups?: number;
  widthPerGroup?: number;
}

export class ResNet extends Module {
  declare conv1: Conv2d; declare bn1: BatchNorm2d; declare relu: ReLU; declare maxpool: MaxPool2d;
  declare layer1: Sequential; declare layer2: Sequential; declare layer3: Sequential; declare layer4: Sequential;
  declare avgpool: AdaptiveAvgPool2d; declare fc: Linear;
  private inplanes = 64;

  constructor(block: BlockClass, layers: [number, number, number, number], opts: ResNetOptions = {}) {
    super();
    const groups = opts.groups ?? 1, baseWidth = opts.widthPerGroup ?? 64;
    this.conv1 = new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new BatchNorm2d(64);
    this.relu = new ReLU();
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    this.layer1 = this.makeLayer(block, 64, layers[0], 1, groups, baseWidth);
    this.layer2 = this.makeLayer(block, 128, layers[1], 2, groups, baseWidth);
    this.layer3 = this.makeLayer(block, 256, layers[2], 2, groups, baseWidth);
    this.layer4 = this.makeLayer(block, 512, layers[3], 2, groups, baseWidth);
    this.avgpool = new AdaptiveAvgPool2d([1, 1]);
    this.fc = new Linear(512 * block.expansion, opts.numClasses ?? 1000);
    noGrad(() => {
      for (const m of this.modules()) {
        if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
        else if (m instanceof BatchNorm2d) { m.weight!.fill_(1); m.bias!.fill_(0); }
      }
      if (opts.zeroInitResidual) {
        for (const m of this.modules()) {
          if (m instanceof Bottleneck) m.bn3.weight!.fill_(0);
          else if (m instanceof BasicBlock) m.bn2.weight!.fill_(0);
        }
      }
    });
  }

  private makeLayer(block: BlockClass, planes: number, blocks: number, stride: number, groups: number, baseWidth: number): Sequential {
    let downsample: Module | null = null;
    if (stride !== 1 || this.inplanes !== planes * block.expansion) {
      downsample = new Sequential(conv1x1(this.inplanes, planes * block.expansion, stride), new BatchNorm2d(planes * block.expansion));
    }
    const layers: Module[] = [new block(this.inplanes, planes, stride, downsample, groups, baseWidth)];
    this.inplanes = planes * block.expansion;
    for (let i = 1; i < blocks; i++) layers.push(new block(this.inplanes, planes, 1, null, groups, baseWidth));
    return new Sequential(...layers);
  }

  // x (N, 3, H, W) -> logits (N, numClasses)
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 3) {
      throw new Error(`ResNet: expected input (N, 3, H, W), got [${x.shape.join(', ')}]`);
    }
    if (x.shape[2] < 32 || x.shape[3] < 32) {
      throw new Error(`ResNet: input ${x.shape[2]}x${x.shape[3]} is too small: ImageNet ResNets downsample by 32 (use at least 32x32, usually 224x224)`);
    }
    let h = this.maxpool.call(this.relu.call(this.bn1.call(this.conv1.call(x))));
    h = this.layer4.call(this.layer3.call(this.layer2.call(this.layer1.call(h)))) as Tensor;
    return this.fc.call((this.avgpool.call(h) as Tensor).flatten(1));
  }
}

export const resnet18 = (opts: ResNetOptions = {}) => new ResNet(BasicBlock, [2, 2, 2, 2], opts);
export const resnet34 = (opts: ResNetOptions = {}) => new ResNet(BasicBlock, [3, 4, 6, 3], opts);
export const resnet50 = (opts: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 4, 6, 3], opts);
export const resnet101 = (opts: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 4, 23, 3], opts);
export const resnet152 = (opts: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 8, 36, 3], opts);
