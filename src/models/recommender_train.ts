// Training, evaluation and use of the recommenders in ./recommender.ts on MovieLens:
//   fitRatings      explicit ratings: MSE + L2 on the rows a batch touches (Adam, DataLoader), test RMSE
//   fitImplicit     implicit feedback: every rating is a positive, numNegatives unrated movies per
//                   positive are drawn afresh each epoch, binary cross-entropy on the logits
//   evaluateRanking leave-one-out HR@K and NDCG@K of the held-out movie among sampled negatives
//   recommend       the top unrated movies of a user; similarMovies: nearest item factors
//   save/loadRecommender  a folder with config.json and model.safetensors
// Glossary: B batch, U users, M movies, N negatives per test user, K cut-off.

import { existsSync, join, mkdirSync } from '../platform/node.js';
import type { Tensor } from '../tensor/tensor.js';
import { fromTypedArray } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import { noGrad } from '../autograd/grad_mode.js';
import { cat } from '../ops/movement.js';
import { binaryCrossEntropyWithLogits, mseLoss } from '../nn/functional/losses.js';
import { Adam } from '../optim/adam.js';
import { SGD } from '../optim/sgd.js';
import { TensorDataset } from '../data/dataset.js';
import { DataLoader } from '../data/dataloader.js';
import type { MovieLens } from '../data/movielens.js';
import { loadSafetensors, saveSafetensors } from '../io/tensors.js';
import { readConfigJson, writeJsonAtomic } from './loading.js';
import {
  GenreModel,
  HybridMF,
  MatrixFactorization,
  NeuMF,
  genreFeatures,
  type NCFBranches,
  type PairScorer,
} from './recommender.js';

/** Progress of a training run: called after every batch and at the end of every epoch. */
export interface FitCallbacks {
  onStep?(step: number, steps: number, loss: number): void;
  onEpochEnd?(epoch: number, info: Record<string, number>): void;
}

export interface FitRatingsOptions extends FitCallbacks {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Weight of the L2 penalty per rating (default 0.1). */
  l2?: number;
  seed?: number;
  /** Rows whose RMSE is reported after each epoch (info.test_rmse); only reported, never used to choose. */
  evalRows?: Int32Array;
}

export interface FitHistory {
  [key: string]: number[];
}

function int32(a: Int32Array): Tensor {
  return fromTypedArray(a, [a.length]);
}

function gatherRows(ml: MovieLens, rows: Int32Array): { users: Int32Array; items: Int32Array; ratings: Float32Array } {
  const users = new Int32Array(rows.length),
    items = new Int32Array(rows.length),
    ratings = new Float32Array(rows.length);
  rows.forEach((r, k) => {
    users[k] = ml.user[r];
    items[k] = ml.movie[r];
    ratings[k] = ml.rating[r];
  });
  return { users, items, ratings };
}

