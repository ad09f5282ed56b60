// GPT2Tokenizer against two independent oracles (devDependencies, used only here):
// js-tiktoken's r50k_base (Rust tiktoken's ranks, ported to JS) and gpt-3-encoder (a line-by-line
// port of openai/gpt-2 encoder.py), both with the same vocab as ../shared/data/gpt2-*, and against
// the output of encoder.py itself (tools/golden/text_gpt2_encoder_py.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { getEncoding } from 'js-tiktoken';
import { golden, sharedData, skipUnlessShared } from '../helpers/data.js';
import { GPT2Tokenizer, parseMerges } from '../../src/text/bpe.js';
import { BYTE_TO_CHAR, CHAR_TO_BYTE } from '../../src/text/bytes_to_unicode.js';
import { CORPUS, gpt2HfFolder, gpt2TokenizerJsonFolder, randomText, rng, tempDir } from './fixtures.js';

const gpt3encoder = createRequire(import.meta.url)('gpt-3-encoder') as { encode(s: string): number[] };
const r50k = getEncoding('r50k_base');
const SKIP = skipUnlessShared('gpt2-encoder.json', 'gpt2-vocab.bpe');
const FILES = { vocab: sharedData('gpt2-encoder.json'), merges: sharedData('gpt2-vocab.bpe') };

let cached: GPT2Tokenizer | undefined;
function gpt2(): GPT2Tokenizer {
  cached ??= GPT2Tokenizer.fromFiles(FILES);
  return cached;
}

test('bytes_to_unicode is a bijection onto the 256 byte tokens, with space -> Ġ', () => {
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
  assert.equal(BYTE_TO_CHAR[0x20], 'Ġ');
  assert.equal(BYTE_TO_CHAR[0x0a], 'Ċ');
  assert.equal(BYTE_TO_CHAR[0x41], 'A');
  assert.equal(BYTE_TO_CHAR[0xad], 'Ń');
  for (let b = 0; b < 256; b++) assert.equal(CHAR_TO_BYTE.get(BYTE_TO_CHAR[b]), b);
});

test('corpus: encode equals js-tiktoken r50k_base id for id, and decode(encode(s)) === s', { skip: SKIP }, () => {
  const tok = gpt2();
  for (const s of CORPUS) {
    const ids = tok.encode(s);
    assert.deepEqual(ids, r50k.encode(s, 'all'), `tiktoken differs on ${JSON.stringify(s)}`);
    assert.equal(tok.decode(ids), s);
  }
});

test('corpus: encode equals gpt-3-encoder (encoder.py port) on text without special tokens', { skip: SKIP }, () => {
  const tok = gpt2();
  for (const s of CORPUS) {
    // gpt-3-encoder does not know <|endoftext|>: compare with special tokens treated as text.
    assert.deepEqual(tok.encode(s, { allowedSpecial: 'none' }), gpt3encoder.encode(s), JSON.stringify(s));
  }
});

test('encode equals the output of OpenAI encoder.py itself (Python golden), edge whitespace included', {
  skip: SKIP,
}, () => {
  const tok = gpt2();
  const { source, rows } = JSON.parse(readFileSync(golden('text_gpt2_encoder_py.json'), 'utf8')) as {
    source: string;
    rows: { text: string; ids: number[] }[];
  };
  assert.match(source, /encoder\.py/);
  assert.ok(rows.length >= CORPUS.length);
  for (const { text, ids } of rows) {
    assert.deepEqual(tok.encode(text, { allowedSpecial: 'none' }), ids, JSON.stringify(text));
    assert.equal(tok.decode(ids), text);
  }
});

test('where JavaScript \\s differs from encoder.py (U+FEFF, U+0085) we follow encoder.py', { skip: SKIP }, () => {
  const tok = gpt2();
  // Python: ['x', ' \uFEFF', 'y'] (U+FEFF is not White_Space). JS ports: ['x', ' ', '\uFEFF', 'y'].
  assert.deepEqual(tok.encode('x \ufeffy'), [87, 27332, 119, 123, 88]);
  assert.deepEqual(r50k.encode('x \ufeffy'), [87, 220, 171, 119, 123, 88]);
  // Python: [' ', '\x85', 'x'] (U+0085 is White_Space). JS ports: [' \x85', 'x'].
  assert.notDeepEqual(tok.encode(' \u0085x'), r50k.encode(' \u0085x'));
});

