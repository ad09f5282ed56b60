// Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay
// (torch.optim.SGD). The update, per element, with g the gradient (negated when maximising):
//   g += weightDecay * p;  b = first step ? g : momentum * b + (1 - dampening) * g
//   d = nesterov ? g + momentum * b : b (or g without momentum);  p -= lr * d

import { getBackend } from '../backend/registry.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  type Float,
  type ParamGroup,
  type ParamState,
  type ParamsInput,
  Optimizer,
  checkNonNegative,
  contiguousFloat,
  deviceStepArgs,
  gradValues,
  updateInPlace,
  zerosState,
} from './optimizer.js';

/** torch.optim.SGD's arguments. */
export interface SGDOptions {
  /** Learning rate: required, as in PyTorch. */
  lr?: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Dampening for momentum (default 0). */
  dampening?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** Maximise the objective instead of minimising it (default false). */
  maximize?: boolean;
}

export type SGDHyper = Required<SGDOptions>;

/**
 * One SGD update over contiguous buffers, in place on p and buf. `buf` is the momentum buffer;
 * `first` says it holds nothing yet (it is then set to the gradient, as PyTorch's clone).
 */
export function sgdUpdate(p: Float, g: ArrayLike<number>, buf: Float | null, first: boolean, h: SGDHyper): void {
  const { lr, momentum, dampening, weightDecay, nesterov, maximize } = h;
  for (let i = 0; i < p.length; i++) {
    let d = maximize ? -g[i] : g[i];
    if (weightDecay !== 0) d += weightDecay * p[i];
    if (buf) {
      const b = first ? d : momentum * buf[i] + (1 - dampening) * d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    p[i] -= lr * d;
  }
}

/** Tensor-level SGD step: updates param in place; returns the (possibly new) momentum buffer. */
export function sgdStep(param: Tensor, grad: Tensor, momentumBuffer: Tensor | null, h: SGDHyper): Tensor | null {
  if (param.device !== 'cpu') return sgdStepOnDevice(param, grad, momentumBuffer, h);
  const g = gradValues(param, grad);
  const first = momentumBuffer === null;
  const buf = h.momentum !== 0 ? (momentumBuffer ?? zerosState(param)) : null;
  // one pass in the backend's kernel for the case it covers (float32, contiguous; not maximize)
  if (!h.maximize && param.dtype === 'float32' && param.isContiguous() && g instanceof Float32Array) {
    const { lr, momentum, dampening, weightDecay, nesterov } = h;
    getBackend().sgdStep(contiguousFloat(param), g, buf && contiguousFloat(buf), {
      lr,
      momentum,
      dampening,
      weightDecay,
      nesterov,
      first,
    });
    param.storage.version++;
    return buf;
  }
  updateInPlace(param, (p) => sgdUpdate(p, g, buf ? (buf.storage.data as Float) : null, first, h));
  return buf;
}

/** The SGD step on an accelerator: its fused kernel, float32 and not maximize. */
function sgdStepOnDevice(param: Tensor, grad: Tensor, momentumBuffer: Tensor | null, h: SGDHyper): Tensor | null {
  const buf = h.momentum !== 0 ? (momentumBuffer ?? zerosState(param)) : null;
  const a = deviceStepArgs('SGD', param, grad, [buf], h.maximize ? 'maximize' : null);
  const { lr, momentum, dampening, weightDecay, nesterov } = h;
  a.b.sgdStep(a.p, a.g, a.s[0], { lr, momentum, dampening, weightDecay, nesterov, first: momentumBuffer === null });
  param.storage.version++;
  return buf;
}

/**
 * @example
 * const opt = new nb.optim.SGD(model.parameters(), {lr: 0.1, momentum: 0.9});
 * opt.zeroGrad(); loss.backward(); opt.step();
 */
export class SGD extends Optimizer<SGDHyper> {
  constructor(params: ParamsInput, opts: SGDOptions = {}) {
    if (opts.lr === undefined)
      throw new Error('SGD: lr is a required argument (torch.optim.SGD has no default learning rate)');
    super(params, {
      lr: opts.lr,
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
      ...opts,
    } as SGDHyper);
  }

  protected override validateGroup(g: ParamGroup & SGDHyper): void {
    checkNonNegative(g.lr, 'learning rate');
    checkNonNegative(g.momentum, 'momentum value');
    checkNonNegative(g.weightDecay, 'weight_decay value');
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0))
      throw new Error('Nesterov momentum requires a momentum and zero dampening');
  }

  protected initState(): ParamState {
    return { momentumBuffer: null };
  }

  protected updateParam(p: Tensor, grad: Tensor, st: ParamState, g: ParamGroup & SGDHyper): void {
    st.momentumBuffer = sgdStep(p, grad, st.momentumBuffer as Tensor | null, g);
  }
}
