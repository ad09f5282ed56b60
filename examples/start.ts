// `npm start`: a small Keras-style CNN on the 8x8 digits bundled with nabla.
// Trains on the first 1500 images with a progress bar, tests on the remaining 297, prints the test
// accuracy and the confusion matrix, saves the model, reloads it to check the predictions, and
// writes two PNGs: the training curves and a grid of the misclassified test digits.
//
//   npm start                      output in ./runs/digits-cnn
//   npm start -- /tmp/out          output elsewhere
//   EPOCHS=3 npm start             fewer epochs
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as nb from 'nabla';
import { loadDigits } from './lib/digits.js';
import { COLORS, Canvas, imageGrid, lineChart } from './lib/plot.js';

const USAGE = 'usage: npm start [-- OUT_DIR]   (default runs/digits-cnn; EPOCHS=N sets the epochs, default 20)';
if (process.argv[2]?.startsWith('-')) {
  // NOTE: `npm start -- --help` must not become an output folder named --help.
  const help = process.argv[2] === '--help' || process.argv[2] === '-h';
  (help ? console.log : console.error)(help ? USAGE : `start: unknown option '${process.argv[2]}'\n${USAGE}`);
  process.exit(help ? 0 : 2);
}
const t0 = performance.now();
const outDir = resolve(process.argv[2] ?? process.env.NABLA_OUT ?? join('runs', 'digits-cnn'));
const EPOCHS = Number(process.env.EPOCHS ?? 20);
nb.manualSeed(0);

// ---- data: x (N, 8, 8, 1) in [0, 1], y (N) int32 labels ----
const { xTrain, yTrain, xTest, yTest } = loadDigits();
console.log(
  `digits: ${xTrain.shape[0]} training and ${xTest.shape[0]} test images of 8x8, backend ${nb.backend().name}\n`,
);

// ---- model ----
const L = nb.keras.layers;
const model = nb.keras.sequential([
  L.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [8, 8, 1] }),
  L.maxPooling2d({ poolSize: 2 }),
  L.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
  L.flatten(),
  L.dense({ units: 10, activation: 'softmax' }),
]);
model.summary();
model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });

// ---- training: the test set is evaluated after each epoch for the curves (val_*), not for choosing anything ----
const history = await model.fit(xTrain, yTrain, { epochs: EPOCHS, batchSize: 32, validationData: [xTest, yTest] });

// ---- test accuracy and confusion matrix ----
const probs = model.predict(xTest) as nb.Tensor; // (297, 10)
const pred = probs.argmax(1).toTypedArray(); // (297)
const truth = yTest.toTypedArray();
const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
let correct = 0;
for (let i = 0; i < pred.length; i++) {
  confusion[truth[i]][pred[i]]++;
  if (pred[i] === truth[i]) correct++;
}
console.log(`\ntest accuracy: ${((100 * correct) / pred.length).toFixed(2)}% (${correct}/${pred.length})\n`);
console.log('confusion matrix (rows: true digit, columns: predicted digit)');
console.log('      ' + [...Array(10).keys()].map((d) => String(d).padStart(4)).join(''));
confusion.forEach((row, d) => {
  console.log(`  ${d} | ` + row.map((v) => (v ? String(v) : '.').padStart(4)).join(''));
});

// ---- save, reload, check ----
mkdirSync(outDir, { recursive: true });
const modelDir = join(outDir, 'model');
await model.save(modelDir);
const reloaded = await nb.keras.loadModel(modelDir);
const same = (reloaded.predict(xTest) as nb.Tensor).sub(probs).abs().max().item() === 0;
if (!same) throw new Error('the reloaded model does not predict exactly as the trained one');

// ---- PNGs: curves and misclassified digits ----
const h = history.history;
const curves = new Canvas(960, 360);
lineChart(curves, 0, 0, 480, 360, 'LOSS', [
  { name: 'TRAIN', values: h.loss, color: COLORS.blue },
  { name: 'TEST', values: h.val_loss, color: COLORS.orange },
]);
lineChart(
  curves,
  480,
  0,
  480,
  360,
  'ACCURACY',
  [
    { name: 'TRAIN', values: h.accuracy, color: COLORS.blue },
    { name: 'TEST', values: h.val_accuracy, color: COLORS.orange },
  ],
  [Math.min(...h.accuracy, ...h.val_accuracy), 1],
);
curves.savePng(join(outDir, 'curves.png'));

const px = xTest.toTypedArray();
const wrong = [...pred.keys()].filter((i) => pred[i] !== truth[i]);
const grid = imageGrid(
  wrong.map((i) => ({
    pixels: px.subarray(i * 64, (i + 1) * 64),
    caption: `${truth[i]}>${pred[i]}`,
    captionColor: COLORS.red,
  })),
  8,
  8,
  { cols: 10, scale: 6, title: `MISCLASSIFIED ${wrong.length}/${pred.length}: TRUE>PREDICTED` },
);
grid.savePng(join(outDir, 'misclassified.png'));

console.log(`\nsaved the model to ${modelDir} (config.json + model.safetensors; reloaded predictions match)`);
console.log(`wrote ${join(outDir, 'curves.png')} and ${join(outDir, 'misclassified.png')}`);
console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s; output in ${outDir}`);
