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
import { loadTorch } from '../../io/tensors.js';
import { cachedCheckpoint } from '../../hub/torch_hub.js';

const conv3x3 = (cin: number, cout: number, stride = 1, groups = 1) =>
  new Conv2d(cin, cout, 3, { stride, padding: 1, groups, bias: false });
const conv1x1 = (cin: number, cout: number, stride = 1) => new Conv2d(cin, cout, 1, { stride, bias: false });

/** A residual block module: BasicBlock or Bottleneck. */
export interface Block extends Module {
  forward(x: Tensor): Tensor;
}
/** A residual block class (BasicBlock or Bottleneck), as the ResNet constructor takes it. */
export interface BlockClass {
  expansion: number;
  new (
    inplanes: number,
    planes: number,
    stride: number,
    downsample: Module | null,
    groups: number,
    baseWidth: number,
  ): Block;
}

export class BasicBlock extends Module {
  static expansion = 1;
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare relu: ReLU;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  declare downsample: Module | null;
  constructor(
    inplanes: number,
    planes: number,
    stride = 1,
    downsample: Module | null = null,
    groups = 1,
    baseWidth = 64,
  ) {
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
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  declare conv3: Conv2d;
  declare bn3: BatchNorm2d;
  declare relu: ReLU;
  declare downsample: Module | null;
  constructor(
    inplanes: number,
    planes: number,
    stride = 1,
    downsample: Module | null = null,
    groups = 1,
    baseWidth = 64,
  ) {
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
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare relu: ReLU;
  declare maxpool: MaxPool2d;
  declare layer1: Sequential;
  declare layer2: Sequential;
  declare layer3: Sequential;
  declare layer4: Sequential;
  declare avgpool: AdaptiveAvgPool2d;
  declare fc: Linear;
  private inplanes = 64;

  constructor(block: BlockClass, layers: [number, number, number, number], opts: ResNetOptions = {}) {
    super();
    const groups = opts.groups ?? 1,
      baseWidth = opts.widthPerGroup ?? 64;
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
        else if (m instanceof BatchNorm2d) {
          m.weight!.fill_(1);
          m.bias!.fill_(0);
        }
      }
      if (opts.zeroInitResidual) {
        for (const m of this.modules()) {
          if (m instanceof Bottleneck) m.bn3.weight!.fill_(0);
          else if (m instanceof BasicBlock) m.bn2.weight!.fill_(0);
        }
      }
    });
  }

  private makeLayer(
    block: BlockClass,
    planes: number,
    blocks: number,
    stride: number,
    groups: number,
    baseWidth: number,
  ): Sequential {
    let downsample: Module | null = null;
    if (stride !== 1 || this.inplanes !== planes * block.expansion) {
      downsample = new Sequential(
        conv1x1(this.inplanes, planes * block.expansion, stride),
        new BatchNorm2d(planes * block.expansion),
      );
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
      throw new Error(
        `ResNet: input ${x.shape[2]}x${x.shape[3]} is too small: ImageNet ResNets downsample by 32 (use at least ` +
          `32x32, usually 224x224)`,
      );
    }
    let h = this.maxpool.call(this.relu.call(this.bn1.call(this.conv1.call(x))));
    h = this.layer4.call(this.layer3.call(this.layer2.call(this.layer1.call(h)))) as Tensor;
    return this.fc.call((this.avgpool.call(h) as Tensor).flatten(1));
  }
}

/** torchvision's weight sets of the ImageNet ResNets ('DEFAULT' is the best one, as in torchvision). */
export type ResNetWeights = 'IMAGENET1K_V1' | 'IMAGENET1K_V2' | 'DEFAULT';

