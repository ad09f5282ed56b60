// Encoder-decoder translation: both models (Transformer, LSTM with Luong attention) learn a small
// character task on held-out words in seconds; incremental decoding equals teacher forcing; beam
// search through each model's decoder (state reordering) equals beam search recomputing every step;
// padding does not change a translation; the unknown-character warning comes once; errors; save/load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, manualSeed } from '../../src/tensor/random.js';
import { tensor } from '../../src/tensor/creation.js';
import { noGrad } from '../../src/autograd/grad_mode.js';
import { splitByHeadword } from '../../src/text/dictd.js';
import {
  BOS_ID,
  EOS_ID,
  LSTMSeq2Seq,
  TransformerSeq2Seq,
  banTokens,
  generateSeq2Seq,
  type Seq2SeqModel,
} from '../../src/models/seq2seq.js';
import { beamSearch, type StepDecoder } from '../../src/models/beam_search.js';
import { CharVocab, Translator, evaluateTranslator, trainTranslator } from '../../src/models/translation.js';
import { assertClose } from '../helpers/assert.js';

/** Random words over a-h and their upper-case forms: a task a small model learns in a few hundred steps. */
function words(n: number) {
  const g = new Generator(0);
  const out = new Map<string, string[]>();
  while (out.size < n) {
    let w = '';
    const len = 3 + g.randint(0, 3);
    for (let i = 0; i < len; i++) w += 'abcdefgh'[g.randint(0, 8)];
    out.set(w, [w.toUpperCase()]);
  }
  return [...out].map(([source, targets]) => ({ source, targets }));
}

const ARCHS = {
  transformer: { dModel: 32, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 64, dropout: 0 },
  lstm: { embeddingDim: 16, hiddenSize: 32, dropout: 0 },
} as const;

for (const arch of ['transformer', 'lstm'] as const) {
  test(`trainTranslator (${arch}) learns held-out words: exact match >= 80%`, async () => {
    const [train, held] = splitByHeadword(words(300), 0.2);
    const r = trainTranslator(train, {
      arch,
      model: ARCHS[arch],
      steps: 120,
      batchSize: 32,
      maxChars: 8,
      lr: arch === 'lstm' ? 1e-2 : 2e-3,
    });
    const s = evaluateTranslator(r.translator, held);
    assert.ok(
      s.exactMatch >= 80,
      `exact match ${s.exactMatch}% on ${s.n} held-out words: ${JSON.stringify(s.examples)}`,
    );
    assert.ok(s.chrF >= 80, `chrF ${s.chrF}`);
    // beam search agrees with greedy decoding on a confident model
    const src = held.slice(0, 5).map((g) => g.source);
    assert.deepEqual(
      r.translator.translateAll(src, { numBeams: 3 }),
      r.translator.translateAll(src).map((h) => h),
    );
    // save and load: the same translations
    const dir = mkdtempSync(join(tmpdir(), 'nabla-translator-'));
    try {
      await r.translator.save(dir);
      const back = await Translator.load(dir);
      assert.equal(back.arch, arch);
      assert.deepEqual(back.translateAll(src), r.translator.translateAll(src));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

function tinyModels(): [string, Seq2SeqModel & { eval(): unknown }][] {
  manualSeed(5);
  return [
    ['transformer', new TransformerSeq2Seq({ vocabSize: 9, ...ARCHS.transformer, maxLength: 16 }).eval()],
    ['lstm', new LSTMSeq2Seq({ vocabSize: 9, ...ARCHS.lstm, numLayers: 2 }).eval()],
  ];
}

const SRC = tensor(
  [
    [4, 5, 6, 7, EOS_ID],
    [8, 4, EOS_ID, 0, 0],
  ],
  { dtype: 'int32' },
);

test('incremental decoding equals teacher forcing (both models)', () => {
  for (const [name, m] of tinyModels()) {
    noGrad(() => {
      const tgt = [BOS_ID, 5, 6, 4, 7];
      const full = m.forward(SRC, tensor([tgt, tgt], { dtype: 'int32' })); // (2,5,V)
      const dec = m.decoder(SRC, 1);
      let logits = dec.step(null);
      for (let t = 0; t < tgt.length; t++) {
        assertClose(
          tensor(Array.from(logits)).reshape([2, 9]),
          full.select(1, t),
          { atol: 1e-5, rtol: 1e-4 },
          `${name} ${t}`,
        );
        if (t + 1 < tgt.length) logits = dec.step(Int32Array.of(tgt[t + 1], tgt[t + 1]));
      }
    });
  }
});

test("beam search through the models' decoders equals beam search recomputing every step", () => {
  for (const [name, m] of tinyModels()) {
    const opts = { numBeams: 3, numReturnSequences: 3, maxNewTokens: 6 };
    const got = generateSeq2Seq(m, SRC, opts);
    // the reference: teacher forcing on each row's whole prefix, rows kept by hand
    let rows: number[][] = [];
    const srcRows = SRC.toArray() as number[][];
    const ref: StepDecoder = {
      vocabSize: 9,
      step(tokens) {
        rows = tokens ? rows.map((r, i) => [...r, tokens[i]]) : Array.from({ length: 6 }, () => [BOS_ID]);
        return noGrad(() => {
          const src = tensor(
            rows.map((_, i) => srcRows[Math.floor(i / 3)]),
            { dtype: 'int32' },
          );
          const l = m.forward(src, tensor(rows, { dtype: 'int32' }));
          return l
            .narrow(1, l.shape[1] - 1, 1)
            .reshape([6, 9])
            .toTypedArray() as Float32Array;
        });
      },
      reorder(idx) {
        rows = Array.from(idx, (i) => rows[i].slice());
      },
    };
    const want = beamSearch(banTokens(ref, [0, BOS_ID]), [[BOS_ID], [BOS_ID]], {
      ...opts,
      eos: new Set([EOS_ID]),
      pad: 0,
    }).map((hs) => hs.map((h) => h.tokens.slice(1)));
    assert.deepEqual(got, want, name);
    assert.equal(new Set(got[0].map((s) => s.join())).size, 3, `${name}: three different beams`);
  }
});

test('padding a source does not change its translation (both models)', () => {
  for (const [name, m] of tinyModels()) {
    const alone = generateSeq2Seq(m, tensor([[8, 4, EOS_ID]], { dtype: 'int32' }), { maxNewTokens: 6 });
    const batched = generateSeq2Seq(m, SRC, { maxNewTokens: 6 });
    assert.deepEqual(batched[1], alone[0], name);
  }
});

test('translate: unknown characters become <unk> with one warning; bad options are named', () => {
  const [, m] = tinyModels()[1];
  const warnings: string[] = [];
  const t = new Translator(m as LSTMSeq2Seq, new CharVocab(['a', 'b', 'c', 'd', 'e']), 'lstm', 10, (w) =>
    warnings.push(w),
  );
  assert.deepEqual(t.encodeSource('abz'), [4, 5, 3, EOS_ID]);
  t.translate('héllo');
  t.translate('xyz');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /outside the vocabulary \("z"\) in "abz" are read as <unk>; this warning is shown once/);
  assert.throws(
    () => t.translateAll(['abc'], { numBeams: 2, numReturnSequences: 3 }),
    /numReturnSequences \(3\) must be <= numBeams \(2\)/,
  );
  assert.throws(() => t.translate('abcabcabcabc'), /has 12 characters; this model reads at most 10/);
  assert.throws(() => m.forward(tensor([[1, 99]], { dtype: 'int32' }), SRC), /src id 99 is out of range \[0, 9\)/);
});
