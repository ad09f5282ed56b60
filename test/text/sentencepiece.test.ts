// LlamaTokenizer on the real 512-piece tok512.bin (stories260K's tokenizer), against a literal port
// of llama2.c's encode/decode (llama2c_reference.ts), and from a Hugging Face tokenizer.json made
// from the same vocab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedData, skipUnlessShared } from '../helpers/data.js';
import { LlamaTokenizer, parseLlama2c } from '../../src/text/sentencepiece.js';
import { CORPUS, llamaTokenizerJsonFolder, randomText, rng, tempDir } from './fixtures.js';
import { llama2cDecode, llama2cEncode } from './llama2c_reference.js';

const SKIP = skipUnlessShared('tok512.bin');
const TOK = sharedData('tok512.bin');

let cached: LlamaTokenizer | undefined;
function tok512(): LlamaTokenizer {
  cached ??= LlamaTokenizer.fromLlama2c(TOK);
  return cached;
}

test('tok512.bin loads: 512 pieces, <unk> <s> </s>, byte pieces at 3..258', { skip: SKIP }, () => {
  const tok = tok512();
  assert.equal(tok.vocabSize, 512);
  assert.deepEqual([tok.unkTokenId, tok.bosTokenId, tok.eosTokenId], [0, 1, 2]);
  assert.equal(tok.idToPiece(3), '<0x00>');
  assert.equal(tok.idToPiece(258), '<0xFF>');
  assert.equal(tok.idToPiece(259), ' t');
  assert.equal(tok.pieceToId(' the'), 265);
  assert.equal(tok.pieceToId('not a piece'), 0);
  assert.equal(LlamaTokenizer.fromLlama2c(TOK, 512).vocabSize, 512);
  assert.equal(LlamaTokenizer.fromLlama2c(TOK, 300).vocabSize, 300);
});

test('"Once upon a time" encodes as llama2.c does and round-trips', { skip: SKIP }, () => {
  const tok = tok512();
  const ids = tok.encode('Once upon a time');
  assert.deepEqual(ids, [1, 403, 407, 261, 378]);
  assert.deepEqual(tok.tokenize('Once upon a time'), [' Once', ' upon', ' a', ' time']);
  assert.equal(tok.decode(ids), 'Once upon a time');
  assert.equal(tok.decode(ids, { skipSpecialTokens: false }), '<s>Once upon a time');
  assert.deepEqual(tok.encode('Once upon a time', { bos: false, eos: true }), [403, 407, 261, 378, 2]);
  // Without <s> before it, the dummy-prefix space stays, as in llama2.c.
  assert.equal(tok.decode([403, 407]), ' Once upon');
  assert.deepEqual(tok.encode(''), [1]);
  assert.deepEqual(tok.encode('', { bos: false }), []);
});

test('byte fallback: characters outside the 512 pieces become <0xNN> pieces (id = byte + 3)', { skip: SKIP }, () => {
  const tok = tok512();
  const ids = tok.encode('🙂');
  assert.deepEqual(ids, [1, 410, 0xf0 + 3, 0x9f + 3, 0x99 + 3, 0x82 + 3]);
  assert.deepEqual(tok.tokenize('🙂').slice(1), ['<0xF0>', '<0x9F>', '<0x99>', '<0x82>']);
  assert.equal(tok.decode(ids), '🙂');
  assert.equal(tok.decode(tok.encode('a\nb')), 'a\nb');
  assert.ok(tok.encode('a\nb').includes(0x0a + 3));
  // Half a character is invalid UTF-8 and decodes to U+FFFD.
  assert.equal(tok.decode([1, 0xf0 + 3, 0x9f + 3]), '\uFFFD');
});

test('corpus and random strings: ids equal the llama2.c port, and decode round-trips', { skip: SKIP }, () => {
  const tok = tok512();
  const vocab = parseLlama2c(readFileSync(TOK), TOK);
  const next = rng(11);
  const strings = [...CORPUS, ...Array.from({ length: 200 }, () => randomText(next, 1 + Math.floor(next() * 60)))];
  for (const s of strings) {
    const ids = tok.encode(s);
    assert.deepEqual(ids, llama2cEncode(vocab, s, true, false), JSON.stringify(s));
    assert.equal(tok.decode(ids), s);
    assert.equal(llama2cDecode(vocab, ids), s);
  }
});

