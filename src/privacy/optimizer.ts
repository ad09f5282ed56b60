// DP-SGD's optimiser step (Abadi et al. 2016, Algorithm 1; Opacus's DPOptimizer) around any nb.optim
// optimiser: clip each sample's gradient (over all parameters together) to L2 norm C, sum, add
// Gaussian noise N(0, (sigma C)^2) to every coordinate, divide by the expected batch size, then let the
// wrapped optimiser update the parameters from that gradient.
//
// Glossary: B = samples in the batch (varies under Poisson sampling), P = a parameter's numel,
// C = maxGradNorm, sigma = noiseMultiplier, E = expectedBatchSize.

import { noGrad } from '../autograd/grad_mode.js';
import { Optimizer, type OptimizerStateDict, type ParamState } from '../optim/optimizer.js';
import { fmtShape } from '../tensor/layout.js';
import { type Generator, defaultGenerator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Parameter } from '../nn/module.js';
import type { GradSampleModule, PerSampleGrad } from './grad_sample.js';

export interface DPOptimizerOptions {
  /** sigma: the noise std is sigma * maxGradNorm. 0 gives clipping without privacy. */
  noiseMultiplier: number;
  /** C: each sample's gradient (all parameters together) is scaled down to at most this L2 norm. */
  maxGradNorm: number;
  /**
   * The mean batch size (sampleRate * dataset size); the noisy sum is divided by it, not by B. Omitted: the
   * actual batch size, as TF Privacy's Keras optimisers (with fixed-size batches).
   */
  expectedBatchSize?: number;
  /** How the loss reduced over the batch: 'mean' (default, as CrossEntropyLoss) or 'sum'. */
  lossReduction?: 'mean' | 'sum';
  /** The source of the noise (default: the global generator; seed it with nb.manualSeed). */
  generator?: Generator;
}

/** Checks a DP-SGD option that must be a finite number above (or at) a bound. */
export function checkPositive(op: string, name: string, v: unknown, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new Error(`${op}: ${name} must be a finite number ${allowZero ? '>= 0' : '> 0'}, got ${String(v)}`);
  }
  return v;
}

/**
 * Wraps an optimiser so that step() takes a DP-SGD step from the per-sample gradients that a
 * GradSampleModule collected in the backward pass. Hyper-parameters (paramGroups, lr) stay the wrapped
 * optimiser's, so LR schedulers work on either.
 *
 * ```ts
 * const gsm = new nb.privacy.GradSampleModule(model);
 * const opt = new nb.privacy.DPOptimizer(new nb.optim.SGD(model.parameters(), { lr: 0.1 }), gsm,
 *   { noiseMultiplier: 1.1, maxGradNorm: 1, expectedBatchSize: 256 });
 * opt.zeroGrad(); loss.backward(); opt.step();
 * ```
 */
export class DPOptimizer extends Optimizer {
  readonly noiseMultiplier: number;
  readonly maxGradNorm: number;
  readonly expectedBatchSize: number | null;
  readonly lossReduction: 'mean' | 'sum';
  /** Steps taken so far. */
  steps = 0;
  /** Each sample's gradient norm (before clipping) at the last step; empty when the batch was empty. */
  perSampleNorms: Float64Array = new Float64Array(0);
  private readonly generator: Generator | undefined;
  private readonly stepHooks: ((o: DPOptimizer) => void)[] = [];

  constructor(
    readonly original: Optimizer,
    readonly gradSample: GradSampleModule,
    opts: DPOptimizerOptions,
  ) {
    if (!(original instanceof Optimizer)) throw new Error('privacy.DPOptimizer: expected an nb.optim optimizer');
    super(
      original.paramGroups.flatMap((g) => g.params),
      original.defaults,
    );
    const op = 'privacy.DPOptimizer';
    // NOTE: the same group objects as the wrapped optimiser, so an LR scheduler's change reaches it
    this.paramGroups = original.paramGroups;
    this.noiseMultiplier = checkPositive(op, 'noiseMultiplier', opts.noiseMultiplier, true);
    this.maxGradNorm = checkPositive(op, 'maxGradNorm', opts.maxGradNorm);
    this.expectedBatchSize =
      opts.expectedBatchSize === undefined ? null : checkPositive(op, 'expectedBatchSize', opts.expectedBatchSize);
    this.lossReduction = opts.lossReduction ?? 'mean';
    if (this.lossReduction !== 'mean' && this.lossReduction !== 'sum')
      throw new Error(`${op}: lossReduction must be 'mean' or 'sum', got ${String(opts.lossReduction)}`);
    this.generator = opts.generator;
  }

