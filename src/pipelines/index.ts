// pipeline(task, model), as in transformers.js: one call loads a model (a folder, a Hub repo id, or
// for image classification a torchvision architecture) and returns an async function for the task.
//   const generator = await nb.pipeline('text-generation', 'openai-community/gpt2');
//   await generator('Once upon a time', { maxNewTokens: 20 });   // [{ generated_text: '...' }]
//   const classify = await nb.pipeline('image-classification', 'resnet18');
//   await classify('cat.jpg');                                   // [{ label: 'tabby', score: 0.8 }, ...]
//   const extract = await nb.pipeline('feature-extraction', 'gpt2');
//   await extract('Hello', { pooling: 'mean', normalize: true }); // Tensor (1, C)

import { existsSync } from '../platform/node.js';
import type { Tensor } from '../tensor/tensor.js';
import { fromTypedArray } from '../tensor/creation.js';
import { noGrad } from '../autograd/grad_mode.js';
import { cat } from '../ops/movement.js';
import type { HubOptions } from '../hub/cache.js';
import { fetchModelAndTokenizer, resolvePretrained } from '../hub/pretrained.js';
import { AutoModelForCausalLM, AutoTokenizer } from '../models/auto.js';
import { GPT2LMHeadModel } from '../models/gpt2.js';
import type { LlamaForCausalLM } from '../models/llama.js';
import type { GenerateOptions } from '../models/generation.js';
import type { GPT2Tokenizer } from '../text/bpe.js';
import type { LlamaTokenizer } from '../text/sentencepiece.js';
import { ARCH_NAMES, classifyImages, loadClassifier } from '../vision/classify.js';

export type PipelineTask = 'text-generation' | 'image-classification' | 'feature-extraction';

/** Generation options in nabla's camelCase or transformers.js's snake_case, plus return_full_text. */
export type TextGenerationOptions = GenerateOptions & Record<string, unknown> & { returnFullText?: boolean };
export type TextGenerationPipeline = {
  (text: string, options?: TextGenerationOptions): Promise<{ generated_text: string }[]>;
  (texts: string[], options?: TextGenerationOptions): Promise<{ generated_text: string }[][]>;
};
export type ImageClassificationPipeline = {
  (image: string, options?: { topK?: number; top_k?: number }): Promise<{ label: string; score: number }[]>;
  (images: string[], options?: { topK?: number; top_k?: number }): Promise<{ label: string; score: number }[][]>;
};
export interface FeatureExtractionOptions {
  pooling?: 'none' | 'mean' | 'last';
  normalize?: boolean;
}
export type FeatureExtractionPipeline = (
  text: string | string[],
  options?: FeatureExtractionOptions,
) => Promise<Tensor>;

type LM = GPT2LMHeadModel | LlamaForCausalLM;
type Tok = GPT2Tokenizer | LlamaTokenizer;

const SNAKE: Record<string, keyof GenerateOptions> = {
  max_new_tokens: 'maxNewTokens',
  max_length: 'maxLength',
  do_sample: 'doSample',
  temperature: 'temperature',
  top_k: 'topK',
  top_p: 'topP',
  repetition_penalty: 'repetitionPenalty',
  num_return_sequences: 'numReturnSequences',
  seed: 'seed',
};

function generationOptions(o: TextGenerationOptions): GenerateOptions {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'returnFullText' || k === 'return_full_text') continue;
    out[SNAKE[k] ?? k] = v;
  }
  return out as GenerateOptions;
}

async function loadLM(model: string, options: HubOptions): Promise<{ lm: LM; tok: Tok }> {
  const dir = await resolvePretrained(model, 'pipeline', options, fetchModelAndTokenizer);
  return { lm: await AutoModelForCausalLM.fromPretrained(dir), tok: await AutoTokenizer.fromPretrained(dir) };
}

function textGeneration(lm: LM, tok: Tok): TextGenerationPipeline {
  const one = (text: string, o: TextGenerationOptions): { generated_text: string }[] => {
    const full = (o.returnFullText ?? o.return_full_text ?? true) as boolean;
    const prompt = tok.encode(text);
    const gen = lm.generate(prompt.length ? prompt : [tok.bosTokenId ?? tok.eosTokenId ?? 0], generationOptions(o));
    return gen.map((ids) => ({
      generated_text: tok.decode(full ? ids : ids.slice(prompt.length), { skipSpecialTokens: true }),
    }));
  };
  return (async (input: string | string[], o: TextGenerationOptions = {}) =>
    Array.isArray(input) ? input.map((t) => one(t, o)) : one(input, o)) as TextGenerationPipeline;
}

