// Recommenders for explicit ratings and implicit feedback, trained with nabla's own Embedding, Adam and
// DataLoader on MovieLens (src/data/movielens.ts):
//   MatrixFactorization   r = mu + b_u + b_i + p_u . q_i                 (biased MF, "SVD" of the Netflix prize)
//   GenreModel            r = mu + b_u + w_u . g_i                       (content-based: the movie's genres g_i)
//   HybridMF              r = mu + b_u + b_i + p_u . (q_i + E^T g_i) + w_u . g_i   (MF whose items also speak genre)
//   NeuMF                 logit = h . [p_u * q_i ; MLP([p'_u ; q'_i])]  (He et al. 2017, GMF + MLP)
// Glossary: B batch, U users, M movies, G genres, K factors.

import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/grad_mode.js';
import { fromTypedArray, zeros } from '../tensor/creation.js';
import { cat } from '../ops/movement.js';
import { Module, Parameter } from '../nn/module.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { ReLU } from '../nn/activations.js';
import { Sequential } from '../nn/containers.js';
import { normal_, xavierUniform_, kaimingUniform_, zeros_ } from '../nn/init.js';
import type { MovieLens } from '../data/movielens.js';

/** A model that scores (user, movie) pairs: predicted stars, or a logit for implicit feedback. */
export interface PairScorer extends Module {
  /** users (B) int32, items (B) int32 -> (B) */
  forward(users: Tensor, items: Tensor): Tensor;
  /** The L2 penalty of the parameters a batch touches, summed over the batch: shrinks rare users and items. */
  penalty?(users: Tensor, items: Tensor): Tensor;
}

function checkIds(op: string, users: Tensor, items: Tensor, numUsers: number, numItems: number): void {
  if (users.dtype !== 'int32' || items.dtype !== 'int32' || users.ndim !== 1 || items.ndim !== 1) {
    throw new Error(
      `${op}: users and items must be 1-d int32 tensors, got ${users.dtype} [${users.shape}] and ${items.dtype} ` +
        `[${items.shape}]`,
    );
  }
  if (users.shape[0] !== items.shape[0])
    throw new Error(`${op}: ${users.shape[0]} users but ${items.shape[0]} items (one of each per pair)`);
  const check = (t: Tensor, n: number, what: string) => {
    if (t.numel() === 0) return;
    const lo = t.min().item(),
      hi = t.max().item();
    if (lo < 0 || hi >= n) throw new Error(`${op}: ${what} index ${lo < 0 ? lo : hi} is out of range [0, ${n})`);
  };
  check(users, numUsers, 'user');
  check(items, numItems, 'item');
}

function sqNorm(x: Tensor): Tensor {
  // x (B, K) -> sum of squares
  return x.square().sum();
}

export interface MatrixFactorizationOptions {
  /** K latent factors (default 32). */
  factors?: number;
  /** Std of the factors' normal initialisation (default 0.1). */
  initStd?: number;
}

/** Biased matrix factorisation: r = mu + b_u + b_i + p_u . q_i. */
export class MatrixFactorization extends Module implements PairScorer {
  declare userFactors: Embedding;
  declare itemFactors: Embedding;
  declare userBias: Embedding;
  declare itemBias: Embedding;
  declare globalBias: Parameter;
  readonly factors: number;
  constructor(
    readonly numUsers: number,
    readonly numItems: number,
    opts: MatrixFactorizationOptions = {},
  ) {
    super();
    this.factors = opts.factors ?? 32;
    const std = opts.initStd ?? 0.1;
    this.userFactors = new Embedding(numUsers, this.factors);
    this.itemFactors = new Embedding(numItems, this.factors);
    this.userBias = new Embedding(numUsers, 1);
    this.itemBias = new Embedding(numItems, 1);
    this.globalBias = new Parameter(zeros([1]));
    normal_(this.userFactors.weight, 0, std);
    normal_(this.itemFactors.weight, 0, std);
    zeros_(this.userBias.weight);
    zeros_(this.itemBias.weight);
  }
  forward(users: Tensor, items: Tensor): Tensor {
    checkIds('MatrixFactorization', users, items, this.numUsers, this.numItems);
    const dot = this.userFactors.call(users).mul(this.itemFactors.call(items)).sum(1); // (B)
    return dot.add(this.userBias.call(users).squeeze(1)).add(this.itemBias.call(items).squeeze(1)).add(this.globalBias);
  }
  penalty(users: Tensor, items: Tensor): Tensor {
    return sqNorm(this.userFactors.call(users))
      .add(sqNorm(this.itemFactors.call(items)))
      .add(sqNorm(this.userBias.call(users)))
      .add(sqNorm(this.itemBias.call(items)));
  }
  override extraRepr(): string {
    return `users=${this.numUsers}, items=${this.numItems}, factors=${this.factors}`;
  }
}

