// DCGAN (Radford et al. 2016) for small grey images, in the layout of PyTorch's examples/dcgan
// scaled down to 28x28 (or 8x8): transposed convolutions with BatchNorm and ReLU up to a Tanh image in
// the generator, strided convolutions with LeakyReLU(0.2) down to one logit in the discriminator,
// N(0, 0.02) weights, Adam(lr 2e-4, betas (0.5, 0.999)), the non-saturating generator loss.
// Glossary: B batch, NZ noise size, C channels, H W image size (multiples of 4), NGF/NDF feature maps.

import { existsSync, join, mkdirSync } from '../platform/node.js';
import type { Tensor } from '../tensor/tensor.js';
import { ones, randn, zeros } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import { noGrad } from '../autograd/grad_mode.js';
import { Module } from '../nn/module.js';
import { Conv2d, ConvTranspose2d } from '../nn/conv.js';
import { BatchNorm2d } from '../nn/batch_norm.js';
import { LeakyReLU, ReLU, Tanh } from '../nn/activations.js';
import { Sequential } from '../nn/containers.js';
import { normal_, zeros_ } from '../nn/init.js';
import { binaryCrossEntropyWithLogits } from '../nn/functional/losses.js';
import { Adam } from '../optim/adam.js';
import type { Dataset } from '../data/dataset.js';
import { loadSafetensors, saveSafetensors } from '../io/tensors.js';
import { readConfigJson, writeJsonAtomic } from './loading.js';
import {
  ConvVAE,
  type ConvVAEConfig,
  checkSampleCount,
  firstTensor,
  imageLoader,
  type TrainImagesOptions,
} from './vae.js';

export interface DCGANConfig {
  imageSize?: number;
  channels?: number;
  /** NZ, the noise size (default 64). */
  nz?: number;
  /** Feature maps of the generator's last hidden layer (default 32) and the discriminator's first (default 32). */
  ngf?: number;
  ndf?: number;
}

function fullConfig(c: DCGANConfig): Required<DCGANConfig> {
  const r = {
    imageSize: c.imageSize ?? 28,
    channels: c.channels ?? 1,
    nz: c.nz ?? 64,
    ngf: c.ngf ?? 32,
    ndf: c.ndf ?? 32,
  };
  if (!Number.isInteger(r.imageSize) || r.imageSize < 4 || r.imageSize % 4 !== 0)
    throw new Error(`DCGAN: imageSize must be a positive multiple of 4, got ${r.imageSize}`);
  return r;
}

/** DCGAN's initialisation: convolutions N(0, 0.02), BatchNorm weight N(1, 0.02) and bias 0. */
export function dcganInit(m: Module): void {
  for (const mod of m.modules()) {
    if (mod instanceof Conv2d || mod instanceof ConvTranspose2d) normal_(mod.weight, 0, 0.02);
    else if (mod instanceof BatchNorm2d) {
      normal_(mod.weight!, 1, 0.02);
      zeros_(mod.bias!);
    }
  }
}

/** z (B, NZ) -> images (B, C, H, W) in [-1, 1] */
export class DCGANGenerator extends Module {
  declare main: Sequential;
  readonly config: Required<DCGANConfig>;
  constructor(config: DCGANConfig = {}) {
    super();
    this.config = fullConfig(config);
    const c = this.config;
    const g = c.ngf;
    this.main = new Sequential(
      new ConvTranspose2d(c.nz, 2 * g, c.imageSize / 4, { bias: false }), // (B, 2G, H/4, W/4)
      new BatchNorm2d(2 * g),
      new ReLU(),
      new ConvTranspose2d(2 * g, g, 4, { stride: 2, padding: 1, bias: false }), // (B, G, H/2, W/2)
      new BatchNorm2d(g),
      new ReLU(),
      new ConvTranspose2d(g, c.channels, 4, { stride: 2, padding: 1, bias: false }), // (B, C, H, W)
      new Tanh(),
    );
    dcganInit(this);
  }
  forward(z: Tensor): Tensor {
    if (z.ndim !== 2 || z.shape[1] !== this.config.nz)
      throw new Error(`DCGANGenerator: expected noise (B, ${this.config.nz}), got [${z.shape}]`);
    return this.main.call(z.reshape([z.shape[0], this.config.nz, 1, 1])) as Tensor;
  }
  /** n images (n, C, H, W) in [0, 1] from z ~ N(0, I), in eval mode (BatchNorm's running statistics). */
  sample(n: number, generator?: Generator): Tensor {
    checkSampleCount('DCGANGenerator.sample', n);
    this.eval();
    return noGrad(() =>
      this.forward(randn([n, this.config.nz], { generator }))
        .add(1)
        .mul(0.5),
    );
  }
}

