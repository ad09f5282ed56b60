// `nabla detect IMAGE... --model DIR [--out boxes.png]` and `nabla train-detector [--out DIR]`: the
// CenterNet of nb.vision.detection from the command line. Models come from --model DIR or the folder
// examples/detection.ts and train-detector save to (<cache>/detection/model).

import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as det from '../vision/detection/index.js';
import { readImage } from '../vision/image.js';
import { encodePng } from '../vision/image.js';
import { writeAtomic } from '../io/atomic.js';
import { fromTypedArray } from '../tensor/creation.js';
import { defaultDataRoot } from './progress.js';

export const DETECT_USAGE = `usage:
  nabla detect IMAGE... [--model DIR] [--out boxes.png] [--threshold 0.3] [--scale 4] [--json]
      finds clothing items and digits (the classes of the composed scenes) in grey images; with --out
      (one image) draws the boxes, enlarged --scale times; prints class, score and box (x1 y1 x2 y2)
  nabla train-detector [--out DIR] [--epochs N] [--scenes N] [--width W] [--data DIR]
      trains the CenterNet on composed Fashion-MNIST + MNIST scenes (needs the shared data; --data or
      NABLA_SHARED_DATA) and reports its mAP on held-out scenes
  DIR defaults to ${det.defaultDetectorDir()}.`;

function modelDir(v: string | undefined): string {
  const dir = v ?? det.defaultDetectorDir();
  if (!existsSync(join(dir, 'config.json')))
    throw new Error(
      `detect: no model in ${dir}; train one (npx nabla train-detector, or node dist/examples/detection.js) ` +
        'or pass --model DIR',
    );
  return dir;
}

/** Grey pixels of an image file, zero-padded right and bottom to multiples of 8: (1, 1, H8, W8). */
function loadGrey(path: string): { x: ReturnType<typeof fromTypedArray>; img: ReturnType<typeof readImage> } {
  const img = readImage(path, 'L');
  const H = Math.ceil(img.height / 8) * 8,
    W = Math.ceil(img.width / 8) * 8;
  const px = new Float32Array(H * W);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) px[y * W + x] = img.data[y * img.width + x] / 255;
  return { x: fromTypedArray(px, [1, 1, H, W]), img };
}

export async function detectCommand(cmd: string, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      out: { type: 'string' },
      threshold: { type: 'string', default: '0.3' },
      scale: { type: 'string', default: '4' },
      json: { type: 'boolean', default: false },
      epochs: { type: 'string', default: '40' },
      scenes: { type: 'string', default: '3072' },
      width: { type: 'string', default: '32' },
      data: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(DETECT_USAGE);
    return 0;
  }
  if (cmd === 'train-detector') {
    const out = values.out ?? det.defaultDetectorDir();
    const root = values.data ?? defaultDataRoot();
    const missing = det.sceneDataMissing(root);
    if (missing) {
      console.error(`train-detector: ${missing}`);
      return 1;
    }
    const r = det.trainDetector({
      root,
      epochs: Number(values.epochs),
      scenesPerEpoch: Number(values.scenes),
      width: Number(values.width),
      log: (m) => console.error(m),
    });
    await det.saveDetector(out, r);
    console.log(`held-out mAP@0.5 ${r.test.map50.toFixed(4)}, mAP@[.5:.95] ${r.test.map.toFixed(4)}; saved to ${out}`);
    return 0;
  }
  if (positionals.length === 0 || (values.out && positionals.length > 1)) {
    console.error(DETECT_USAGE);
    return 2;
  }
  const threshold = Number(values.threshold),
    scale = Number(values.scale);
  if (!(threshold >= 0 && threshold <= 1) || !Number.isInteger(scale) || scale < 1) {
    console.error(`detect: --threshold must be in [0, 1] and --scale a positive integer\n${DETECT_USAGE}`);
    return 2;
  }
  const { model, classes } = await det.loadDetector(modelDir(values.model));
  const rows: Record<string, unknown>[] = [];
  for (const file of positionals) {
    const { x, img } = loadGrey(file);
    const [d] = det.detect(model, x, { scoreThreshold: threshold });
    const boxes = Array.from({ length: d.scores.shape[0] }, (_, i) =>
      Array.from(d.boxes.select(0, i).toTypedArray(), (v) => Math.round(v * 10) / 10),
    );
    const labels = Array.from(d.labels.toTypedArray(), Number);
    const scores = Array.from(d.scores.toTypedArray(), Number);
    rows.push({
      file,
      detections: labels.map((l, i) => ({ label: classes[l], score: scores[i], box: boxes[i] })),
    });
    if (values.out) {
      const drawn = det.drawBoundingBoxes(img, d.boxes, { labels, scale, width: Math.max(1, scale >> 1) });
      writeAtomic(values.out, [encodePng(drawn)]);
    }
  }
  if (values.json) console.log(JSON.stringify(rows));
  else
    for (const r of rows) {
      const ds = r.detections as { label: string; score: number; box: number[] }[];
      console.log(`${r.file}: ${ds.length} object${ds.length === 1 ? '' : 's'}`);
      for (const d of ds)
        console.log(`  ${d.label.padEnd(12)} ${(d.score * 100).toFixed(1).padStart(5)}%  ${d.box.join(' ')}`);
    }
  if (values.out) console.log(`boxes drawn to ${values.out}`);
  return 0;
}
