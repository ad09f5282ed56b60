// Image generation on Fashion-MNIST (../shared/data) or the bundled 8x8 digits: a convolutional VAE
// (samples, a latent interpolation, inpainting of masked images) and a DCGAN, scored by FID on the
// penultimate features of a classifier trained here with nabla. This FID is NOT Inception FID: it
// compares these models on this data under this classifier only.
//
//   node dist/examples/image-generation.js [outDir]        (default runs/image-generation)
//   DATASET=digits  EPOCHS=5  GAN_EPOCHS=5  TRAIN_SIZE=60000  FID_N=2000  THREADS=1
// Writes vae_samples.png, vae_interpolation.png, vae_inpainting.png, dcgan_samples.png, curves.png and
// summary.json, and the models in outDir/vae and outDir/dcgan (nabla sample --model outDir/dcgan).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as nb from 'nabla';
import { COLORS, Canvas, lineChart } from './lib/plot.js';
import { epochBars } from './lib/progress.js';

const t0 = performance.now();
const outDir = resolve(process.argv[2] ?? join('runs', 'image-generation'));
const fashion = (process.env.DATASET ?? 'fashion') === 'fashion';
const EPOCHS = Number(process.env.EPOCHS ?? (fashion ? 5 : 40));
const GAN_EPOCHS = Number(process.env.GAN_EPOCHS ?? EPOCHS);
const CLF_EPOCHS = Number(process.env.CLF_EPOCHS ?? (fashion ? 2 : 20));
const FID_N = Number(process.env.FID_N ?? (fashion ? 2000 : 140));
nb.setNumThreads(Number(process.env.THREADS ?? 1));
nb.manualSeed(0);
mkdirSync(outDir, { recursive: true });
const M = nb.models;

// ---- data: images (1, S, S) in [0, 1] ----
const root = process.env.NABLA_SHARED_DATA ?? resolve('..', 'shared', 'data');
const fullTrain = fashion ? nb.datasets.FashionMNIST({ root, train: true }) : nb.datasets.digits({ train: true });
const test = fashion ? nb.datasets.FashionMNIST({ root, train: false }) : nb.datasets.digits({ train: false });
const trainSize = Math.min(Number(process.env.TRAIN_SIZE ?? fullTrain.length), fullTrain.length);
const train = new nb.data.Subset(
  fullTrain,
  Array.from({ length: trainSize }, (_, i) => i),
);
const S = fashion ? 28 : 8;
const batchOf = (ds: typeof test, from: number, n: number) =>
  ds.getBatch!(Array.from({ length: n }, (_, i) => from + i))[0] as nb.Tensor;
console.log(
  `${fashion ? 'Fashion-MNIST' : 'digits'}: ${trainSize} training images of ${S}x${S}, ${test.length} test; ` +
    `backend ${nb.backend().name}, ${nb.backend().threads} thread(s)`,
);

// ---- the FID classifier ----
const clf = new M.FIDClassifier(S, 64);
M.trainFIDClassifier(clf, train, {
  epochs: CLF_EPOCHS,
  batchSize: 128,
  seed: 1,
  ...epochBars(CLF_EPOCHS, 'classifier'),
});
let correct = 0;
nb.noGrad(() => {
  for (let s = 0; s < test.length; s += 1000) {
    const idx = Array.from({ length: Math.min(1000, test.length - s) }, (_, i) => s + i);
    const [x, y] = test.getBatch!(idx) as [nb.Tensor, nb.Tensor];
    correct += (clf.call(x) as nb.Tensor).argmax(1).eq(y).sum().item();
  }
});
const clfAccuracy = correct / test.length;
console.log(`classifier test accuracy ${(100 * clfAccuracy).toFixed(2)}% (its 64 penultimate features give the FID)`);

