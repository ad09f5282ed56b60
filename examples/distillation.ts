// Knowledge distillation on Fashion-MNIST, Keras-style, as the Keras example "Knowledge Distillation":
// train a CNN teacher, then a small MLP student twice with the same recipe and seed: once alone on the
// labels, once through nb.keras.Distiller (alpha * CE + (1 - alpha) * T^2 * KL to the teacher).
// Needs ../shared/data (or NABLA_SHARED_DATA).
// Run: npm run build && node dist/examples/distillation.js [trainSize=5000] [epochs=5] [temperature=4]
//   [teacherEpochs=10] [studentHidden=16]
import * as nb from 'nabla';
import { resolve } from 'node:path';

const root = process.env.NABLA_SHARED_DATA ?? resolve('..', 'shared', 'data');
const trainSize = Number(process.argv[2] ?? 5000);
const epochs = Number(process.argv[3] ?? 5);
const temperature = Number(process.argv[4] ?? 4);
const teacherEpochs = Number(process.argv[5] ?? 10);
const hidden = Number(process.argv[6] ?? 16);
const { layers } = nb.keras;

const [[xAll, yAll], [xTest0, yTest]] = await nb.keras.datasets.fashionMnist.loadData({ root });
// (N, 28, 28) pixels 0..255 -> (N, 28, 28, 1) in [0, 1]
const prep = (x: nb.Tensor) => x.div(255).unsqueeze(-1);
const xTrain = prep(xAll.narrow(0, 0, trainSize)),
  yTrain = yAll.narrow(0, 0, trainSize),
  xTest = prep(xTest0);

const teacherNet = () =>
  nb.keras.sequential([
    layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
    layers.maxPooling2d({ poolSize: 2 }),
    layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    layers.maxPooling2d({ poolSize: 2 }),
    layers.flatten(),
    layers.dense({ units: 10 }),
  ]);
const studentNet = () =>
  nb.keras.sequential([
    layers.flatten({ inputShape: [28, 28, 1] }),
    layers.dense({ units: hidden, activation: 'relu' }),
    layers.dense({ units: 10 }),
  ]);
const metrics = ['sparse_categorical_accuracy'];
const loss = new nb.keras.losses.SparseCategoricalCrossentropy({ fromLogits: true });
const accuracy = async (m: nb.keras.Model) =>
  ((await m.evaluate(xTest, yTest, { batchSize: 500, verbose: 0 })) as number[])[1];

nb.manualSeed(0);
const teacher = teacherNet();
teacher.compile({ optimizer: 'adam', loss, metrics });
await teacher.fit(xTrain, yTrain, { epochs: teacherEpochs, batchSize: 64, verbose: 0 });
console.log(`teacher (CNN, ${teacher.countParams().trainable} params): test accuracy ${await accuracy(teacher)}`);

nb.manualSeed(1);
const scratch = studentNet();
scratch.compile({ optimizer: 'adam', loss, metrics });
await scratch.fit(xTrain, yTrain, { epochs, batchSize: 64, verbose: 0 });
const alone = await accuracy(scratch);

nb.manualSeed(1);
const student = studentNet();
const distiller = new nb.keras.Distiller({ student, teacher });
distiller.compile({ optimizer: 'adam', metrics, studentLoss: loss, alpha: 0.1, temperature });
await distiller.fit(xTrain, yTrain, { epochs, batchSize: 64, verbose: 0 });
const distilled = await accuracy(distiller);

const params = student.countParams().trainable;
console.log(`student (MLP, ${params} params), ${trainSize} images, ${epochs} epochs, T = ${temperature}:`);
console.log(`  trained alone:   test accuracy ${alone.toFixed(4)}`);
console.log(`  distilled:       test accuracy ${distilled.toFixed(4)}`);
