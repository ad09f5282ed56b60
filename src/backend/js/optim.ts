// Optimiser steps for the JS backend, in place on contiguous buffers, as torch.optim's single-tensor
// paths (PyTorch 1.13). The op layer (src/optim) calls them for float32 parameters without amsgrad
// or maximize and keeps its own loops for those cases. Per element, with g the gradient:
//   SGD:   g += wd p;  b = first ? g : momentum b + (1 - dampening) g;  g = nesterov ? g + momentum b : b;  p -= lr g
//   Adam:  g += wd p (AdamW: p *= 1 - lr wd);  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//          p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

import type { TypedArray } from '../../tensor/dtype.js';
import type { AdamParams, SgdParams } from '../backend.js';

/** p, g, buf (n) contiguous: one SGD step in place on p and buf (null: no momentum). */
export function sgdStep(p: TypedArray, g: TypedArray, buf: TypedArray | null, o: SgdParams): true {
  const { lr, momentum, dampening, weightDecay, nesterov, first } = o;
  for (let i = 0; i < p.length; i++) {
    let d = g[i];
    if (weightDecay !== 0) d += weightDecay * p[i];
    if (buf) {
      const b = first ? d : momentum * buf[i] + (1 - dampening) * d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    p[i] -= lr * d;
  }
  return true;
}

/** p, g, m, v (n) contiguous: one Adam (or AdamW, decoupled) step at step o.step >= 1, in place on p, m, v. */
export function adamStep(p: TypedArray, g: TypedArray, m: TypedArray, v: TypedArray, o: AdamParams): true {
  const { lr, beta1, beta2, eps, weightDecay, decoupled, step } = o;
  const stepSize = lr / (1 - beta1 ** step);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
  const decay = decoupled ? 1 - lr * weightDecay : 1;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i];
    if (decoupled) p[i] *= decay;
    else if (weightDecay !== 0) gi += weightDecay * p[i];
    m[i] = beta1 * m[i] + (1 - beta1) * gi;
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    p[i] -= stepSize * (m[i] / (Math.sqrt(v[i]) / bc2Sqrt + eps));
  }
  return true;
}
