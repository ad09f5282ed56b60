// GPT-2 hyper-parameters with Hugging Face's defaults (the 124M model). Fields are camelCase;
// fromJSON/toJSON read and write config.json's snake_case names.

export interface GPT2ConfigOptions {
  vocabSize?: number;
  /** Context window (max positions). */
  nPositions?: number;
  nEmbd?: number;
  nLayer?: number;
  nHead?: number;
  /** MLP width; default 4 * nEmbd. */
  nInner?: number | null;
  activationFunction?: string;
  residPdrop?: number;
  embdPdrop?: number;
  attnPdrop?: number;
  layerNormEpsilon?: number;
  initializerRange?: number;
  bosTokenId?: number | null;
  eosTokenId?: number | null;
  tieWordEmbeddings?: boolean;
}

const SNAKE: Record<string, keyof GPT2ConfigOptions> = {
  vocab_size: 'vocabSize',
  n_positions: 'nPositions',
  n_embd: 'nEmbd',
  n_layer: 'nLayer',
  n_head: 'nHead',
  n_inner: 'nInner',
  activation_function: 'activationFunction',
  resid_pdrop: 'residPdrop',
  embd_pdrop: 'embdPdrop',
  attn_pdrop: 'attnPdrop',
  layer_norm_epsilon: 'layerNormEpsilon',
  initializer_range: 'initializerRange',
  bos_token_id: 'bosTokenId',
  eos_token_id: 'eosTokenId',
  tie_word_embeddings: 'tieWordEmbeddings',
};

/**
 * @example new nb.models.GPT2Config({ vocabSize: 65, nPositions: 128, nEmbd: 128, nLayer: 4, nHead: 4 })
 */
export class GPT2Config {
  vocabSize: number;
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nInner: number;
  activationFunction: string;
  residPdrop: number;
  embdPdrop: number;
  attnPdrop: number;
  layerNormEpsilon: number;
  initializerRange: number;
  bosTokenId: number | null;
  eosTokenId: number | null;
  tieWordEmbeddings: boolean;

  constructor(o: GPT2ConfigOptions = {}) {
    this.vocabSize = o.vocabSize ?? 50257;
    this.nPositions = o.nPositions ?? 1024;
    this.nEmbd = o.nEmbd ?? 768;
    this.nLayer = o.nLayer ?? 12;
    this.nHead = o.nHead ?? 12;
    this.nInner = o.nInner ?? 4 * this.nEmbd;
    this.activationFunction = o.activationFunction ?? 'gelu_new';
    this.residPdrop = o.residPdrop ?? 0.1;
    this.embdPdrop = o.embdPdrop ?? 0.1;
    this.attnPdrop = o.attnPdrop ?? 0.1;
    this.layerNormEpsilon = o.layerNormEpsilon ?? 1e-5;
    this.initializerRange = o.initializerRange ?? 0.02;
    this.bosTokenId = o.bosTokenId === undefined ? 50256 : o.bosTokenId;
    this.eosTokenId = o.eosTokenId === undefined ? 50256 : o.eosTokenId;
    this.tieWordEmbeddings = o.tieWordEmbeddings ?? true;
    for (const k of ['vocabSize', 'nPositions', 'nEmbd', 'nLayer', 'nHead', 'nInner'] as const) {
      if (!Number.isInteger(this[k]) || this[k] < 1)
        throw new Error(`GPT2Config: ${k} must be a positive integer, got ${this[k]}`);
    }
    if (this.nEmbd % this.nHead !== 0)
      throw new Error(`GPT2Config: nEmbd ${this.nEmbd} is not divisible by nHead ${this.nHead}`);
    for (const k of ['residPdrop', 'embdPdrop', 'attnPdrop'] as const) {
      if (!(this[k] >= 0 && this[k] < 1)) throw new Error(`GPT2Config: ${k} must be in [0, 1), got ${this[k]}`);
    }
  }

  /** From a Hugging Face config.json object; model_type must be 'gpt2' when present. */
  static fromJSON(j: Record<string, unknown>): GPT2Config {
    if (j.model_type !== undefined && j.model_type !== 'gpt2') {
      throw new Error(`GPT2Config: unknown model_type '${String(j.model_type)}' (expected 'gpt2')`);
    }
    const o: Record<string, unknown> = {};
    for (const [snake, camel] of Object.entries(SNAKE)) if (j[snake] !== undefined) o[camel] = j[snake];
    // n_ctx is the old name of n_positions
    if (o.nPositions === undefined && typeof j.n_ctx === 'number') o.nPositions = j.n_ctx;
    return new GPT2Config(o as GPT2ConfigOptions);
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] };
    for (const [snake, camel] of Object.entries(SNAKE)) out[snake] = this[camel as keyof GPT2Config];
    return out;
  }
}
