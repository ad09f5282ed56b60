// PrivacyEngine (Opacus's): turns a model, an optimiser and a data loader into their DP-SGD
// counterparts (per-sample gradients, a clipping-and-noise optimiser, Poisson sampling) and keeps an
// RDP accountant that records every step, so getEpsilon(delta) is the privacy spent so far.

import type { DataLoader } from '../data/dataloader.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Generator } from '../tensor/random.js';
import { RDPAccountant, getNoiseMultiplier } from './accountant.js';
import { DPDataLoader } from './data_loader.js';
import { GradSampleModule } from './grad_sample.js';
import { DPOptimizer, checkPositive } from './optimizer.js';

export interface MakePrivateOptions {
  /** sigma: noise std over the clipping norm. */
  noiseMultiplier: number;
  /** C: the per-sample L2 clipping norm. */
  maxGradNorm: number;
  /** Replace the loader by Poisson sampling at q = 1 / loader.length (default true; the accountant assumes it). */
  poissonSampling?: boolean;
  /** How the training loss reduces over the batch (default 'mean'). */
  lossReduction?: 'mean' | 'sum';
  /** The source of sampling and noise draws (default: the global generator). */
  generator?: Generator;
}

export interface MakePrivateWithEpsilonOptions extends Omit<MakePrivateOptions, 'noiseMultiplier'> {
  targetEpsilon: number;
  targetDelta: number;
  /** Epochs the run will train for (steps = epochs * loader.length). */
  epochs: number;
}

/** What makePrivate returns: use these in the training loop instead of the originals. */
export interface PrivateTraining<T, B> {
  /** The same model, now watched for per-sample gradients. */
  model: Module;
  optimizer: DPOptimizer;
  dataLoader: DPDataLoader<T, B> | DataLoader<T, B>;
  gradSample: GradSampleModule;
  /** The noise multiplier in use (makePrivateWithEpsilon calibrates it). */
  noiseMultiplier: number;
  sampleRate: number;
}

/**
 * Attaches DP-SGD to existing training, as Opacus's PrivacyEngine.
 *
 * ```ts
 * const engine = new nb.privacy.PrivacyEngine();
 * const { model, optimizer, dataLoader } = engine.makePrivate(net, opt, loader,
 *   { noiseMultiplier: 1.1, maxGradNorm: 1 });
 * // ... train as usual with optimizer and dataLoader ...
 * engine.getEpsilon(1e-5);
 * ```
 */
export class PrivacyEngine {
  readonly accountant = new RDPAccountant();

  makePrivate<T, B>(
    model: Module,
    optimizer: Optimizer,
    dataLoader: DataLoader<T, B>,
    opts: MakePrivateOptions,
  ): PrivateTraining<T, B> {
    const op = 'privacy.PrivacyEngine.makePrivate';
    if (!dataLoader || typeof dataLoader.length !== 'number' || !dataLoader.dataset)
      throw new Error(`${op}: expected an nb.data.DataLoader`);
    const steps = dataLoader.length;
    if (steps < 1) throw new Error(`${op}: the data loader has no batches`);
    const noiseMultiplier = checkPositive(op, 'noiseMultiplier', opts?.noiseMultiplier, true);
    checkPositive(op, 'maxGradNorm', opts.maxGradNorm);
    const trainable = new Set(model.parameters().filter((p) => p.requiresGrad));
    const foreign = optimizer.paramGroups.flatMap((g) => g.params).filter((p) => p.requiresGrad && !trainable.has(p));
    if (foreign.length) {
      throw new Error(`${op}: the optimizer trains ${foreign.length} parameter(s) that are not the model's`);
    }
    const sampleRate = 1 / steps;
    const gradSample = new GradSampleModule(model);
    const loader =
      (opts.poissonSampling ?? true)
        ? DPDataLoader.fromDataLoader(dataLoader, { generator: opts.generator })
        : dataLoader;
    const dp = new DPOptimizer(optimizer, gradSample, {
      noiseMultiplier,
      maxGradNorm: opts.maxGradNorm,
      expectedBatchSize: sampleRate * dataLoader.dataset.length,
      lossReduction: opts.lossReduction,
      generator: opts.generator,
    });
    dp.onStep(() => this.accountant.step(noiseMultiplier, sampleRate));
    return { model, optimizer: dp, dataLoader: loader, gradSample, noiseMultiplier, sampleRate };
  }

  /** makePrivate with the smallest noise multiplier that keeps eps <= targetEpsilon after `epochs` epochs. */
  makePrivateWithEpsilon<T, B>(
    model: Module,
    optimizer: Optimizer,
    dataLoader: DataLoader<T, B>,
    opts: MakePrivateWithEpsilonOptions,
  ): PrivateTraining<T, B> {
    const op = 'privacy.PrivacyEngine.makePrivateWithEpsilon';
    const { targetEpsilon, targetDelta, epochs, ...rest } = opts ?? ({} as MakePrivateWithEpsilonOptions);
    checkPositive(op, 'targetEpsilon', targetEpsilon);
    if (!Number.isInteger(epochs) || epochs < 1)
      throw new Error(`${op}: epochs must be a positive integer, got ${epochs}`);
    const noiseMultiplier = getNoiseMultiplier({
      targetEpsilon,
      targetDelta,
      sampleRate: 1 / dataLoader.length,
      steps: epochs * dataLoader.length,
    });
    return this.makePrivate(model, optimizer, dataLoader, { ...rest, noiseMultiplier });
  }

  /** eps spent so far at this delta (RDP accountant over every DP step taken). */
  getEpsilon(delta: number): number {
    return this.accountant.getEpsilon(delta);
  }
}
