// Semantic segmentation of composed scenes (Fashion-MNIST items and MNIST digits in 64x64 grey images)
// with a small U-Net: per-pixel classes background + the 20 scene classes ('all'), or background,
// clothing, digit ('kind'). Trains on fresh scenes each epoch and reports mean IoU on held-out scenes
// (items never seen in training). Needs ../shared/data (or NABLA_SHARED_DATA).
// Run: npm run build && node dist/examples/segmentation.js [epochs] [scenes per epoch] [width] [all|kind]
import * as nb from 'nabla';
import { resolve } from 'node:path';

const { detection } = nb.vision;
const root = process.env.NABLA_SHARED_DATA ?? resolve('..', 'shared', 'data');
const missing = detection.sceneDataMissing(root);
if (missing) {
  console.error(missing);
  process.exit(1);
}
const epochs = Number(process.argv[2] ?? 4);
const scenesPerEpoch = Number(process.argv[3] ?? 2048);
const width = Number(process.argv[4] ?? 12);
const classes = (process.argv[5] ?? 'all') as 'all' | 'kind';
nb.setNumThreads(1);
nb.manualSeed(0);
const t0 = Date.now();
const log = (m: string) => console.log(`${m} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
const s = detection.trainSegmenter({ root, classes, epochs, scenesPerEpoch, width, testScenes: 300, log });
console.log(`U-Net (${classes}) on held-out scenes: mIoU ${s.test.miou.toFixed(4)}`);
const names = classes === 'all' ? ['background', ...detection.SCENE_CLASSES] : ['background', 'clothing', 'digit'];
s.test.perClass.forEach((v, c) => {
  console.log(`  IoU ${Number.isNaN(v) ? '  -  ' : v.toFixed(3)}  ${names[c]}`);
});
