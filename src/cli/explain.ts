// `nabla explain IMAGE --arch ARCH --weights FILE [--method gradcam] [--layer NAME] [--target K] --out cam.png`
// Loads the classifier as `nabla classify` does, explains its top class (or --target) and writes a PNG overlay.
// `nabla explain --method attention --model PATH --prompt TEXT --out attn.png [--layer L|rollout] [--head H]`
// draws a GPT-2 or Llama checkpoint's attention over the prompt's tokens (outputAttentions).

import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { gradCam, integratedGradients, saliency, smoothGrad } from '../explain/attribution.js';
import { overlayHeatmap } from '../explain/visualize.js';
import { attentionHeatmap } from '../explain/attention.js';
import { AutoModelForCausalLM, AutoTokenizer } from '../models/auto.js';
import { LlamaForCausalLM } from '../models/llama.js';
import { LlamaTokenizer } from '../text/sentencepiece.js';
import type { Module } from '../nn/module.js';
import { noGrad } from '../autograd/grad_mode.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { ARCH_NAMES, IMAGENET_MEAN, IMAGENET_STD, loadClassifier } from '../vision/classify.js';
import { Image, encodePng, readImage } from '../vision/image.js';
import { CenterCrop, Compose, Normalize, Resize, ToTensor } from '../vision/transforms.js';

const METHODS = ['gradcam', 'saliency', 'smoothgrad', 'integrated-gradients', 'attention'];

export const EXPLAIN_USAGE = `usage: nabla explain IMAGE --arch ARCH --weights FILE --out OUT.png [options]
  ARCH: ${ARCH_NAMES.join(', ')}
  --method M     ${METHODS.join(', ')} (default gradcam)
  --layer NAME   the conv layer for gradcam, a state_dict-style name such as layer4.1.conv2
                 (default: the last convolution)
  --target K     the class to explain (default: the predicted one)
  --alpha A      overlay opacity in [0, 1] (default 0.5)
usage: nabla explain --method attention --model PATH --prompt TEXT --out OUT.png [options]
  --model PATH   a GPT-2 or Llama folder (Hugging Face layout) or a llama2.c .bin (with --tokenizer)
  --tokenizer F  its tokenizer (default: the model folder's)
  --layer L      a layer index (negative from the end; default -1) or 'rollout'
  --head H       a head index (default: the mean of the heads)`;

// NOTE: a 4-D weight marks a 2-D convolution whatever its class (nn.utils.fuse turns Conv2d into ConvBn2d)
const isConv = (m: Module) => (m as unknown as { weight?: Tensor }).weight?.ndim === 4;

function findLayer(model: Module, name: string | undefined): [string, Module] {
  const mods = [...model.namedModules()];
  if (name !== undefined) {
    const hit = mods.find(([n]) => n === name);
    if (!hit) {
      const convs = mods.filter(([, m]) => isConv(m)).map(([n]) => n);
      throw new Error(`explain: no layer '${name}' in the model; conv layers: ${convs.slice(-8).join(', ')}`);
    }
    return hit;
  }
  const convs = mods.filter(([, m]) => isConv(m));
  if (convs.length === 0) throw new Error('explain: the model has no convolution layer for gradcam; pass --layer');
  return convs[convs.length - 1];
}

