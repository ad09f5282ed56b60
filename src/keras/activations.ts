// Activations by name, as Keras and tfjs-layers spell them ('relu', 'softmax', 'linear', ...).
// softmax and sigmoid remember the logits they were applied to (Keras's `_keras_logits`), so that a
// crossentropy loss on their output can be computed from the logits, stably.

import type { Tensor } from '../tensor/tensor.js';
import { hardswish, mish } from '../ops/unary.js';
import { snakeCase } from './metrics.js';

export type ActivationFn = (x: Tensor) => Tensor;
export type ActivationIdentifier = string | ActivationFn | null | undefined;

const logitsOf = new WeakMap<Tensor, { logits: Tensor; kind: 'softmax' | 'sigmoid' }>();

/** The logits behind a softmax/sigmoid output, if `p` came straight from one. */
export function kerasLogits(p: Tensor): { logits: Tensor; kind: 'softmax' | 'sigmoid' } | undefined {
  return logitsOf.get(p);
}

export function softmax(x: Tensor): Tensor {
  const p = x.softmax(-1);
  logitsOf.set(p, { logits: x, kind: 'softmax' });
  return p;
}

export function sigmoid(x: Tensor): Tensor {
  const p = x.sigmoid();
  logitsOf.set(p, { logits: x, kind: 'sigmoid' });
  return p;
}

const SELU_ALPHA = 1.6732632423543772, SELU_SCALE = 1.0507009873554805;

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
