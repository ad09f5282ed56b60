// `nabla train-vae`, `nabla train-dcgan` and `nabla sample --model DIR --n 64 --out grid.png`: image
// generation on Fashion-MNIST (../shared/data) or the 8x8 digits bundled with nabla.

import { parseArgs } from 'node:util';
import { setNumThreads } from '../backend/select.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { FashionMNIST, digits } from '../data/datasets.js';
import { ConvVAE, trainVAE } from '../models/vae.js';
import {
  DCGANDiscriminator,
  DCGANGenerator,
  loadImageGenerator,
  saveImageGenerator,
  trainDCGAN,
} from '../models/dcgan.js';
import { saveImage } from '../vision/utils.js';
import { defaultDataRoot, epochProgress } from './progress.js';

export const GENERATIVE_USAGE = `nabla train-vae   [--dataset fashion|digits] [--data DIR] [--out DIR] [--epochs N]
                  [--batch-size B] [--lr LR] [--latent Z] [--seed S] [--threads N]
nabla train-dcgan [--dataset fashion|digits] [--data DIR] [--out DIR] [--epochs N]
                  [--batch-size B] [--lr LR] [--nz NZ] [--seed S] [--threads N]
  --dataset     fashion: Fashion-MNIST 28x28 from --data (default ../shared/data); digits: the bundled 8x8
  --out DIR     config.json + model.safetensors (default runs/vae or runs/dcgan); sample from it with
nabla sample --model DIR [--n 64] [--out grid.png] [--nrow 8] [--seed S]
                  a PNG grid of n images drawn from the model's prior`;

function int(v: Record<string, unknown>, key: string, def: number): number {
  const s = v[key];
  if (s === undefined) return def;
  const x = Number(s);
  if (typeof s !== 'string' || s.trim() === '' || !Number.isInteger(x))
    throw new Error(`--${key} expects an integer, got '${String(s)}'`);
  return x;
}

function real(v: Record<string, unknown>, key: string, def: number): number {
  const s = v[key];
  const x = Number(s);
  if (s === undefined) return def;
  if (typeof s !== 'string' || s.trim() === '' || !Number.isFinite(x))
    throw new Error(`--${key} expects a number, got '${String(s)}'`);
  return x;
}

async function trainCommand(cmd: 'train-vae' | 'train-dcgan', argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      dataset: { type: 'string', default: 'fashion' },
      data: { type: 'string' },
      out: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      latent: { type: 'string' },
      nz: { type: 'string' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    console.log(GENERATIVE_USAGE);
    return 0;
  }
  if (v.dataset !== 'fashion' && v.dataset !== 'digits') {
    console.error(`${cmd}: --dataset must be fashion or digits, got '${v.dataset}'`);
    return 2;
  }
  if (v.threads !== undefined) setNumThreads(int(v, 'threads', 1));
  const seed = int(v, 'seed', 0);
  manualSeed(seed);
  const fashion = v.dataset === 'fashion';
  const data = fashion ? FashionMNIST({ root: v.data ?? defaultDataRoot(), train: true }) : digits({ train: true });
  const imageSize = fashion ? 28 : 8;
  const epochs = int(v, 'epochs', fashion ? 5 : 40);
  const common = {
    epochs,
    batchSize: int(v, 'batch-size', fashion ? 128 : 64),
    generator: new Generator(seed),
    ...epochProgress(epochs),
  };
  const out = v.out ?? (cmd === 'train-vae' ? 'runs/vae' : 'runs/dcgan');
  if (cmd === 'train-vae') {
    const vae = new ConvVAE(
      fashion
        ? { imageSize, latent: int(v, 'latent', 16) }
        : { imageSize, features: 16, hidden: 128, latent: int(v, 'latent', 8) },
    );
    trainVAE(vae, data, { ...common, lr: real(v, 'lr', 1e-3) });
    await saveImageGenerator(out, vae);
  } else {
    const nz = int(v, 'nz', fashion ? 64 : 16);
    const netG = new DCGANGenerator({ imageSize, nz }),
      netD = new DCGANDiscriminator({ imageSize });
    trainDCGAN(netG, netD, data, { ...common, lr: real(v, 'lr', 2e-4) });
    await saveImageGenerator(out, netG);
  }
  process.stderr.write(`saved to ${out}; try: nabla sample --model ${out} --n 64 --out grid.png\n`);
  return 0;
}

async function sampleCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      n: { type: 'string', default: '64' },
      out: { type: 'string', default: 'grid.png' },
      nrow: { type: 'string', default: '8' },
      seed: { type: 'string', default: '0' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    console.log(GENERATIVE_USAGE);
    return 0;
  }
  if (!v.model) {
    console.error(`sample: --model DIR is required\n${GENERATIVE_USAGE}`);
    return 2;
  }
  const n = int(v, 'n', 64);
  if (n < 1) throw new Error(`sample: --n must be a positive number of images, got ${n}`);
  if (v.threads !== undefined) setNumThreads(int(v, 'threads', 1));
  const model = await loadImageGenerator(v.model);
  const images = model.sample(n, new Generator(int(v, 'seed', 0)));
  saveImage(images, v.out!, { nrow: int(v, 'nrow', 8) });
  console.log(`${v.out}: ${n} samples from ${model instanceof ConvVAE ? 'a VAE' : 'a DCGAN'} (${v.model})`);
  return 0;
}

export async function generativeCommand(cmd: string, argv: string[]): Promise<number> {
  if (cmd === 'sample') return sampleCommand(argv);
  if (cmd === 'train-vae' || cmd === 'train-dcgan') return trainCommand(cmd, argv);
  throw new Error(`generativeCommand: unknown command '${cmd}'`);
}
