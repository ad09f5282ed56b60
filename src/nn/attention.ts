// MultiheadAttention with PyTorch's parameters (in_proj_weight (3E, E) and in_proj_bias, or
// q/k/v_proj_weight when kdim/vdim differ from E, and out_proj) and mask conventions: a bool
// attnMask or keyPaddingMask marks positions that may NOT be attended; a float one is added.
// Glossary: L target length, S source length, N batch, E embed dim, NH heads, HD = E / NH.

import { empty } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { fmtShape } from '../tensor/layout.js';
import { causalMask, dropout, linear, scaledDotProductAttention } from '../ops/nn_ops.js';
import { Module, Parameter } from './module.js';
import { Linear } from './linear.js';
import { constant_, xavierUniform_ } from './init.js';
import { inputError } from './util.js';

/** PyTorch's name for MultiheadAttention's out_proj (a plain Linear). */
export class NonDynamicallyQuantizableLinear extends Linear {}

export interface MultiheadAttentionOptions {
  dropout?: number;
  bias?: boolean;
  kdim?: number;
  vdim?: number;
  batchFirst?: boolean;
  dtype?: DType;
}

export interface AttentionCallOptions {
  /** (N, S): bool true = padding (ignored), or float added. */
  keyPaddingMask?: Tensor | null;
  needWeights?: boolean;
  /** (L, S) or (N*NH, L, S): bool true = not allowed, or float added. */
  attnMask?: Tensor | null;
  averageAttnWeights?: boolean;
  /** Causal mask when no attnMask is given. */
  isCausal?: boolean;
}

/** A mask as an additive float tensor of dtype dt (bool true -> -inf). */
function additive(mask: Tensor, dt: DType): Tensor {
  if (mask.dtype === 'bool') return mask.to(dt).mul(-Infinity).maskedFill(mask.logicalNot(), 0);
  return mask.to(dt);
}

