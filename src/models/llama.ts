// Llama-family decoder (Llama 1/2/3, TinyLlama, llama2.c models): RMSNorm, rotary position
// embeddings (Hugging Face's half-split convention), SwiGLU MLP and grouped-query attention.
// Parameter names are Hugging Face's (model.layers.0.self_attn.q_proj.weight, ...).
//
// Glossary: B batch, T new positions, S cached + new positions, C hidden size, H query heads,
// KVH key/value heads, D head size = C / H, F intermediate size, V vocabulary.

import type { Tensor } from '../tensor/tensor.js';
import { fromTypedArray } from '../tensor/creation.js';
import { cat } from '../ops/movement.js';
import { Module } from '../nn/module.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { ModuleList } from '../nn/containers.js';
import { LMHead } from './lm_head.js';
import { RMSNorm } from '../nn/normalization.js';
import { SiLU } from '../nn/activations.js';
import { beginStep, causalAttention, checkTokenIds, endStep } from './attention.js';
import { KVCache } from './kv_cache.js';
import {
  generate,
  inEvalMode,
  type BaseModelOutput,
  type CausalLM,
  type CausalLMOutput,
  type ForwardOptions,
  type GenerateOptions,
  type OutputAttentionsOptions,
} from './generation.js';
import { MemorySource, loadWeights, openWeights, readConfigJson, saveModelFolder } from './loading.js';
import type { HubOptions } from '../hub/cache.js';
import { fetchModelFiles, resolvePretrained } from '../hub/pretrained.js';
import { readLlama2c } from './llama2c.js';
import type { Bytes } from '../util/bytes.js';

export interface LlamaConfigOptions {
  vocabSize?: number;
  hiddenSize?: number;
  intermediateSize?: number;
  numHiddenLayers?: number;
  numAttentionHeads?: number;
  /** Defaults to numAttentionHeads (no grouping). */
  numKeyValueHeads?: number;
  maxPositionEmbeddings?: number;
  rmsNormEps?: number;
  ropeTheta?: number;
  tieWordEmbeddings?: boolean;
  attentionBias?: boolean;
  bosTokenId?: number | null;
  eosTokenId?: number | null;
}

