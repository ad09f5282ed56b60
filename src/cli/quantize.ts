// `nabla quantize IN OUT --bits 8|4 [--group-size G]`: weight-only quantization of a GPT-2 or Llama
// checkpoint (a Hugging Face folder or a llama2.c .bin) into a folder that `nabla generate --model OUT`
// reads: config.json with quantization_config, model.safetensors (I8/U8 codes, F32 scales), and the
// tokenizer files of IN.

import { parseArgs } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GPT2LMHeadModel } from '../models/gpt2.js';
import { LlamaForCausalLM } from '../models/llama.js';
import { readConfigJson } from '../models/loading.js';
import { isQuantizedFolder, quantizeWeights, saveQuantized, type WeightBits } from '../models/quantize.js';

export const QUANTIZE_USAGE = `usage: nabla quantize IN OUT --bits 8|4 [--group-size G]
  IN                     a GPT-2 or Llama Hugging Face folder, or a llama2.c .bin
  OUT                    the folder to write (generate --model OUT reads it)
  --bits 8|4             int8 per output row, or int4 in groups along the input (llama.cpp Q4_0-style)
  --group-size G         int4 group size, a multiple of 32 (default 32)`;

async function loadFloat(path: string): Promise<GPT2LMHeadModel | LlamaForCausalLM> {
  if (!existsSync(path)) throw new Error(`quantize: ${path} does not exist`);
  if (!statSync(path).isDirectory()) return LlamaForCausalLM.fromLlama2c(path);
  if (isQuantizedFolder(path)) throw new Error(`quantize: ${path} is already quantized`);
  const type = readConfigJson(path, 'nabla quantize').model_type;
  if (type === 'gpt2') return GPT2LMHeadModel.fromPretrained(path);
  if (type === 'llama') return LlamaForCausalLM.fromPretrained(path);
  throw new Error(`quantize: ${join(path, 'config.json')}: unknown model_type '${String(type)}' (gpt2, llama)`);
}

export async function quantizeCommand(argv: string[]): Promise<number> {
  const options = {
    bits: { type: 'string' },
    'group-size': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof options }>>;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options });
  } catch (e) {
    console.error(`nabla quantize: ${(e as Error).message}\n${QUANTIZE_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(QUANTIZE_USAGE);
    return 0;
  }
  if (positionals.length !== 2 || (values.bits !== '8' && values.bits !== '4')) {
    console.error(QUANTIZE_USAGE);
    return 2;
  }
  const bits = Number(values.bits) as WeightBits;
  const groupSize = values['group-size'] === undefined ? 32 : Number(values['group-size']);
  const [src, out] = positionals;
  const model = await loadFloat(src);
  quantizeWeights(model, { bits, groupSize });
  saveQuantized(model, out, statSync(src).isDirectory() ? src : undefined);
  console.log(`wrote ${out} (${bits}-bit weights${bits === 4 ? `, groups of ${groupSize}` : ''})`);
  return 0;
}
