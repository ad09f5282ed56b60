// Tokenizer savePretrained: the folder it writes loads back (here, by AutoTokenizer too) into a
// tokenizer that gives the same ids on real text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedData, skipUnlessShared } from '../helpers/data.js';
import { LlamaTokenizer } from '../../src/text/sentencepiece.js';
import { GPT2Tokenizer } from '../../src/text/bpe.js';
import { AutoTokenizer } from '../../src/models/auto.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'nb-toksave-'));

function sample(): string {
  const text = readFileSync(sharedData('tinyshakespeare.txt'), 'utf8').slice(0, 20000);
  return `${text}\n  tabs\tand  double  spaces, émoji 🙂, 日本語, <s> and </s> as text `;
}

test('LlamaTokenizer (tok512.bin) saves a tokenizer.json that encodes every id the same', {
  skip: skipUnlessShared('tok512.bin', 'tinyshakespeare.txt'),
}, async () => {
  const tok = LlamaTokenizer.fromLlama2c(sharedData('tok512.bin'));
  const dir = fresh();
  tok.savePretrained(dir);
  const back = await AutoTokenizer.fromPretrained(dir);
  assert.ok(back instanceof LlamaTokenizer);
  const s = sample();
  const ids = tok.encode(s);
  assert.deepEqual(back.encode(s), ids);
  assert.equal(back.decode(ids), tok.decode(ids));
  assert.deepEqual([back.bosTokenId, back.eosTokenId, back.unkTokenId, back.vocabSize], [1, 2, 0, 512]);
  const again = fresh();
  back.savePretrained(again);
  assert.equal(readFileSync(join(again, 'tokenizer.json'), 'utf8'), readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
});

test('GPT2Tokenizer (the real GPT-2 files) saves a folder that encodes every id the same', {
  skip: skipUnlessShared('gpt2-encoder.json', 'gpt2-vocab.bpe', 'tinyshakespeare.txt'),
}, async () => {
  const tok = GPT2Tokenizer.fromFiles({ vocab: sharedData('gpt2-encoder.json'), merges: sharedData('gpt2-vocab.bpe') });
  const dir = fresh();
  tok.savePretrained(dir);
  const s = sample() + '<|endoftext|>';
  const ids = tok.encode(s);
  for (const back of [
    await AutoTokenizer.fromPretrained(dir),
    GPT2Tokenizer.fromFiles({ vocab: join(dir, 'vocab.json'), merges: join(dir, 'merges.txt') }),
  ]) {
    assert.ok(back instanceof GPT2Tokenizer);
    assert.deepEqual(back.encode(s), ids);
    assert.equal(back.vocabSize, 50257);
  }
});
