// MovieLens (GroupLens): ratings.csv (userId,movieId,rating,timestamp) and movies.csv
// (movieId,title,genres with '|' between genres), as in the ml-latest-small release. Users and movies
// get dense indices (0..U-1, 0..M-1) in order of their ids; every movie of movies.csv gets one, rated
// or not, so that a content model can score all of them. The two splits the recommenders use:
// a seeded random 80/20 split of the ratings (rating prediction), and leave-one-out (ranking: each
// user's latest rating is the test item, as in He et al. 2017).
// Glossary: R ratings, U users, M movies, G genres.

import { existsSync, join } from '../platform/node.js';
import { Generator } from '../tensor/random.js';
import { readCsv } from './csv.js';

export interface MovieLens {
  /** Per rating (R): dense user and movie indices, the stars (0.5..5) and the Unix time. */
  user: Int32Array;
  movie: Int32Array;
  rating: Float32Array;
  timestamp: Float64Array;
  /** Dense index -> MovieLens id. */
  userIds: number[];
  movieIds: number[];
  titles: string[];
  /** The genres of each movie (M), and the sorted genre vocabulary (G) without '(no genres listed)'. */
  genres: string[][];
  genreNames: string[];
  /** MovieLens id -> dense index. */
  userIndex: Map<number, number>;
  movieIndex: Map<number, number>;
}

export interface MovieLensFiles {
  ratings: string;
  movies: string;
}

/** The two CSVs under `root`: movielens-small-*.csv (../shared/data) or ml-latest-small's names. */
export function movieLensFiles(root: string): MovieLensFiles {
  for (const [r, m] of [
    ['movielens-small-ratings.csv', 'movielens-small-movies.csv'],
    ['ratings.csv', 'movies.csv'],
  ]) {
    if (existsSync(join(root, r)) && existsSync(join(root, m)))
      return { ratings: join(root, r), movies: join(root, m) };
  }
  throw new Error(
    `loadMovieLens: no MovieLens files in ${root} (looked for movielens-small-ratings.csv + ` +
      'movielens-small-movies.csv ' +
      'and ratings.csv + movies.csv)',
  );
}

function intColumn(values: string[], file: string, col: string): number[] {
  return values.map((s, i) => {
    const v = Number(s);
    if (s.trim() === '' || !Number.isInteger(v))
      throw new Error(`${file}: row ${i + 1}, ${col} '${s}' is not an integer`);
    return v;
  });
}

/** Reads MovieLens from a folder holding its ratings and movies CSVs. */
export function loadMovieLens(root: string): MovieLens {
  const files = movieLensFiles(root);
  const mt = readCsv(files.movies);
  const movieIdsRaw = intColumn(mt.column('movieId'), files.movies, 'movieId');
  const order = movieIdsRaw.map((_, i) => i).sort((a, b) => movieIdsRaw[a] - movieIdsRaw[b]);
  const titleCol = mt.column('title'),
    genreCol = mt.column('genres');
  const movieIds = order.map((i) => movieIdsRaw[i]);
  const movieIndex = new Map<number, number>();
  movieIds.forEach((id, k) => {
    if (movieIndex.has(id)) throw new Error(`${files.movies}: movieId ${id} appears twice`);
    movieIndex.set(id, k);
  });
  const titles = order.map((i) => titleCol[i]);
  const genres = order.map((i) => genreCol[i].split('|').filter((g) => g !== '' && g !== '(no genres listed)'));
  const genreNames = [...new Set(genres.flat())].sort();

  const rt = readCsv(files.ratings);
  const uRaw = intColumn(rt.column('userId'), files.ratings, 'userId');
  const mRaw = intColumn(rt.column('movieId'), files.ratings, 'movieId');
  const stars = rt.column('rating').map(Number);
  const times = rt.column('timestamp').map(Number);
  const userIds = [...new Set(uRaw)].sort((a, b) => a - b);
  const userIndex = new Map(userIds.map((id, k) => [id, k]));
  const n = uRaw.length;
  const user = new Int32Array(n),
    movie = new Int32Array(n),
    rating = new Float32Array(n),
    timestamp = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const m = movieIndex.get(mRaw[r]);
    if (m === undefined)
      throw new Error(`${files.ratings}: row ${r + 1} rates movieId ${mRaw[r]}, absent from ${files.movies}`);
    if (!(stars[r] >= 0.5 && stars[r] <= 5))
      throw new Error(`${files.ratings}: row ${r + 1}: rating '${stars[r]}' is not in [0.5, 5]`);
    user[r] = userIndex.get(uRaw[r])!;
    movie[r] = m;
    rating[r] = stars[r];
    timestamp[r] = times[r];
  }
  return { user, movie, rating, timestamp, userIds, movieIds, titles, genres, genreNames, userIndex, movieIndex };
}

/** Rating rows (indices into the MovieLens arrays) of a train/test split. */
export interface RatingSplit {
  train: Int32Array;
  test: Int32Array;
}

/** A seeded random split of the ratings: `testFraction` of them (default 0.2) held out. */
export function randomRatingSplit(ml: MovieLens, opts: { testFraction?: number; seed?: number } = {}): RatingSplit {
  const f = opts.testFraction ?? 0.2;
  if (!(f > 0 && f < 1)) throw new Error(`randomRatingSplit: testFraction must be in (0, 1), got ${f}`);
  const n = ml.rating.length;
  const perm = new Generator(opts.seed ?? 0).permutation(n);
  const nTest = Math.round(n * f);
  return { test: perm.slice(0, nTest), train: perm.slice(nTest) };
}

/**
 * Leave-one-out: each user's latest rating (the last row among equal timestamps) is the test row, the
 * rest train. Users with a single rating keep it for training. With `rows`, the split is of those rows
 * only (a validation split of the training rows: leaveOneOutSplit(ml, split.train)).
 */
export function leaveOneOutSplit(ml: MovieLens, rows?: Int32Array): RatingSplit {
  const all = rows ?? Int32Array.from(ml.user.keys());
  const last = new Int32Array(ml.userIds.length).fill(-1);
  const count = new Int32Array(ml.userIds.length);
  for (const r of all) {
    const u = ml.user[r];
    count[u]++;
    if (
      last[u] < 0 ||
      ml.timestamp[r] > ml.timestamp[last[u]] ||
      (ml.timestamp[r] === ml.timestamp[last[u]] && r > last[u])
    )
      last[u] = r;
  }
  const isTest = new Set<number>();
  const test: number[] = [];
  for (let u = 0; u < last.length; u++) {
    if (count[u] > 1) {
      isTest.add(last[u]);
      test.push(last[u]);
    }
  }
  const train: number[] = [];
  for (const r of all) if (!isTest.has(r)) train.push(r);
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}