function featureExtraction(lm: LM, tok: Tok): FeatureExtractionPipeline {
  return async (input, o = {}) => {
    const texts = Array.isArray(input) ? input : [input];
    if (texts.length !== 1 && (o.pooling ?? 'none') === 'none') {
      throw new Error(
        'pipeline(feature-extraction): several texts need pooling (mean or last), as their lengths differ',
      );
    }
    const rows = texts.map((t) => {
      const ids = tok.encode(t);
      if (ids.length === 0) throw new Error('pipeline(feature-extraction): the text encodes to no tokens');
      const x = fromTypedArray(Int32Array.from(ids), [1, ids.length]);
      // hidden (1, T, C) of the last layer, after the final norm
      const hidden = noGrad(
        () => (lm instanceof GPT2LMHeadModel ? lm.transformer.call(x) : lm.model.call(x)) as Tensor,
      );
      const pooled =
        o.pooling === 'mean' ? hidden.mean(1) : o.pooling === 'last' ? hidden.select(1, ids.length - 1) : hidden;
      return o.normalize ? pooled.div(pooled.norm(2, -1, true).clamp(1e-12)) : pooled;
    });
    return rows.length === 1 ? rows[0] : cat(rows, 0);
  };
}

function imageClassification(
  model: Awaited<ReturnType<typeof loadClassifier>>,
  arch: string,
): ImageClassificationPipeline {
  return (async (input: string | string[], o: { topK?: number; top_k?: number } = {}) => {
    const paths = Array.isArray(input) ? input : [input];
    const preds = classifyImages(model.model, model.labels, paths, {
      top: o.topK ?? o.top_k ?? 5,
      cifar: arch.startsWith('cifar'),
    });
    const out = preds.map((p) => p.map((x) => ({ label: x.label, score: x.probability })));
    return Array.isArray(input) ? out : out[0];
  }) as ImageClassificationPipeline;
}

export interface PipelineOptions extends HubOptions {
  /** image-classification: a weights file, or a torchvision weight set (default 'DEFAULT'). */
  weights?: string;
}

/**
 * A ready-to-call pipeline for `task`. text-generation and feature-extraction take a GPT-2 or Llama
 * folder or Hub repo id; image-classification a torchvision architecture (resnet18 ... resnet152,
 * cifar-resnet20 ...) with `options.weights` (a file, or a weight set fetched through torch.hub).
 */
export async function pipeline(
  task: 'text-generation',
  model: string,
  options?: PipelineOptions,
): Promise<TextGenerationPipeline>;
export async function pipeline(
  task: 'image-classification',
  model?: string,
  options?: PipelineOptions,
): Promise<ImageClassificationPipeline>;
export async function pipeline(
  task: 'feature-extraction',
  model: string,
  options?: PipelineOptions,
): Promise<FeatureExtractionPipeline>;
export async function pipeline(task: PipelineTask, model?: string, options: PipelineOptions = {}): Promise<unknown> {
  if (task === 'image-classification') {
    const arch = model ?? 'resnet18';
    if (!ARCH_NAMES.includes(arch)) {
      throw new Error(
        `pipeline(image-classification): '${arch}' is not a known architecture (${ARCH_NAMES.join(', ')})`,
      );
    }
    const weights = options.weights ?? 'DEFAULT';
    if (!/^(IMAGENET1K_V[12]|DEFAULT)$/.test(weights) && !existsSync(weights)) {
      throw new Error(
        `pipeline(image-classification): weights ${weights} is neither a file nor a torchvision weight set`,
      );
    }
    return imageClassification(await loadClassifier(arch, weights), arch);
  }
  if (task !== 'text-generation' && task !== 'feature-extraction') {
    throw new Error(
      `pipeline: unknown task '${String(task)}' (supported: text-generation, image-classification, feature-extraction)`,
    );
  }
  if (typeof model !== 'string')
    throw new Error(`pipeline(${task}): pass a model (a folder or a Hub repo id such as 'gpt2')`);
  const { lm, tok } = await loadLM(model, options);
  return task === 'text-generation' ? textGeneration(lm, tok) : featureExtraction(lm, tok);
}
