// Adagrad (torch.optim.Adagrad). Per element, t the step count from 1:
//   g += weightDecay * p;  clr = lr / (1 + (t - 1) lrDecay);  sum += g^2;  p -= clr g / (sqrt(sum) + eps)

import type { Tensor } from '../tensor/tensor.js';
import {
  type Float,
  type ParamGroup,
  type ParamState,
  type ParamsInput,
  Optimizer,
  checkNonNegative,
  gradValues,
  updateInPlace,
  zerosState,
} from './optimizer.js';

/** torch.optim.Adagrad's arguments. */
export interface AdagradOptions {
  /** Learning rate (default 1e-2). */
  lr?: number;
  /** Learning-rate decay per step (default 0). */
  lrDecay?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Starting value of the squared-gradient sums (default 0). */
  initialAccumulatorValue?: number;
  /** Added to the denominator for stability (default 1e-10). */
  eps?: number;
  /** Maximise the objective instead of minimising it (default false). */
  maximize?: boolean;
}

export type AdagradHyper = Required<AdagradOptions>;

/** One Adagrad update over contiguous buffers, in place on p and sum; `step` counts from 1. */
export function adagradUpdate(p: Float, g: ArrayLike<number>, sum: Float, step: number, h: AdagradHyper): void {
  const { lr, lrDecay, weightDecay, eps, maximize } = h;
  const clr = lr / (1 + (step - 1) * lrDecay);
  for (let i = 0; i < p.length; i++) {
    let gi = maximize ? -g[i] : g[i];
    if (weightDecay !== 0) gi += weightDecay * p[i];
    sum[i] += gi * gi;
    p[i] -= clr * (gi / (Math.sqrt(sum[i]) + eps));
  }
}

export interface AdagradState extends ParamState {
  step: number;
  sum: Tensor;
}

export function adagradStep(param: Tensor, grad: Tensor, s: AdagradState, h: AdagradHyper): void {
  const g = gradValues(param, grad);
  s.step += 1;
  updateInPlace(param, (p) => adagradUpdate(p, g, s.sum.storage.data as Float, s.step, h));
}

export class Adagrad extends Optimizer<AdagradHyper> {
  constructor(params: ParamsInput, opts: AdagradOptions = {}) {
    super(params, {
      lr: 1e-2,
      lrDecay: 0,
      weightDecay: 0,
      initialAccumulatorValue: 0,
      eps: 1e-10,
      maximize: false,
      ...opts,
    });
  }

  protected override validateGroup(g: ParamGroup & AdagradHyper): void {
    checkNonNegative(g.lr, 'learning rate');
    checkNonNegative(g.lrDecay, 'lr_decay value');
    checkNonNegative(g.weightDecay, 'weight_decay value');
    checkNonNegative(g.initialAccumulatorValue, 'initial_accumulator_value value');
    checkNonNegative(g.eps, 'epsilon value');
  }

  protected initState(p: Tensor, g: ParamGroup & AdagradHyper): ParamState {
    const s: AdagradState = { step: 0, sum: zerosState(p, g.initialAccumulatorValue) };
    return s;
  }

  protected updateParam(p: Tensor, grad: Tensor, st: ParamState, g: ParamGroup & AdagradHyper): void {
    adagradStep(p, grad, st as AdagradState, g);
  }
}
