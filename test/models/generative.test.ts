// Image generation on the bundled 8x8 digits: a small VAE and a DCGAN train in seconds and their
// samples come much closer to the test digits than noise does (Fréchet distance on raw pixels here;
// the example's FID uses a trained classifier). Also: shapes, inpainting keeps the known pixels,
// a save/load round trip, make_grid, and a sample count of 0 as an error in the library and the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '../../src/tensor/tensor.js';
import { ones, rand, arange, tensor } from '../../src/tensor/creation.js';
import { Generator, manualSeed } from '../../src/tensor/random.js';
import { digits } from '../../src/data/datasets.js';
import { ConvVAE, trainVAE, vaeLoss } from '../../src/models/vae.js';
import {
  DCGANDiscriminator,
  DCGANGenerator,
  loadImageGenerator,
  saveImageGenerator,
  trainDCGAN,
} from '../../src/models/dcgan.js';
import { featureStats, frechetDistance } from '../../src/models/fid.js';
import { makeGrid } from '../../src/vision/utils.js';
import { readImage } from '../../src/vision/image.js';
import { generativeCommand } from '../../src/cli/generative.js';

const train = digits({ train: true }),
  testSet = digits({ train: false });
const xTest = testSet.getBatch!(Array.from({ length: testSet.length }, (_, i) => i))[0];
const pixels = (x: Tensor) => featureStats(x.reshape([x.shape[0], 64]));
const ref = pixels(xTest);
const noiseFd = frechetDistance(pixels(rand([297, 1, 8, 8], { generator: new Generator(5) })), ref); // about 10.5

test('ConvVAE on the digits: the loss falls and samples are far closer to real digits than noise', () => {
  manualSeed(0);
  const vae = new ConvVAE({ imageSize: 8, features: 16, hidden: 128, latent: 8 });
  const h = trainVAE(vae, train, { epochs: 5, batchSize: 32, lr: 2e-3, seed: 0 });
  assert.ok(h.loss[4] < h.loss[0] - 3, `VAE loss ${h.loss.map((v) => v.toFixed(2)).join(' ')}`);
  const samples = vae.sample(297, new Generator(1));
  assert.deepEqual(samples.shape, [297, 1, 8, 8]);
  const fd = frechetDistance(pixels(samples), ref);
  assert.ok(fd < noiseFd / 2, `VAE samples ${fd}, noise ${noiseFd}`);
  // interpolation: the ends decode the two latent means; inpainting keeps the known pixels exactly
  const x = xTest.narrow(0, 0, 4);
  assert.deepEqual(vae.interpolate(x.narrow(0, 0, 1), x.narrow(0, 1, 1), 5).shape, [5, 1, 8, 8]);
  const mask = arange(0, 8).lt(4).reshape([1, 1, 8, 1]).float();
  const filled = vae.inpaint(x, mask, 5);
  assert.equal(filled.sub(x).mul(mask).abs().max().item(), 0);
  assert.ok(filled.sub(x).mul(mask.neg().add(1)).abs().max().item() > 0);
  // the loss's KL term is 0 at the prior and positive elsewhere
  const z = tensor([[0, 0]]);
  assert.equal(Math.abs(vaeLoss(tensor([[[[0]]]]), tensor([[[[1]]]]), z, z).kl.item()), 0);
  assert.ok(vaeLoss(tensor([[[[0]]]]), tensor([[[[1]]]]), tensor([[1, 0]]), z).kl.item() > 0);
  assert.throws(() => vae.sample(0), /ConvVAE\.sample: the number of samples must be a positive integer, got 0/);
  assert.throws(
    () => vae.encode(rand([2, 1, 28, 28])),
    /ConvVAE\.encode: expected images \(B, 1, 8, 8\), got \[2,1,28,28\]/,
  );
});

test('DCGAN on the digits: samples beat noise; save, load and sample through the CLI', async () => {
  manualSeed(0);
  const netG = new DCGANGenerator({ imageSize: 8, nz: 16 }),
    netD = new DCGANDiscriminator({ imageSize: 8 });
  const h = trainDCGAN(netG, netD, train, { epochs: 6, batchSize: 32, seed: 0 });
  assert.equal(h.lossD.length, 6);
  const samples = netG.sample(297, new Generator(1));
  assert.ok(samples.min().item() >= 0 && samples.max().item() <= 1);
  const fd = frechetDistance(pixels(samples), ref);
  assert.ok(fd < noiseFd / 1.5, `DCGAN samples ${fd}, noise ${noiseFd}`);
  assert.throws(() => netG.sample(0), /DCGANGenerator\.sample: the number of samples must be a positive integer/);
  assert.throws(() => netD.call(rand([1, 1, 28, 28])), /DCGANDiscriminator: expected images \(B, 1, 8, 8\)/);

  const dir = mkdtempSync(join(tmpdir(), 'nabla-gen-'));
  try {
    await saveImageGenerator(join(dir, 'g'), netG);
    const back = await loadImageGenerator(join(dir, 'g'));
    assert.ok(back instanceof DCGANGenerator);
    assert.deepEqual(back.sample(4, new Generator(2)).toTypedArray(), netG.sample(4, new Generator(2)).toTypedArray());
    const out = join(dir, 'grid.png');
    const log = console.log;
    console.log = () => {};
    try {
      assert.equal(
        await generativeCommand('sample', ['--model', join(dir, 'g'), '--n', '10', '--nrow', '5', '--out', out]),
        0,
      );
    } finally {
      console.log = log;
    }
    const img = readImage(out);
    assert.deepEqual([img.width, img.height], [5 * 10 + 2, 2 * 10 + 2]);
    await assert.rejects(
      generativeCommand('sample', ['--model', join(dir, 'g'), '--n', '0', '--out', join(dir, 'x.png')]),
      /sample: --n must be a positive number of images, got 0/,
    );
    await assert.rejects(
      generativeCommand('sample', ['--model', join(dir, 'none')]),
      /loadImageGenerator: .*none has no config\.json and model\.safetensors/,
    );
    assert.ok(!existsSync(join(dir, 'x.png')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('makeGrid: torchvision layout (nrow, padding, 3 channels) and values', () => {
  const x = ones([5, 1, 2, 3]).mul(0.5);
  const g = makeGrid(x, { nrow: 2, padding: 1 });
  // 3 rows of 2: H = 3 * (2 + 1) + 1, W = 2 * (3 + 1) + 1
  assert.deepEqual(g.shape, [3, 10, 9]);
  const v = g.toTypedArray() as Float32Array;
  assert.equal(v[0], 0);
  assert.equal(v[1 * 9 + 1], 0.5);
  // the sixth cell (row 2, column 1) is empty: padding value
  assert.equal(v[7 * 9 + 5], 0);
  assert.throws(() => makeGrid(ones([0, 1, 2, 2])), /makeGrid: no images to tile/);
  assert.throws(() => makeGrid(ones([2, 2, 2, 2])), /makeGrid: expected images \(B, 1 or 3, H, W\)/);
});