/** Llama hyper-parameters; field names are camelCase, `fromJSON`/`toJSON` speak config.json. */
export class LlamaConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  attentionBias: boolean;
  bosTokenId: number | null;
  eosTokenId: number | null;

  constructor(o: LlamaConfigOptions = {}) {
    this.vocabSize = o.vocabSize ?? 32000;
    this.hiddenSize = o.hiddenSize ?? 4096;
    this.intermediateSize = o.intermediateSize ?? 11008;
    this.numHiddenLayers = o.numHiddenLayers ?? 32;
    this.numAttentionHeads = o.numAttentionHeads ?? 32;
    this.numKeyValueHeads = o.numKeyValueHeads ?? this.numAttentionHeads;
    this.maxPositionEmbeddings = o.maxPositionEmbeddings ?? 2048;
    this.rmsNormEps = o.rmsNormEps ?? 1e-6;
    this.ropeTheta = o.ropeTheta ?? 10000;
    this.tieWordEmbeddings = o.tieWordEmbeddings ?? false;
    this.attentionBias = o.attentionBias ?? false;
    this.bosTokenId = o.bosTokenId === undefined ? 1 : o.bosTokenId;
    this.eosTokenId = o.eosTokenId === undefined ? 2 : o.eosTokenId;
    for (const k of [
      'vocabSize',
      'hiddenSize',
      'intermediateSize',
      'numHiddenLayers',
      'numAttentionHeads',
      'numKeyValueHeads',
      'maxPositionEmbeddings',
    ] as const) {
      if (!Number.isInteger(this[k]) || this[k] < 1)
        throw new Error(`LlamaConfig: ${k} must be a positive integer, got ${this[k]}`);
    }
    if (this.hiddenSize % this.numAttentionHeads !== 0 || (this.hiddenSize / this.numAttentionHeads) % 2 !== 0) {
      throw new Error(
        `LlamaConfig: hiddenSize ${this.hiddenSize} must split into ${this.numAttentionHeads} heads of even size`,
      );
    }
    if (this.numAttentionHeads % this.numKeyValueHeads !== 0) {
      throw new Error(
        `LlamaConfig: numAttentionHeads ${this.numAttentionHeads} is not a multiple of numKeyValueHeads ` +
          `${this.numKeyValueHeads}`,
      );
    }
  }

  get headDim(): number {
    return this.hiddenSize / this.numAttentionHeads;
  }

  /** From a Hugging Face config.json object (model_type 'llama'). */
  static fromJSON(j: Record<string, unknown>): LlamaConfig {
    const mt = j.model_type;
    if (mt !== undefined && mt !== 'llama') {
      throw new Error(`LlamaConfig: unknown model_type '${String(mt)}' (expected 'llama')`);
    }
    if (j.rope_scaling) throw new Error(`LlamaConfig: rope_scaling ${JSON.stringify(j.rope_scaling)} is not supported`);
    const num = (k: string) => (j[k] === undefined || j[k] === null ? undefined : Number(j[k]));
    const eos = Array.isArray(j.eos_token_id)
      ? (j.eos_token_id[0] as number)
      : (j.eos_token_id as number | null | undefined);
    return new LlamaConfig({
      vocabSize: num('vocab_size'),
      hiddenSize: num('hidden_size'),
      intermediateSize: num('intermediate_size'),
      numHiddenLayers: num('num_hidden_layers'),
      numAttentionHeads: num('num_attention_heads'),
      numKeyValueHeads: num('num_key_value_heads'),
      maxPositionEmbeddings: num('max_position_embeddings'),
      rmsNormEps: num('rms_norm_eps'),
      ropeTheta: num('rope_theta'),
      tieWordEmbeddings: (j.tie_word_embeddings as boolean | undefined) ?? false,
      attentionBias: (j.attention_bias as boolean | undefined) ?? false,
      bosTokenId: j.bos_token_id as number | null | undefined,
      eosTokenId: eos,
    });
  }

  toJSON(): Record<string, unknown> {
    return {
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      vocab_size: this.vocabSize,
      hidden_size: this.hiddenSize,
      intermediate_size: this.intermediateSize,
      num_hidden_layers: this.numHiddenLayers,
      num_attention_heads: this.numAttentionHeads,
      num_key_value_heads: this.numKeyValueHeads,
      max_position_embeddings: this.maxPositionEmbeddings,
      rms_norm_eps: this.rmsNormEps,
      rope_theta: this.ropeTheta,
      tie_word_embeddings: this.tieWordEmbeddings,
      attention_bias: this.attentionBias,
      bos_token_id: this.bosTokenId,
      eos_token_id: this.eosTokenId,
      hidden_act: 'silu',
    };
  }
}

/**
 * cos and sin (B, 1, T, D/2) of the rotary angles pos * theta^(-2j/D), computed in float32 steps
 * as Hugging Face does (inv_freq and the products rounded to float32, then cos/sin).
 */
export function rotaryTables(positions: Int32Array, B: number, T: number, D: number, theta: number): [Tensor, Tensor] {
  const half = D / 2;
  const invFreq = new Float32Array(half);
  for (let j = 0; j < half; j++) invFreq[j] = 1 / Math.fround(theta ** Math.fround((2 * j) / D));
  const cos = new Float32Array(B * T * half),
    sin = new Float32Array(B * T * half);
  for (let i = 0; i < B * T; i++) {
    for (let j = 0; j < half; j++) {
      const a = Math.fround(positions[i] * invFreq[j]);
      cos[i * half + j] = Math.cos(a);
      sin[i * half + j] = Math.sin(a);
    }
  }
  return [fromTypedArray(cos, [B, 1, T, half]), fromTypedArray(sin, [B, 1, T, half])];
}

