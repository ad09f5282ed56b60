// `nabla classify IMAGE... --arch resnet18 --weights FILE [--top 5] [--json]`

import { parseArgs } from 'node:util';
import { ARCH_NAMES, classifyImages, loadClassifier } from '../vision/classify.js';

export const CLASSIFY_USAGE = `usage: nabla classify IMAGE... --arch ARCH --weights FILE [--top K] [--json]
  ARCH: ${ARCH_NAMES.join(', ')}
  FILE: a torchvision .pth or a .safetensors state dict (timm names are mapped), or a torchvision
        weight set (IMAGENET1K_V1, IMAGENET1K_V2, DEFAULT) fetched into $TORCH_HOME/hub/checkpoints`;

export async function classifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      arch: { type: 'string', default: 'resnet18' },
      weights: { type: 'string' },
      top: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(CLASSIFY_USAGE);
    return 0;
  }
  if (!values.weights || positionals.length === 0) {
    const missing = !values.weights
      ? `--weights is required: a checkpoint file, or a torchvision weight set (--weights IMAGENET1K_V1)`
      : 'no IMAGE given';
    console.error(`classify: ${missing}\n${CLASSIFY_USAGE}`);
    return 2;
  }
  const top = Number(values.top);
  if (!Number.isInteger(top) || top < 1) {
    console.error(`classify: --top must be a positive integer, got '${values.top}'`);
    return 2;
  }
  const { model, labels } = await loadClassifier(values.arch!, values.weights);
  const preds = classifyImages(model, labels, positionals, { top, cifar: values.arch!.startsWith('cifar') });
  if (values.json) {
    console.log(JSON.stringify(positionals.map((image, i) => ({ image, predictions: preds[i] }))));
  } else {
    positionals.forEach((image, i) => {
      console.log(image);
      for (const p of preds[i])
        console.log(`  ${(p.probability * 100).toFixed(2).padStart(6)}%  ${p.label} (${p.index})`);
    });
  }
  return 0;
}