export async function explainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      arch: { type: 'string', default: 'resnet18' },
      weights: { type: 'string' },
      method: { type: 'string', default: 'gradcam' },
      layer: { type: 'string' },
      target: { type: 'string' },
      alpha: { type: 'string', default: '0.5' },
      out: { type: 'string' },
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      prompt: { type: 'string' },
      head: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(EXPLAIN_USAGE);
    return 0;
  }
  if (values.method === 'attention') return attentionCommand(values);
  if (!values.weights || !values.out || positionals.length !== 1) {
    console.error(EXPLAIN_USAGE);
    return 2;
  }
  const method = values.method!;
  if (!METHODS.includes(method)) {
    console.error(`explain: unknown --method '${method}'; expected ${METHODS.join(', ')}`);
    return 2;
  }
  const alpha = Number(values.alpha);
  const { model, labels } = await loadClassifier(values.arch!, values.weights);
  const cifar = values.arch!.startsWith('cifar');
  const size = cifar ? 32 : 224;
  const tf = Compose([Resize(cifar ? 32 : 256), CenterCrop(size), ToTensor(), Normalize(IMAGENET_MEAN, IMAGENET_STD)]);
  const x = (tf(readImage(positionals[0], 'RGB')) as Tensor).unsqueeze(0); // (1, 3, S, S)
  let target: number;
  if (values.target !== undefined) {
    target = Number(values.target);
    if (!(Number.isInteger(target) && target >= 0 && target < labels.length)) {
      console.error(`explain: --target must be a class index in [0, ${labels.length}), got '${values.target}'`);
      return 2;
    }
  } else target = noGrad(() => (model.call(x) as Tensor).argmax(1).item() as number);
  let heat: Tensor; // (S, S) or (h, w)
  let where = '';
  if (method === 'gradcam') {
    const [name, layer] = findLayer(model, values.layer);
    where = ` at ${name}`;
    heat = gradCam(model, x, layer, { target }).squeeze(0);
  } else {
    const a =
      method === 'saliency'
        ? saliency(model, x, { target })
        : method === 'smoothgrad'
          ? smoothGrad(model, x, { target, nSamples: 8, stdev: 0.15 })
          : integratedGradients(model, x, { target, nSteps: 32 });
    heat = a.abs().sum(1).squeeze(0);
  }
  // the picture the model saw: the crop, un-normalised
  const mean = tensor(IMAGENET_MEAN).reshape(3, 1, 1),
    std = tensor(IMAGENET_STD).reshape(3, 1, 1);
  const seen = Image.fromTensor(x.squeeze(0).mul(std).add(mean).clamp(0, 1));
  writeFileSync(values.out, encodePng(overlayHeatmap(seen, heat, { alpha })));
  console.log(`${positionals[0]}: ${method}${where} for class ${target} (${labels[target]}) -> ${values.out}`);
  return 0;
}

/** A causal LM and its tokenizer: a Hugging Face folder, or a llama2.c .bin with its tokenizer.bin. */
async function loadCausalLM(
  model: string,
  tokenizer: string | undefined,
): Promise<{ model: LlamaForCausalLM | Awaited<ReturnType<typeof AutoModelForCausalLM.fromPretrained>>; tok: Tok }> {
  if (model.endsWith('.bin')) {
    if (!tokenizer) throw new Error(`explain: --model ${model} is a llama2.c checkpoint: pass --tokenizer (its .bin)`);
    const m = LlamaForCausalLM.fromLlama2c(model);
    return { model: m, tok: LlamaTokenizer.fromLlama2c(tokenizer, m.config.vocabSize) };
  }
  return {
    model: await AutoModelForCausalLM.fromPretrained(model),
    tok: await AutoTokenizer.fromPretrained(tokenizer ?? model),
  };
}

type Tok = { encode(text: string): number[]; decode(ids: readonly number[]): string };

// --method attention: the prompt's ids (1, T) -> outputAttentions -> one (T, T) map drawn over its tokens
async function attentionCommand(values: Record<string, string | boolean | undefined>): Promise<number> {
  const { model: path, prompt, out } = values as Record<string, string | undefined>;
  if (!path || prompt === undefined || !out) {
    console.error(EXPLAIN_USAGE);
    return 2;
  }
  const layerArg = values.layer as string | undefined;
  const layer = layerArg === undefined ? -1 : layerArg === 'rollout' ? 'rollout' : Number(layerArg);
  const head = values.head === undefined ? 'mean' : Number(values.head);
  const { model, tok } = await loadCausalLM(path, values.tokenizer as string | undefined);
  const ids = tok.encode(prompt);
  if (ids.length === 0) throw new Error('explain: the prompt has no tokens');
  const { attentions } = noGrad(() => model.forward(tensor([ids], { dtype: 'int32' }), { outputAttentions: true }));
  const tokens = ids.map((id) => tok.decode([id]) || `<${id}>`);
  attentionHeatmap(attentions, tokens, { layer, head }).savePng(out);
  const what = layer === 'rollout' ? 'rollout' : `layer ${layer < 0 ? layer + attentions.length : layer}`;
  console.log(`attention (${what}) over ${ids.length} tokens of ${attentions.length} layers -> ${out}`);
  return 0;
}