test('seeded random Unicode strings match tiktoken and round-trip', { skip: SKIP }, () => {
  const tok = gpt2();
  const next = rng(7);
  for (let i = 0; i < 300; i++) {
    // Without the two code points on which the JS oracles' \s is not encoder.py's (test above).
    const s = randomText(next, 1 + Math.floor(next() * 80)).replace(/[\u0085\ufeff]/g, '.');
    const ids = tok.encode(s);
    assert.deepEqual(ids, r50k.encode(s, 'all'), JSON.stringify(s));
    assert.equal(tok.decode(ids), s);
  }
});

test('tinyshakespeare (1.1 MB) encodes exactly as tiktoken and round-trips', {
  skip: skipUnlessShared('tinyshakespeare.txt') || SKIP,
}, () => {
  const text = readFileSync(sharedData('tinyshakespeare.txt'), 'utf8');
  const ids = gpt2().encode(text);
  assert.equal(ids.length, 338025);
  assert.deepEqual(ids, r50k.encode(text));
  assert.equal(gpt2().decode(ids), text);
});

test('known encodings and token strings', { skip: SKIP }, () => {
  const tok = gpt2();
  assert.deepEqual(tok.encode('Once upon a time'), [7454, 2402, 257, 640]);
  assert.deepEqual(tok.encode('Hello world'), [15496, 995]);
  assert.deepEqual(tok.tokenize("Hello world, it's"), ['Hello', 'Ġworld', ',', 'Ġit', "'s"]);
  assert.deepEqual(tok.encode(''), []);
  assert.equal(tok.convertTokensToIds('Ġworld'), 995);
  assert.deepEqual(tok.convertTokensToIds(['Hello', 'Ġworld']), [15496, 995]);
  assert.deepEqual(tok.convertIdsToTokens([15496, 995, 50256]), ['Hello', 'Ġworld', '<|endoftext|>']);
  // GPT-2's unk is <|endoftext|>, as in Hugging Face.
  assert.equal(tok.convertTokensToIds('no such token'), 50256);
});

test('vocabSize and special token ids; padTokenId is settable', { skip: SKIP }, () => {
  const tok = GPT2Tokenizer.fromFiles(FILES);
  assert.equal(tok.vocabSize, 50257);
  assert.equal(tok.eosTokenId, 50256);
  assert.equal(tok.bosTokenId, 50256);
  assert.equal(tok.padTokenId, 50256);
  tok.padTokenId = 0;
  assert.equal(tok.batchEncode(['a', 'a b'], {}).inputIds[0][1], 0);
});

test('<|endoftext|> is one token when allowed, plain text otherwise', { skip: SKIP }, () => {
  const tok = gpt2();
  const s = 'The end.<|endoftext|>Next';
  assert.deepEqual(tok.encode(s), [464, 886, 13, 50256, 10019]);
  assert.deepEqual(tok.encode(s, { allowedSpecial: ['<|endoftext|>'] }), tok.encode(s));
  const plain = tok.encode(s, { allowedSpecial: 'none' });
  assert.ok(!plain.includes(50256));
  assert.deepEqual(plain, r50k.encode(s, [], []));
  assert.equal(tok.decode(plain), s);
  assert.deepEqual(tok.encode('hi', { addSpecialTokens: true }), [50256, 5303]);
  assert.equal(tok.decode(tok.encode(s), { skipSpecialTokens: true }), 'The end.Next');
  assert.equal(tok.decode([50256, 5303, 50256]), '<|endoftext|>hi<|endoftext|>');
});

