// Transformer layers (torch.nn.Transformer*): post-norm by default, pre-norm with normFirst.
// Glossary: S source length, T target length, N batch, E = dModel, F = dimFeedforward.
// Sequences are (S, N, E), or (N, S, E) with batchFirst. Masks follow MultiheadAttention.

import { full } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { gelu } from '../ops/unary.js';
import { Module, deepCopyModule } from './module.js';
import { MultiheadAttention } from './attention.js';
import { Linear } from './linear.js';
import { Dropout } from './dropout.js';
import { LayerNorm } from './normalization.js';
import { ModuleList } from './containers.js';
import { xavierUniform_ } from './init.js';

export type Activation = 'relu' | 'gelu' | ((x: Tensor) => Tensor);

export interface TransformerLayerOptions {
  dimFeedforward?: number;
  dropout?: number;
  activation?: Activation;
  layerNormEps?: number;
  batchFirst?: boolean;
  normFirst?: boolean;
  bias?: boolean;
  dtype?: DType;
}

function activate(a: Activation, x: Tensor): Tensor {
  return a === 'relu' ? x.relu() : a === 'gelu' ? gelu(x) : a(x);
}

interface FeedForward {
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  activation: Activation;
}

// x (*, E) -> (*, E): linear2(dropout(activation(linear1(x))))
function feedForward(m: FeedForward, x: Tensor): Tensor {
  return m.linear2.call(m.dropout.call(activate(m.activation, m.linear1.call(x))));
}

/** Creates a layer's sublayers in PyTorch's registration order; `cross` adds multihead_attn, norm3 and dropout3. */
function buildLayer(m: Module, dModel: number, nhead: number, opts: TransformerLayerOptions, cross: boolean): void {
  const F = opts.dimFeedforward ?? 2048,
    p = opts.dropout ?? 0.1,
    eps = opts.layerNormEps ?? 1e-5;
  const common = { dtype: opts.dtype, bias: opts.bias ?? true };
  const mha = () =>
    new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst: opts.batchFirst ?? false, ...common });
  const ln = () => new LayerNorm(dModel, { eps, ...common });
  const a = m as unknown as Record<string, Module>;
  a.self_attn = mha();
  if (cross) a.multihead_attn = mha();
  a.linear1 = new Linear(dModel, F, common);
  a.dropout = new Dropout(p);
  a.linear2 = new Linear(F, dModel, common);
  a.norm1 = ln();
  a.norm2 = ln();
  if (cross) a.norm3 = ln();
  a.dropout1 = new Dropout(p);
  a.dropout2 = new Dropout(p);
  if (cross) a.dropout3 = new Dropout(p);
}

/** Self-attention then feed-forward, each with a residual connection and LayerNorm. */
export class TransformerEncoderLayer extends Module {
  declare self_attn: MultiheadAttention;
  declare linear1: Linear;
  declare dropout: Dropout;
  declare linear2: Linear;
  declare norm1: LayerNorm;
  declare norm2: LayerNorm;
  declare dropout1: Dropout;
  declare dropout2: Dropout;
  readonly normFirst: boolean;
  readonly activation: Activation;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    opts: TransformerLayerOptions = {},
  ) {
    super();
    buildLayer(this, dModel, nhead, opts, false);
    this.normFirst = opts.normFirst ?? false;
    this.activation = opts.activation ?? 'relu';
  }
  forward(
    src: Tensor,
    opts: { srcMask?: Tensor | null; srcKeyPaddingMask?: Tensor | null; isCausal?: boolean } = {},
  ): Tensor {
    // src (S, N, E) -> (S, N, E)
    const sa = (x: Tensor) =>
      this.dropout1.call(
        this.self_attn.call(x, x, x, {
          attnMask: opts.srcMask,
          keyPaddingMask: opts.srcKeyPaddingMask,
          isCausal: opts.isCausal,
          needWeights: false,
        })[0],
      );
    const ff = (x: Tensor) => this.dropout2.call(feedForward(this, x));
    let x = src;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.call(x)));
      return x.add(ff(this.norm2.call(x)));
    }
    x = this.norm1.call(x.add(sa(x)));
    return this.norm2.call(x.add(ff(x)));
  }
}

export interface DecoderCallOptions {
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
}

/** Self-attention, cross-attention over the memory, then feed-forward. */
export class TransformerDecoderLayer extends Module {
  declare self_attn: MultiheadAttention;
  declare multihead_attn: MultiheadAttention;
  declare linear1: Linear;
  declare dropout: Dropout;
  declare linear2: Linear;
  declare norm1: LayerNorm;
  declare norm2: LayerNorm;
  declare norm3: LayerNorm;
  declare dropout1: Dropout;
  declare dropout2: Dropout;
  declare dropout3: Dropout;
  readonly normFirst: boolean;
  readonly activation: Activation;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    opts: TransformerLayerOptions = {},
  ) {
    super();
    buildLayer(this, dModel, nhead, opts, true);
    this.normFirst = opts.normFirst ?? false;
    this.activation = opts.activation ?? 'relu';
  }
  forward(tgt: Tensor, memory: Tensor, opts: DecoderCallOptions = {}): Tensor {
    // tgt (T, N, E), memory (S, N, E) -> (T, N, E)
    const sa = (x: Tensor) =>
      this.dropout1.call(
        this.self_attn.call(x, x, x, {
          attnMask: opts.tgtMask,
          keyPaddingMask: opts.tgtKeyPaddingMask,
          isCausal: opts.tgtIsCausal,
          needWeights: false,
        })[0],
      );
    const mha = (x: Tensor) =>
      this.dropout2.call(
        this.multihead_attn.call(x, memory, memory, {
          attnMask: opts.memoryMask,
          keyPaddingMask: opts.memoryKeyPaddingMask,
          isCausal: opts.memoryIsCausal,
          needWeights: false,
        })[0],
      );
    const ff = (x: Tensor) => this.dropout3.call(feedForward(this, x));
    let x = tgt;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.call(x)));
      x = x.add(mha(this.norm2.call(x)));
      return x.add(ff(this.norm3.call(x)));
    }
    x = this.norm1.call(x.add(sa(x)));
    x = this.norm2.call(x.add(mha(x)));
    return this.norm3.call(x.add(ff(x)));
  }
}

