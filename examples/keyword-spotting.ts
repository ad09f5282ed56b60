// Keyword spotting on the espeak-ng corpus: builds the corpus into the cache (first run only; needs
// espeak-ng and sox), trains the log-mel CNN on one core and reports accuracy on held-out voices.
// Run: npm run build && node dist/examples/keyword-spotting.js [epochs] [utterances per word and voice] [width]
import * as nb from 'nabla';

const epochs = Number(process.argv[2] ?? 10);
const perVoice = Number(process.argv[3] ?? 2);
nb.setNumThreads(1);
nb.manualSeed(0);
const { speech } = nb.audio;

const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(0);
const opts = { kind: 'keywords' as const, perVoice };
const corpus = speech.buildCorpus(speech.defaultCorpusDir(`keywords-${perVoice}`), opts, console.log);
const nTest = corpus.items.filter((i) => i.split === 'test').length;
console.log(`corpus: ${corpus.items.length} clips (${nTest} from held-out voices) in ${corpus.dir}, ${secs()} s`);
const width = Number(process.argv[4] ?? 8);
const r = speech.trainKeywordSpotter(corpus, { epochs, width, evalEvery: 2, log: console.log });
console.log(`train accuracy ${r.trainAccuracy.toFixed(4)}, held-out voices ${r.testAccuracy.toFixed(4)} (${secs()} s)`);
await speech.saveKeywordSpotter(speech.defaultModelDir('kws'), r);
console.log(`saved to ${speech.defaultModelDir('kws')} (try: npx nabla kws FILE.wav)`);
