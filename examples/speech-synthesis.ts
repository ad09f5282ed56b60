// Digit strings -> speech: a small text-to-mel model trained on espeak-ng's digit words (clean corpus,
// training voices), then Griffin-Lim; judged by the recogniser of examples/speech-recognition.ts (run it
// first), which transcribes the synthesised strings. Writes a few WAVs next to the model (samples/).
// Run: npm run build && node dist/examples/speech-synthesis.js [strings to judge]
import { mkdirSync } from 'node:fs';
import * as nb from 'nabla';

const n = Number(process.argv[2] ?? 40);
nb.setNumThreads(1);
nb.manualSeed(0);
const { speech } = nb.audio;
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(0);

const voices = speech.allVoices().filter((v) => !speech.isTestVoice(v) && /\+(m3|f2)$/.test(v));
const opts = { kind: 'keywords' as const, words: [...speech.DIGIT_WORDS], perVoice: 1, voices, clean: true };
const corpus = speech.buildCorpus(speech.defaultCorpusDir('digit-words-clean'), opts, console.log);
console.log(`corpus: ${corpus.items.length} digit words from ${voices.length} voices, ${secs()} s`);
const syn = speech.trainSynthesizer(corpus, { log: console.log });
await speech.saveSynthesizer(speech.defaultModelDir('tts'), syn);
const asr = await speech.loadSpeechRecognizer(speech.defaultModelDir('asr'));
const g = new nb.Generator(7);
const pairs: { ref: string; hyp: string }[] = [];
const samples = `${speech.defaultModelDir('tts')}/samples`;
mkdirSync(samples, { recursive: true });
for (let i = 0; i < n; i++) {
  const ref = Array.from({ length: 3 + g.randint(0, 3) }, () => g.randint(0, 10)).join('');
  const wave = speech.melToWave(speech.textToMel(syn.model, ref, i % syn.voices.length));
  const mel = speech.logMel(speech.batchOf([wave], wave.length)).squeeze(0);
  const [hyp] = speech.transcribeBatch(asr, [{ mel, label: ref }]);
  pairs.push({ ref, hyp });
  if (i < 3) nb.audio.save(`${samples}/${ref}.wav`, nb.fromTypedArray(wave, [1, wave.length]), 16000);
  if (i < 8) console.log(`  ${ref} -> ${hyp}`);
}
console.log(`recogniser CER on ${n} synthesised strings: ${speech.characterErrorRate(pairs).toFixed(4)} (${secs()} s)`);
