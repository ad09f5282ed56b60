// The Keras side of DP-SGD (TF Privacy's DPKerasSGDOptimizer / DPKerasAdamOptimizer): compile({optimizer:
// nb.keras.optimizers.dpSgd({l2NormClip, noiseMultiplier, learningRate})}) and fit as usual. The optimiser
// is nb.privacy's DPOptimizer over the model's per-example gradients; Keras layers that end in an
// activation give their rule the gradient at the pre-activation.

import { grad } from '../autograd/grad.js';
import { enableGrad, noGrad } from '../autograd/grad_mode.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { GradSampleModule, linearGradSample, registerGradSampler } from '../privacy/grad_sample.js';
import { DPOptimizer } from '../privacy/optimizer.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ActivationFn } from './activations.js';
import type { Layer } from './layer.js';
import { Dense } from './layers/dense.js';
import type { OptimizerConfig } from './optimizers.js';

type Split = { pre: (x: Tensor) => Tensor; act: ActivationFn } | null;

// x, dL/d(act(pre(x))) -> dL/d(pre(x)), by a backward through the activation alone
function preActivationGrad(layer: Layer, x: Tensor, g: Tensor): Tensor {
  // NOTE: splitActivation is protected; the rule reads the same split that the logits path uses
  const split = (layer as unknown as { splitActivation(): Split }).splitActivation();
  if (!split) return g;
  const z = noGrad(() => split.pre(x))
    .detach()
    .requiresGrad_(true);
  return enableGrad(() => {
    const [gz] = grad(split.act(z), z, { gradOutputs: g, allowUnused: true });
    return gz ?? g.mul(0);
  });
}

// Dense: x (B, *, IN), g (B, *, OUT) -> weight (B, OUT, IN), bias (B, OUT)
function denseRule(m: Module, x: Tensor, g: Tensor) {
  const d = m as Dense;
  return linearGradSample(d.weight, d.bias, x, preActivationGrad(d, x, g));
}

/** Wraps a Keras model's optimiser in DP-SGD (compile's dpsgd / dpadam). */
export function privatize(model: Module, base: Optimizer, c: OptimizerConfig, name: string): DPOptimizer {
  const op = `compile: optimizer '${name}'`;
  if (c.l2NormClip === undefined || c.noiseMultiplier === undefined)
    throw new Error(`${op} needs l2NormClip and noiseMultiplier`);
  registerGradSampler(Dense, denseRule);
  // the loss is a mean over the batch (Keras's sum_over_batch_size); the noisy sum is divided by the batch
  return new DPOptimizer(base, new GradSampleModule(model), {
    noiseMultiplier: c.noiseMultiplier,
    maxGradNorm: c.l2NormClip,
    lossReduction: 'mean',
  });
}