/** Rotates the halves of x (B,*,T,D) by the angles: (x1 cos - x2 sin, x2 cos + x1 sin). */
export function applyRotary(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const half = x.shape[3] / 2;
  const x1 = x.narrow(3, 0, half),
    x2 = x.narrow(3, half, half);
  return cat([x1.mul(cos).sub(x2.mul(sin)), x2.mul(cos).add(x1.mul(sin))], 3);
}

export class LlamaAttention extends Module {
  declare q_proj: Linear;
  declare k_proj: Linear;
  declare v_proj: Linear;
  declare o_proj: Linear;
  constructor(
    readonly config: LlamaConfig,
    readonly layerIdx: number,
  ) {
    super();
    const { hiddenSize: C, numAttentionHeads: H, numKeyValueHeads: KVH, attentionBias: bias } = config;
    const D = config.headDim;
    this.q_proj = new Linear(C, H * D, { bias });
    this.k_proj = new Linear(C, KVH * D, { bias });
    this.v_proj = new Linear(C, KVH * D, { bias });
    this.o_proj = new Linear(H * D, C, { bias });
  }

  // x (B,T,C), cos/sin (B,1,T,D/2), bias (B|1,1,T,S) -> (B,T,C); appends the probabilities (B,H,T,S) to
  // attentions if given
  forward(
    x: Tensor,
    cos: Tensor,
    sin: Tensor,
    bias: Tensor | null,
    cache: KVCache | null,
    attentions: Tensor[] | null = null,
  ): Tensor {
    const [B, T] = x.shape;
    const { numAttentionHeads: H, numKeyValueHeads: KVH } = this.config;
    const D = this.config.headDim;
    const q = applyRotary(this.q_proj.call(x).view(B, T, H, D).transpose(1, 2), cos, sin); // (B,H,T,D)
    let k = applyRotary(this.k_proj.call(x).view(B, T, KVH, D).transpose(1, 2), cos, sin); // (B,KVH,T,D)
    let v = this.v_proj.call(x).view(B, T, KVH, D).transpose(1, 2); // (B,KVH,T,D)
    if (cache) [k, v] = cache.update(this.layerIdx, k, v); // (B,KVH,S,D)
    const y = causalAttention(q, k, v, bias, 0, attentions); // (B,H,T,D)
    return this.o_proj.call(y.transpose(1, 2).reshape([B, T, H * D]));
  }
}

export class LlamaMLP extends Module {
  declare gate_proj: Linear;
  declare up_proj: Linear;
  declare down_proj: Linear;
  declare act_fn: Module;
  constructor(config: LlamaConfig) {
    super();
    this.gate_proj = new Linear(config.hiddenSize, config.intermediateSize, { bias: false });
    this.up_proj = new Linear(config.hiddenSize, config.intermediateSize, { bias: false });
    this.down_proj = new Linear(config.intermediateSize, config.hiddenSize, { bias: false });
    this.act_fn = new SiLU();
  }
  // x (B,T,C) -> silu(x Wg^T) * (x Wu^T) (B,T,F) -> (B,T,C)
  forward(x: Tensor): Tensor {
    return this.down_proj.call((this.act_fn.call(this.gate_proj.call(x)) as Tensor).mul(this.up_proj.call(x)));
  }
}

export class LlamaDecoderLayer extends Module {
  declare self_attn: LlamaAttention;
  declare mlp: LlamaMLP;
  declare input_layernorm: RMSNorm;
  declare post_attention_layernorm: RMSNorm;
  constructor(config: LlamaConfig, layerIdx: number) {
    super();
    this.self_attn = new LlamaAttention(config, layerIdx);
    this.mlp = new LlamaMLP(config);
    this.input_layernorm = new RMSNorm(config.hiddenSize, { eps: config.rmsNormEps });
    this.post_attention_layernorm = new RMSNorm(config.hiddenSize, { eps: config.rmsNormEps });
  }
  // x (B,T,C) -> (B,T,C), pre-norm residual blocks
  forward(
    x: Tensor,
    cos: Tensor,
    sin: Tensor,
    bias: Tensor | null,
    cache: KVCache | null,
    attentions: Tensor[] | null = null,
  ): Tensor {
    const h = x.add(this.self_attn.call(this.input_layernorm.call(x), cos, sin, bias, cache, attentions));
    return h.add(this.mlp.call(this.post_attention_layernorm.call(h)));
  }
}

