// Spoken digit strings -> text: CNN + BiGRU + CTC on the espeak-ng digits corpus (built into the cache
// on the first run; needs espeak-ng and sox), trained on one core; character error rate on held-out voices.
// Run: npm run build && node dist/examples/speech-recognition.js [epochs] [utterances per voice] [channels] [hidden]
import * as nb from 'nabla';

const epochs = Number(process.argv[2] ?? 16);
const perVoice = Number(process.argv[3] ?? 12);
nb.setNumThreads(1);
nb.manualSeed(0);
const { speech } = nb.audio;

const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(0);
const opts = { kind: 'digits' as const, perVoice };
const corpus = speech.buildCorpus(speech.defaultCorpusDir(`digits-${perVoice}`), opts, console.log);
const nTest = corpus.items.filter((i) => i.split === 'test').length;
console.log(`corpus: ${corpus.items.length} digit strings (${nTest} from held-out voices), ${secs()} s`);
const [channels, hidden] = [Number(process.argv[4] ?? 64), Number(process.argv[5] ?? 64)];
const r = speech.trainSpeechRecognizer(corpus, {
  epochs,
  channels,
  hidden,
  batchSize: 32,
  lr: 3e-3,
  evalEvery: 2,
  log: console.log,
});
console.log(`CER train ${r.trainCer.toFixed(4)}, held-out voices ${r.testCer.toFixed(4)} (${secs()} s)`);
for (const e of r.examples) console.log(`  ${e.ref} -> ${e.hyp}`);
await speech.saveSpeechRecognizer(speech.defaultModelDir('asr'), r.model);
console.log(`saved to ${speech.defaultModelDir('asr')} (try: npx nabla transcribe FILE.wav)`);
