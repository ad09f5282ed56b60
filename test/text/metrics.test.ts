// Translation metrics: corpus BLEU against NLTK's corpus_bleu (tools/golden/bleu_nltk.py, cases where
// NLTK and sacreBLEU agree), the 13a tokeniser against its Python original, sacreBLEU's exponential
// smoothing and chrF worked by hand, exact match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { golden } from '../helpers/data.js';
import { corpusBleu, corpusChrf, exactMatch, tokenize13a } from '../../src/text/metrics.js';

interface Golden {
  nltk_corpus_bleu: { name: string; hyps: string[]; refs: string[][]; bleu: number }[];
  tokenize_13a: [string, string][];
}
const G = JSON.parse(readFileSync(golden('bleu_nltk.json'), 'utf8')) as Golden;

test('corpusBleu equals NLTK corpus_bleu on 13a tokens (golden, tools/golden/bleu_nltk.py)', () => {
  for (const c of G.nltk_corpus_bleu) {
    const got = corpusBleu(c.hyps, c.refs).score;
    assert.ok(Math.abs(got - c.bleu) < 1e-9 * Math.max(1, c.bleu), `${c.name}: ${got} vs NLTK ${c.bleu}`);
  }
});

test("tokenize13a equals sacreBLEU's Tokenizer13a (golden)", () => {
  for (const [s, want] of G.tokenize_13a) assert.equal(tokenize13a(s), want, JSON.stringify(s));
});

test("corpusBleu: sacreBLEU's 'exp' smoothing and brevity penalty, by hand", () => {
  // 1-grams 3/4, 2-grams 2/3, 3-grams 1/2, 4-grams 0/1 -> 100 / (2 * 1) = 50
  const r = corpusBleu(['a b c d'], [['a b c e']]);
  assert.deepEqual(
    r.precisions.map((p) => +p.toFixed(6)),
    [75, 66.666667, 50, 50],
  );
  assert.ok(Math.abs(r.score - (75 * (200 / 3) * 50 * 50) ** 0.25) < 1e-9);
  // a 2-token hypothesis against a 4-token reference: bp = exp(1 - 4/2); 3- and 4-grams have no total
  const s = corpusBleu(['a b'], [['a b c d']]);
  assert.ok(Math.abs(s.bp - Math.exp(-1)) < 1e-12);
  assert.equal(s.precisions[2], 0);
  assert.ok(s.score < 1e-6);
  assert.ok(Math.abs(corpusBleu(['x y z w'], [['x y z w']]).score - 100) < 1e-9);
  assert.throws(() => corpusBleu(['a'], []), /1 hypotheses but 0 reference lists/);
  assert.throws(() => corpusBleu(['a'], [[]]), /hypothesis 0 has no reference/);
});

test('corpusChrf: averaged precision and recall over the orders, best reference per segment (by hand)', () => {
  // 'ab' vs 'abc': n=1 2/2 and 2/3, n=2 1/1 and 1/2, n=3 recall 0/1; orders with hyp and ref n-grams: 2
  const P = 1,
    R = (2 / 3 + 1 / 2) / 2;
  const want = (100 * 5 * P * R) / (4 * P + R);
  assert.ok(Math.abs(corpusChrf(['ab'], [['abc']]) - want) < 1e-9);
  // whitespace is ignored; the better of two references is used
  assert.equal(corpusChrf(['a b c d e f g'], [['abcdefg']]), 100);
  assert.equal(corpusChrf(['abcdefg'], [['zzz', 'abcdefg']]), 100);
  // no match: only the eps of the orders without n-grams (sacreBLEU's chrF++.py smoothing) remains
  assert.ok(corpusChrf(['xyz'], [['abc']]) < 1e-12);
});

test('exactMatch counts a hypothesis equal to any of its references', () => {
  assert.equal(
    exactMatch(['good morning', 'hello', 'x'], [['morning', 'good morning'], ['hi'], ['x ']]),
    (100 * 2) / 3,
  );
  assert.equal(exactMatch([], []), 0);
});
