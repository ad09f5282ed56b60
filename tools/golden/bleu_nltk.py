#!/usr/bin/python3
"""Corpus BLEU goldens from NLTK (Debian's python3-nltk) for nabla's sacreBLEU-style BLEU.

Run with Debian's interpreter:  /usr/bin/python3 tools/golden/bleu_nltk.py
Writes test/golden/bleu_nltk.json: for fixed corpora (several references per hypothesis), the 13a
tokenisation of each line and NLTK's corpus_bleu on those tokens, times 100.

sacreBLEU's default BLEU and NLTK's corpus_bleu agree when every n-gram precision (n = 1..4) is
non-zero (sacreBLEU's 'exp' smoothing then does nothing) and every hypothesis has at least 4 tokens
(NLTK counts max(1, n-grams) in a precision's denominator, so a shorter one adds a phantom n-gram);
both use the closest reference length (the shorter on a tie). The script checks both conditions. The 13a tokeniser below is sacreBLEU's
Tokenizer13a (sacrebleu/tokenizers/tokenizer_13a.py, tokenizer_re.py), copied, since sacreBLEU is
not packaged in Debian. Never run in CI; the test reads the committed file.
"""
import json
import os
import re

from nltk.translate.bleu_score import corpus_bleu, modified_precision

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'golden', 'bleu_nltk.json')

_RE = [
    (re.compile(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])'), r' \1 '),
    (re.compile(r'([^0-9])([\.,])'), r'\1 \2 '),
    (re.compile(r'([\.,])([^0-9])'), r' \1 \2'),
    (re.compile(r'([0-9])(-)'), r'\1 \2 '),
]


def tokenize_13a(line):
    line = line.replace('<skipped>', '').replace('-\n', '').replace('\n', ' ')
    if '&' in line:
        line = line.replace('&quot;', '"').replace('&amp;', '&').replace('&lt;', '<').replace('&gt;', '>')
    line = f' {line} '
    for r, repl in _RE:
        line = r.sub(repl, line)
    return ' '.join(line.split())


CORPORA = [
    {
        'name': 'one sentence, one reference',
        'hyps': ['The cat sat on the mat, and it was happy.'],
        'refs': [['The cat sat on the mat, and it looked happy.']],
    },
    {
        'name': 'dictionary-like phrases, several references',
        'hyps': ['good morning to you', 'the weather is nice today', 'I am thinking of a second child',
                 'send sb. packing', 'a fixed end beam', 'the district government office'],
        'refs': [['good morning to you all', 'morning'], ['the weather is fine today', 'nice weather today'],
                 ["I am thinking of baby number two", 'I think of a second child'],
                 ['send sb. packing', 'give sb. the brush-off'], ['a fixed-end beam', 'a fixed end beam'],
                 ['the district government']],
    },
    {
        'name': 'punctuation, numbers and a short hypothesis (brevity penalty)',
        'hyps': ['It costs 3,50 euros - or 4.20 dollars!', 'Paragraph 15, subsection 3', 'the quick brown fox'],
        'refs': [['It costs 3,50 euros, or 4.20 dollars!'], ['section 15, subsection 3 (of the act)'],
                 ['the quick brown fox jumps over the lazy dog']],
    },
    {
        'name': 'a longer hypothesis than every reference',
        'hyps': ['he said that he would come home very late tonight because of the long meeting'],
        'refs': [['he said he would come home late tonight', 'he would come home late because of the meeting']],
    },
]

TOKENS = ['Hello, world!', 'a-b 1-2 3.5 x.y "quoted" &amp; (paren) [b] {c} ~tilde` ^caret $5 @at #h 50% :-)',
          'line-\nbreak\nnext', 'Ärger über Öl, groß & klein.', 'end.']


def main():
    cases = []
    for c in CORPORA:
        hyps = [tokenize_13a(h).split() for h in c['hyps']]
        assert all(len(h) >= 4 for h in hyps), f"{c['name']}: a hypothesis has fewer than 4 tokens"
        refs = [[tokenize_13a(r).split() for r in rs] for rs in c['refs']]
        for n in range(1, 5):
            num = sum(modified_precision(r, h, n).numerator for h, r in zip(hyps, refs))
            assert num > 0, f"{c['name']}: no matching {n}-gram; NLTK and sacreBLEU would disagree"
        bleu = corpus_bleu(refs, hyps)
        cases.append({'name': c['name'], 'hyps': c['hyps'], 'refs': c['refs'], 'bleu': 100 * bleu})
    out = {'nltk_corpus_bleu': cases, 'tokenize_13a': [[s, tokenize_13a(s)] for s in TOKENS]}
    with open(OUT, 'w') as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write('\n')
    for c in cases:
        print(f"{c['bleu']:.4f}  {c['name']}")


if __name__ == '__main__':
    main()