export class LlamaModel extends Module {
  declare embed_tokens: Embedding;
  declare layers: ModuleList;
  declare norm: RMSNorm;
  constructor(readonly config: LlamaConfig) {
    super();
    this.embed_tokens = new Embedding(config.vocabSize, config.hiddenSize);
    this.layers = new ModuleList(
      Array.from({ length: config.numHiddenLayers }, (_, i) => new LlamaDecoderLayer(config, i)),
    );
    this.norm = new RMSNorm(config.hiddenSize, { eps: config.rmsNormEps });
  }

  // ids (B,T) int32 -> hidden states (B,T,C) after the final norm
  forward(ids: Tensor, o: OutputAttentionsOptions): BaseModelOutput;
  forward(ids: Tensor, o?: ForwardOptions): Tensor;
  forward(ids: Tensor, o: ForwardOptions | OutputAttentionsOptions = {}): Tensor | BaseModelOutput {
    const step = beginStep(ids, o, this.config.maxPositionEmbeddings, 'LlamaModel');
    let x = this.embed_tokens.call(ids);
    // the rotary tables are computed on the host: they join x on x's device (a no-op on the CPU)
    const [cos, sin] = rotaryTables(step.pos, step.B, step.T, this.config.headDim, this.config.ropeTheta).map((t) =>
      t.to(x.device),
    );
    for (const layer of this.layers)
      x = (layer as LlamaDecoderLayer).call(x, cos, sin, step.bias, step.cache, step.attentions);
    const y = this.norm.call(endStep(x, step, o));
    return step.attentions ? { lastHiddenState: y, attentions: step.attentions } : y;
  }
}

/**
 * Llama with a language-model head (transformers' LlamaForCausalLM; its state_dict keys).
 * Load one with `fromPretrained` (a Hugging Face folder or Hub repo id) or `fromLlama2c` (Karpathy's
 * llama2.c .bin, such as stories260K), then `generate`.
 * @example
 * ```ts
 * const model = nb.models.LlamaForCausalLM.fromLlama2c('../shared/data/stories260K.bin');
 * const tok = nb.text.LlamaTokenizer.fromLlama2c('../shared/data/tok512.bin', model.config.vocabSize);
 * const ids = model.generate(tok.encode('Once upon a time'), { maxNewTokens: 50 });   // greedy
 * console.log(tok.decode(ids[0]));
 * ```
 */
export class LlamaForCausalLM extends Module implements CausalLM {
  declare model: LlamaModel;
  declare lm_head: LMHead;
  constructor(readonly config: LlamaConfig) {
    super();
    this.model = new LlamaModel(config);
    const tied = config.tieWordEmbeddings ? this.model.embed_tokens.weight : null;
    this.lm_head = new LMHead(config.hiddenSize, config.vocabSize, tied);
  }

  /** With tieWordEmbeddings, makes lm_head share the embedding matrix (again, after a load). */
  tieWeights(): void {
    if (this.config.tieWordEmbeddings) this.lm_head.weight = this.model.embed_tokens.weight;
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }
  get maxPositions(): number {
    return this.config.maxPositionEmbeddings;
  }
  get eosTokenId(): number | null {
    return this.config.eosTokenId;
  }