test('decode turns invalid UTF-8 into U+FFFD, as Python errors="replace"', { skip: SKIP }, () => {
  const tok = gpt2();
  const ids = tok.encode('你'); // 3 bytes e4 bd a0 -> two tokens
  assert.deepEqual(ids, [19526, 254]);
  assert.equal(tok.decode(ids.slice(0, 1)), '\uFFFD'); // e4 bd: one maximal subpart
  assert.equal(tok.decode(ids.slice(1)), '\uFFFD'); // a0: stray continuation byte
  assert.equal(tok.decode([]), '');
  // A leading BOM is kept, not swallowed by TextDecoder.
  assert.equal(tok.decode(tok.encode('\ufeffx')), '\ufeffx');
});

test('decode rejects ids out of range with the id and the range', { skip: SKIP }, () => {
  const tok = gpt2();
  assert.throws(() => tok.decode([15496, 50257]), /id 50257 at position 1 is out of range \[0, 50257\)/);
  assert.throws(() => tok.decode([-1]), RangeError);
  assert.throws(() => tok.decode([1.5]), RangeError);
});

test('batchEncode pads right or left with attention masks, truncates, and checks maxLength', { skip: SKIP }, () => {
  const tok = gpt2();
  const [a, b] = [tok.encode('Hello'), tok.encode('Hello world, again')];
  const right = tok.batchEncode(['Hello', 'Hello world, again']);
  assert.deepEqual(right.inputIds, [[...a, 50256, 50256, 50256], b]);
  assert.deepEqual(right.attentionMask, [
    [1, 0, 0, 0],
    [1, 1, 1, 1],
  ]);
  const left = tok.batchEncode(['Hello', 'Hello world, again'], { paddingSide: 'left' });
  assert.deepEqual(left.inputIds, [[50256, 50256, 50256, ...a], b]);
  assert.deepEqual(left.attentionMask, [
    [0, 0, 0, 1],
    [1, 1, 1, 1],
  ]);
  const fixed = tok.batchEncode(['Hello', 'Hello world, again'], {
    padding: 'maxLength',
    maxLength: 3,
    truncation: true,
  });
  assert.deepEqual(fixed.inputIds, [[...a, 50256, 50256], b.slice(0, 3)]);
  assert.deepEqual(fixed.attentionMask, [
    [1, 0, 0],
    [1, 1, 1],
  ]);
  const none = tok.batchEncode(['Hello', 'Hello world, again'], { padding: false });
  assert.deepEqual(none.inputIds, [a, b]);
  assert.throws(
    () => tok.batchEncode(['Hello world, again'], { padding: 'maxLength', maxLength: 2 }),
    /has 4 tokens > maxLength 2; pass truncation: true/,
  );
  assert.throws(() => tok.batchEncode(['x'], { padding: 'maxLength' }), /need maxLength/);
  const noPad = GPT2Tokenizer.fromFiles(FILES, { padToken: null });
  assert.throws(() => noPad.batchEncode(['a', 'a b']), /set tokenizer.padTokenId/);
});

test('all 50,000 GPT-2 merges only use tokens made by earlier merges (why merge.ts may use a heap)', {
  skip: SKIP,
}, () => {
  const merges = parseMerges(readFileSync(FILES.merges, 'utf8'));
  assert.equal(merges.length, 50000);
  const madeAt = new Map<string, number>();
  merges.forEach(([a, b], rank) => {
    for (const part of [a, b]) {
      if (part.length > 1) assert.ok((madeAt.get(part) ?? Infinity) < rank, `merge ${rank} uses ${part}`);
    }
    if (!madeAt.has(a + b)) madeAt.set(a + b, rank);
  });
});

test('every file form gives the same tokenizer', { skip: SKIP }, async () => {
  const hf = gpt2HfFolder();
  const forms = [
    GPT2Tokenizer.fromFiles({ vocab: join(hf, 'vocab.json'), merges: join(hf, 'merges.txt') }),
    GPT2Tokenizer.fromTokenizerJson(join(gpt2TokenizerJsonFolder(), 'tokenizer.json')),
    GPT2Tokenizer.fromTokenizerJson(join(gpt2TokenizerJsonFolder(true), 'tokenizer.json')),
    await GPT2Tokenizer.fromPretrained(hf),
    await GPT2Tokenizer.fromPretrained(gpt2TokenizerJsonFolder()),
    await GPT2Tokenizer.fromPretrained(join(sharedData('gpt2-encoder.json'), '..')),
  ];
  const want = CORPUS.map((s) => gpt2().encode(s));
  for (const tok of forms) {
    assert.equal(tok.vocabSize, 50257);
    assert.equal(tok.eosTokenId, 50256);
    assert.deepEqual(
      CORPUS.map((s) => tok.encode(s)),
      want,
    );
  }
});

