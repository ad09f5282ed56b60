// German -> English translation, character by character, trained on the pairs of Debian's FreeDict
// German-English dictionary (dict-freedict-deu-eng: headwords, their translations and the usage
// examples): a Transformer encoder-decoder and an LSTM encoder-decoder with Luong attention. Held-out
// headwords score exact match, chrF and BLEU (sacreBLEU's definitions) with greedy decoding and beam
// search; the curves go to a PNG and the models to folders that `npx nabla translate` loads:
//   npx nabla translate "Guten Morgen" --model runs/translate/transformer --num-beams 4
//
//   npm run build && node dist/examples/translate.js [steps] [outDir] [transformer,lstm]
//   THREADS=1 one compute thread; EVAL=1000 held-out phrases scored; MAXCHARS=24 longest phrase; BATCH=64
import { join, resolve } from 'node:path';
import * as nb from 'nabla';
import { COLORS, Canvas, lineChart } from './lib/plot.js';

const steps = Number(process.argv[2] ?? 1500);
const outDir = resolve(process.argv[3] ?? join('runs', 'translate'));
const archs = (process.argv[4] ?? 'transformer,lstm').split(',') as nb.models.TranslatorArch[];
const nEval = Number(process.env.EVAL ?? 1000);
if (process.env.THREADS) nb.setNumThreads(Number(process.env.THREADS));
const maxChars = Number(process.env.MAXCHARS ?? 24);
const batchSize = Number(process.env.BATCH ?? 64);

// ---- data: every (German phrase, English translations) group; 10% of the phrases held out ----
let t0 = performance.now();
const groups = nb.text.readFreedictPairs(nb.text.FREEDICT_DEU_ENG, { maxChars });
const [train, heldAll] = nb.text.splitByHeadword(groups, 0.1);
// a fixed subset of the held-out phrases, in hash order (the index is alphabetical)
const held = [...heldAll].sort((a, b) => nb.text.fnv1a(a.source) - nb.text.fnv1a(b.source)).slice(0, nEval);
console.log(
  `FreeDict deu-eng: ${groups.length} phrases (${train.length} for training, ${heldAll.length} held out, ` +
    `${held.length} scored), read in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

const MODELS = {
  transformer: { dModel: 128, nhead: 4, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 256, dropout: 0.1 },
  lstm: { embeddingDim: 64, hiddenSize: 256, numLayers: 1, dropout: 0.1 },
};
const curves: { name: string; values: number[]; color: (typeof COLORS)['blue'] }[] = [];
const results: string[] = [];
for (const arch of archs) {
  const bar = new nb.keras.Progbar({ target: steps, label: arch, stream: process.stderr });
  const r = nb.models.trainTranslator(train, {
    arch,
    model: MODELS[arch],
    steps,
    batchSize,
    maxChars,
    lr: arch === 'transformer' ? 1e-3 : 2e-3,
    onStep: (s) => bar.update(s.step, { loss: s.loss }),
  });
  bar.update(steps, undefined, true);
  await r.translator.save(join(outDir, arch));
  t0 = performance.now();
  const greedy = nb.models.evaluateTranslator(r.translator, held);
  const nBeam = Math.min(held.length, 300);
  const beam = nb.models.evaluateTranslator(r.translator, held.slice(0, nBeam), { numBeams: 4 });
  const greedySub = nb.models.evaluateTranslator(r.translator, held.slice(0, nBeam));
  const line =
    `${arch}: ${r.params} parameters, ${steps} steps of ${batchSize} pairs in ${r.wallSeconds.toFixed(0)} s; ` +
    `held-out greedy (${greedy.n}): exact ${greedy.exactMatch.toFixed(1)}%, chrF ${greedy.chrF.toFixed(1)}, ` +
    `BLEU ${greedy.bleu.toFixed(1)}; first ${nBeam}: greedy exact ${greedySub.exactMatch.toFixed(1)}% chrF ` +
    `${greedySub.chrF.toFixed(1)}, beam 4 exact ${beam.exactMatch.toFixed(1)}% chrF ${beam.chrF.toFixed(1)} ` +
    `BLEU ${beam.bleu.toFixed(1)}`;
  results.push(line);
  console.log(`\n${line}  (scored in ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  for (const [src, hyp, refs] of greedy.examples) console.log(`  ${src} -> ${hyp}   [${refs.join(' | ')}]`);
  for (const s of ['Guten Morgen', 'Krankenhaus', 'aus Spaß']) {
    console.log(`  ${s} -> ${r.translator.translateAll([s], { numBeams: 4, numReturnSequences: 3 })[0].join(' | ')}`);
  }
  const k = Math.max(1, Math.round(steps / 40));
  const smooth = Array.from(
    { length: Math.floor(r.losses.length / k) },
    (_, i) => r.losses.slice(i * k, (i + 1) * k).reduce((a, b) => a + b) / k,
  );
  curves.push({
    name: arch.toUpperCase(),
    values: smooth,
    color: arch === 'transformer' ? COLORS.blue : COLORS.orange,
  });
}
const cv = new Canvas(640, 360);
lineChart(cv, 0, 0, 640, 360, 'TRAIN LOSS', curves);
cv.savePng(join(outDir, 'curves.png'));
console.log(`\n${results.join('\n')}\ncurves: ${join(outDir, 'curves.png')}`);