/**
 * Item features (M, G) from genres: multi-hot, each row scaled to unit length so that a movie with
 * many genres does not outweigh one with a single genre.
 */
export function genreFeatures(ml: Pick<MovieLens, 'genres' | 'genreNames'>): Tensor {
  const G = ml.genreNames.length,
    M = ml.genres.length;
  const col = new Map(ml.genreNames.map((g, k) => [g, k]));
  const f = new Float32Array(M * G);
  ml.genres.forEach((gs, m) => {
    const known = gs.filter((g) => col.has(g));
    for (const g of known) f[m * G + col.get(g)!] = 1 / Math.sqrt(known.length);
  });
  return fromTypedArray(f, [M, G]);
}

/** Content-based: r = mu + b_u + w_u . g_i, with g_i the movie's genre features (no per-movie parameter). */
export class GenreModel extends Module implements PairScorer {
  declare userWeights: Embedding;
  declare userBias: Embedding;
  declare globalBias: Parameter;
  declare itemFeatures: Tensor;
  readonly numUsers: number;
  readonly numItems: number;
  constructor(numUsers: number, itemFeatures: Tensor) {
    super();
    if (itemFeatures.ndim !== 2)
      throw new Error(`GenreModel: itemFeatures must be (M, G), got [${itemFeatures.shape}]`);
    this.numUsers = numUsers;
    this.numItems = itemFeatures.shape[0];
    this.registerBuffer('itemFeatures', itemFeatures);
    this.userWeights = new Embedding(numUsers, itemFeatures.shape[1]);
    this.userBias = new Embedding(numUsers, 1);
    this.globalBias = new Parameter(zeros([1]));
    zeros_(this.userWeights.weight);
    zeros_(this.userBias.weight);
  }
  forward(users: Tensor, items: Tensor): Tensor {
    checkIds('GenreModel', users, items, this.numUsers, this.numItems);
    const g = this.itemFeatures.indexSelect(0, items); // (B, G)
    return this.userWeights.call(users).mul(g).sum(1).add(this.userBias.call(users).squeeze(1)).add(this.globalBias);
  }
  penalty(users: Tensor): Tensor {
    return sqNorm(this.userWeights.call(users)).add(sqNorm(this.userBias.call(users)));
  }
}

/**
 * Hybrid: MF whose item factors add a genre embedding (q_i + E^T g_i), plus the content model's
 * per-user genre weights. Movies with few ratings lean on their genres.
 */
