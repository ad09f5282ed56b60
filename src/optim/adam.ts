// Adam and AdamW (torch.optim.Adam / AdamW, single-tensor path of PyTorch 1.13). Per element,
// with g the gradient (negated when maximising) and t the step count from 1:
//   Adam:  g += weightDecay * p            AdamW: p *= 1 - lr * weightDecay   (decoupled)
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;  vmax = max(vmax, v) (amsgrad)
//   p -= lr / (1 - beta1^t) * m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)

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

/** torch.optim.Adam's and AdamW's arguments. */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the denominator for stability (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0); AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
  /** The AMSGrad variant: the running maximum of the second moment (default false). */
  amsgrad?: boolean;
  /** Maximise the objective instead of minimising it (default false). */
  maximize?: boolean;
}

export type AdamHyper = Required<AdamOptions>;

/**
 * One Adam/AdamW update over contiguous buffers, in place on p, m, v (and vmax with amsgrad).
 * `step` is the step count after this update (1 on the first). `decoupled` selects AdamW.
 */
export function adamUpdate(
  p: Float,
  g: ArrayLike<number>,
  m: Float,
  v: Float,
  vmax: Float | null,
  step: number,
  h: AdamHyper,
  decoupled: boolean,
): void {
  const { lr, eps, weightDecay, maximize } = h;
  const [beta1, beta2] = h.betas;
  const stepSize = lr / (1 - beta1 ** step);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
  const decay = decoupled ? 1 - lr * weightDecay : 1;
  for (let i = 0; i < p.length; i++) {
    let gi = maximize ? -g[i] : g[i];
    if (decoupled) p[i] *= decay;
    else if (weightDecay !== 0) gi += weightDecay * p[i];
    m[i] = beta1 * m[i] + (1 - beta1) * gi;
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    let s = v[i];
    if (vmax) {
      if (v[i] > vmax[i]) vmax[i] = v[i];
      s = vmax[i];
    }
    p[i] -= stepSize * (m[i] / (Math.sqrt(s) / bc2Sqrt + eps));
  }
}

export interface AdamState extends ParamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
  maxExpAvgSq: Tensor | null;
}

/** Tensor-level Adam step on param, in place on param and the state tensors; bumps state.step. */
export function adamStep(param: Tensor, grad: Tensor, state: AdamState, h: AdamHyper, decoupled = false): void {
  if (param.device !== 'cpu') {
    const why = state.maxExpAvgSq ? 'amsgrad' : h.maximize ? 'maximize' : null;
    const a = deviceStepArgs('Adam', param, grad, [state.expAvg, state.expAvgSq], why);
    state.step += 1;
    const [beta1, beta2] = h.betas;
    const o = { lr: h.lr, beta1, beta2, eps: h.eps, weightDecay: h.weightDecay, decoupled, step: state.step };
    a.b.adamStep(a.p, a.g, a.s[0]!, a.s[1]!, o);
    param.storage.version++;
    return;
  }
  const g = gradValues(param, grad);
  state.step += 1;
  const vmax = state.maxExpAvgSq ? (state.maxExpAvgSq.storage.data as Float) : null;
  // one pass in the backend's kernel for the case it covers (float32, contiguous; not amsgrad/maximize)
  if (!vmax && !h.maximize && param.dtype === 'float32' && param.isContiguous() && g instanceof Float32Array) {
    const o = {
      lr: h.lr,
      beta1: h.betas[0],
      beta2: h.betas[1],
      eps: h.eps,
      weightDecay: h.weightDecay,
      decoupled,
      step: state.step,
    };
    getBackend().adamStep(contiguousFloat(param), g, contiguousFloat(state.expAvg), contiguousFloat(state.expAvgSq), o);
    param.storage.version++;
    return;
  }
  updateInPlace(param, (p) =>
    adamUpdate(
      p,
      g,
      state.expAvg.storage.data as Float,
      state.expAvgSq.storage.data as Float,
      vmax,
      state.step,
      h,
      decoupled,
    ),
  );
}

function validateAdam(g: ParamGroup & AdamHyper): void {
  checkNonNegative(g.lr, 'learning rate');
  checkNonNegative(g.eps, 'epsilon value');
  if (!Array.isArray(g.betas) || g.betas.length !== 2)
    throw new Error(`Invalid betas: expected [beta1, beta2], got ${JSON.stringify(g.betas)}`);
  g.betas.forEach((b, i) => {
    if (typeof b !== 'number' || !(b >= 0 && b < 1))
      throw new Error(`Invalid beta parameter at index ${i}: ${String(b)}`);
  });
  checkNonNegative(g.weightDecay, 'weight_decay value');
}

/**
 * @example
 * const opt = new nb.optim.Adam(model.parameters(), {lr: 1e-3});
 */
export class Adam extends Optimizer<AdamHyper> {
  protected decoupled = false;

  constructor(params: ParamsInput, opts: AdamOptions = {}, weightDecayDefault = 0) {
    super(params, {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: weightDecayDefault,
      amsgrad: false,
      maximize: false,
      ...opts,
    });
  }

  protected override validateGroup(g: ParamGroup & AdamHyper): void {
    validateAdam(g);
  }

  protected initState(p: Tensor, g: ParamGroup & AdamHyper): ParamState {
    const st: AdamState = {
      step: 0,
      expAvg: zerosState(p),
      expAvgSq: zerosState(p),
      maxExpAvgSq: g.amsgrad ? zerosState(p) : null,
    };
    return st;
  }

  protected updateParam(p: Tensor, grad: Tensor, st: ParamState, g: ParamGroup & AdamHyper): void {
    const s = st as AdamState;
    if (g.amsgrad && !s.maxExpAvgSq) s.maxExpAvgSq = zerosState(p);
    adamStep(p, grad, s, g, this.decoupled);
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter); weightDecay defaults to 1e-2. */
export class AdamW extends Adam {
  protected override decoupled = true;

  constructor(params: ParamsInput, opts: AdamOptions = {}) {
    super(params, opts, 1e-2);
  }
}
