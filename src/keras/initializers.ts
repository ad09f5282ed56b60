// Keras initializers by name ('glorotUniform', 'he_normal', 'zeros', ...), applied in place to
// weights stored in PyTorch's layout (out, in, *kernel). Fan-in and fan-out are the same numbers
// Keras computes from its (*kernel, in, out) layout, so the distributions match Keras's.

import type { Tensor } from '../tensor/tensor.js';
import * as init from '../nn/init.js';
import { snakeCase } from './metrics.js';

export type InitializerFn = (t: Tensor) => Tensor;
export type InitializerIdentifier = string | InitializerFn;

// NOTE: Keras's truncated normals cut at 2 std and divide the std by this constant, the std of a
// unit normal truncated to [-2, 2], so the result has the intended variance.
const TRUNC_STD = 0.87962566103423978;

function truncScaled(t: Tensor, std: number): Tensor {
  const s = std / TRUNC_STD;
  return init.truncNormal_(t, 0, s, -2 * s, 2 * s);
}

function fans(t: Tensor): [number, number] {
  if (t.ndim < 2) return [t.numel(), t.numel()];
  return init.calculateFanInAndFanOut(t);
}

const TABLE: Record<string, InitializerFn> = {
  zeros: (t) => init.zeros_(t),
  ones: (t) => init.ones_(t),
  glorot_uniform: (t) => {
    const [fi, fo] = fans(t);
    const a = Math.sqrt(6 / (fi + fo));
    return init.uniform_(t, -a, a);
  },
  glorot_normal: (t) => {
    const [fi, fo] = fans(t);
    return truncScaled(t, Math.sqrt(2 / (fi + fo)));
  },
  he_uniform: (t) => {
    const a = Math.sqrt(6 / fans(t)[0]);
    return init.uniform_(t, -a, a);
  },
  he_normal: (t) => truncScaled(t, Math.sqrt(2 / fans(t)[0])),
  lecun_uniform: (t) => {
    const a = Math.sqrt(3 / fans(t)[0]);
    return init.uniform_(t, -a, a);
  },
  lecun_normal: (t) => truncScaled(t, Math.sqrt(1 / fans(t)[0])),
  random_normal: (t) => init.normal_(t, 0, 0.05),
  random_uniform: (t) => init.uniform_(t, -0.05, 0.05),
  truncated_normal: (t) => init.truncNormal_(t, 0, 0.05, -0.1, 0.1),
  orthogonal: (t) => init.orthogonal_(t),
};

/** The initializer for a name (camelCase or snake_case) or a function of the tensor. */
export function getInitializer(id: InitializerIdentifier, layer = 'layer'): InitializerFn {
  if (typeof id === 'function') return id;
  if (typeof id !== 'string')
    throw new Error(`${layer}: an initializer must be a name or a function, got ${typeof id}`);
  const f = TABLE[snakeCase(id)];
  if (!f) throw new Error(`${layer}: unknown initializer '${id}' (known: ${Object.keys(TABLE).join(', ')})`);
  return f;
}

/** A serialisable name for an initializer (custom functions are not saved). */
export function initializerName(id: InitializerIdentifier | undefined, fallback: string): string | undefined {
  if (id === undefined) return fallback;
  return typeof id === 'string' ? id : undefined;
}