/** numLayers deep copies of encoderLayer, then an optional norm. */
export class TransformerEncoder extends Module {
  declare layers: ModuleList;
  declare norm: Module | null;
  constructor(
    encoderLayer: TransformerEncoderLayer,
    readonly numLayers: number,
    opts: { norm?: Module | null } = {},
  ) {
    super();
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => deepCopyModule(encoderLayer)));
    this.registerModule('norm', opts.norm ?? null);
  }
  forward(
    src: Tensor,
    opts: { mask?: Tensor | null; srcKeyPaddingMask?: Tensor | null; isCausal?: boolean } = {},
  ): Tensor {
    // src (S, N, E) -> (S, N, E)
    let x = src;
    for (const l of this.layers)
      x = (l as TransformerEncoderLayer).call(x, {
        srcMask: opts.mask,
        srcKeyPaddingMask: opts.srcKeyPaddingMask,
        isCausal: opts.isCausal,
      });
    return this.norm ? this.norm.call(x) : x;
  }
}

/** numLayers deep copies of decoderLayer, then an optional norm. */
export class TransformerDecoder extends Module {
  declare layers: ModuleList;
  declare norm: Module | null;
  constructor(
    decoderLayer: TransformerDecoderLayer,
    readonly numLayers: number,
    opts: { norm?: Module | null } = {},
  ) {
    super();
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => deepCopyModule(decoderLayer)));
    this.registerModule('norm', opts.norm ?? null);
  }
  forward(tgt: Tensor, memory: Tensor, opts: DecoderCallOptions = {}): Tensor {
    // tgt (T, N, E), memory (S, N, E) -> (T, N, E)
    let x = tgt;
    for (const l of this.layers) x = (l as TransformerDecoderLayer).call(x, memory, opts);
    return this.norm ? this.norm.call(x) : x;
  }
}

export interface TransformerOptions extends TransformerLayerOptions {
  dModel?: number;
  nhead?: number;
  numEncoderLayers?: number;
  numDecoderLayers?: number;
  customEncoder?: Module;
  customDecoder?: Module;
}

export interface TransformerCallOptions {
  srcMask?: Tensor | null;
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
}

/** Encoder-decoder transformer; parameters with more than one dim are xavier-uniform initialised. */
export class Transformer extends Module {
  declare encoder: Module;
  declare decoder: Module;
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;
  constructor(opts: TransformerOptions = {}) {
    super();
    this.dModel = opts.dModel ?? 512;
    this.nhead = opts.nhead ?? 8;
    this.batchFirst = opts.batchFirst ?? false;
    const eps = opts.layerNormEps ?? 1e-5,
      common = { dtype: opts.dtype, bias: opts.bias ?? true };
    this.encoder =
      opts.customEncoder ??
      new TransformerEncoder(new TransformerEncoderLayer(this.dModel, this.nhead, opts), opts.numEncoderLayers ?? 6, {
        norm: new LayerNorm(this.dModel, { eps, ...common }),
      });
    this.decoder =
      opts.customDecoder ??
      new TransformerDecoder(new TransformerDecoderLayer(this.dModel, this.nhead, opts), opts.numDecoderLayers ?? 6, {
        norm: new LayerNorm(this.dModel, { eps, ...common }),
      });
    for (const p of this.parameters()) if (p.ndim > 1) xavierUniform_(p);
  }
  forward(src: Tensor, tgt: Tensor, opts: TransformerCallOptions = {}): Tensor {
    // src (S, N, E), tgt (T, N, E) -> (T, N, E)
    const nd = this.batchFirst ? 0 : 1;
    if (src.ndim === 3 && tgt.ndim === 3 && src.shape[nd] !== tgt.shape[nd]) {
      throw new Error(
        `Transformer: the batch number of src and tgt must be equal, got ${src.shape[nd]} and ${tgt.shape[nd]}`,
      );
    }
    if (src.shape[src.ndim - 1] !== this.dModel || tgt.shape[tgt.ndim - 1] !== this.dModel) {
      throw new Error(
        `Transformer: the feature number of src and tgt must be equal to d_model (${this.dModel}), got ` +
          `${src.shape[src.ndim - 1]} and ${tgt.shape[tgt.ndim - 1]}`,
      );
    }
    const memory = this.encoder.call(src, { mask: opts.srcMask, srcKeyPaddingMask: opts.srcKeyPaddingMask });
    return this.decoder.call(tgt, memory, {
      tgtMask: opts.tgtMask,
      memoryMask: opts.memoryMask,
      tgtKeyPaddingMask: opts.tgtKeyPaddingMask,
      memoryKeyPaddingMask: opts.memoryKeyPaddingMask,
    });
  }
  /** A float (sz, sz) mask with -inf above the diagonal and 0 elsewhere. */
  static generateSquareSubsequentMask(sz: number, dtype: DType = 'float32'): Tensor {
    return full([sz, sz], -Infinity, { dtype }).triu(1);
  }
}