export class HybridMF extends Module implements PairScorer {
  declare mf: MatrixFactorization;
  declare genreFactors: Linear;
  declare userGenreWeights: Embedding;
  declare itemFeatures: Tensor;
  constructor(numUsers: number, itemFeatures: Tensor, opts: MatrixFactorizationOptions = {}) {
    super();
    if (itemFeatures.ndim !== 2) throw new Error(`HybridMF: itemFeatures must be (M, G), got [${itemFeatures.shape}]`);
    this.mf = new MatrixFactorization(numUsers, itemFeatures.shape[0], opts);
    this.registerBuffer('itemFeatures', itemFeatures);
    this.genreFactors = new Linear(itemFeatures.shape[1], this.mf.factors, { bias: false });
    normal_(this.genreFactors.weight, 0, opts.initStd ?? 0.1);
    this.userGenreWeights = new Embedding(numUsers, itemFeatures.shape[1]);
    zeros_(this.userGenreWeights.weight);
  }
  get numUsers(): number {
    return this.mf.numUsers;
  }
  get numItems(): number {
    return this.mf.numItems;
  }
  forward(users: Tensor, items: Tensor): Tensor {
    checkIds('HybridMF', users, items, this.numUsers, this.numItems);
    const mf = this.mf;
    const g = this.itemFeatures.indexSelect(0, items); // (B, G)
    const p = mf.userFactors.call(users); // (B, K)
    const q = mf.itemFactors.call(items).add(this.genreFactors.call(g)); // (B, K)
    return p
      .mul(q)
      .sum(1)
      .add(this.userGenreWeights.call(users).mul(g).sum(1))
      .add(mf.userBias.call(users).squeeze(1))
      .add(mf.itemBias.call(items).squeeze(1))
      .add(mf.globalBias);
  }
  penalty(users: Tensor, items: Tensor): Tensor {
    return this.mf.penalty(users, items).add(sqNorm(this.userGenreWeights.call(users)));
  }
}

/** Which of He et al.'s three models a NeuMF is: GMF alone, the MLP alone, or both joined (NeuMF). */
export type NCFBranches = 'both' | 'gmf' | 'mlp';

export interface NeuMFOptions {
  /** GMF factors; the MLP's embeddings have factors * 2^(layers-1) (He et al.'s "predictive factors"). Default 16. */
  factors?: number;
  /** Hidden layers of the MLP tower (default 3: 4K -> 2K -> K at factors K... halving each layer). */
  layers?: number;
  /** 'gmf' or 'mlp' builds only that branch (He et al.'s GMF and MLP baselines); default 'both' (NeuMF). */
  branches?: NCFBranches;
}

/**
 * Neural matrix factorisation (He et al. 2017): a GMF branch (p_u * q_i) and an MLP branch over the
 * concatenated MLP embeddings, joined by one linear layer into a logit of "u interacted with i".
 * With `branches: 'gmf'` or `'mlp'` it is the paper's GMF or MLP model alone (the predict layer then reads K
 * features), which `fromPretrained` joins into a NeuMF.
 * Initialisation as in the reference PyTorch port (guoyang9/NCF): N(0, 0.01) embeddings, Xavier MLP.
 */
export class NeuMF extends Module implements PairScorer {
  declare embedUserGMF?: Embedding;
  declare embedItemGMF?: Embedding;
  declare embedUserMLP?: Embedding;
  declare embedItemMLP?: Embedding;
  declare mlp?: Sequential;
  declare predictLayer: Linear;
  readonly factors: number;
  readonly layers: number;
  readonly branches: NCFBranches;
  constructor(
    readonly numUsers: number,
    readonly numItems: number,
    opts: NeuMFOptions = {},
  ) {
    super();
    this.factors = opts.factors ?? 16;
    const k = this.factors;
    const layers = opts.layers ?? 3;
    if (!Number.isInteger(layers) || layers < 1)
      throw new Error(`NeuMF: layers must be a positive integer, got ${layers}`);
    const branches = opts.branches ?? 'both';
    if (!['both', 'gmf', 'mlp'].includes(branches))
      throw new Error(`NeuMF: branches must be 'both', 'gmf' or 'mlp', got '${String(branches)}'`);
    this.layers = layers;
    this.branches = branches;
    const embeddings: Embedding[] = [];
    if (branches !== 'mlp') {
      this.embedUserGMF = new Embedding(numUsers, k);
      this.embedItemGMF = new Embedding(numItems, k);
      embeddings.push(this.embedUserGMF, this.embedItemGMF);
    }
    if (branches !== 'gmf') {
      const mlpDim = k * 2 ** (layers - 1);
      this.embedUserMLP = new Embedding(numUsers, mlpDim);
      this.embedItemMLP = new Embedding(numItems, mlpDim);
      embeddings.push(this.embedUserMLP, this.embedItemMLP);
      const mods: Module[] = [];
      for (let l = 0; l < layers; l++) {
        const inDim = k * 2 ** (layers - l);
        const lin = new Linear(inDim, inDim / 2);
        xavierUniform_(lin.weight);
        zeros_(lin.bias!);
        mods.push(lin, new ReLU());
      }
      this.mlp = new Sequential(...mods);
    }
    this.predictLayer = new Linear(branches === 'both' ? 2 * k : k, 1);
    kaimingUniform_(this.predictLayer.weight, { a: 1, nonlinearity: 'sigmoid' });
    zeros_(this.predictLayer.bias!);
    for (const e of embeddings) normal_(e.weight, 0, 0.01);
  }

