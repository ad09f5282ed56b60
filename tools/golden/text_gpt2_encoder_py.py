#!/usr/bin/env python3
"""Writes test/golden/text_gpt2_encoder_py.json: the ids that OpenAI's own GPT-2 encoder gives for
test/text/corpus.json plus some whitespace edge cases, for test/text/bpe.test.ts.

The Encoder class below is openai/gpt-2 src/encoder.py (bytes_to_unicode, get_pairs, bpe, encode),
unchanged apart from layout; it needs only Debian's python3-regex. Run from the repository root:

    /usr/bin/python3 tools/golden/text_gpt2_encoder_py.py ../shared/data

NOTE: this exists because the JavaScript oracles (gpt-3-encoder, js-tiktoken) read the regex's
\\s with JavaScript semantics (U+FEFF in, U+0085 out), while encoder.py's `regex` uses Unicode
White_Space; the EDGE strings are where the two disagree or might.
"""
import json
import sys

import regex as re


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    cs = [chr(n) for n in cs]
    return dict(zip(bs, cs))


def get_pairs(word):
    pairs = set()
    prev_char = word[0]
    for char in word[1:]:
        pairs.add((prev_char, char))
        prev_char = char
    return pairs


class Encoder:
    def __init__(self, encoder, bpe_merges):
        self.encoder = encoder
        self.byte_encoder = bytes_to_unicode()
        self.bpe_ranks = dict(zip(bpe_merges, range(len(bpe_merges))))
        self.cache = {}
        self.pat = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        pairs = get_pairs(word)
        if not pairs:
            return token
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        word = " ".join(word)
        self.cache[token] = word
        return word

    def encode(self, text):
        bpe_tokens = []
        for token in re.findall(self.pat, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            bpe_tokens.extend(self.encoder[bpe_token] for bpe_token in self.bpe(token).split(" "))
        return bpe_tokens


EDGE = [
    "x \ufeffy", " \ufeff\ufeff ", "a\ufeff b", "\ufeff",
    " \u0085x", "\u0085 x", "a \u0085 b", "word\u0085\u0085 end", "a\u0085b",
    "\u001c\u001d\u001e\u001f", "a \u001c b", "\u180e x", "x \u200b y", "a\u00a0\u00a0b", "x \u2028 y",
    "tab\t\u0085\tend", "  \u3000  x",
]


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
    with open(f"{data}/gpt2-encoder.json", encoding="utf-8") as f:
        encoder = json.load(f)
    with open(f"{data}/gpt2-vocab.bpe", encoding="utf-8") as f:
        bpe_data = f.read()
    bpe_merges = [tuple(merge_str.split()) for merge_str in bpe_data.split("\n")[1:-1]]
    enc = Encoder(encoder, bpe_merges)
    with open("test/text/corpus.json", encoding="utf-8") as f:
        corpus = json.load(f)
    rows = [{"text": s, "ids": enc.encode(s)} for s in corpus + EDGE]
    source = f"tools/golden/text_gpt2_encoder_py.py (openai/gpt-2 encoder.py, python3-regex {re.__version__})"
    with open("test/golden/text_gpt2_encoder_py.json", "w", encoding="utf-8") as f:
        f.write('{"source": ' + json.dumps(source) + ',\n "rows": [\n')
        f.write(",\n".join("  " + json.dumps(r) for r in rows))  # one row a line, \u-escaped
        f.write("\n]}\n")


if __name__ == "__main__":
    main()
