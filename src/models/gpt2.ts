// GPT-2 (Radford et al. 2019) as Hugging Face's GPT2LMHeadModel: learned position embeddings,
// pre-LN blocks, Conv1D projections with weights stored (in, out), gelu_new MLP, final ln_f and an
// lm_head tied to the token embedding. Parameter names and shapes are Hugging Face's, so
// stateDict() is a loadable GPT-2 checkpoint ('transformer.h.0.attn.c_attn.weight', ...).
//
// Glossary: B batch, T new positions, S cached + new positions, C n_embd, H n_head, D = C / H,
// F n_inner (4C), V vocab_size, P n_positions.

import { Tensor } from '../tensor/tensor.js';
import { empty, fromTypedArray, tensor as makeTensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import { Module, Parameter } from '../nn/module.js';
import { GELU, ReLU, SiLU } from '../nn/activations.js';
import { Dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { LayerNorm } from '../nn/normalization.js';
import { LMHead } from './lm_head.js';
import { ModuleList } from '../nn/containers.js';
import { normal_, zeros_ } from '../nn/init.js';
import { noGrad } from '../autograd/grad_mode.js';
import { beginStep, causalAttention, checkTokenIds, endStep } from './attention.js';
import { linearFused } from '../ops/fused.js';
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
import { loadWeights, openWeights, readConfigJson, saveModelFolder } from './loading.js';
import type { HubOptions } from '../hub/cache.js';
import { fetchModelFiles, resolvePretrained } from '../hub/pretrained.js';
import { GPT2Config } from './gpt2_config.js';

export { GPT2Config, type GPT2ConfigOptions } from './gpt2_config.js';

/** HF's Conv1D: y = x W + b with weight (in, out), the transpose of Linear's. */
export class Conv1D extends Module {
  declare weight: Parameter;
  declare bias: Parameter;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    super();
    this.weight = new Parameter(empty([inFeatures, outFeatures]));
    this.bias = new Parameter(empty([outFeatures]));
  }
  // x (*, in) -> (*, out): HF's addmm(bias, x, weight); one kernel with the bias where the backend has it
  forward(x: Tensor): Tensor {
    const lead = x.shape.slice(0, -1);
    const x2 = x.reshape([-1, this.inFeatures]);
    const y = linearFused(x2, this.weight, this.bias, null) ?? x2.matmul(this.weight).add(this.bias);
    return y.view([...lead, this.outFeatures]);
  }
  override extraRepr(): string {
    return `nf=${this.outFeatures}, nx=${this.inFeatures}`;
  }
}

/** HF's ACT2FN: the activation module for a config's activation_function. */
function activation(name: string): Module {
  switch (name) {
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return new GELU('tanh');
    case 'gelu':
      return new GELU();
    case 'relu':
      return new ReLU();
    case 'silu':
    case 'swish':
      return new SiLU();
    default:
      throw new Error(`GPT2Config: unknown activation_function '${name}' (gelu_new, gelu, relu, silu)`);
  }
}

export class GPT2Attention extends Module {
  declare c_attn: Conv1D;
  declare c_proj: Conv1D;
  declare resid_dropout: Dropout;
  constructor(
    readonly config: GPT2Config,
    readonly layerIdx: number,
  ) {
    super();
    this.c_attn = new Conv1D(config.nEmbd, 3 * config.nEmbd);
    this.c_proj = new Conv1D(config.nEmbd, config.nEmbd);
    this.resid_dropout = new Dropout(config.residPdrop);
  }
  // x (B,T,C), bias (B|1,1,T,S) -> (B,T,C); appends the probabilities (B,H,T,S) to attentions if given
  forward(x: Tensor, bias: Tensor | null, cache: KVCache | null, attentions: Tensor[] | null = null): Tensor {
    const [B, T, C] = x.shape;
    const H = this.config.nHead,
      D = C / H;
    const [q, k0, v0] = this.c_attn
      .call(x)
      .split(C, 2)
      .map((t) => t.view(B, T, H, D).transpose(1, 2)); // (B,H,T,D)
    const [k, v] = cache ? cache.update(this.layerIdx, k0, v0) : [k0, v0]; // (B,H,S,D)
    const y = causalAttention(q, k, v, bias, this.training ? this.config.attnPdrop : 0, attentions); // (B,H,T,D)
    return this.resid_dropout.call(this.c_proj.call(y.transpose(1, 2).reshape([B, T, C])));
  }
}

export class GPT2MLP extends Module {
  declare c_fc: Conv1D;
  declare c_proj: Conv1D;
  declare act: Module;
  declare dropout: Dropout;
  constructor(config: GPT2Config) {
    super();
    this.c_fc = new Conv1D(config.nEmbd, config.nInner);
    this.c_proj = new Conv1D(config.nInner, config.nEmbd);
    this.act = activation(config.activationFunction);
    this.dropout = new Dropout(config.residPdrop);
  }
  // x (B,T,C) -> (B,T,F) -> (B,T,C)
  forward(x: Tensor): Tensor {
    const h = this.act.call(this.c_fc.call(x)) as Tensor;
    return this.dropout.call(this.c_proj.call(h));
  }
}

export class GPT2Block extends Module {
  declare ln_1: LayerNorm;
  declare attn: GPT2Attention;
  declare ln_2: LayerNorm;
  declare mlp: GPT2MLP;
  constructor(config: GPT2Config, layerIdx: number) {
    super();
    this.ln_1 = new LayerNorm(config.nEmbd, { eps: config.layerNormEpsilon });
    this.attn = new GPT2Attention(config, layerIdx);
    this.ln_2 = new LayerNorm(config.nEmbd, { eps: config.layerNormEpsilon });
    this.mlp = new GPT2MLP(config);
  }
  // x (B,T,C) -> (B,T,C)
  forward(x: Tensor, bias: Tensor | null, cache: KVCache | null, attentions: Tensor[] | null = null): Tensor {
    const h = x.add(this.attn.call(this.ln_1.call(x), bias, cache, attentions));
    return h.add(this.mlp.call(this.ln_2.call(h)));
  }
}

export class GPT2Model extends Module {
  declare wte: Embedding;
  declare wpe: Embedding;
  declare drop: Dropout;
  declare h: ModuleList;
  declare ln_f: LayerNorm;
  /** `initialize` false leaves the embeddings zero (weights about to be loaded). */
  constructor(
    readonly config: GPT2Config,
    initialize = true,
  ) {
    super();
    const table = (n: number) => (initialize ? {} : { weight: empty([n, config.nEmbd]) });
    this.wte = new Embedding(config.vocabSize, config.nEmbd, table(config.vocabSize));
    this.wpe = new Embedding(config.nPositions, config.nEmbd, table(config.nPositions));
    this.drop = new Dropout(config.embdPdrop);
    this.h = new ModuleList(Array.from({ length: config.nLayer }, (_, i) => new GPT2Block(config, i)));
    this.ln_f = new LayerNorm(config.nEmbd, { eps: config.layerNormEpsilon });
  }

  // ids (B,T) int32 -> hidden states (B,T,C) after ln_f (the last logitsToKeep positions only, if set)
  forward(ids: Tensor, o: OutputAttentionsOptions): BaseModelOutput;
  forward(ids: Tensor, o?: ForwardOptions): Tensor;
  forward(ids: Tensor, o: ForwardOptions | OutputAttentionsOptions = {}): Tensor | BaseModelOutput {
    const step = beginStep(ids, o, this.config.nPositions, 'GPT2Model');
    const pos = fromTypedArray(step.pos, [step.B, step.T]);
    let x = this.drop.call(this.wte.call(ids).add(this.wpe.call(pos)));
    for (const block of this.h) x = (block as GPT2Block).call(x, step.bias, step.cache, step.attentions);
    const y = this.ln_f.call(endStep(x, step, o));
    return step.attentions ? { lastHiddenState: y, attentions: step.attentions } : y;
  }
}

export interface GPT2InitOptions {
  /** Seed of the GPT-2 initialisation (N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer)). */
  seed?: number;
  /** false skips random initialisation (the weights are about to be loaded). Default true. */
  initialize?: boolean;
}

/**
 * GPT-2 with its language-model head.
 * @example
 * const model = await nb.models.GPT2LMHeadModel.fromPretrained('gpt2');          // a HF folder
 * const out = model.generate(tokenizer.encode('Once upon a time'), { maxLength: 50 });
 * const fresh = new nb.models.GPT2LMHeadModel(new nb.models.GPT2Config({ nLayer: 4, nEmbd: 128, nHead: 4 }));
 */
export class GPT2LMHeadModel extends Module implements CausalLM {
  declare transformer: GPT2Model;
  declare lm_head: LMHead;
  constructor(
    readonly config: GPT2Config = new GPT2Config(),
    init: GPT2InitOptions = {},
  ) {
    super();
    this.transformer = new GPT2Model(config, init.initialize ?? true);
    const tied = config.tieWordEmbeddings ? this.transformer.wte.weight : null;
    this.lm_head = new LMHead(config.nEmbd, config.vocabSize, tied, false);
    if (init.initialize ?? true) this.initWeights(init.seed ?? 0);
  }

  /** With tieWordEmbeddings, makes lm_head share wte's matrix (again, after a load). */
  tieWeights(): void {
    if (this.config.tieWordEmbeddings) this.lm_head.weight = this.transformer.wte.weight;
  }

  /** Hugging Face's GPT-2 initialisation, seeded. */
  initWeights(seed = 0): void {
    const g = new Generator(seed);
    const std = this.config.initializerRange;
    noGrad(() => {
      for (const [name, p] of this.namedParameters()) {
        if (name.endsWith('ln_1.weight') || name.endsWith('ln_2.weight') || name.endsWith('ln_f.weight')) p.fill_(1);
        else if (name.endsWith('.bias')) zeros_(p);
        else if (name.endsWith('c_proj.weight')) normal_(p, 0, std / Math.sqrt(2 * this.config.nLayer), g);
        else normal_(p, 0, std, g);
      }
    });
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }
  get maxPositions(): number {
    return this.config.nPositions;
  }
  get eosTokenId(): number | null {
    return this.config.eosTokenId;
  }

  // ids (B,T) int32 (or number[][] / number[]) -> logits (B,T,V) (or (B,logitsToKeep,V));
  // with outputAttentions, { logits, attentions: nLayer x (B,H,T,S) }
  forward(ids: Tensor | number[] | number[][], options: OutputAttentionsOptions): CausalLMOutput;
  forward(ids: Tensor | number[] | number[][], options?: ForwardOptions): Tensor;
  forward(
    ids: Tensor | number[] | number[][],
    options: ForwardOptions | OutputAttentionsOptions = {},
  ): Tensor | CausalLMOutput {
    const t =
      ids instanceof Tensor ? ids : makeTensor(Array.isArray(ids[0]) ? ids : [ids as number[]], { dtype: 'int32' });
    checkTokenIds(t, this.config.vocabSize, 'GPT2LMHeadModel');
    if (!options.outputAttentions) return this.lm_head.call(this.transformer.call(t, options));
    const { lastHiddenState, attentions } = this.transformer.forward(t, options);
    return { logits: this.lm_head.call(lastHiddenState), attentions };
  }

  createCache(batchSize: number, maxLength: number): KVCache {
    const c = this.config;
    return new KVCache({ numLayers: c.nLayer, batchSize, numKVHeads: c.nHead, headDim: c.nEmbd / c.nHead, maxLength });
  }

  /** Prompt(s) + new tokens as number[][]; see models.generate for the options. */
  generate(inputIds: number[] | number[][] | Tensor, options: GenerateOptions = {}): number[][] {
    return inEvalMode(this, () => generate(this, inputIds, options));
  }

  /**
   * From a Hugging Face GPT-2 folder: config.json plus model.safetensors (or sharded safetensors,
   * or pytorch_model.bin). Names with or without 'transformer.'; a tied or explicit lm_head;
   * attn.bias / attn.masked_bias buffers are ignored. Tensors are loaded one at a time.
   * A name that is not a folder is a Hub repo id ('gpt2', 'openai-community/gpt2'): its files are
   * downloaded into the Hugging Face cache (see nb.hub; `options.revision`, HF_ENDPOINT, HF_HUB_OFFLINE).
   */
  static async fromPretrained(nameOrPath: string, options: HubOptions = {}): Promise<GPT2LMHeadModel> {
    const dir = await resolvePretrained(nameOrPath, 'GPT2LMHeadModel', options, fetchModelFiles);
    const config = GPT2Config.fromJSON(readConfigJson(dir, 'GPT2LMHeadModel'));
    const src = await openWeights(dir, 'GPT2LMHeadModel');
    const model = new GPT2LMHeadModel(config, { initialize: false });
    loadWeights(model, src, {
      who: 'GPT2LMHeadModel',
      rename: (n) => {
        if (/\.attn\.(bias|masked_bias)$/.test(n)) return null;
        if (n === 'lm_head.weight') return config.tieWordEmbeddings ? null : n;
        return n.startsWith('transformer.') ? n : `transformer.${n}`;
      },
      optional: (p) => config.tieWordEmbeddings && p === 'lm_head.weight',
    });
    model.tieWeights();
    return model.eval();
  }

  /** Writes the Hugging Face folder fromPretrained (here and in transformers) reads back. */
  async savePretrained(dir: string): Promise<void> {
    await saveModelFolder(dir, this, this.config.toJSON(), this.config.tieWordEmbeddings);
  }
}
