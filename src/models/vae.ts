// A convolutional variational autoencoder (Kingma & Welling 2014) for small grey images (Fashion-MNIST
// 28x28, the 8x8 digits): two stride-2 convolutions down, two transposed convolutions up, a Gaussian
// latent with the reparameterisation trick, Bernoulli pixels (binary cross-entropy on logits).
// Beyond training: samples from the prior, a latent interpolation, and inpainting of masked pixels.
// Glossary: B batch, C image channels (1), H W image size (multiples of 4), F feature maps, Z latent size.

import type { Tensor } from '../tensor/tensor.js';
import { randn } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import { noGrad } from '../autograd/grad_mode.js';
import { cat } from '../ops/movement.js';
import { Module } from '../nn/module.js';
import { Conv2d, ConvTranspose2d } from '../nn/conv.js';
import { Linear } from '../nn/linear.js';
import { ReLU } from '../nn/activations.js';
import { Flatten, Unflatten } from '../nn/shape.js';
import { Sequential } from '../nn/containers.js';
import { binaryCrossEntropyWithLogits } from '../nn/functional/losses.js';
import { Adam } from '../optim/adam.js';
import type { Dataset } from '../data/dataset.js';
import { DataLoader } from '../data/dataloader.js';

export interface ConvVAEConfig {
  /** Image height and width, multiples of 4 (default 28). */
  imageSize?: number;
  channels?: number;
  /** Feature maps of the first convolution; the second has twice as many (default 32). */
  features?: number;
  hidden?: number;
  /** Z, the latent size (default 16). */
  latent?: number;
}