export class MultiheadAttention extends Module {
  declare in_proj_weight: Parameter | null;
  declare q_proj_weight: Parameter | null;
  declare k_proj_weight: Parameter | null;
  declare v_proj_weight: Parameter | null;
  declare in_proj_bias: Parameter | null;
  declare out_proj: NonDynamicallyQuantizableLinear;
  readonly kdim: number;
  readonly vdim: number;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    opts: MultiheadAttentionOptions = {},
  ) {
    super();
    this.kdim = opts.kdim ?? embedDim;
    this.vdim = opts.vdim ?? embedDim;
    this.dropout = opts.dropout ?? 0;
    this.batchFirst = opts.batchFirst ?? false;
    this.headDim = Math.floor(embedDim / numHeads);
    if (this.headDim * numHeads !== embedDim)
      throw new Error(`MultiheadAttention: embed_dim (${embedDim}) must be divisible by num_heads (${numHeads})`);
    const dtype = opts.dtype ?? 'float32',
      bias = opts.bias ?? true;
    const E = embedDim;
    if (this.kdim === E && this.vdim === E) {
      this.registerParameter('in_proj_weight', new Parameter(empty([3 * E, E], { dtype })));
    } else {
      this.registerParameter('q_proj_weight', new Parameter(empty([E, E], { dtype })));
      this.registerParameter('k_proj_weight', new Parameter(empty([E, this.kdim], { dtype })));
      this.registerParameter('v_proj_weight', new Parameter(empty([E, this.vdim], { dtype })));
    }
    this.registerParameter('in_proj_bias', bias ? new Parameter(empty([3 * E], { dtype })) : null);
    this.out_proj = new NonDynamicallyQuantizableLinear(E, E, { bias, dtype });
    this.resetParameters();
  }
  resetParameters(): void {
    for (const n of ['in_proj_weight', 'q_proj_weight', 'k_proj_weight', 'v_proj_weight']) {
      const p = this._parameters.get(n);
      if (p) xavierUniform_(p);
    }
    if (this.in_proj_bias) constant_(this.in_proj_bias, 0);
    if (this.out_proj.bias) constant_(this.out_proj.bias, 0);
  }

  /** q, k, v projections: (L, N, E), (S, N, kdim), (S, N, vdim) -> (L, N, E), (S, N, E), (S, N, E). */
  private project(q: Tensor, k: Tensor, v: Tensor): [Tensor, Tensor, Tensor] {
    const E = this.embedDim,
      b = this.in_proj_bias;
    const bq = b ? b.narrow(0, 0, E) : null,
      bk = b ? b.narrow(0, E, E) : null,
      bv = b ? b.narrow(0, 2 * E, E) : null;
    if (this.in_proj_weight) {
      const [wq, wk, wv] = this.in_proj_weight.chunk(3, 0);
      return [linear(q, wq, bq), linear(k, wk, bk), linear(v, wv, bv)];
    }
    return [linear(q, this.q_proj_weight!, bq), linear(k, this.k_proj_weight!, bk), linear(v, this.v_proj_weight!, bv)];
  }

  /**
   * forward(query, key, value, opts) -> [attnOutput, attnWeights | null].
   * query (L, N, E), key (S, N, kdim), value (S, N, vdim) (batchFirst: N first; unbatched: no N).
   * Weights are (N, L, S) averaged over heads, or (N, NH, L, S).
   */
  forward(query: Tensor, key: Tensor, value: Tensor, opts: AttentionCallOptions = {}): [Tensor, Tensor | null] {
    // query (L, N, E), key (S, N, kdim), value (S, N, vdim) -> (L, N, E), (N, L, S)
    const E = this.embedDim,
      NH = this.numHeads,
      HD = this.headDim;
    const batched = query.ndim === 3;
    const exp = (d: number, n: string) =>
      batched ? (this.batchFirst ? `(N, ${n}, ${d})` : `(${n}, N, ${d})`) : `(${n}, ${d})`;
    if ((query.ndim !== 2 && query.ndim !== 3) || query.shape[query.ndim - 1] !== E)
      throw inputError(this, `query ${exp(E, 'L')}`, query);
    if (key.ndim !== query.ndim || key.shape[key.ndim - 1] !== this.kdim)
      throw inputError(this, `key ${exp(this.kdim, 'S')}`, key);
    if (
      value.ndim !== query.ndim ||
      value.shape[value.ndim - 1] !== this.vdim ||
      value.shape[value.ndim - 2] !== key.shape[key.ndim - 2]
    ) {
      throw inputError(this, `value ${exp(this.vdim, 'S')} matching key ${fmtShape(key.shape)}`, value);
    }
    const toLNE = (t: Tensor) => (!batched ? t.unsqueeze(1) : this.batchFirst ? t.transpose(0, 1) : t);
    const [qi, ki, vi] = [toLNE(query), toLNE(key), toLNE(value)];
    const L = qi.shape[0],
      N = qi.shape[1],
      S = ki.shape[0];
    const [q, k, v] = this.project(qi, ki, vi);
    // (T, N, E) -> (N, NH, T, HD)
    const heads = (t: Tensor) => t.reshape([t.shape[0], N, NH, HD]).permute(1, 2, 0, 3);
    let mask = opts.attnMask ?? null;
    if (mask) {
      const ok2 = mask.ndim === 2 && mask.shape[0] === L && mask.shape[1] === S;
      const ok3 = mask.ndim === 3 && mask.shape[0] === N * NH && mask.shape[1] === L && mask.shape[2] === S;
      if (!ok2 && !ok3) throw inputError(this, `attnMask (${L}, ${S}) or (${N * NH}, ${L}, ${S})`, mask);
      mask = ok3 ? additive(mask, q.dtype).reshape([N, NH, L, S]) : additive(mask, q.dtype);
    }
    const kpm = opts.keyPaddingMask ?? null;
    if (kpm) {
      const want = batched ? [N, S] : [S];
      if (fmtShape(kpm.shape) !== fmtShape(want)) throw inputError(this, `keyPaddingMask ${fmtShape(want)}`, kpm);
      const pad = additive(kpm, q.dtype).reshape([N, 1, 1, S]);
      mask = mask ? mask.add(pad) : pad;
    }
    const causal = !opts.attnMask && (opts.isCausal ?? false);
    const p = this.training ? this.dropout : 0;
    const needWeights = opts.needWeights ?? true;
    let ctx: Tensor, // (N, NH, L, HD)
      attn: Tensor | null = null; // (N, NH, L, S)
    if (!needWeights) {
      // as PyTorch with need_weights=False: scaled_dot_product_attention, fused where the backend has it
      ctx = scaledDotProductAttention(heads(q), heads(k), heads(v), { attnMask: mask, isCausal: causal, dropoutP: p });
    } else {
      let scores = heads(q)
        .matmul(heads(k).mT)
        .mul(1 / Math.sqrt(HD)); // (N, NH, L, S)
      if (causal) scores = scores.add(additive(causalMask(L, S).logicalNot(), scores.dtype));
      if (mask) scores = scores.add(mask);
      attn = scores.softmax(-1);
      if (p > 0) attn = dropout(attn, p, true);
      ctx = attn.matmul(heads(v));
    }
    // (N, NH, L, HD) -> (L, N, E)
    let out = this.out_proj.call(ctx.permute(2, 0, 1, 3).reshape([L, N, E]));
    out = !batched ? out.squeeze(1) : this.batchFirst ? out.transpose(0, 1) : out;
    let weights: Tensor | null = null;
    if (attn) {
      weights = (opts.averageAttnWeights ?? true) ? attn.mean(1) : attn;
      if (!batched) weights = weights.squeeze(0);
    }
    return [out, weights];
  }
}
