// LLM weight-only quantization, in the spirit of llama.cpp's Q8_0 and Q4_0: the matrices of GPT-2 and
// Llama (Linear, GPT-2's Conv1D and the language-model head) become int8 per output row or int4 in
// groups of G along the input, dequantized in registers as each product runs (Kernels.linearWeightOnly;
// an int4 layer quantizes its input to int8 per group, llama.cpp's Q8_0, and sums in integers);
// activations between layers, embeddings and norms stay float32. Decoding reads 4x (int8) or ~7x (int4) fewer weight
// bytes per token than float32, which is what bounds its speed.
// Checkpoints are a Hugging Face folder: config.json with a quantization_config, and model.safetensors
// holding each quantized matrix as <name>.weight (I8 (N, K), or U8 (N, ceil(K/G)*G/2) for int4: the
// packed codes of util/quant.ts quantizeInt4) and <name>.weight_scale (F32 (N) or (N, ceil(K/G))), the
// rest as F32 under the model's own names. Weights are (N, K) = (out, in) for every layer, Conv1D's too.
// Glossary: N outputs, K inputs, G group size, V vocabulary, C hidden size.

import { copyFileSync, existsSync, join, mkdirSync, readFileSync } from '../platform/node.js';
import { noGrad } from '../autograd/grad_mode.js';
import { fromTypedArray } from '../tensor/creation.js';
import { contiguousValues, type Tensor } from '../tensor/tensor.js';
import { linearWeightOnly } from '../ops/quantized.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { parseSafetensorsHeader, readSafetensorsEntry, writeSafetensorsFile } from '../io/safetensors.js';
import type { WritableTensor } from '../io/raw.js';
import { FileSource } from '../io/source.js';
import { writeJsonAtomic } from './loading.js';
import { checkGroupSize, int4RowBytes, quantizeInt4, quantizeRowsInt8 } from '../util/quant.js';
import { Conv1D, GPT2LMHeadModel } from './gpt2.js';
import { GPT2Config } from './gpt2_config.js';
import { LMHead } from './lm_head.js';
import { LlamaConfig, LlamaForCausalLM } from './llama.js';

export type WeightBits = 4 | 8;

export interface QuantizeWeightsOptions {
  /** 8: int8 per output row; 4: int4 in groups of groupSize along the input. */
  bits: WeightBits;
  /** int4 group size, a multiple of 32 (default 32, Q4_0's). */
  groupSize?: number;
}