  /**
   * He et al.'s pretrained NeuMF (Section 3.4.1): the embeddings and MLP tower copied from a trained GMF and MLP
   * of the same factors and layers, the predict layer the weighted concatenation [alpha h_GMF ; (1 - alpha) h_MLP]
   * with bias alpha b_GMF + (1 - alpha) b_MLP (alpha 0.5 in the paper).
   */
  static fromPretrained(gmf: NeuMF, mlp: NeuMF, alpha = 0.5): NeuMF {
    if (gmf.branches !== 'gmf' || mlp.branches !== 'mlp')
      throw new Error(
        `NeuMF.fromPretrained: want a 'gmf' and an 'mlp' model, got '${gmf.branches}' and '${mlp.branches}'`,
      );
    const same = (k: 'numUsers' | 'numItems' | 'factors') => {
      if (gmf[k] !== mlp[k]) throw new Error(`NeuMF.fromPretrained: GMF has ${k} ${gmf[k]}, MLP ${mlp[k]}`);
    };
    same('numUsers');
    same('numItems');
    same('factors');
    if (!(alpha >= 0 && alpha <= 1)) throw new Error(`NeuMF.fromPretrained: alpha must be in [0, 1], got ${alpha}`);
    const out = new NeuMF(gmf.numUsers, gmf.numItems, { factors: gmf.factors, layers: mlp.layers });
    const state: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(gmf.stateDict())) if (!name.startsWith('predictLayer')) state[name] = t;
    for (const [name, t] of Object.entries(mlp.stateDict())) if (!name.startsWith('predictLayer')) state[name] = t;
    noGrad(() => {
      state['predictLayer.weight'] = cat(
        [gmf.predictLayer.weight.mul(alpha), mlp.predictLayer.weight.mul(1 - alpha)],
        1,
      ); // (1, 2K)
      state['predictLayer.bias'] = gmf.predictLayer.bias!.mul(alpha).add(mlp.predictLayer.bias!.mul(1 - alpha));
    });
    out.loadStateDict(state);
    return out;
  }

  forward(users: Tensor, items: Tensor): Tensor {
    checkIds('NeuMF', users, items, this.numUsers, this.numItems);
    const parts: Tensor[] = [];
    if (this.embedUserGMF) parts.push(this.embedUserGMF.call(users).mul(this.embedItemGMF!.call(items))); // (B, K)
    if (this.embedUserMLP) {
      const both = cat([this.embedUserMLP.call(users), this.embedItemMLP!.call(items)], 1); // (B, 2 * 2^(L-1) K)
      parts.push(this.mlp!.call(both) as Tensor); // (B, K)
    }
    const h = parts.length === 1 ? parts[0] : cat(parts, 1); // (B, K) or (B, 2K)
    return (this.predictLayer.call(h) as Tensor).squeeze(1); // (B)
  }
  penalty(users: Tensor, items: Tensor): Tensor {
    const terms: Tensor[] = [];
    for (const [e, ids] of [
      [this.embedUserGMF, users],
      [this.embedItemGMF, items],
      [this.embedUserMLP, users],
      [this.embedItemMLP, items],
    ] as const)
      if (e) terms.push(sqNorm(e.call(ids)));
    return terms.reduce((a, b) => a.add(b));
  }
  override extraRepr(): string {
    const b = this.branches === 'both' ? '' : `, branches=${this.branches}`;
    return `users=${this.numUsers}, items=${this.numItems}, factors=${this.factors}, layers=${this.layers}${b}`;
  }
}
