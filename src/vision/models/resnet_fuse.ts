// ResNet's entries in the fusion pass's table (nn.utils.fuse): the stem's conv1 -> bn1 -> relu, and
// BasicBlock / Bottleneck as blocks whose last convolution adds the shortcut and applies the ReLU as
// it stores each output. The fused blocks keep every child under its name, so state_dict keys stay.
// Glossary: N batch, C channels, H,W size; planes = block width before expansion.

import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../../nn/module.js';
import type { ReLU } from '../../nn/activations.js';
import { ConvBn2d, FoldedBatchNorm2d, canFuseConvBn, fuseConvBnAct } from '../../nn/fusion.js';
import { BasicBlock, Bottleneck, ResNet } from './resnet.js';
import { CifarBasicBlock, CifarResNet } from './cifar_resnet.js';
import { registerFusionRule, type ModuleClass } from '../../nn/utils/fuse.js';

/** BasicBlock fused: conv1+bn1+relu, then conv2+bn2 + shortcut + relu, each one convolution pass. */
export class FusedBasicBlock extends Module {
  declare conv1: ConvBn2d;
  declare bn1: FoldedBatchNorm2d;
  declare relu: ReLU;
  declare conv2: ConvBn2d;
  declare bn2: FoldedBatchNorm2d;
  declare downsample: Module | null;
  constructor(b: BasicBlock) {
    super();
    const bn1 = new FoldedBatchNorm2d(b.bn1),
      bn2 = new FoldedBatchNorm2d(b.bn2);
    this.conv1 = new ConvBn2d(b.conv1, bn1, b.relu);
    this.bn1 = bn1;
    this.relu = b.relu;
    this.conv2 = new ConvBn2d(b.conv2, bn2, b.relu);
    this.bn2 = bn2;
    this.registerModule('downsample', b.downsample);
    this.training = b.training;
  }
  // x (N, inplanes, H, W) -> (N, planes, H/stride, W/stride)
  forward(x: Tensor): Tensor {
    const out = this.conv1.call(x);
    const identity = this.downsample ? (this.downsample.call(x) as Tensor) : x;
    return this.conv2.call(out, identity);
  }
}

/** Bottleneck fused: conv1+bn1+relu, conv2+bn2+relu, then conv3+bn3 + shortcut + relu. */
export class FusedBottleneck extends Module {
  declare conv1: ConvBn2d;
  declare bn1: FoldedBatchNorm2d;
  declare conv2: ConvBn2d;
  declare bn2: FoldedBatchNorm2d;
  declare conv3: ConvBn2d;
  declare bn3: FoldedBatchNorm2d;
  declare relu: ReLU;
  declare downsample: Module | null;
  constructor(b: Bottleneck) {
    super();
    const bn1 = new FoldedBatchNorm2d(b.bn1),
      bn2 = new FoldedBatchNorm2d(b.bn2),
      bn3 = new FoldedBatchNorm2d(b.bn3);
    this.conv1 = new ConvBn2d(b.conv1, bn1, b.relu);
    this.bn1 = bn1;
    this.conv2 = new ConvBn2d(b.conv2, bn2, b.relu);
    this.bn2 = bn2;
    this.conv3 = new ConvBn2d(b.conv3, bn3, b.relu);
    this.bn3 = bn3;
    this.relu = b.relu;
    this.registerModule('downsample', b.downsample);
    this.training = b.training;
  }
  // x (N, inplanes, H, W) -> (N, 4*planes, H/stride, W/stride)
  forward(x: Tensor): Tensor {
    const out = this.conv2.call(this.conv1.call(x));
    const identity = this.downsample ? (this.downsample.call(x) as Tensor) : x;
    return this.conv3.call(out, identity);
  }
}

function fuseBasicBlock(m: Module): Module | null {
  const b = m as BasicBlock;
  if (b.hasForwardHooks() || !canFuseConvBn(b.conv1, b.bn1, b.relu) || !canFuseConvBn(b.conv2, b.bn2, b.relu)) {
    return null;
  }
  return new FusedBasicBlock(b);
}

function fuseBottleneck(m: Module): Module | null {
  const b = m as Bottleneck;
  if (
    b.hasForwardHooks() ||
    !canFuseConvBn(b.conv1, b.bn1, b.relu) ||
    !canFuseConvBn(b.conv2, b.bn2, b.relu) ||
    !canFuseConvBn(b.conv3, b.bn3, b.relu)
  )
    return null;
  return new FusedBottleneck(b);
}

/** The class -> rule entries for nn.utils.fuse. */
export const RESNET_FUSION_RULES: [ModuleClass, (m: Module) => Module | null][] = [
  [
    ResNet,
    (m) => {
      fuseConvBnAct(m, 'conv1', 'bn1', 'relu');
      return null;
    },
  ],
  [BasicBlock, fuseBasicBlock],
  [Bottleneck, fuseBottleneck],
  // the CIFAR nets apply their ReLUs as tensor ops, so only each BatchNorm folds into its convolution
  [
    CifarResNet,
    (m) => {
      fuseConvBnAct(m, 'conv1', 'bn1');
      return null;
    },
  ],
  [
    CifarBasicBlock,
    (m) => {
      fuseConvBnAct(m, 'conv1', 'bn1');
      fuseConvBnAct(m, 'conv2', 'bn2');
      return null;
    },
  ],
];

for (const [cls, rule] of RESNET_FUSION_RULES) registerFusionRule(cls, rule);
