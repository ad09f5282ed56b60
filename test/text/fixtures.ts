// Shared by the tokenizer tests: the tricky-string corpus, a seeded random-Unicode generator, and
// temp folders holding the other tokenizer file forms, written from the shared GPT-2 / tok512 files.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, sharedData } from '../helpers/data.js';
import { parseMerges } from '../../src/text/bpe.js';
import { parseLlama2c } from '../../src/text/sentencepiece.js';

/** test/text/corpus.json: strings every tokenizer must round-trip (and GPT-2 must encode as OpenAI's). */
export const CORPUS: string[] = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'text', 'corpus.json'), 'utf8'));

const made: string[] = [];
process.on('exit', () =>
  made.forEach((d) => {
    rmSync(d, { recursive: true, force: true });
  }),
);

/** A fresh temp folder, removed when the test process exits. */
export function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nabla-text-${tag}-`));
  made.push(dir);
  return dir;
}

/** mulberry32: a small seeded PRNG, so random-string tests are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Code point ranges mixed into random strings: ASCII, whitespace, Latin-1, combining marks, CJK,
// emoji and modifiers, ZWJ/variation selectors, astral letters. No lone surrogates.
const RANGES: [number, number][] = [
  [0x20, 0x7e],
  [0x20, 0x7e],
  [0x20, 0x7e],
  [0x00, 0x1f],
  [0x80, 0xff],
  [0x0300, 0x036f],
  [0x4e00, 0x4fff],
  [0x3040, 0x30ff],
  [0x1f300, 0x1f64f],
  [0x1f3fb, 0x1f3ff],
  [0x200b, 0x200d],
  [0xfe00, 0xfe0f],
  [0x1d400, 0x1d4ff],
  [0x0600, 0x06ff],
  [0x2000, 0x206f],
];
const SPACES = [' ', ' ', ' ', '\n', '\t', '\r\n', '  ', "'s", "'ll"];

/** A random well-formed string of about `length` code points. */
export function randomText(next: () => number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) {
    if (next() < 0.2) {
      s += SPACES[Math.floor(next() * SPACES.length)];
      continue;
    }
    const [lo, hi] = RANGES[Math.floor(next() * RANGES.length)];
    s += String.fromCodePoint(lo + Math.floor(next() * (hi - lo + 1)));
  }
  return s;
}

/** Folder with vocab.json + merges.txt (the Hugging Face names for the shared GPT-2 files). */
export function gpt2HfFolder(): string {
  const dir = tempDir('gpt2-hf');
  copyFileSync(sharedData('gpt2-encoder.json'), join(dir, 'vocab.json'));
  copyFileSync(sharedData('gpt2-vocab.bpe'), join(dir, 'merges.txt'));
  return dir;
}

/**
 * Folder with a tokenizer.json built as Hugging Face's GPT2TokenizerFast saves it. `arrayMerges`
 * writes merges as ["a", "b"] (tokenizers >= 0.20) instead of "a b".
 */
export function gpt2TokenizerJsonFolder(arrayMerges = false): string {
  const dir = tempDir('gpt2-json');
  const vocab = JSON.parse(readFileSync(sharedData('gpt2-encoder.json'), 'utf8'));
  const merges = parseMerges(readFileSync(sharedData('gpt2-vocab.bpe'), 'utf8'));
  const json = {
    version: '1.0',
    added_tokens: [
      {
        id: 50256,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: true,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: arrayMerges ? merges : merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  return dir;
}

/**
 * tok512.bin converted to a Hugging Face Llama tokenizer.json the way transformers'
 * SentencePieceExtractor does: every split of a piece into two pieces is a merge, ordered by the
 * merged piece's score (then by the ids of the parts). `withMerges: false` leaves merges empty.
 */
export function llamaTokenizerJsonFolder(withMerges = true): string {
  const entries = parseLlama2c(readFileSync(sharedData('tok512.bin')), 'tok512.bin');
  const names = ['<unk>', '<s>', '</s>'];
  const pieces = entries.map((e, id) => (id < 3 ? names[id] : e.piece.replaceAll(' ', '▁')));
  const vocab: Record<string, number> = {};
  pieces.forEach((p, id) => {
    vocab[p] = id;
  });
  const merges: { l: string; r: string; score: number; key: [number, number] }[] = [];
  pieces.forEach((p, id) => {
    const local = [];
    for (let k = 1; k < p.length; k++) {
      const [l, r] = [p.slice(0, k), p.slice(k)];
      if (l in vocab && r in vocab)
        local.push({ l, r, score: entries[id].score, key: [vocab[l], vocab[r]] as [number, number] });
    }
    local.sort((x, y) => x.key[0] - y.key[0] || x.key[1] - y.key[1]);
    merges.push(...local);
  });
  merges.sort((x, y) => y.score - x.score); // stable, like Python's sorted
  const json = {
    version: '1.0',
    added_tokens: names.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: withMerges ? merges.map((m) => `${m.l} ${m.r}`) : [],
    },
  };
  const dir = tempDir('llama-json');
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  return dir;
}
