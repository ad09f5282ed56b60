// TextStreamer: the pieces it emits concatenate to decode(ids), and incomplete UTF-8 is held back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedData, skipUnlessShared } from '../helpers/data.js';
import { GPT2Tokenizer } from '../../src/text/bpe.js';
import { LlamaTokenizer } from '../../src/text/sentencepiece.js';
import { TextStreamer } from '../../src/text/tokenizer.js';
import { CORPUS } from './fixtures.js';

test('GPT-2: streamed pieces join to the decoded text and never contain a half character', {
  skip: skipUnlessShared('gpt2-encoder.json', 'gpt2-vocab.bpe'),
}, async () => {
  const tok = await GPT2Tokenizer.fromPretrained(sharedData('.'));
  const s = new TextStreamer(tok, { promptIds: tok.encode('Once') });
  const pieces = tok.encode(' upon a 🙃').map((id) => s.push(id)); // ' \xf0\x9f', '\x99', '\x83'
  assert.deepEqual(pieces, [' upon', ' a', ' ', '', '🙃']);
  assert.equal(s.flush(), '');
  for (const text of CORPUS) {
    const st = new TextStreamer(tok);
    const out = tok.encode(text).map((id) => st.push(id));
    assert.equal(out.join('') + st.flush(), text);
    assert.ok(
      out.every((p) => !p.includes('\uFFFD')),
      JSON.stringify(text),
    );
  }
  // A character that never completes comes out of flush as U+FFFD.
  const cut = new TextStreamer(tok);
  assert.equal(cut.push(tok.encode('你')[0]), '');
  assert.equal(cut.flush(), '\uFFFD');
});

test('Llama: the space after <s> is dropped, byte pieces are joined', { skip: skipUnlessShared('tok512.bin') }, () => {
  const tok = LlamaTokenizer.fromLlama2c(sharedData('tok512.bin'));
  const ids = tok.encode('Once upon a 🙂');
  const s = new TextStreamer(tok, { promptIds: ids.slice(0, 1) });
  const pieces = ids.slice(1).map((id) => s.push(id));
  assert.deepEqual(pieces, ['Once', ' upon', ' a', ' ', '', '', '', '🙂']);
  assert.equal(pieces.join('') + s.flush(), 'Once upon a 🙂');
});
