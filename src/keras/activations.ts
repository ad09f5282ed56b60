// Activations by name, as Keras and tfjs-layers spell them ('relu', 'softmax', 'linear', ...).
// A layer whose activation is softmax or sigmoid hands the model its logits along with its output
// (Layer.callWithLogits), so that a crossentropy loss on that output is computed from the logits,
// stably: Keras's `_keras_logits`, passed explicitly instead of riding on the tensor.

import type { Tensor } from '../tensor/tensor.js';
import { hardswish, mish } from '../ops/unary.js';
import { snakeCase } from './metrics.js';

export type ActivationFn = (x: Tensor) => Tensor;
export type ActivationIdentifier = string | ActivationFn | null | undefined;

/** The logits behind a model output that came straight from a softmax or sigmoid activation. */
export interface OutputLogits {
  logits: Tensor;
  kind: 'softmax' | 'sigmoid';
}

export function softmax(x: Tensor): Tensor {
  return x.softmax(-1);
}

export function sigmoid(x: Tensor): Tensor {
  return x.sigmoid();
}

/** 'softmax' or 'sigmoid' when fn is that activation (its output has logits a loss can use), else null. */
export function logitKind(fn: ActivationFn): OutputLogits['kind'] | null {
  return fn === softmax ? 'softmax' : fn === sigmoid ? 'sigmoid' : null;
}

const SELU_ALPHA = 1.6732632423543772,
  SELU_SCALE = 1.0507009873554805;

const TABLE: Record<string, ActivationFn> = {
  linear: (x) => x,
  relu: (x) => x.relu(),
  relu6: (x) => x.clamp(0, 6),
  sigmoid,
  softmax,
  tanh: (x) => x.tanh(),
  elu: (x) => x.relu().add(x.clamp(null, 0).exp().sub(1)),
  selu: (x) => x.relu().add(x.clamp(null, 0).exp().sub(1).mul(SELU_ALPHA)).mul(SELU_SCALE),
  softplus: (x) => x.relu().add(x.abs().neg().exp().log1p()),
  softsign: (x) => x.div(x.abs().add(1)),
  gelu: (x) => x.gelu(),
  swish: (x) => x.silu(),
  silu: (x) => x.silu(),
  hard_sigmoid: (x) => x.mul(0.2).add(0.5).clamp(0, 1),
  // NOTE: Keras 3's hard_silu (alias hard_swish) is x * relu6(x + 3) / 6, the same function as torch's hardswish.
  hard_silu: hardswish,
  hard_swish: hardswish,
  mish,
  exponential: (x) => x.exp(),
  leaky_relu: (x) => x.relu().add(x.clamp(null, 0).mul(0.2)),
};

/** The activation function for a name (camelCase or snake_case) or a function; null/undefined is linear. */
export function getActivation(id: ActivationIdentifier, layer = 'layer'): ActivationFn {
  if (id === null || id === undefined) return TABLE.linear;
  if (typeof id === 'function') return id;
  if (typeof id !== 'string') throw new Error(`${layer}: activation must be a name or a function, got ${typeof id}`);
  const f = TABLE[snakeCase(id).replace('leakyrelu', 'leaky_relu').replace('hardsigmoid', 'hard_sigmoid')];
  if (!f) throw new Error(`${layer}: unknown activation '${id}' (known: ${Object.keys(TABLE).join(', ')})`);
  return f;
}

/** The name to store in a config, or undefined for a custom function (not serialisable). */
export function activationName(id: ActivationIdentifier): string | undefined {
  if (id === null || id === undefined) return 'linear';
  if (typeof id === 'string') return id;
  for (const [k, f] of Object.entries(TABLE)) if (f === id) return k;
  return undefined;
}