  // ids (B,T) int32 -> logits (B,T,V) (or (B,logitsToKeep,V));
  // with outputAttentions, { logits, attentions: numHiddenLayers x (B,H,T,S) }
  forward(ids: Tensor, options: OutputAttentionsOptions): CausalLMOutput;
  forward(ids: Tensor, options?: ForwardOptions): Tensor;
  forward(ids: Tensor, options: ForwardOptions | OutputAttentionsOptions = {}): Tensor | CausalLMOutput {
    checkTokenIds(ids, this.config.vocabSize, 'LlamaForCausalLM');
    if (!options.outputAttentions) return this.lm_head.call(this.model.call(ids, options));
    const { lastHiddenState, attentions } = this.model.forward(ids, options);
    return { logits: this.lm_head.call(lastHiddenState), attentions };
  }

  createCache(batchSize: number, maxLength: number): KVCache {
    const c = this.config;
    return new KVCache({
      numLayers: c.numHiddenLayers,
      batchSize,
      numKVHeads: c.numKeyValueHeads,
      headDim: c.headDim,
      maxLength,
    });
  }

  /** Prompt(s) + new tokens; see models.generate for the options. */
  generate(inputIds: number[] | number[][] | Tensor, options: GenerateOptions = {}): number[][] {
    return inEvalMode(this, () => generate(this, inputIds, options));
  }

  /**
   * From a Hugging Face Llama folder: config.json + model.safetensors (or sharded, or pytorch_model.bin),
   * or from a Hub repo id, downloaded into the Hugging Face cache (see GPT2LMHeadModel.fromPretrained).
   */
  static async fromPretrained(nameOrPath: string, options: HubOptions = {}): Promise<LlamaForCausalLM> {
    const dir = await resolvePretrained(nameOrPath, 'LlamaForCausalLM', options, fetchModelFiles);
    const config = LlamaConfig.fromJSON(readConfigJson(dir, 'LlamaForCausalLM'));
    const src = await openWeights(dir, 'LlamaForCausalLM');
    const model = new LlamaForCausalLM(config);
    loadWeights(model, src, {
      who: 'LlamaForCausalLM',
      rename: (n) =>
        n.endsWith('rotary_emb.inv_freq') ? null : config.tieWordEmbeddings && n === 'lm_head.weight' ? null : n,
      optional: (p) => config.tieWordEmbeddings && p === 'lm_head.weight',
    });
    model.tieWeights();
    return model.eval();
  }

  /** Writes the Hugging Face folder fromPretrained (here and in transformers) reads back. */
  async savePretrained(dir: string): Promise<void> {
    await saveModelFolder(dir, this, this.config.toJSON(), this.config.tieWordEmbeddings);
  }

  /**
   * From a llama2.c checkpoint (.bin, Karpathy's llama2.c `export.py` format: a 7-int header, then float32
   * weights): a path, or its bytes (in the browser: `fromLlama2c(await nb.io.fetchBytes(url))`). Rotary
   * weights are permuted to the half-split convention, so the model matches its Hugging Face export.
   * BOS is token 1 and EOS token 2; the tokenizer is `nb.text.LlamaTokenizer.fromLlama2c(tokenizer.bin)`.
   */
  static fromLlama2c(path: string | Bytes): LlamaForCausalLM {
    const { header: h, tensors } = readLlama2c(path);
    const config = new LlamaConfig({
      vocabSize: h.vocabSize,
      hiddenSize: h.dim,
      intermediateSize: h.hiddenDim,
      numHiddenLayers: h.nLayers,
      numAttentionHeads: h.nHeads,
      numKeyValueHeads: h.nKVHeads,
      maxPositionEmbeddings: h.seqLen,
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
      tieWordEmbeddings: h.sharedClassifier,
      bosTokenId: 1,
      eosTokenId: 2,
    });
    const model = new LlamaForCausalLM(config);
    loadWeights(model, new MemorySource(Object.fromEntries(tensors), typeof path === 'string' ? path : '<bytes>'), {
      who: 'LlamaForCausalLM.fromLlama2c',
      rename: (n) => n,
      optional: (p) => config.tieWordEmbeddings && p === 'lm_head.weight',
    });
    model.tieWeights();
    return model.eval();
  }
}