test('fromPretrained honours special_tokens_map.json roles', { skip: SKIP }, async () => {
  const dir = gpt2HfFolder();
  writeFileSync(
    join(dir, 'special_tokens_map.json'),
    JSON.stringify({ eos_token: { content: '<|endoftext|>' }, pad_token: '!' }),
  );
  const tok = await GPT2Tokenizer.fromPretrained(dir);
  assert.equal(tok.padTokenId, 0);
  assert.equal(tok.eosTokenId, 50256);
});

test('missing files and folders give errors naming the folder and the files looked for', { skip: SKIP }, async () => {
  const empty = tempDir('empty');
  await assert.rejects(GPT2Tokenizer.fromPretrained(empty), (e: Error) => {
    assert.match(e.message, new RegExp(`no tokenizer files in ${empty.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}`));
    assert.match(
      e.message,
      /tokenizer\.json, vocab\.json \+ merges\.txt, encoder\.json \+ vocab\.bpe, gpt2-encoder\.json \+ gpt2-vocab\.bpe/,
    );
    return true;
  });
  await assert.rejects(GPT2Tokenizer.fromPretrained(join(empty, 'nope')), /nope is not a folder/);
  const half = tempDir('half');
  writeFileSync(join(half, 'vocab.json'), '{}');
  await assert.rejects(GPT2Tokenizer.fromPretrained(half), /has vocab\.json but not merges\.txt/);
  assert.throws(
    () => GPT2Tokenizer.fromFiles({ vocab: join(empty, 'vocab.json'), merges: FILES.merges }),
    /cannot read vocab file .*vocab\.json/,
  );
});

test('malformed files give errors naming the file and the problem', { skip: SKIP }, () => {
  const dir = tempDir('bad');
  mkdirSync(join(dir, 'x'));
  writeFileSync(join(dir, 'bad.json'), '{"a": 1,');
  assert.throws(
    () => GPT2Tokenizer.fromFiles({ vocab: join(dir, 'bad.json'), merges: FILES.merges }),
    /bad\.json is not valid JSON/,
  );
  writeFileSync(join(dir, 'list.json'), '[1, 2]');
  assert.throws(
    () => GPT2Tokenizer.fromFiles({ vocab: join(dir, 'list.json'), merges: FILES.merges }),
    /is not a \{token: id\} map/,
  );
  writeFileSync(join(dir, 'merges.txt'), '#version: 0.2\nĠ t\nthree parts here\n');
  assert.throws(
    () => GPT2Tokenizer.fromFiles({ vocab: FILES.vocab, merges: join(dir, 'merges.txt') }),
    /merges\.txt line 3 is not a merge 'a b'/,
  );
  writeFileSync(join(dir, 'tiny.json'), JSON.stringify({ a: 0 }));
  assert.throws(
    () => GPT2Tokenizer.fromFiles({ vocab: join(dir, 'tiny.json'), merges: FILES.merges }),
    /vocab lacks the byte token/,
  );
  writeFileSync(
    join(dir, 'llama.json'),
    JSON.stringify({ model: { type: 'BPE', byte_fallback: true, vocab: {}, merges: [] } }),
  );
  assert.throws(() => GPT2Tokenizer.fromTokenizerJson(join(dir, 'llama.json')), /LlamaTokenizer\.fromTokenizerJson/);
  writeFileSync(join(dir, 'uni.json'), JSON.stringify({ model: { type: 'Unigram', vocab: [] } }));
  assert.throws(() => GPT2Tokenizer.fromTokenizerJson(join(dir, 'uni.json')), /model\.type "Unigram"; only 'BPE'/);
});
