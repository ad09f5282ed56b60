// `nabla recommend --user 42 --top 10` and `nabla train-recommender --type mf|genre|hybrid|neumf`: movie
// recommendations from MovieLens (../shared/data/movielens-small-*.csv by default).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setNumThreads } from '../backend/select.js';
import { manualSeed } from '../tensor/random.js';
import { type MovieLens, leaveOneOutSplit, loadMovieLens, randomRatingSplit } from '../data/movielens.js';
import {
  type RecommenderType,
  createRecommender,
  evaluateRanking,
  fitNCF,
  fitRatings,
  loadRecommender,
  popularity,
  ratingRMSE,
  recommend,
  sampleTestNegatives,
  saveRecommender,
  scorePairs,
  similarMovies,
} from '../models/recommender_train.js';
import type { PairScorer } from '../models/recommender.js';
import { defaultDataRoot, epochProgress } from './progress.js';

export const RECOMMEND_USAGE = `nabla recommend --user ID [--top 10] [--model DIR] [--data DIR] [--json]
nabla recommend --movie ID [--top 10] ...     movies nearest this one by the model's item vectors
  --model DIR   a folder from train-recommender (default runs/recommender: trained there on first use,
                matrix factorisation on all the ratings, a few seconds)
  --data DIR    the folder with movielens-small-ratings.csv and -movies.csv (default ../shared/data)

nabla train-recommender [--type mf|genre|hybrid|neumf] [--out DIR] [--data DIR] [--epochs N] [--factors K]
                        [--lr LR] [--l2 L] [--batch-size B] [--seed S] [--eval] [--threads N]
  --type        mf: matrix factorisation with biases (default); genre: content-based from the genres;
                hybrid: MF + genres; neumf: neural collaborative filtering on implicit feedback, He et
                al.'s recipe (GMF and MLP pretrained with Adam, NeuMF joined from both and fine-tuned
                with SGD; each user's latest training rating held out to choose every stage's epoch;
                --factors 16, --epochs 20 per stage by default, --l2 unused)
  --eval        hold out a test set and report it (rating models: seeded 80/20 split, RMSE; neumf:
                leave-one-out, HR@10 and NDCG@10 of NeuMF, GMF and MLP against 99 sampled negatives,
                and the most-popular baseline); without it the model trains on every rating
  --out DIR     where config.json and model.safetensors go (default runs/recommender)`;

const DEFAULT_DIR = join('runs', 'recommender');
const NCF_FACTORS = 16,
  NCF_EPOCHS = 20,
  NCF_FINE_TUNE = 3;
const NCF_NAMES = { gmf: 'GMF', mlp: 'MLP', both: 'NeuMF' } as const;

interface TrainSettings {
  type: RecommenderType;
  epochs?: number;
  factors?: number;
  lr?: number;
  l2?: number;
  batchSize?: number;
  seed: number;
  evaluate: boolean;
}

function numberOption(v: Record<string, unknown>, key: string, integer: boolean): number | undefined {
  const s = v[key];
  if (s === undefined) return undefined;
  const x = Number(s);
  if (typeof s !== 'string' || s.trim() === '' || !Number.isFinite(x) || (integer && !Number.isInteger(x)))
    throw new Error(`--${key} expects ${integer ? 'an integer' : 'a number'}, got '${String(s)}'`);
  return x;
}