/** Checks a sample count: a positive integer (0 or a fraction is an error, not an empty result). */
export function checkSampleCount(op: string, n: number): number {
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${op}: the number of samples must be a positive integer, got ${n}`);
  return n;
}

export class ConvVAE extends Module {
  declare encoder: Sequential;
  declare fcMu: Linear;
  declare fcLogvar: Linear;
  declare decoder: Sequential;
  readonly config: Required<ConvVAEConfig>;
  constructor(config: ConvVAEConfig = {}) {
    super();
    this.config = {
      imageSize: config.imageSize ?? 28,
      channels: config.channels ?? 1,
      features: config.features ?? 32,
      hidden: config.hidden ?? 256,
      latent: config.latent ?? 16,
    };
    const c = this.config;
    if (!Number.isInteger(c.imageSize) || c.imageSize < 4 || c.imageSize % 4 !== 0)
      throw new Error(`ConvVAE: imageSize must be a positive multiple of 4, got ${c.imageSize}`);
    const s = c.imageSize / 4,
      f = c.features,
      flat = 2 * f * s * s;
    this.encoder = new Sequential(
      new Conv2d(c.channels, f, 4, { stride: 2, padding: 1 }),
      new ReLU(),
      new Conv2d(f, 2 * f, 4, { stride: 2, padding: 1 }),
      new ReLU(),
      new Flatten(),
      new Linear(flat, c.hidden),
      new ReLU(),
    );
    this.fcMu = new Linear(c.hidden, c.latent);
    this.fcLogvar = new Linear(c.hidden, c.latent);
    this.decoder = new Sequential(
      new Linear(c.latent, c.hidden),
      new ReLU(),
      new Linear(c.hidden, flat),
      new ReLU(),
      new Unflatten(1, [2 * f, s, s]),
      new ConvTranspose2d(2 * f, f, 4, { stride: 2, padding: 1 }),
      new ReLU(),
      new ConvTranspose2d(f, c.channels, 4, { stride: 2, padding: 1 }),
    );
  }

  private checkImages(op: string, x: Tensor): void {
    const { channels: C, imageSize: S } = this.config;
    if (x.ndim !== 4 || x.shape[1] !== C || x.shape[2] !== S || x.shape[3] !== S)
      throw new Error(`ConvVAE.${op}: expected images (B, ${C}, ${S}, ${S}), got [${x.shape}]`);
  }

  /** x (B, C, H, W) in [0, 1] -> [mu (B, Z), logvar (B, Z)] */
  encode(x: Tensor): [Tensor, Tensor] {
    this.checkImages('encode', x);
    const h = this.encoder.call(x) as Tensor;
    return [this.fcMu.call(h) as Tensor, this.fcLogvar.call(h) as Tensor];
  }

  /** z (B, Z) -> pixel logits (B, C, H, W) */
  decode(z: Tensor): Tensor {
    if (z.ndim !== 2 || z.shape[1] !== this.config.latent)
      throw new Error(`ConvVAE.decode: expected latents (B, ${this.config.latent}), got [${z.shape}]`);
    return this.decoder.call(z) as Tensor;
  }

  /** z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) */
  reparameterize(mu: Tensor, logvar: Tensor, generator?: Generator): Tensor {
    return mu.add(logvar.mul(0.5).exp().mul(randn(mu.shape, { generator })));
  }

  /** x (B, C, H, W) -> { logits (B, C, H, W), mu (B, Z), logvar (B, Z) } */
  forward(x: Tensor): { logits: Tensor; mu: Tensor; logvar: Tensor } {
    const [mu, logvar] = this.encode(x);
    return { logits: this.decode(this.reparameterize(mu, logvar)), mu, logvar };
  }

  /** n images (n, C, H, W) in [0, 1]: the decoder's pixel means at z ~ N(0, I). */
  sample(n: number, generator?: Generator): Tensor {
    checkSampleCount('ConvVAE.sample', n);
    this.eval();
    return noGrad(() => this.decode(randn([n, this.config.latent], { generator })).sigmoid());
  }

  /** The means decoded along the straight line between the latent means of x0 and x1 (1, C, H, W): (steps, C, H, W). */
  interpolate(x0: Tensor, x1: Tensor, steps = 10): Tensor {
    checkSampleCount('ConvVAE.interpolate', steps);
    this.eval();
    return noGrad(() => {
      const [m0] = this.encode(x0),
        [m1] = this.encode(x1);
      const zs = Array.from({ length: steps }, (_, k) => m0.lerp(m1, steps === 1 ? 0 : k / (steps - 1)));
      return this.decode(cat(zs, 0)).sigmoid();
    });
  }

  /**
   * Fills the pixels where mask is 0 (mask (B, C, H, W) or broadcastable, 1 = known) by iterating
   * x <- mask * x + (1 - mask) * decode(encode(x)) from a grey start: a projection onto the images
   * the VAE can reconstruct that keep the known pixels.
   */
  inpaint(x: Tensor, mask: Tensor, iterations = 30): Tensor {
    this.checkImages('inpaint', x);
    checkSampleCount('ConvVAE.inpaint (iterations)', iterations);
    this.eval();
    return noGrad(() => {
      const keep = mask.to(x.dtype).expand([...x.shape]);
      const hole = keep.neg().add(1);
      let cur = x.mul(keep).add(hole.mul(0.5));
      for (let it = 0; it < iterations; it++) {
        const [mu] = this.encode(cur);
        cur = x.mul(keep).add(hole.mul(this.decode(mu).sigmoid()));
      }
      return cur;
    });
  }
}

/**
 * The negative evidence lower bound per image: Bernoulli reconstruction (BCE summed over pixels)
 * + KL(q(z|x) || N(0, I)).
 * logits, x (B, C, H, W); mu, logvar (B, Z) -> scalar; also returns the two terms.
 */
export function vaeLoss(
  logits: Tensor,
  x: Tensor,
  mu: Tensor,
  logvar: Tensor,
): { loss: Tensor; recon: Tensor; kl: Tensor } {
  const B = x.shape[0];
  const recon = binaryCrossEntropyWithLogits(logits, x, { reduction: 'sum' }).div(B);
  const kl = logvar
    .add(1)
    .sub(mu.square())
    .sub(logvar.exp())
    .sum()
    .mul(-0.5 / B);
  return { loss: recon.add(kl), recon, kl };
}

export interface TrainImagesOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Seeds the batch order. */
  seed?: number;
  generator?: Generator;
  onStep?(step: number, steps: number, values: Record<string, number>): void;
  onEpochEnd?(epoch: number, values: Record<string, number>): void;
}

/** Batches of images from a dataset whose items are [image (C, H, W), ...] (e.g. nb.datasets.FashionMNIST). */
export function imageLoader(
  data: Dataset<unknown>,
  batchSize: number,
  generator?: Generator,
): DataLoader<unknown, unknown> {
  return new DataLoader(data, { batchSize, shuffle: true, generator, dropLast: true });
}

export function firstTensor(batch: unknown): Tensor {
  return (Array.isArray(batch) ? batch[0] : batch) as Tensor;
}

/** Trains a ConvVAE with Adam; returns the per-epoch means of loss, recon and kl. */
export function trainVAE(
  model: ConvVAE,
  data: Dataset<unknown>,
  opts: TrainImagesOptions = {},
): Record<string, number[]> {
  const epochs = opts.epochs ?? 10;
  const loader = imageLoader(data, opts.batchSize ?? 128, opts.generator ?? new Generator(opts.seed ?? 0));
  if (loader.length === 0) throw new Error(`trainVAE: ${data.length} images make no batch of ${opts.batchSize ?? 128}`);
  const opt = new Adam(model.parameters(), { lr: opts.lr ?? 1e-3 });
  const history: Record<string, number[]> = { loss: [], recon: [], kl: [] };
  for (let epoch = 1; epoch <= epochs; epoch++) {
    model.train();
    const sums = { loss: 0, recon: 0, kl: 0 };
    let step = 0;
    for (const batch of loader) {
      const x = firstTensor(batch);
      opt.zeroGrad();
      const out = model.forward(x);
      const l = vaeLoss(out.logits, x, out.mu, out.logvar);
      l.loss.backward();
      opt.step();
      const v = { loss: l.loss.item(), recon: l.recon.item(), kl: l.kl.item() };
      for (const k of ['loss', 'recon', 'kl'] as const) sums[k] += v[k];
      step++;
      opts.onStep?.(step, loader.length, v);
    }
    const means = { loss: sums.loss / step, recon: sums.recon / step, kl: sums.kl / step };
    for (const [k, v] of Object.entries(means)) history[k].push(v);
    opts.onEpochEnd?.(epoch, means);
  }
  model.eval();
  return history;
}
