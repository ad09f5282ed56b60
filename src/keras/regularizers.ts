// Keras regularizers: penalties on a layer's weights (kernelRegularizer, biasRegularizer, ...) or on
// its output (activityRegularizer), added to the training loss as Keras adds `model.losses`:
//   l1:    l1 * sum(|x|)          keras.regularizers.l1(0.01)
//   l2:    l2 * sum(x^2)          keras.regularizers.l2(0.01)
//   l1_l2: both                   keras.regularizers.l1L2({l1: 0.01, l2: 0.01})
// By name ('l1', 'l2', 'l1_l2') they take Keras's default factor, 0.01. As in Keras 3, an activity
// penalty is not divided by the batch size.

import type { Tensor } from '../tensor/tensor.js';
import { snakeCase } from './metrics.js';

export class L1L2 {
  readonly className = 'L1L2';
  constructor(
    readonly l1 = 0,
    readonly l2 = 0,
  ) {
    for (const [k, v] of [
      ['l1', l1],
      ['l2', l2],
    ] as const) {
      if (!(Number.isFinite(v) && v >= 0))
        throw new Error(`regularizers.L1L2: ${k} must be a finite number >= 0, got ${JSON.stringify(v)}`);
    }
  }

  /** The penalty for x: a scalar with x's gradient. */
  call(x: Tensor): Tensor {
    let r: Tensor | null = null;
    if (this.l1) r = x.abs().sum().mul(this.l1);
    if (this.l2) {
      const q = x.square().sum().mul(this.l2);
      r = r ? r.add(q) : q;
    }
    return r ?? x.sum().mul(0);
  }

  getConfig(): { className: 'L1L2'; config: { l1: number; l2: number } } {
    return { className: 'L1L2', config: { l1: this.l1, l2: this.l2 } };
  }
}

export type Regularizer = L1L2;
/** A Regularizer, a name ('l1', 'l2', 'l1_l2'), or a saved config ({className: 'L1L2', config}). */
export type RegularizerIdentifier = Regularizer | 'l1' | 'l2' | 'l1_l2' | { className: string; config: object };

/** keras.regularizers.l1(l1 = 0.01) */
export function l1(l1 = 0.01): L1L2 {
  return new L1L2(l1, 0);
}

/** keras.regularizers.l2(l2 = 0.01) */
export function l2(l2 = 0.01): L1L2 {
  return new L1L2(0, l2);
}

/** keras.regularizers.l1L2({l1 = 0.01, l2 = 0.01}) (Keras's l1_l2) */
export function l1L2(opts: { l1?: number; l2?: number } = {}): L1L2 {
  return new L1L2(opts.l1 ?? 0.01, opts.l2 ?? 0.01);
}

/** The regularizer named by `id`, or null for none; `what` names the layer argument in errors. */
export function getRegularizer(id: RegularizerIdentifier | null | undefined, what: string): Regularizer | null {
  if (id === undefined || id === null) return null;
  if (id instanceof L1L2) return id;
  if (typeof id === 'string') {
    const n = snakeCase(id);
    if (n === 'l1') return l1();
    if (n === 'l2') return l2();
    if (n === 'l1_l2' || n === 'l1l2') return l1L2();
  } else if (typeof id === 'object' && id.className === 'L1L2') {
    const c = id.config as { l1?: number; l2?: number };
    return new L1L2(c.l1 ?? 0, c.l2 ?? 0);
  }
  throw new Error(
    `${what}: unknown regularizer ${JSON.stringify(id)}; expected 'l1', 'l2', 'l1_l2' or ` +
      'keras.regularizers.l1(...) / l2(...) / l1L2({...})',
  );
}

/** The saved form of the regularizer arguments `keys` of a layer's args (those set), for getConfig. */
export function regularizerConfigs(args: object, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const r = getRegularizer((args as Record<string, RegularizerIdentifier | null | undefined>)[k], k);
    if (r) out[k] = r.getConfig();
  }
  return out;
}