/** A weight-only quantized linear layer: y = x deq(W)^T + b with W (out, in) int8 or int4. Inference only. */
export class WeightOnlyLinear extends Module {
  q: Int8Array | Uint8Array;
  scales: Float32Array;
  bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly bits: WeightBits,
    readonly groupSize: number,
  ) {
    super();
    if (bits !== 8 && bits !== 4) throw new Error(`WeightOnlyLinear: bits must be 8 or 4, got ${bits}`);
    if (bits === 4) checkGroupSize(groupSize, 'WeightOnlyLinear');
    const K = inFeatures,
      N = outFeatures;
    this.q = bits === 8 ? new Int8Array(N * K) : new Uint8Array(N * int4RowBytes(K, groupSize));
    this.scales = new Float32Array(bits === 8 ? N : N * Math.ceil(K / groupSize));
    this.bias = null;
  }

  /** Quantizes a float weight (out, in) and bias. */
  static fromFloat(w: Tensor, bias: Tensor | null, o: QuantizeWeightsOptions): WeightOnlyLinear {
    const [N, K] = w.shape;
    const m = new WeightOnlyLinear(K, N, o.bits, o.bits === 4 ? (o.groupSize ?? 32) : 0);
    const values = contiguousValues(w.float());
    const r = o.bits === 8 ? quantizeRowsInt8(values, N, K) : quantizeInt4(values, N, K, m.groupSize);
    m.q = r.q;
    m.scales = r.scales;
    m.bias = bias ? noGrad(() => bias.float().detach().contiguous()) : null;
    return m;
  }

  /** Shapes of the stored tensors: the codes and the scales. */
  get qShape(): number[] {
    return this.bits === 8
      ? [this.outFeatures, this.inFeatures]
      : [this.outFeatures, int4RowBytes(this.inFeatures, this.groupSize)];
  }
  get scaleShape(): number[] {
    return this.bits === 8 ? [this.outFeatures] : [this.outFeatures, Math.ceil(this.inFeatures / this.groupSize)];
  }

  // x (*, in) -> (*, out)
  forward(x: Tensor): Tensor {
    return linearWeightOnly(
      x,
      this.q,
      this.scales,
      this.bits,
      this.groupSize,
      this.outFeatures,
      this.inFeatures,
      this.bias,
    );
  }
  override extraRepr(): string {
    const g = this.bits === 4 ? `, group_size=${this.groupSize}` : '';
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bits=${this.bits}${g}`;
  }
}

/** The float weight (out, in) and bias of a layer this pass quantizes, or null for any other module. */
function floatWeights(m: Module): { w: Tensor; b: Tensor | null } | null {
  if (m.constructor === Linear) return { w: (m as Linear).weight, b: (m as Linear).bias };
  if (m instanceof Conv1D) return { w: noGrad(() => m.weight.t().contiguous()), b: m.bias };
  if (m instanceof LMHead) return { w: m.weight, b: null };
  return null;
}

/**
 * Quantizes the matrices of a GPT-2 or Llama model in place (Linear, Conv1D, the LM head; a tied LM head
 * gets its own quantized copy, the embedding stays float) and returns it, in eval mode.
 * @example nb.models.quantizeWeights(model, { bits: 4 }); model.generate(ids)
 */
export function quantizeWeights<M extends Module>(model: M, o: QuantizeWeightsOptions): M {
  if (o.bits !== 8 && o.bits !== 4) throw new Error(`quantizeWeights: bits must be 8 or 4, got ${String(o.bits)}`);
  if (o.bits === 4) checkGroupSize(o.groupSize ?? 32, 'quantizeWeights');
  const visit = (parent: Module): void => {
    for (const [name, child] of [...parent._modules]) {
      if (!child) continue;
      const f = floatWeights(child);
      if (f) parent.registerModule(name, WeightOnlyLinear.fromFloat(f.w, f.b, o));
      else visit(child);
    }
  };
  visit(model);
  return model.eval();
}

/** Replaces every layer quantizeWeights would quantize with an empty WeightOnlyLinear (a checkpoint fills it). */
function shells(model: Module, bits: WeightBits, groupSize: number): void {
  const visit = (parent: Module): void => {
    for (const [name, child] of [...parent._modules]) {
      if (!child) continue;
      const f = floatWeights(child);
      if (f) {
        const [N, K] = child instanceof Conv1D ? [child.outFeatures, child.inFeatures] : f.w.shape;
        parent.registerModule(name, new WeightOnlyLinear(K, N, bits, groupSize));
      } else visit(child);
    }
  };
  visit(model);
}

/** The language models quantizeWeights and loadQuantized handle. */
export type QuantizableLM = GPT2LMHeadModel | LlamaForCausalLM;

/** The files of a model folder that travel with a quantized copy (tokenizer, generation settings). */
const SIDE_FILES = [
  'vocab.json',
  'merges.txt',
  'tokenizer.json',
  'tokenizer.model',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'generation_config.json',
  'vocab.txt',
  'chars.json',
];

/**
 * Writes a quantized model as a folder: config.json (with quantization_config), model.safetensors, and
 * the tokenizer files of `copyFrom` when given.
 */
export function saveQuantized(model: QuantizableLM, dir: string, copyFrom?: string): void {
  const layers = [...model.namedModules()].filter(([, m]) => m instanceof WeightOnlyLinear) as [
    string,
    WeightOnlyLinear,
  ][];
  if (!layers.length) throw new Error('saveQuantized: the model has no quantized layers (run quantizeWeights first)');
  const { bits, groupSize } = layers[0][1];
  const tensors: Record<string, WritableTensor> = {};
  const float = (t: Tensor): WritableTensor => ({ shape: t.shape, data: contiguousValues(t.float()), as: 'F32' });
  for (const [name, t] of Object.entries(model.stateDict())) tensors[name] = float(t);
  for (const [name, m] of layers) {
    // NOTE: the writer takes any integer array for I8/U8 and range-checks each code
    tensors[`${name}.weight`] = { shape: m.qShape, data: m.q as unknown as Int32Array, as: bits === 8 ? 'I8' : 'U8' };
    tensors[`${name}.weight_scale`] = { shape: m.scaleShape, data: m.scales, as: 'F32' };
    if (m.bias) tensors[`${name}.bias`] = float(m.bias);
  }
  mkdirSync(dir, { recursive: true });
  const q = { quant_method: 'nabla_weight_only', bits, group_size: bits === 4 ? groupSize : null };
  writeSafetensorsFile(join(dir, 'model.safetensors'), tensors, {
    format: 'pt',
    nabla_quantization: JSON.stringify(q),
  });
  writeJsonAtomic(join(dir, 'config.json'), { ...model.config.toJSON(), quantization_config: q });
  if (copyFrom)
    for (const f of SIDE_FILES) if (existsSync(join(copyFrom, f))) copyFileSync(join(copyFrom, f), join(dir, f));
}

/** Whether a folder holds a checkpoint written by saveQuantized. */
export function isQuantizedFolder(dir: string): boolean {
  const p = join(dir, 'config.json');
  if (!existsSync(p)) return false;
  try {
    return (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>).quantization_config !== undefined;
  } catch {
    return false;
  }
}

/** Reads a folder written by saveQuantized back into a GPT-2 or Llama model (eval mode). */
export function loadQuantized(dir: string): QuantizableLM {
  const file = join(dir, 'model.safetensors');
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const qc = config.quantization_config as { quant_method?: string; bits?: number; group_size?: number | null };
  if (qc?.quant_method !== 'nabla_weight_only' || (qc.bits !== 8 && qc.bits !== 4)) {
    throw new Error(`loadQuantized: ${join(dir, 'config.json')} has no nabla quantization_config with bits 8 or 4`);
  }
  const bits = qc.bits as WeightBits,
    G = bits === 4 ? Number(qc.group_size) : 0;
  if (bits === 4) checkGroupSize(G, `loadQuantized: ${join(dir, 'config.json')} quantization_config.group_size`);
  const model: QuantizableLM =
    config.model_type === 'llama'
      ? new LlamaForCausalLM(LlamaConfig.fromJSON(config))
      : new GPT2LMHeadModel(GPT2Config.fromJSON(config), { initialize: false });
  shells(model, bits, G);
  const layers = new Map(
    ([...model.namedModules()].filter(([, m]) => m instanceof WeightOnlyLinear) as [string, WeightOnlyLinear][]).map(
      ([n, m]) => [n, m],
    ),
  );
  const floats: Record<string, Tensor> = {};
  const src = new FileSource(file);
  try {
    for (const e of parseSafetensorsHeader(src).entries) {
      const hit = /^(.*)\.(weight|weight_scale|bias)$/.exec(e.name);
      const layer = hit ? layers.get(hit[1]) : undefined;
      const r = readSafetensorsEntry(src, e);
      if (!layer) {
        floats[e.name] = fromTypedArray(r.data as Float32Array, r.shape);
        continue;
      }
      const want =
        hit![2] === 'weight' ? layer.qShape : hit![2] === 'weight_scale' ? layer.scaleShape : [layer.outFeatures];
      if (r.shape.join() !== want.join()) {
        const g = bits === 4 ? ` with group_size ${G}` : '';
        throw new Error(
          `loadQuantized: ${file}: '${e.name}' has shape [${r.shape}] but a ${bits}-bit layer of ` +
            `${layer.outFeatures} outputs and ${layer.inFeatures} inputs${g} needs [${want}] ` +
            '(a checkpoint quantized with another group size?)',
        );
      }
      if (hit![2] === 'weight') layer.q = bits === 8 ? Int8Array.from(r.data) : Uint8Array.from(r.data);
      else if (hit![2] === 'weight_scale') layer.scales = Float32Array.from(r.data);
      else layer.bias = fromTypedArray(Float32Array.from(r.data), [layer.outFeatures]);
    }
  } finally {
    src.close();
  }
  model.loadStateDict(floats);
  return model.eval();
}
