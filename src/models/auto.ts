// AutoModelForCausalLM and AutoTokenizer, as in transformers: the class comes from the folder's (or
// Hub repo's) config.json model_type, or for tokenizers from tokenizer_config.json's tokenizer_class.

import { existsSync, join } from '../platform/node.js';
import type { HubOptions } from '../hub/cache.js';
import { fetchModelFiles, fetchTokenizerFiles, readJsonIfAny, resolvePretrained } from '../hub/pretrained.js';
import { GPT2Tokenizer } from '../text/bpe.js';
import { LlamaTokenizer } from '../text/sentencepiece.js';
import { GPT2LMHeadModel } from './gpt2.js';
import { LlamaForCausalLM } from './llama.js';
import { readConfigJson } from './loading.js';

/** The causal language models nabla has, by config.json model_type. */
const CAUSAL_LM: Record<string, { fromPretrained(dir: string): Promise<GPT2LMHeadModel | LlamaForCausalLM> }> = {
  gpt2: GPT2LMHeadModel,
  llama: LlamaForCausalLM,
};

// biome-ignore lint/complexity/noStaticOnlyClass: the transformers API (AutoModelForCausalLM.fromPretrained)
export class AutoModelForCausalLM {
  /**
   * The model a folder or Hub repo id holds, picked by config.json's model_type ('gpt2', 'llama').
   * @example const model = await nb.models.AutoModelForCausalLM.fromPretrained('openai-community/gpt2');
   */
  static async fromPretrained(
    nameOrPath: string,
    options: HubOptions = {},
  ): Promise<GPT2LMHeadModel | LlamaForCausalLM> {
    const dir = await resolvePretrained(nameOrPath, 'AutoModelForCausalLM', options, fetchModelFiles);
    const type = readConfigJson(dir, 'AutoModelForCausalLM').model_type;
    const cls = typeof type === 'string' ? CAUSAL_LM[type] : undefined;
    if (!cls) {
      throw new Error(
        `AutoModelForCausalLM.fromPretrained: ${dir}/config.json has model_type ${JSON.stringify(type)}; ` +
          `supported: ${Object.keys(CAUSAL_LM).join(', ')}`,
      );
    }
    return cls.fromPretrained(dir);
  }
}

const TOKENIZER_CLASS: Record<string, 'gpt2' | 'llama'> = {
  GPT2Tokenizer: 'gpt2',
  GPT2TokenizerFast: 'gpt2',
  LlamaTokenizer: 'llama',
  LlamaTokenizerFast: 'llama',
  CodeLlamaTokenizer: 'llama',
  CodeLlamaTokenizerFast: 'llama',
};

// biome-ignore lint/complexity/noStaticOnlyClass: the transformers API (AutoTokenizer.fromPretrained)
export class AutoTokenizer {
  /**
   * The tokenizer of a folder or Hub repo id: tokenizer_config.json's tokenizer_class when it names a
   * GPT-2 or Llama tokenizer, else config.json's model_type, else the files present (vocab.json +
   * merges.txt: GPT-2; tokenizer.bin: Llama).
   * @example const tok = await nb.models.AutoTokenizer.fromPretrained('gpt2');
   */
  static async fromPretrained(nameOrPath: string, options: HubOptions = {}): Promise<GPT2Tokenizer | LlamaTokenizer> {
    const dir = await resolvePretrained(nameOrPath, 'AutoTokenizer', options, fetchTokenizerFiles);
    const cls = readJsonIfAny(dir, 'tokenizer_config.json')?.tokenizer_class;
    const type = readJsonIfAny(dir, 'config.json')?.model_type;
    let kind = typeof cls === 'string' ? TOKENIZER_CLASS[cls] : undefined;
    if (!kind && (type === 'gpt2' || type === 'llama')) kind = type;
    if (!kind && existsSync(join(dir, 'vocab.json'))) kind = 'gpt2';
    if (!kind && existsSync(join(dir, 'tokenizer.bin'))) kind = 'llama';
    const tj = kind ? undefined : readJsonIfAny(dir, 'tokenizer.json');
    // NOTE: SentencePiece BPE (Llama) files set byte_fallback; GPT-2's byte-level BPE does not need it.
    if (tj) kind = (tj.model as { byte_fallback?: boolean } | undefined)?.byte_fallback ? 'llama' : 'gpt2';
    if (!kind) {
      throw new Error(
        `AutoTokenizer.fromPretrained: cannot tell the tokenizer of ${dir}: tokenizer_class ` +
          `${JSON.stringify(cls ?? null)}, model_type ${JSON.stringify(type ?? null)}; ` +
          'supported: GPT-2 (byte-level BPE) and Llama (SentencePiece BPE)',
      );
    }
    return kind === 'gpt2' ? GPT2Tokenizer.fromPretrained(dir) : LlamaTokenizer.fromPretrained(dir);
  }
}