  /** The parameters being trained (those with requiresGrad in the wrapped optimiser's groups). */
  get params(): Tensor[] {
    return this.original.paramGroups.flatMap((g) => g.params).filter((p) => p.requiresGrad);
  }

  /** Calls fn after every step (the PrivacyEngine's accountant listens here). */
  onStep(fn: (o: DPOptimizer) => void): void {
    this.stepHooks.push(fn);
  }

  /** Clears the gradients and the per-sample gradients. */
  override zeroGrad(setToNone = true): void {
    this.original.zeroGrad(setToNone);
    this.gradSample.zeroGradSample();
  }

  /**
   * Replaces each parameter's .grad by (sum_b clip_C(g_b) + N(0, (sigma C)^2)) / E, g_b the sample's
   * gradient; a batch with no samples (Poisson sampling may draw none) leaves the noise alone.
   */
  private privatise(): void {
    const op = 'privacy.DPOptimizer.step';
    const params = this.params;
    const samples = params.map((p) => this.gradSample.perSample(p as Parameter));
    params.forEach((p, k) => {
      if (p.grad !== null && !samples[k]) {
        throw new Error(
          `${op}: a parameter of shape ${fmtShape(p.shape)} has a gradient but no per-sample gradient: it was ` +
            'used outside the layers the GradSampleModule watches, so its gradient cannot be clipped',
        );
      }
    });
    const present = samples.filter((s): s is PerSampleGrad => s !== undefined);
    const B = present.length ? present[0].batch : 0;
    if (present.some((s) => s.batch !== B)) {
      throw new Error(`${op}: per-sample gradients disagree on the batch size: [${present.map((s) => s.batch)}]`);
    }
    // per-sample gradient of sample b's own loss: x B under a mean reduction, as Opacus
    const scale = this.lossReduction === 'mean' ? B : 1;
    // norms (B) over all parameters together
    let sq: Tensor | null = null;
    for (const s of present) sq = sq ? sq.add(s.normSq()) : s.normSq();
    let factor: Tensor | null = null;
    if (sq && B > 0) {
      const norms = sq.sqrt().mul(scale);
      this.perSampleNorms = Float64Array.from(norms.toTypedArray() as ArrayLike<number>);
      // clip factor min(1, C / (norm + 1e-6)) (Opacus), times the mean-reduction scale: (B)
      factor = norms.add(1e-6).reciprocal().mul(this.maxGradNorm).clamp(null, 1).mul(scale);
    } else this.perSampleNorms = new Float64Array(0);
    const gen = this.generator ?? defaultGenerator();
    const std = this.noiseMultiplier * this.maxGradNorm;
    params.forEach((p, k) => {
      const s = samples[k];
      let g = std > 0 ? gen.normal([...p.shape], 0, std, p.dtype) : null;
      if (s && factor) {
        const clipped = s.weightedSum(factor).reshape([...p.shape]);
        g = g ? g.add(clipped) : clipped;
      }
      p.grad = g ? g.div(this.expectedBatchSize ?? Math.max(B, 1)).to(p.dtype) : null;
    });
  }

  /**
   * One DP-SGD step. With a closure, it is called first (to recompute the loss and gradients) and its
   * value returned, as Optimizer.step.
   */
  override step(closure?: () => number | Tensor): number | undefined {
    let loss: number | undefined;
    if (closure) {
      const r = closure();
      loss = typeof r === 'number' ? r : r.item();
    }
    noGrad(() => this.privatise());
    this.original.step();
    this.gradSample.zeroGradSample();
    this.steps++;
    for (const fn of this.stepHooks) fn(this);
    return loss;
  }

  override stateDict(): OptimizerStateDict {
    return this.original.stateDict();
  }
  override loadStateDict(sd: OptimizerStateDict): void {
    this.original.loadStateDict(sd);
  }
  // the wrapped optimiser keeps the state and makes the update
  protected initState(): ParamState {
    throw new Error('privacy.DPOptimizer: internal error, the wrapped optimiser updates the parameters');
  }
  protected updateParam(): void {
    throw new Error('privacy.DPOptimizer: internal error, the wrapped optimiser updates the parameters');
  }
}