/** Trains (and with `evaluate`, evaluates) a recommender; logs to stderr. */
async function train(ml: MovieLens, s: TrainSettings, out: string): Promise<PairScorer> {
  manualSeed(s.seed);
  const neumf = s.type === 'neumf';
  const epochs = s.epochs ?? (neumf ? NCF_EPOCHS : 20);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let model: PairScorer;
  if (neumf) {
    const split = leaveOneOutSplit(ml);
    const rows = s.evaluate ? split.train : Int32Array.from(ml.user.keys());
    // NOTE: each user's latest training rating is held out to choose every stage's epoch, so the choice
    // never sees the test rows.
    const val = leaveOneOutSplit(ml, rows);
    const negatives = sampleTestNegatives(ml, val.test, { seed: s.seed + 2 });
    const r = fitNCF(ml, val.train, {
      factors: s.factors ?? NCF_FACTORS,
      epochs,
      lr: s.lr,
      batchSize: s.batchSize,
      seed: s.seed,
      fineTuneEpochs: NCF_FINE_TUNE,
      validation: { rows: val.test, negatives, patience: 3 },
      callbacks: (stage) => epochProgress(stage === 'both' ? NCF_FINE_TUNE : epochs, `${NCF_NAMES[stage]} `),
    });
    model = r.neumf;
    if (s.evaluate) {
      const negs = sampleTestNegatives(ml, split.test, { seed: s.seed + 1 });
      const pop = popularity(ml, split.train);
      log(`leave-one-out, ${split.test.length} users, 99 sampled negatives each:`);
      for (const [name, score] of [
        ['NeuMF', (u: Int32Array, i: Int32Array) => scorePairs(r.neumf, u, i)],
        ['GMF', (u: Int32Array, i: Int32Array) => scorePairs(r.gmf, u, i)],
        ['MLP', (u: Int32Array, i: Int32Array) => scorePairs(r.mlp, u, i)],
        ['most popular', (_: Int32Array, i: Int32Array) => Float32Array.from(i, (m) => pop[m])],
      ] as const) {
        const m = evaluateRanking(score, ml, split.test, negs);
        log(`  ${name.padEnd(13)} HR@10 ${m.hr.toFixed(4)}  NDCG@10 ${m.ndcg.toFixed(4)}`);
      }
    }
  } else {
    model = createRecommender(s.type, ml, { factors: s.factors ?? 64 });
    const split = s.evaluate ? randomRatingSplit(ml, { seed: s.seed }) : null;
    const rows = split ? split.train : Int32Array.from(ml.user.keys());
    fitRatings(model, ml, rows, {
      epochs,
      lr: s.lr,
      l2: s.l2,
      batchSize: s.batchSize,
      seed: s.seed,
      evalRows: split?.test,
      ...epochProgress(epochs),
    });
    if (split)
      log(`test RMSE (${split.test.length} held-out ratings): ${ratingRMSE(model, ml, split.test).toFixed(4)}`);
  }
  await saveRecommender(out, model, ml);
  log(`saved ${s.type} to ${out}`);
  return model;
}

export async function trainRecommenderCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      type: { type: 'string', default: 'mf' },
      out: { type: 'string', default: DEFAULT_DIR },
      data: { type: 'string' },
      epochs: { type: 'string' },
      factors: { type: 'string' },
      lr: { type: 'string' },
      l2: { type: 'string' },
      'batch-size': { type: 'string' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      eval: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    console.log(RECOMMEND_USAGE);
    return 0;
  }
  if (!['mf', 'genre', 'hybrid', 'neumf'].includes(v.type!)) {
    console.error(`train-recommender: --type must be mf, genre, hybrid or neumf, got '${v.type}'`);
    return 2;
  }
  if (v.threads !== undefined) setNumThreads(numberOption(v, 'threads', true)!);
  const ml = loadMovieLens(v.data ?? defaultDataRoot());
  await train(
    ml,
    {
      type: v.type as RecommenderType,
      epochs: numberOption(v, 'epochs', true),
      factors: numberOption(v, 'factors', true),
      lr: numberOption(v, 'lr', false),
      l2: numberOption(v, 'l2', false),
      batchSize: numberOption(v, 'batch-size', true),
      seed: numberOption(v, 'seed', true) ?? 0,
      evaluate: v.eval === true,
    },
    v.out!,
  );
  return 0;
}

export async function recommendCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      user: { type: 'string' },
      movie: { type: 'string' },
      top: { type: 'string', default: '10' },
      model: { type: 'string' },
      data: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    console.log(RECOMMEND_USAGE);
    return 0;
  }
  if ((v.user === undefined) === (v.movie === undefined)) {
    console.error(`recommend: pass one of --user ID or --movie ID\n${RECOMMEND_USAGE}`);
    return 2;
  }
  const top = numberOption(v, 'top', true)!;
  if (top < 1) throw new Error(`--top must be a positive integer, got ${top}`);
  if (v.threads !== undefined) setNumThreads(numberOption(v, 'threads', true)!);
  const ml = loadMovieLens(v.data ?? defaultDataRoot());
  const dir = v.model ?? DEFAULT_DIR;
  let model: PairScorer;
  if (v.model === undefined && !existsSync(join(dir, 'config.json'))) {
    process.stderr.write(`no model in ${dir}: training matrix factorisation on all ${ml.rating.length} ratings\n`);
    model = await train(ml, { type: 'mf', seed: 0, evaluate: false }, dir);
  } else {
    model = await loadRecommender(dir, ml);
  }
  const id = numberOption(v, v.user !== undefined ? 'user' : 'movie', true)!;
  const recs = v.user !== undefined ? recommend(model, ml, id, top) : similarMovies(model, ml, id, top);
  if (v.json) {
    console.log(JSON.stringify(recs));
    return 0;
  }
  const head =
    v.user !== undefined
      ? `top ${recs.length} movies for user ${id} (not yet rated; score = predicted rating or logit)`
      : `${recs.length} movies nearest '${ml.titles[ml.movieIndex.get(id)!]}' (cosine of item vectors)`;
  console.log(head);
  recs.forEach((r, k) => {
    console.log(`${String(k + 1).padStart(3)}. ${r.score.toFixed(3).padStart(7)}  ${r.title}  (movie ${r.movieId})`);
  });
  return 0;
}
