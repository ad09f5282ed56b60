// Translation metrics as sacreBLEU computes them by default: corpus BLEU with the 13a tokeniser
// (mteval-v13a), exponential smoothing and the closest reference length; corpus chrF (character
// 6-grams, beta 2, whitespace ignored, statistics summed over the corpus, the best reference per
// segment); and exact match. Scores are in [0, 100].
//
// Every hypothesis may have several references (a dictionary gives several translations).

/** sacreBLEU's Tokenizer13a: mteval-v13a's rules (punctuation split off, periods and commas except in numbers). */
export function tokenize13a(line: string): string {
  let s = line
    .replace(/<skipped>/g, '')
    .replace(/-\n/g, '')
    .replace(/\n/g, ' ');
  if (s.includes('&')) {
    s = s
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>');
  }
  s = ` ${s} `;
  s = s.replace(/([{-~[-` -&(-+:-@/])/g, ' $1 ');
  s = s.replace(/([^0-9])([.,])/g, '$1 $2 ');
  s = s.replace(/([.,])([^0-9])/g, ' $1 $2');
  s = s.replace(/([0-9])(-)/g, '$1 $2 ');
  return s.split(/\s+/).filter(Boolean).join(' ');
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const k = tokens.slice(i, i + n).join('\u0001');
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

function checkCorpus(hyps: readonly string[], refs: readonly (readonly string[])[], who: string): void {
  if (hyps.length !== refs.length)
    throw new Error(`${who}: ${hyps.length} hypotheses but ${refs.length} reference lists (one list per hypothesis)`);
  refs.forEach((r, i) => {
    if (!Array.isArray(r) || r.length === 0) throw new Error(`${who}: hypothesis ${i} has no reference`);
  });
}

export interface BleuResult {
  score: number;
  /** n-gram precisions (percent), n = 1..4, after smoothing. */
  precisions: number[];
  bp: number;
  sysLen: number;
  refLen: number;
}

/**
 * Corpus BLEU as sacrebleu.corpus_bleu(hyps, refs) with its defaults (13a, smooth 'exp', order 4).
 * refs[i] lists the references of hyps[i].
 * @example corpusBleu(['the cat sat on the mat'], [['the cat sat on the mat']]).score  // 100
 */
export function corpusBleu(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  opts: { tokenize?: (s: string) => string; maxOrder?: number } = {},
): BleuResult {
  checkCorpus(hyps, refs, 'corpusBleu');
  const tok = opts.tokenize ?? tokenize13a,
    N = opts.maxOrder ?? 4;
  const correct = new Array<number>(N).fill(0),
    total = new Array<number>(N).fill(0);
  let sysLen = 0,
    refLen = 0;
  hyps.forEach((h, i) => {
    const ht = tok(h).split(' ').filter(Boolean);
    const rts = refs[i].map((r) => tok(r).split(' ').filter(Boolean));
    sysLen += ht.length;
    // the closest reference length, the shorter on a tie
    let best = -1;
    for (const r of rts) {
      const d = Math.abs(r.length - ht.length);
      if (best < 0 || d < Math.abs(best - ht.length) || (d === Math.abs(best - ht.length) && r.length < best))
        best = r.length;
    }
    refLen += best;
    for (let n = 1; n <= N; n++) {
      const hc = ngramCounts(ht, n);
      const maxRef = new Map<string, number>();
      for (const r of rts) for (const [k, c] of ngramCounts(r, n)) maxRef.set(k, Math.max(maxRef.get(k) ?? 0, c));
      for (const [k, c] of hc) correct[n - 1] += Math.min(c, maxRef.get(k) ?? 0);
      total[n - 1] += Math.max(0, ht.length - n + 1);
    }
  });
  const precisions = new Array<number>(N).fill(0);
  let smooth = 1;
  for (let n = 0; n < N; n++) {
    if (total[n] === 0) break;
    if (correct[n] === 0) {
      smooth *= 2;
      precisions[n] = 100 / (smooth * total[n]);
    } else precisions[n] = (100 * correct[n]) / total[n];
  }
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  // sacreBLEU's my_log: log(0) is -9999999999
  const logSum = precisions.reduce((s, p) => s + (p === 0 ? -9999999999 : Math.log(p)), 0);
  return { score: bp * Math.exp(logSum / N), precisions, bp, sysLen, refLen };
}

/** Character n-gram statistics [hyp, ref, match] per order, whitespace removed. */
function chrStats(hyp: string, ref: string, order: number): number[] {
  const h = [...hyp.split(/\s+/).join('')],
    r = [...ref.split(/\s+/).join('')];
  const out: number[] = [];
  for (let n = 1; n <= order; n++) {
    const hc = ngramCounts(h, n),
      rc = ngramCounts(r, n);
    let match = 0;
    for (const [k, c] of hc) match += Math.min(c, rc.get(k) ?? 0);
    out.push(Math.max(0, h.length - n + 1), Math.max(0, r.length - n + 1), match);
  }
  return out;
}

/** sacreBLEU's CHRF._compute_f_score (eps_smoothing false): precision and recall averaged over the orders. */
function chrfScore(stats: readonly number[], order: number, beta: number): number {
  const eps = 1e-16,
    factor = beta * beta;
  let avgP = 0,
    avgR = 0,
    eff = 0;
  for (let i = 0; i < order; i++) {
    const [nh, nr, nm] = stats.slice(3 * i, 3 * i + 3);
    avgP += nh > 0 ? nm / nh : eps;
    avgR += nr > 0 ? nm / nr : eps;
    if (nh > 0 && nr > 0) eff++;
  }
  if (eff === 0) return 0;
  avgP /= eff;
  avgR /= eff;
  return avgP + avgR ? (100 * (1 + factor) * avgP * avgR) / (factor * avgP + avgR) : 0;
}

/**
 * Corpus chrF as sacrebleu.corpus_chrf(hyps, refs) with its defaults (char order 6, word order 0,
 * beta 2): statistics summed over segments, each segment taking its best-scoring reference.
 */
export function corpusChrf(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  opts: { order?: number; beta?: number } = {},
): number {
  checkCorpus(hyps, refs, 'corpusChrf');
  const order = opts.order ?? 6,
    beta = opts.beta ?? 2;
  const sum = new Array<number>(3 * order).fill(0);
  hyps.forEach((h, i) => {
    let best: number[] | null = null,
      bestScore = -1;
    for (const r of refs[i]) {
      const s = chrStats(h, r, order);
      const f = chrfScore(s, order, beta);
      if (f > bestScore) {
        bestScore = f;
        best = s;
      }
    }
    for (let k = 0; k < sum.length; k++) sum[k] += best![k];
  });
  return chrfScore(sum, order, beta);
}

/** Percent of hypotheses equal to one of their references (after trimming). */
export function exactMatch(hyps: readonly string[], refs: readonly (readonly string[])[]): number {
  checkCorpus(hyps, refs, 'exactMatch');
  if (hyps.length === 0) return 0;
  const hits = hyps.filter((h, i) => refs[i].some((r) => r.trim() === h.trim())).length;
  return (100 * hits) / hyps.length;
}