const WEIGHTS_BASE = 'https://download.pytorch.org/models';
/** torchvision's checkpoint files; the hex in each name starts the file's sha256 (torch.hub check_hash). */
export const RESNET_WEIGHT_FILES: Record<string, Partial<Record<'IMAGENET1K_V1' | 'IMAGENET1K_V2', string>>> = {
  resnet18: { IMAGENET1K_V1: 'resnet18-f37072fd.pth' },
  resnet34: { IMAGENET1K_V1: 'resnet34-b627a593.pth' },
  resnet50: { IMAGENET1K_V1: 'resnet50-0676ba61.pth', IMAGENET1K_V2: 'resnet50-11ad3fa6.pth' },
  resnet101: { IMAGENET1K_V1: 'resnet101-63fe2227.pth', IMAGENET1K_V2: 'resnet101-cd907fc2.pth' },
  resnet152: { IMAGENET1K_V1: 'resnet152-394f9c45.pth', IMAGENET1K_V2: 'resnet152-f82ba261.pth' },
};

export interface PretrainedResNetOptions extends ResNetOptions {
  /** torchvision weights, downloaded into $TORCH_HOME/hub/checkpoints as torch.hub does. */
  weights: ResNetWeights;
  /** A progress line on stderr (default: when stderr is a terminal). */
  progress?: boolean;
}

/** resnetNN(opts) builds a fresh network; resnetNN({weights}) resolves to one with torchvision's weights. */
export interface ResNetFactory {
  (opts?: ResNetOptions & { weights?: null }): ResNet;
  (opts: PretrainedResNetOptions): Promise<ResNet>;
}

/** The torch.hub cache path of torchvision's weights for `name`, downloaded when absent. */
export async function resnetWeightsPath(name: string, weights: ResNetWeights, progress?: boolean): Promise<string> {
  const files = RESNET_WEIGHT_FILES[name];
  if (!files) {
    const known = Object.keys(RESNET_WEIGHT_FILES).join(', ');
    throw new Error(`torchvision weights: no architecture '${name}' (known: ${known})`);
  }
  const which = weights === 'DEFAULT' ? (files.IMAGENET1K_V2 ? 'IMAGENET1K_V2' : 'IMAGENET1K_V1') : weights;
  const file = files[which];
  if (!file) {
    const known = [...Object.keys(files), 'DEFAULT'].join(', ');
    throw new Error(`${name}: no weights '${String(weights)}' (known: ${known})`);
  }
  return cachedCheckpoint(`${WEIGHTS_BASE}/${file}`, { progress });
}

async function pretrained(name: string, make: () => ResNet, o: PretrainedResNetOptions): Promise<ResNet> {
  if (o.numClasses !== undefined && o.numClasses !== 1000) {
    throw new Error(`${name}: weights ${o.weights} have 1000 classes, but numClasses is ${o.numClasses}`);
  }
  const path = await resnetWeightsPath(name, o.weights, o.progress);
  const sd = (await loadTorch(path)) as Record<string, Tensor>;
  const model = make();
  const r = model.loadStateDict(sd, { strict: false });
  // NOTE: older torchvision checkpoints predate BatchNorm's num_batches_tracked; nothing else may be missing.
  const missing = r.missingKeys.filter((k) => !k.endsWith('num_batches_tracked'));
  if (missing.length || r.unexpectedKeys.length) {
    throw new Error(
      `${name}: ${path} does not fit: missing ${missing.slice(0, 5).join(', ') || 'none'}, ` +
        `unexpected ${r.unexpectedKeys.slice(0, 5).join(', ') || 'none'}`,
    );
  }
  return model.eval() as ResNet;
}

function factory(name: string, block: BlockClass, layers: [number, number, number, number]): ResNetFactory {
  return ((opts: ResNetOptions & { weights?: ResNetWeights | null; progress?: boolean } = {}) => {
    const { weights, progress: _p, ...rest } = opts;
    const make = () => new ResNet(block, layers, rest);
    return weights ? pretrained(name, make, { ...rest, weights, progress: opts.progress }) : make();
  }) as ResNetFactory;
}

export const resnet18 = factory('resnet18', BasicBlock, [2, 2, 2, 2]);
export const resnet34 = factory('resnet34', BasicBlock, [3, 4, 6, 3]);
export const resnet50 = factory('resnet50', Bottleneck, [3, 4, 6, 3]);
export const resnet101 = factory('resnet101', Bottleneck, [3, 4, 23, 3]);
export const resnet152 = factory('resnet152', Bottleneck, [3, 8, 36, 3]);
