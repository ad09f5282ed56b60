// nb.autograd.grad: gradients of outputs w.r.t. chosen inputs, returned rather than accumulated.

import { onesLikeOf } from '../ops/unary.js';
import type { Tensor } from '../tensor/tensor.js';
import { runBackward } from './backward.js';

export interface GradOptions {
  /** Vector-Jacobian "v" for each output; defaults to ones for scalar outputs. */
  gradOutputs?: Tensor | Tensor[];
  retainGraph?: boolean;
  /** Record the backward pass, so the returned gradients can be differentiated again. */
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const gos =
    opts.gradOutputs === undefined ? [] : Array.isArray(opts.gradOutputs) ? opts.gradOutputs : [opts.gradOutputs];
  const rootGrads = outs.map((o, i) => {
    const go = gos[i];
    if (go) {
      if (go.shape.length !== o.shape.length || go.shape.some((d, j) => d !== o.shape[j])) {
        throw new Error(
          `autograd.grad: gradOutputs[${i}] has shape [${go.shape.join(', ')}] but output ${i} has shape ` +
            `[${o.shape.join(', ')}]`,
        );
      }
      return go;
    }
    if (o.numel() !== 1)
      throw new Error(
        `autograd.grad: grad can be implicitly created only for scalar outputs (output ${i} has shape ` +
          `[${o.shape.join(', ')}])`,
      );
    return onesLikeOf(o);
  });
  const res = runBackward(outs, rootGrads, { retainGraph: opts.retainGraph, createGraph: opts.createGraph }, ins)!;
  res.forEach((g, i) => {
    if (g === null && !opts.allowUnused) {
      throw new Error(
        `autograd.grad: one of the differentiated Tensors (input ${i}) appears to not have been used in the graph. ` +
          `Set allowUnused: true if this is the desired behavior.`,
      );
    }
  });
  return res;
}