function positiveInt(op: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${name} must be a positive integer, got ${v}`);
  return v;
}

/** Trains a rating model (MF, genre, hybrid) on the given rating rows; returns the per-epoch history. */
export function fitRatings(
  model: PairScorer,
  ml: MovieLens,
  rows: Int32Array,
  opts: FitRatingsOptions = {},
): FitHistory {
  const epochs = positiveInt('fitRatings', 'epochs', opts.epochs ?? 20);
  const batchSize = positiveInt('fitRatings', 'batchSize', opts.batchSize ?? 512);
  const l2 = opts.l2 ?? 0.1;
  const { users, items, ratings } = gatherRows(ml, rows);
  // NOTE: the global bias starts at the mean rating, so the first epochs fit deviations, not the offset.
  const mean = ratings.reduce((a, b) => a + b, 0) / Math.max(1, ratings.length);
  const gb = [...model.namedParameters()].find(([n]) => n.endsWith('globalBias'));
  if (gb) noGrad(() => gb[1].fill_(mean));
  const ds = new TensorDataset(int32(users), int32(items), fromTypedArray(ratings, [ratings.length]));
  const loader = new DataLoader(ds, { batchSize, shuffle: true, generator: new Generator(opts.seed ?? 0) });
  const opt = new Adam(model.parameters(), { lr: opts.lr ?? 2e-3 });
  const history: FitHistory = { loss: [], train_rmse: [] };
  if (opts.evalRows) history.test_rmse = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    model.train();
    let sse = 0,
      lossSum = 0,
      step = 0;
    for (const batch of loader) {
      const [u, i, r] = batch as Tensor[];
      opt.zeroGrad();
      const pred = model.call(u, i) as Tensor;
      const mse = mseLoss(pred, r);
      const loss = model.penalty && l2 > 0 ? mse.add(model.penalty(u, i).mul(l2 / u.shape[0])) : mse;
      loss.backward();
      opt.step();
      sse += mse.item() * u.shape[0];
      lossSum += loss.item();
      step++;
      opts.onStep?.(step, loader.length, loss.item());
    }
    const info: Record<string, number> = { loss: lossSum / step, train_rmse: Math.sqrt(sse / rows.length) };
    if (opts.evalRows) info.test_rmse = ratingRMSE(model, ml, opts.evalRows);
    for (const [k, v] of Object.entries(info)) history[k].push(v);
    opts.onEpochEnd?.(epoch, info);
  }
  model.eval();
  return history;
}

/** Scores of (user, movie) pairs in batches, without gradients. */
export function scorePairs(model: PairScorer, users: Int32Array, items: Int32Array, batchSize = 8192): Float32Array {
  const out = new Float32Array(users.length);
  model.eval();
  noGrad(() => {
    for (let s = 0; s < users.length; s += batchSize) {
      const e = Math.min(users.length, s + batchSize);
      const y = model.call(int32(users.subarray(s, e)), int32(items.subarray(s, e))) as Tensor;
      out.set(y.toTypedArray() as Float32Array, s);
    }
  });
  return out;
}

/** Root-mean-square error of the predicted stars (clamped to MovieLens's 0.5..5) on rating rows. */
export function ratingRMSE(model: PairScorer, ml: MovieLens, rows: Int32Array): number {
  if (rows.length === 0) throw new Error('ratingRMSE: no rating rows to evaluate');
  const { users, items, ratings } = gatherRows(ml, rows);
  const pred = scorePairs(model, users, items);
  let sse = 0;
  for (let k = 0; k < pred.length; k++) sse += (Math.min(5, Math.max(0.5, pred[k])) - ratings[k]) ** 2;
  return Math.sqrt(sse / pred.length);
}

/** The movies each user rated in the given rows (all rows when omitted). */
export function ratedSets(ml: MovieLens, rows?: Int32Array): Set<number>[] {
  const sets = ml.userIds.map(() => new Set<number>());
  const n = rows ? rows.length : ml.user.length;
  for (let k = 0; k < n; k++) {
    const r = rows ? rows[k] : k;
    sets[ml.user[r]].add(ml.movie[r]);
  }
  return sets;
}

/** The movies with at least one rating: the item universe of the ranking task. */
export function ratedMovies(ml: MovieLens): Int32Array {
  const seen = new Uint8Array(ml.movieIds.length);
  for (let r = 0; r < ml.movie.length; r++) seen[ml.movie[r]] = 1;
  const out: number[] = [];
  for (let m = 0; m < seen.length; m++) if (seen[m]) out.push(m);
  return Int32Array.from(out);
}

function drawUnrated(
  rated: Set<number>,
  candidates: Int32Array,
  n: number,
  gen: Generator,
  out: Int32Array,
  at: number,
) {
  if (rated.size + n > candidates.length)
    throw new Error(`negative sampling: the user rated ${rated.size} of ${candidates.length} movies, ${n} more needed`);
  const taken = new Set<number>();
  for (let k = 0; k < n; ) {
    const m = candidates[gen.randint(0, candidates.length)];
    if (rated.has(m) || taken.has(m)) continue;
    taken.add(m);
    out[at + k++] = m;
  }
}

export interface FitImplicitOptions extends FitCallbacks {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Unrated movies drawn per positive each epoch (default 4, as He et al.). */
  numNegatives?: number;
  /** Weight of the L2 penalty per sample on the embeddings it touches (default 0). */
  l2?: number;
  /** 'adam' (default) or 'sgd': plain SGD, as He et al. fine-tune a NeuMF initialised from a pretrained GMF and MLP. */
  optimizer?: 'adam' | 'sgd';
  seed?: number;
  /**
   * Held-out rows and their negatives (sampleTestNegatives), ranked after every epoch (info val_hr, val_ndcg):
   * the weights of the epoch with the best HR@10 are restored at the end (history.best_epoch), and with
   * `patience` the run stops after that many epochs without a better one.
   */
  validation?: { rows: Int32Array; negatives: Int32Array; patience?: number };
}

/** Trains a model (NeuMF) on implicit feedback: the rows are positives, negatives are sampled. */
export function fitImplicit(
  model: PairScorer,
  ml: MovieLens,
  rows: Int32Array,
  opts: FitImplicitOptions = {},
): FitHistory {
  const epochs = positiveInt('fitImplicit', 'epochs', opts.epochs ?? 10);
  const batchSize = positiveInt('fitImplicit', 'batchSize', opts.batchSize ?? 256);
  const neg = positiveInt('fitImplicit', 'numNegatives', opts.numNegatives ?? 4);
  const l2 = opts.l2 ?? 0;
  const gen = new Generator(opts.seed ?? 0);
  // NOTE: negatives avoid only the training rows, as He et al.'s code: excluding a held-out movie too would
  // tell the model which unrated movie is the test one.
  const rated = ratedSets(ml, rows);
  const candidates = ratedMovies(ml);
  const { users: pu, items: pi } = gatherRows(ml, rows);
  const lr = opts.lr ?? 1e-3;
  const opt = opts.optimizer === 'sgd' ? new SGD(model.parameters(), { lr }) : new Adam(model.parameters(), { lr });
  const history: FitHistory = { loss: [] };
  const val = opts.validation;
  let bestHr = -1,
    best: Record<string, Tensor> | null = null;
  const n = rows.length * (1 + neg);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const users = new Int32Array(n),
      items = new Int32Array(n),
      labels = new Float32Array(n);
    users.set(pu);
    items.set(pi);
    labels.fill(1, 0, rows.length);
    const negItems = new Int32Array(neg);
    for (let k = 0; k < rows.length; k++) {
      drawUnrated(rated[pu[k]], candidates, neg, gen, negItems, 0);
      for (let j = 0; j < neg; j++) {
        users[rows.length + k * neg + j] = pu[k];
        items[rows.length + k * neg + j] = negItems[j];
      }
    }
    const ds = new TensorDataset(int32(users), int32(items), fromTypedArray(labels, [n]));
    const loader = new DataLoader(ds, { batchSize, shuffle: true, generator: gen });
    model.train();
    let lossSum = 0,
      step = 0;
    for (const batch of loader) {
      const [u, i, y] = batch as Tensor[];
      opt.zeroGrad();
      const bce = binaryCrossEntropyWithLogits(model.call(u, i) as Tensor, y);
      const loss = model.penalty && l2 > 0 ? bce.add(model.penalty(u, i).mul(l2 / u.shape[0])) : bce;
      loss.backward();
      opt.step();
      lossSum += loss.item();
      step++;
      opts.onStep?.(step, loader.length, loss.item());
    }
    const info: Record<string, number> = { loss: lossSum / step };
    if (val) {
      const m = evaluateRanking((u, i) => scorePairs(model, u, i), ml, val.rows, val.negatives);
      info.val_hr = m.hr;
      info.val_ndcg = m.ndcg;
      if (m.hr > bestHr) {
        bestHr = m.hr;
        history.best_epoch = [epoch];
        best = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, (t as Tensor).clone()]));
      }
    }
    for (const [k, v] of Object.entries(info)) {
      history[k] ??= [];
      history[k].push(v);
    }
    opts.onEpochEnd?.(epoch, info);
    if (val?.patience !== undefined && epoch - history.best_epoch[0] >= val.patience) break;
  }
  if (best) model.loadStateDict(best);
  model.eval();
  return history;
}

export interface FitNCFOptions extends Omit<FitImplicitOptions, 'optimizer' | 'l2' | keyof FitCallbacks> {
  /** Predictive factors K of GMF and of the MLP tower's last layer (default 16). */
  factors?: number;
  /** Hidden layers of the MLP tower (default 3: 4K -> 2K -> K). */
  layers?: number;
  /** Epochs of plain SGD on the joined NeuMF after GMF and MLP are pretrained with Adam (default 3). */
  fineTuneEpochs?: number;
  /** SGD learning rate of the fine-tuning (default 1e-3, as He et al.). */
  fineTuneLr?: number;
  /** Progress callbacks for each stage: 'gmf', 'mlp', then 'both' (the joined NeuMF). */
  callbacks?(stage: NCFBranches): FitCallbacks;
}

/** The three trained models of fitNCF and their histories. */
export interface NCFResult {
  gmf: NeuMF;
  mlp: NeuMF;
  neumf: NeuMF;
  history: Record<NCFBranches, FitHistory>;
}

/**
 * He et al.'s full NCF recipe (Section 3.4.1): GMF and MLP trained apart with Adam, NeuMF initialised from
 * both (NeuMF.fromPretrained, alpha 0.5) and fine-tuned with plain SGD. With `validation`, every stage keeps
 * its best epoch by held-out HR@10.
 */
export function fitNCF(ml: MovieLens, rows: Int32Array, opts: FitNCFOptions = {}): NCFResult {
  const { factors = 16, layers = 3, fineTuneEpochs = 3, fineTuneLr = 1e-3, callbacks, ...fit } = opts;
  const U = ml.userIds.length,
    M = ml.movieIds.length;
  const stage = (model: NeuMF, o: FitImplicitOptions) =>
    fitImplicit(model, ml, rows, { ...fit, ...o, ...callbacks?.(model.branches) });
  const gmf = new NeuMF(U, M, { factors, layers, branches: 'gmf' });
  const mlp = new NeuMF(U, M, { factors, layers, branches: 'mlp' });
  const history = { gmf: stage(gmf, {}), mlp: stage(mlp, {}) } as Record<NCFBranches, FitHistory>;
  const neumf = NeuMF.fromPretrained(gmf, mlp, 0.5);
  history.both = stage(neumf, { epochs: fineTuneEpochs, lr: fineTuneLr, optimizer: 'sgd' });
  return { gmf, mlp, neumf, history };
}

/** For each test row, `num` movies (default 99) the user never rated: (testRows.length * num), row-major. */
export function sampleTestNegatives(ml: MovieLens, testRows: Int32Array, opts: { num?: number; seed?: number } = {}) {
  const num = positiveInt('sampleTestNegatives', 'num', opts.num ?? 99);
  const rated = ratedSets(ml);
  const candidates = ratedMovies(ml);
  const gen = new Generator(opts.seed ?? 1);
  const out = new Int32Array(testRows.length * num);
  for (let k = 0; k < testRows.length; k++)
    drawUnrated(rated[ml.user[testRows[k]]], candidates, num, gen, out, k * num);
  return out;
}

export interface RankingMetrics {
  hr: number;
  ndcg: number;
}

/**
 * Leave-one-out ranking: each test row's movie is ranked among its negatives by `score` (users, items ->
 * scores); HR@K counts it in the top K, NDCG@K adds 1/log2(rank + 2). Ties are broken uniformly at random,
 * in expectation (exactly), so a constant score gets chance level rather than 0 or 1.
 */
export function evaluateRanking(
  score: (users: Int32Array, items: Int32Array) => Float32Array,
  ml: MovieLens,
  testRows: Int32Array,
  negatives: Int32Array,
  k = 10,
): RankingMetrics {
  if (testRows.length === 0) throw new Error('evaluateRanking: no test rows');
  const num = negatives.length / testRows.length;
  if (!Number.isInteger(num) || num < 1)
    throw new Error(
      `evaluateRanking: ${negatives.length} negatives do not split evenly over ${testRows.length} test rows`,
    );
  const per = num + 1;
  const users = new Int32Array(testRows.length * per),
    items = new Int32Array(testRows.length * per);
  testRows.forEach((r, t) => {
    users.fill(ml.user[r], t * per, (t + 1) * per);
    items[t * per] = ml.movie[r];
    items.set(negatives.subarray(t * num, (t + 1) * num), t * per + 1);
  });
  const s = score(users, items);
  let hr = 0,
    ndcg = 0;
  for (let t = 0; t < testRows.length; t++) {
    const pos = s[t * per];
    let greater = 0,
      ties = 0;
    for (let j = 1; j < per; j++) {
      const v = s[t * per + j];
      if (v > pos) greater++;
      else if (v === pos) ties++;
    }
    for (let j = 0; j <= ties; j++) {
      const rank = greater + j;
      if (rank < k) {
        hr += 1 / (ties + 1);
        ndcg += 1 / Math.log2(rank + 2) / (ties + 1);
      }
    }
  }
  return { hr: hr / testRows.length, ndcg: ndcg / testRows.length };
}

/** The most-popular baseline's scores: how many training rows rate each movie (M). */
export function popularity(ml: MovieLens, rows: Int32Array): Float32Array {
  const c = new Float32Array(ml.movieIds.length);
  for (const r of rows) c[ml.movie[r]]++;
  return c;
}

export interface Recommendation {
  movieId: number;
  title: string;
  score: number;
}

function userIndexOf(ml: MovieLens, userId: number, op: string): number {
  const u = ml.userIndex.get(userId);
  if (u === undefined) {
    const ids = ml.userIds;
    throw new Error(
      `${op}: unknown user id ${userId} (the ratings have ${ids.length} users, ids ${ids[0]}..${ids.at(-1)})`,
    );
  }
  return u;
}

function movieIndexOf(ml: MovieLens, movieId: number, op: string): number {
  const m = ml.movieIndex.get(movieId);
  if (m === undefined) throw new Error(`${op}: unknown movie id ${movieId} (not in the movies file)`);
  return m;
}

function topK(scores: Float32Array, k: number, skip: (m: number) => boolean): number[] {
  const idx: number[] = [];
  for (let m = 0; m < scores.length; m++) if (!skip(m) && Number.isFinite(scores[m])) idx.push(m);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, k);
}

/** The `top` movies a user (MovieLens id) has not rated, best first, among the movies with ratings. */
export function recommend(model: PairScorer, ml: MovieLens, userId: number, top = 10): Recommendation[] {
  positiveInt('recommend', 'top', top);
  const u = userIndexOf(ml, userId, 'recommend');
  const items = ratedMovies(ml);
  const scores = new Float32Array(ml.movieIds.length).fill(Number.NaN);
  const s = scorePairs(model, new Int32Array(items.length).fill(u), items);
  items.forEach((m, k) => {
    scores[m] = s[k];
  });
  const seen = ratedSets(ml)[u];
  return topK(scores, top, (m) => seen.has(m)).map((m) => ({
    movieId: ml.movieIds[m],
    title: ml.titles[m],
    score: scores[m],
  }));
}

/** The `top` movies nearest a movie (MovieLens id) by cosine of the model's item vectors. */
export function similarMovies(model: PairScorer, ml: MovieLens, movieId: number, top = 10): Recommendation[] {
  positiveInt('similarMovies', 'top', top);
  const m0 = movieIndexOf(ml, movieId, 'similarMovies');
  const vectors = itemVectors(model);
  const [M, K] = vectors.shape;
  const v = vectors.toTypedArray() as Float32Array;
  const norm = (m: number) => Math.hypot(...v.subarray(m * K, (m + 1) * K)) || 1;
  const n0 = norm(m0);
  const scores = new Float32Array(M).fill(Number.NaN);
  const rated = new Set(ratedMovies(ml));
  for (const m of rated) {
    let d = 0;
    for (let j = 0; j < K; j++) d += v[m0 * K + j] * v[m * K + j];
    scores[m] = d / (n0 * norm(m));
  }
  return topK(scores, top, (m) => m === m0).map((m) => ({
    movieId: ml.movieIds[m],
    title: ml.titles[m],
    score: scores[m],
  }));
}

/** Item vectors (M, K) that describe each movie for similarity. */
function itemVectors(model: PairScorer): Tensor {
  return noGrad(() => {
    if (model instanceof MatrixFactorization) return model.itemFactors.weight.detach();
    if (model instanceof HybridMF) return model.mf.itemFactors.weight.add(model.genreFactors.call(model.itemFeatures));
    if (model instanceof GenreModel) return model.itemFeatures;
    if (model instanceof NeuMF)
      return cat(
        [model.embedItemGMF?.weight, model.embedItemMLP?.weight].filter((w) => w !== undefined),
        1,
      );
    throw new Error('similarMovies: the model has no item vectors');
  });
}

export type RecommenderType = 'mf' | 'genre' | 'hybrid' | 'neumf';
const CONFIG = 'config.json',
  WEIGHTS = 'model.safetensors';

export interface RecommenderConfig {
  model_type: RecommenderType;
  num_users: number;
  num_items: number;
  num_genres: number;
  factors: number;
  layers?: number;
  /** NeuMF only: 'gmf' or 'mlp' for one branch alone (absent: both). */
  branches?: NCFBranches;
}

/** A fresh recommender of the given type for a MovieLens's users and movies. */
export function createRecommender(
  type: RecommenderType,
  ml: MovieLens,
  opts: { factors?: number; layers?: number; branches?: NCFBranches } = {},
): PairScorer {
  const U = ml.userIds.length,
    M = ml.movieIds.length;
  if (type === 'mf') return new MatrixFactorization(U, M, { factors: opts.factors });
  if (type === 'genre') return new GenreModel(U, genreFeatures(ml));
  if (type === 'hybrid') return new HybridMF(U, genreFeatures(ml), { factors: opts.factors });
  if (type === 'neumf') return new NeuMF(U, M, { factors: opts.factors, layers: opts.layers, branches: opts.branches });
  throw new Error(`createRecommender: unknown model type '${String(type)}' (mf, genre, hybrid, neumf)`);
}

function configOf(model: PairScorer, ml: MovieLens): RecommenderConfig {
  const base = { num_users: ml.userIds.length, num_items: ml.movieIds.length, num_genres: ml.genreNames.length };
  if (model instanceof MatrixFactorization) return { model_type: 'mf', ...base, factors: model.factors };
  if (model instanceof GenreModel) return { model_type: 'genre', ...base, factors: 0 };
  if (model instanceof HybridMF) return { model_type: 'hybrid', ...base, factors: model.mf.factors };
  if (model instanceof NeuMF) {
    const { factors, layers, branches } = model;
    return { model_type: 'neumf', ...base, factors, layers, ...(branches === 'both' ? {} : { branches }) };
  }
  throw new Error('saveRecommender: not one of MatrixFactorization, GenreModel, HybridMF, NeuMF');
}

/** Writes dir/config.json and dir/model.safetensors. */
export async function saveRecommender(dir: string, model: PairScorer, ml: MovieLens): Promise<void> {
  const config = configOf(model, ml);
  mkdirSync(dir, { recursive: true });
  await saveSafetensors(model.stateDict() as Record<string, Tensor>, join(dir, WEIGHTS));
  writeJsonAtomic(join(dir, CONFIG), config);
}

/** Loads a folder written by saveRecommender, checking it was trained on this MovieLens's users and movies. */
export async function loadRecommender(dir: string, ml: MovieLens): Promise<PairScorer> {
  if (!existsSync(join(dir, CONFIG)) || !existsSync(join(dir, WEIGHTS)))
    throw new Error(`loadRecommender: ${dir} has no ${CONFIG} and ${WEIGHTS} (train one with nabla train-recommender)`);
  const c = readConfigJson(dir, 'loadRecommender') as unknown as RecommenderConfig;
  const want = { num_users: ml.userIds.length, num_items: ml.movieIds.length, num_genres: ml.genreNames.length };
  for (const [k, v] of Object.entries(want)) {
    if (c[k as keyof RecommenderConfig] !== v)
      throw new Error(
        `loadRecommender: ${join(dir, CONFIG)} has ${k} ${String(c[k as keyof RecommenderConfig])}, the data ${v}`,
      );
  }
  const model = createRecommender(c.model_type, ml, { factors: c.factors, layers: c.layers, branches: c.branches });
  model.loadStateDict(await loadSafetensors(join(dir, WEIGHTS)));
  model.eval();
  return model;
}
