// Image classification with a pretrained network: build the architecture, load torchvision or timm
// weights (.pth or .safetensors), preprocess as torchvision's ImageNet recipe, report the top k.

import { existsSync } from '../platform/node.js';
import { noGrad } from '../autograd/grad_mode.js';
import { load } from '../io/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { stack } from '../ops/movement.js';
import type { Module } from '../nn/module.js';
import { fuse } from '../nn/utils/fuse.js';
import { readImage } from './image.js';
import { CenterCrop, Compose, Normalize, Resize, ToTensor } from './transforms.js';
import { IMAGENET_CLASSES } from './imagenet_classes.js';
import * as M from './models/index.js';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

const ARCHS: Record<string, (numClasses: number) => Module> = {
  resnet18: (n) => M.resnet18({ numClasses: n }),
  resnet34: (n) => M.resnet34({ numClasses: n }),
  resnet50: (n) => M.resnet50({ numClasses: n }),
  resnet101: (n) => M.resnet101({ numClasses: n }),
  resnet152: (n) => M.resnet152({ numClasses: n }),
  'cifar-resnet20': (n) => M.cifarResnet20(n),
  'cifar-resnet32': (n) => M.cifarResnet32(n),
  'cifar-resnet56': (n) => M.cifarResnet56(n),
};

export const ARCH_NAMES = Object.keys(ARCHS);

/** Maps timm / DataParallel / Lightning names onto torchvision's (module., model., head.fc -> fc). */
export function toTorchvisionNames(sd: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k0, v] of Object.entries(sd)) {
    let k = k0;
    for (const p of ['module.', 'model.', 'backbone.']) if (k.startsWith(p)) k = k.slice(p.length);
    if (k.startsWith('head.fc.')) k = 'fc.' + k.slice('head.fc.'.length);
    out[k] = v;
  }
  return out;
}

export interface Prediction {
  index: number;
  label: string;
  probability: number;
}

/**
 * Loads an architecture with weights from a file, in eval mode and fused for inference
 * (nn.utils.fuse); numClasses is read from the checkpoint.
 */
export async function loadClassifier(
  arch: string,
  weights: string,
): Promise<{ model: Module; labels: readonly string[] }> {
  const make = ARCHS[arch];
  if (!make) throw new Error(`classify: unknown architecture '${arch}' (known: ${ARCH_NAMES.join(', ')})`);
  // NOTE: a torchvision weight-set name (IMAGENET1K_V1, DEFAULT) is fetched through the torch.hub cache.
  const file =
    /^(IMAGENET1K_V[12]|DEFAULT)$/.test(weights) && !existsSync(weights)
      ? await M.resnetWeightsPath(arch, weights as M.ResNetWeights)
      : weights;
  const raw = await load(file);
  const sd = toTorchvisionNames(
    (raw && typeof raw === 'object' && 'state_dict' in raw ? raw.state_dict : raw) as Record<string, Tensor>,
  );
  const head = sd['fc.weight'] ?? sd['linear.weight'];
  if (!head)
    throw new Error(`classify(${weights}): no fc.weight or linear.weight tensor, so this is not a ${arch} checkpoint`);
  const model = make(head.shape[0]);
  model.loadStateDict(sd, { strict: false });
  fuse(model.eval());
  const n = head.shape[0];
  const labels =
    n === 1000
      ? IMAGENET_CLASSES
      : n === 10 && arch.startsWith('cifar')
        ? M.CIFAR10_CLASSES
        : Array.from({ length: n }, (_, i) => `class ${i}`);
  return { model, labels };
}

/** Classifies image files: Resize(256), CenterCrop(224) (32 for CIFAR nets), ToTensor, Normalize. */
export function classifyImages(
  model: Module,
  labels: readonly string[],
  paths: string[],
  opts: { top?: number; cifar?: boolean } = {},
): Prediction[][] {
  const size = opts.cifar ? 32 : 224;
  const tf = Compose([
    Resize(opts.cifar ? 32 : 256),
    CenterCrop(size),
    ToTensor(),
    Normalize(IMAGENET_MEAN, IMAGENET_STD),
  ]);
  const batch = stack(paths.map((p) => tf(readImage(p, 'RGB')) as Tensor));
  const probs = noGrad(() => (model.call(batch) as Tensor).softmax(1));
  const k = Math.min(opts.top ?? 5, labels.length);
  const { values, indices } = probs.topk(k, 1);
  const v = values.toTypedArray(),
    ix = indices.toTypedArray();
  return paths.map((_, i) =>
    Array.from({ length: k }, (_, j) => ({
      index: ix[i * k + j],
      label: labels[ix[i * k + j]],
      probability: v[i * k + j],
    })),
  );
}