// ---- VAE ----
const vae = new M.ConvVAE(
  fashion ? { imageSize: S, latent: 16 } : { imageSize: S, features: 16, hidden: 128, latent: 8 },
);
const vaeHist = M.trainVAE(vae, train, {
  epochs: EPOCHS,
  batchSize: fashion ? 128 : 64,
  seed: 2,
  ...epochBars(EPOCHS, 'VAE'),
});
await M.saveImageGenerator(join(outDir, 'vae'), vae);
const gen = new nb.Generator(7);
nb.vision.saveImage(vae.sample(64, gen), join(outDir, 'vae_samples.png'));
// interpolation: 8 pairs of test images, 10 steps each (one row per pair)
const rows: nb.Tensor[] = [];
for (let p = 0; p < 8; p++) rows.push(vae.interpolate(batchOf(test, 2 * p, 1), batchOf(test, 2 * p + 1, 1), 10));
nb.vision.saveImage(nb.cat(rows, 0), join(outDir, 'vae_interpolation.png'), { nrow: 10 });
// inpainting: the lower half hidden; rows of 8: originals, masked, inpainted
const originals = batchOf(test, 100, 8);
const mask = nb.ones([1, 1, S, S]).mul(
  nb
    .arange(0, S)
    .lt(S / 2)
    .reshape([1, 1, S, 1])
    .float(),
);
const masked = originals.mul(mask);
const inpainted = vae.inpaint(originals, mask);
nb.vision.saveImage(nb.cat([originals, masked, inpainted], 0), join(outDir, 'vae_inpainting.png'), { nrow: 8 });
const holeErr = (a: nb.Tensor) => a.sub(originals).mul(mask.neg().add(1)).abs().sum().item() / ((8 * (S * S)) / 2);
console.log(
  `inpainting: mean absolute error on the hidden half ${holeErr(inpainted).toFixed(4)} (grey fill: ` +
    `${holeErr(masked.add(mask.neg().add(1).mul(0.5))).toFixed(4)})`,
);

// ---- DCGAN ----
const netG = new M.DCGANGenerator({ imageSize: S, nz: fashion ? 64 : 16 });
const netD = new M.DCGANDiscriminator({ imageSize: S });
const ganHist = M.trainDCGAN(netG, netD, train, {
  epochs: GAN_EPOCHS,
  batchSize: fashion ? 128 : 64,
  seed: 3,
  ...epochBars(GAN_EPOCHS, 'DCGAN'),
});
await M.saveImageGenerator(join(outDir, 'dcgan'), netG);
nb.vision.saveImage(netG.sample(64, gen), join(outDir, 'dcgan_samples.png'));

// ---- FID on the classifier's features: reference = the first FID_N test images ----
const n = Math.min(FID_N, Math.floor(test.length / 2));
const reference = nb.models.featureStats(M.extractFeatures(clf, batchOf(test, 0, n)));
const score = (images: nb.Tensor) => M.frechetDistance(M.featureStats(M.extractFeatures(clf, images)), reference);
const fids = {
  heldOutReal: score(batchOf(test, n, n)),
  vae: score(vae.sample(n, new nb.Generator(11))),
  dcgan: score(netG.sample(n, new nb.Generator(12))),
  noise: score(nb.rand([n, 1, S, S], { generator: new nb.Generator(13) })),
};
console.log(`\nFID on the classifier's features (not Inception FID), ${n} images against ${n} test images:`);
for (const [k, v] of Object.entries(fids)) console.log(`  ${k.padEnd(12)} ${v.toFixed(3)}`);
const ratio = (fids.noise - fids.heldOutReal) / Math.max(1e-9, fids.dcgan - fids.heldOutReal);
console.log(
  `  the DCGAN is ${(fids.noise / fids.dcgan).toFixed(1)}x closer to real images than noise is (FID ratio), ` +
    `${ratio.toFixed(1)}x above the held-out-real floor`,
);

// ---- curves ----
const curves = new Canvas(960, 360);
lineChart(curves, 0, 0, 480, 360, 'VAE LOSS', [
  { name: 'RECON', values: vaeHist.recon, color: COLORS.blue },
  { name: 'TOTAL', values: vaeHist.loss, color: COLORS.orange },
]);
lineChart(curves, 480, 0, 480, 360, 'DCGAN LOSS', [
  { name: 'D', values: ganHist.lossD, color: COLORS.blue },
  { name: 'G', values: ganHist.lossG, color: COLORS.orange },
]);
curves.savePng(join(outDir, 'curves.png'));
const seconds = (performance.now() - t0) / 1000;
writeFileSync(
  join(outDir, 'summary.json'),
  JSON.stringify(
    {
      dataset: fashion ? 'fashion-mnist' : 'digits',
      trainSize,
      EPOCHS,
      GAN_EPOCHS,
      clfAccuracy,
      fids,
      seconds,
      vaeHist,
      ganHist,
    },
    null,
    1,
  ),
);
console.log(`\ndone in ${seconds.toFixed(1)} s; PNGs, models and summary.json in ${outDir}`);
