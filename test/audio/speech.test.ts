// The speech corpus and models, small and fast: the corpus is the same bytes when built twice and its
// test split holds out voices; a keyword spotter trained for seconds on a few voices recognises
// held-out voices far above chance; a digit recogniser's CTC loss falls; the CLI transcribes a WAV
// (resampling one at another rate and saying so). Skipped, with the reason, without espeak-ng and sox.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as audio from '../../src/audio/index.js';
import { manualSeed } from '../../src/tensor/random.js';
import { fromTypedArray } from '../../src/tensor/creation.js';
import { main } from '../../src/cli/main.js';

const { speech } = audio;
const missing = speech.speechToolsMissing();
const skip = missing ? `needs espeak-ng and sox: ${missing}` : false;

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-speech-test-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function digest(c: audio.speech.Corpus): string {
  const h = createHash('sha1');
  for (const it of c.items) h.update(readFileSync(join(c.dir, it.file)));
  h.update(readFileSync(join(c.dir, 'manifest.json')));
  return h.digest('hex');
}

// en-gb+m1 and +m4 are training voices, +m2 and +m3 held out (isTestVoice)
const VOICES = ['en-gb+m1', 'en-gb+m2', 'en-gb+m3', 'en-gb+m4'];

describe('speech corpus', { skip }, () => {
  it('is deterministic: the same options give the same bytes', () => {
    withTmp((dir) => {
      const o = { kind: 'digits' as const, perVoice: 2, voices: VOICES.slice(0, 2), seed: 5 };
      const a = speech.buildCorpus(join(dir, 'a'), o),
        b = speech.buildCorpus(join(dir, 'b'), o);
      assert.equal(a.items.length, 4);
      assert.equal(digest(a), digest(b));
      assert.ok(a.items.every((i) => /^\d{3,5}$/.test(i.label)));
    });
  });
  it('holds out whole voices: no test voice occurs in training', () => {
    const items = speech.plan({ kind: 'keywords', perVoice: 1 });
    const train = new Set(items.filter((i) => i.split === 'train').map((i) => i.voice));
    const test = new Set(items.filter((i) => i.split === 'test').map((i) => i.voice));
    assert.ok(test.size >= 10 && train.size >= 60, `${train.size} train and ${test.size} test voices`);
    for (const v of test) assert.ok(!train.has(v), v);
    assert.equal(items.length, 960);
  });
});

describe('speech models (small versions)', { skip }, () => {
  it('keyword spotting: a log-mel CNN trained on 7 voices recognises 4 words from 3 held-out voices', () => {
    withTmp((dir) => {
      manualSeed(1);
      const voices = [...VOICES, 'en-us+m1', 'en-us+m2', 'en-us+f1', 'en-gb+m6', 'en-gb+m5', 'en-gb+m7'];
      const c = speech.buildCorpus(dir, { kind: 'keywords', perVoice: 2, voices, words: ['yes', 'no', 'stop', 'go'] });
      const opts = { epochs: 15, batchSize: 8, width: 8, lr: 1e-2, evalEvery: 0, specAugment: false };
      const r = speech.trainKeywordSpotter(c, opts);
      // chance is 0.25
      assert.ok(r.trainAccuracy >= 0.9, `train accuracy ${r.trainAccuracy}`);
      assert.ok(r.testAccuracy >= 0.75, `held-out accuracy ${r.testAccuracy} (24 clips)`);
    });
  });
  it('speech recognition: the CTC loss of the CNN + BiGRU falls; transcribe works end to end via the CLI', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nabla-speech-test-'));
    try {
      manualSeed(2);
      const c = speech.buildCorpus(join(dir, 'c'), {
        kind: 'digits',
        perVoice: 3,
        voices: VOICES,
        minDigits: 2,
        maxDigits: 3,
      });
      const losses: number[] = [];
      const r = speech.trainSpeechRecognizer(c, {
        epochs: 10,
        batchSize: 4,
        channels: 16,
        hidden: 16,
        lr: 1e-2,
        evalEvery: 0,
        log: (m) => losses.push(Number(/ctc loss ([\d.]+)/.exec(m)![1])),
      });
      assert.ok(losses[losses.length - 1] < losses[0] / 2, `ctc losses ${losses}`);
      assert.ok(r.testCer >= 0 && r.testCer <= 1.5);
      await speech.saveSpeechRecognizer(join(dir, 'm'), r.model);
      // a file at 22.05 kHz: resampled, and the output says so
      const w = speech.readItem(c, c.items[0]);
      const at22 = audio.functional.resample(fromTypedArray(w, [1, w.length]), 16000, 22050);
      audio.save(join(dir, 'a.wav'), at22, 22050);
      const out: string[] = [];
      const log = console.log;
      console.log = (s: string) => out.push(s);
      try {
        assert.equal(await main(['transcribe', join(dir, 'a.wav'), '--model', join(dir, 'm'), '--json']), 0);
      } finally {
        console.log = log;
      }
      const [row] = JSON.parse(out[0]) as { file: string; text: string; resampledFrom: number }[];
      assert.equal(row.resampledFrom, 22050);
      assert.match(row.text, /^(\d( \d)*)?$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('speech synthesis: the text-to-mel model fits the digit words; speak writes a WAV', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nabla-speech-test-'));
    try {
      manualSeed(3);
      const o = { kind: 'keywords' as const, words: [...speech.DIGIT_WORDS], perVoice: 1, voices: ['en-gb+m1'] };
      const c = speech.buildCorpus(join(dir, 'w'), { ...o, clean: true });
      const l1: number[] = [];
      const syn = speech.trainSynthesizer(c, { steps: 200, log: (m) => l1.push(Number(/L1 ([\d.]+)/.exec(m)![1])) });
      assert.ok(l1[1] < l1[0] && l1[1] < 1.5, `L1 ${l1}`);
      assert.equal(speech.textToMel(syn.model, '4 2').shape[0], 40);
      assert.throws(() => speech.textToMel(syn.model, 'abc'), /speak: no digits in 'abc'/);
      await speech.saveSynthesizer(join(dir, 't'), syn);
      const out = join(dir, 'o.wav');
      const log = console.log;
      console.log = () => undefined;
      try {
        assert.equal(await main(['speak', '4 2 7', '--out', out, '--model', join(dir, 't')]), 0);
      } finally {
        console.log = log;
      }
      const r = audio.load(out);
      assert.equal(r.sampleRate, 16000);
      assert.ok(r.numFrames > 0.3 * 16000, `${r.numFrames} samples`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('the CLI names the missing model folder and how to make one', async () => {
    const err: string[] = [];
    const e = process.stderr.write;
    process.stderr.write = ((s: string) => err.push(s) > 0) as unknown as typeof process.stderr.write;
    try {
      assert.equal(await main(['transcribe', 'x.wav', '--model', '/nonexistent-nabla']), 1);
    } finally {
      process.stderr.write = e;
    }
    assert.match(err.join(''), /transcribe: no model in \/nonexistent-nabla; train one/);
  });
});