test('tinyshakespeare: llama2.c ids on a 3 kB prefix, round-trip on all 1.1 MB', {
  skip: skipUnlessShared('tinyshakespeare.txt') || SKIP,
}, () => {
  const tok = tok512();
  const text = readFileSync(sharedData('tinyshakespeare.txt'), 'utf8');
  const vocab = parseLlama2c(readFileSync(TOK), TOK);
  const head = text.slice(0, 3000);
  assert.deepEqual(tok.encode(head), llama2cEncode(vocab, head, true, false));
  assert.equal(tok.decode(tok.encode(text)), text);
});

test('Hugging Face tokenizer.json made from tok512 (merges, or scores by id) encodes identically', {
  skip: SKIP,
}, async () => {
  const bin = tok512();
  const withMerges = LlamaTokenizer.fromTokenizerJson(join(llamaTokenizerJsonFolder(true), 'tokenizer.json'));
  const byScore = await LlamaTokenizer.fromPretrained(llamaTokenizerJsonFolder(false));
  const next = rng(5);
  const strings = [...CORPUS, ...Array.from({ length: 100 }, () => randomText(next, 40))];
  for (const tok of [withMerges, byScore]) {
    assert.equal(tok.vocabSize, 512);
    assert.deepEqual([tok.unkTokenId, tok.bosTokenId, tok.eosTokenId], [0, 1, 2]);
    assert.equal(tok.idToPiece(265), '▁the');
    for (const s of strings) {
      const ids = tok.encode(s, { eos: true });
      assert.deepEqual(ids, bin.encode(s, { eos: true }), JSON.stringify(s));
      assert.equal(tok.decode(ids), s);
    }
  }
});

test('fromPretrained finds tokenizer.bin; batchEncode pads with eos by default', { skip: SKIP }, async () => {
  const dir = tempDir('llama-bin');
  copyFileSync(TOK, join(dir, 'tokenizer.bin'));
  const tok = await LlamaTokenizer.fromPretrained(dir);
  const out = tok.batchEncode(['Once upon a time', 'Hi'], { paddingSide: 'left' });
  const hi = tok.encode('Hi');
  assert.deepEqual(out.inputIds[1], [...new Array(5 - hi.length).fill(2), ...hi]);
  assert.deepEqual(out.attentionMask[1], [...new Array(5 - hi.length).fill(0), ...hi.map(() => 1)]);
  tok.padTokenId = 0;
  assert.equal(tok.batchEncode(['Once upon a time', 'Hi']).inputIds[1].at(-1), 0);
});

test('errors: missing, truncated and malformed files, ids out of range', { skip: SKIP }, async () => {
  const dir = tempDir('llama-bad');
  assert.throws(() => LlamaTokenizer.fromLlama2c(join(dir, 'none.bin')), /cannot read tokenizer file .*none\.bin/);
  assert.throws(() => LlamaTokenizer.fromLlama2c(TOK, 513), /ends inside piece 512 .*expected 513 pieces/);
  const buf = readFileSync(TOK);
  writeFileSync(join(dir, 'cut.bin'), buf.subarray(0, 1000));
  assert.throws(
    () => LlamaTokenizer.fromLlama2c(join(dir, 'cut.bin')),
    /cut\.bin (ends inside|piece \d+ at offset \d+ has a bad length)/,
  );
  writeFileSync(join(dir, 'tiny.bin'), Buffer.from([1, 0]));
  assert.throws(() => LlamaTokenizer.fromLlama2c(join(dir, 'tiny.bin')), /too short/);
  writeFileSync(join(dir, 'bad.json'), '{"model":');
  assert.throws(() => LlamaTokenizer.fromTokenizerJson(join(dir, 'bad.json')), /bad\.json is not valid JSON/);
  writeFileSync(join(dir, 'uni.json'), JSON.stringify({ model: { type: 'Unigram', vocab: [] } }));
  assert.throws(() => LlamaTokenizer.fromTokenizerJson(join(dir, 'uni.json')), /only 'BPE'/);
  writeFileSync(
    join(dir, 'merge.json'),
    JSON.stringify({ model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: ['a b'] } }),
  );
  assert.throws(
    () => LlamaTokenizer.fromTokenizerJson(join(dir, 'merge.json')),
    /merges\[0\] "a b" uses a piece missing/,
  );
  await assert.rejects(
    LlamaTokenizer.fromPretrained(dir),
    /no tokenizer files in .*; looked for tokenizer\.json, tokenizer\.bin/,
  );
  assert.throws(() => tok512().decode([1, 512]), /id 512 at position 1 is out of range \[0, 512\)/);
});