/** images (B, C, H, W) in [-1, 1] -> logits (B) of "real" */
export class DCGANDiscriminator extends Module {
  declare main: Sequential;
  readonly config: Required<DCGANConfig>;
  constructor(config: DCGANConfig = {}) {
    super();
    this.config = fullConfig(config);
    const c = this.config;
    const d = c.ndf;
    this.main = new Sequential(
      new Conv2d(c.channels, d, 4, { stride: 2, padding: 1, bias: false }), // (B, D, H/2, W/2)
      new LeakyReLU(0.2),
      new Conv2d(d, 2 * d, 4, { stride: 2, padding: 1, bias: false }), // (B, 2D, H/4, W/4)
      new BatchNorm2d(2 * d),
      new LeakyReLU(0.2),
      new Conv2d(2 * d, 1, c.imageSize / 4, { bias: false }), // (B, 1, 1, 1)
    );
    dcganInit(this);
  }
  forward(x: Tensor): Tensor {
    const { channels: C, imageSize: S } = this.config;
    if (x.ndim !== 4 || x.shape[1] !== C || x.shape[2] !== S || x.shape[3] !== S)
      throw new Error(`DCGANDiscriminator: expected images (B, ${C}, ${S}, ${S}), got [${x.shape}]`);
    return (this.main.call(x) as Tensor).reshape([x.shape[0]]);
  }
}

/**
 * Trains a DCGAN on images in [0, 1] (scaled to [-1, 1]); per step: D on a real and a fake batch, then G
 * on the non-saturating loss -log D(G(z)). Returns per-epoch means of lossD, lossG, D(x) and D(G(z)).
 */
export function trainDCGAN(
  netG: DCGANGenerator,
  netD: DCGANDiscriminator,
  data: Dataset<unknown>,
  opts: TrainImagesOptions = {},
): Record<string, number[]> {
  const epochs = opts.epochs ?? 10;
  const bs = opts.batchSize ?? 128;
  const gen = opts.generator ?? new Generator(opts.seed ?? 0);
  const loader = imageLoader(data, bs, gen);
  if (loader.length === 0) throw new Error(`trainDCGAN: ${data.length} images make no batch of ${bs}`);
  const lr = opts.lr ?? 2e-4;
  const optD = new Adam(netD.parameters(), { lr, betas: [0.5, 0.999] });
  const optG = new Adam(netG.parameters(), { lr, betas: [0.5, 0.999] });
  const real = ones([bs]),
    fake = zeros([bs]);
  const keys = ['lossD', 'lossG', 'Dx', 'DGz'] as const;
  const history: Record<string, number[]> = Object.fromEntries(keys.map((k) => [k, []]));
  for (let epoch = 1; epoch <= epochs; epoch++) {
    netG.train();
    netD.train();
    const sums = { lossD: 0, lossG: 0, Dx: 0, DGz: 0 };
    let step = 0;
    for (const batch of loader) {
      const x = firstTensor(batch).mul(2).sub(1);
      // (1) D: maximise log D(x) + log(1 - D(G(z)))
      optD.zeroGrad();
      const outReal = netD.call(x) as Tensor;
      const z = randn([bs, netG.config.nz], { generator: gen });
      const fakes = netG.call(z) as Tensor;
      const outFake = netD.call(fakes.detach()) as Tensor;
      const lossD = binaryCrossEntropyWithLogits(outReal, real).add(binaryCrossEntropyWithLogits(outFake, fake));
      lossD.backward();
      optD.step();
      // (2) G: maximise log D(G(z))
      optG.zeroGrad();
      const lossG = binaryCrossEntropyWithLogits(netD.call(fakes) as Tensor, real);
      lossG.backward();
      optG.step();
      const v = {
        lossD: lossD.item(),
        lossG: lossG.item(),
        Dx: outReal.sigmoid().mean().item(),
        DGz: outFake.sigmoid().mean().item(),
      };
      for (const k of keys) sums[k] += v[k];
      step++;
      opts.onStep?.(step, loader.length, v);
    }
    const means = Object.fromEntries(keys.map((k) => [k, sums[k] / step]));
    for (const k of keys) history[k].push(means[k]);
    opts.onEpochEnd?.(epoch, means);
  }
  netG.eval();
  netD.eval();
  return history;
}

const CONFIG = 'config.json',
  WEIGHTS = 'model.safetensors';

/** A trained image generator: a ConvVAE or a DCGAN generator, both with sample(n, generator). */
export type ImageGenerator = ConvVAE | DCGANGenerator;

/** Writes dir/config.json (model_type conv_vae or dcgan, and the config) and dir/model.safetensors. */
export async function saveImageGenerator(dir: string, model: ImageGenerator): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const type = model instanceof ConvVAE ? 'conv_vae' : 'dcgan';
  await saveSafetensors(model.stateDict() as Record<string, Tensor>, join(dir, WEIGHTS));
  writeJsonAtomic(join(dir, CONFIG), { model_type: type, ...model.config });
}

/** Loads a folder written by saveImageGenerator, in eval mode. */
export async function loadImageGenerator(dir: string): Promise<ImageGenerator> {
  if (!existsSync(join(dir, CONFIG)) || !existsSync(join(dir, WEIGHTS)))
    throw new Error(
      `loadImageGenerator: ${dir} has no ${CONFIG} and ${WEIGHTS} (train one with nabla train-vae or train-dcgan)`,
    );
  const { model_type: type, ...config } = readConfigJson(dir, 'loadImageGenerator');
  let model: ImageGenerator;
  if (type === 'conv_vae') model = new ConvVAE(config as ConvVAEConfig);
  else if (type === 'dcgan') model = new DCGANGenerator(config as DCGANConfig);
  else throw new Error(`loadImageGenerator: ${join(dir, CONFIG)} has model_type '${String(type)}' (conv_vae or dcgan)`);
  model.loadStateDict(await loadSafetensors(join(dir, WEIGHTS)));
  model.eval();
  return model;
}
