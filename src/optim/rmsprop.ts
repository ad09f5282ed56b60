// RMSprop (torch.optim.RMSprop). Per element, g the gradient (negated when maximising):
//   g += weightDecay * p;  sq = alpha sq + (1 - alpha) g^2
//   centered: ga = alpha ga + (1 - alpha) g;  avg = sqrt(sq - ga^2) + eps, else sqrt(sq) + eps
//   momentum > 0: buf = momentum buf + g / avg;  p -= lr buf;   else p -= lr g / avg

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

/** torch.optim.RMSprop's arguments. */
export interface RMSpropOptions {
  /** Learning rate (default 1e-2). */
  lr?: number;
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  alpha?: number;
  /** Added to the denominator for stability (default 1e-8). */
  eps?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Normalise by the gradient's estimated variance instead of its second moment (default false). */
  centered?: boolean;
  /** Maximise the objective instead of minimising it (default false). */
  maximize?: boolean;
}

export type RMSpropHyper = Required<RMSpropOptions>;

/** One RMSprop update over contiguous buffers, in place on p, sq, ga (centered) and buf (momentum). */
export function rmspropUpdate(
  p: Float,
  g: ArrayLike<number>,
  sq: Float,
  ga: Float | null,
  buf: Float | null,
  h: RMSpropHyper,
): void {
  const { lr, alpha, eps, weightDecay, momentum, maximize } = h;
  for (let i = 0; i < p.length; i++) {
    let gi = maximize ? -g[i] : g[i];
    if (weightDecay !== 0) gi += weightDecay * p[i];
    sq[i] = alpha * sq[i] + (1 - alpha) * gi * gi;
    let avg: number;
    if (ga) {
      ga[i] = alpha * ga[i] + (1 - alpha) * gi;
      avg = Math.sqrt(sq[i] - ga[i] * ga[i]) + eps;
    } else {
      avg = Math.sqrt(sq[i]) + eps;
    }
    if (buf) {
      buf[i] = momentum * buf[i] + gi / avg;
      p[i] -= lr * buf[i];
    } else {
      p[i] -= lr * (gi / avg);
    }
  }
}

export interface RMSpropState extends ParamState {
  step: number;
  squareAvg: Tensor;
  gradAvg: Tensor | null;
  momentumBuffer: Tensor | null;
}

export function rmspropStep(param: Tensor, grad: Tensor, s: RMSpropState, h: RMSpropHyper): void {
  const g = gradValues(param, grad);
  s.step += 1;
  updateInPlace(param, (p) =>
    rmspropUpdate(
      p,
      g,
      s.squareAvg.storage.data as Float,
      s.gradAvg ? (s.gradAvg.storage.data as Float) : null,
      s.momentumBuffer ? (s.momentumBuffer.storage.data as Float) : null,
      h,
    ),
  );
}

export class RMSprop extends Optimizer<RMSpropHyper> {
  constructor(params: ParamsInput, opts: RMSpropOptions = {}) {
    super(params, {
      lr: 1e-2,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      maximize: false,
      ...opts,
    });
  }

  protected override validateGroup(g: ParamGroup & RMSpropHyper): void {
    checkNonNegative(g.lr, 'learning rate');
    checkNonNegative(g.eps, 'epsilon value');
    checkNonNegative(g.momentum, 'momentum value');
    checkNonNegative(g.weightDecay, 'weight_decay value');
    checkNonNegative(g.alpha, 'alpha value');
  }

  protected initState(p: Tensor, g: ParamGroup & RMSpropHyper): ParamState {
    const s: RMSpropState = {
      step: 0,
      squareAvg: zerosState(p),
      gradAvg: g.centered ? zerosState(p) : null,
      momentumBuffer: g.momentum > 0 ? zerosState(p) : null,
    };
    return s;
  }

  protected updateParam(p: Tensor, grad: Tensor, st: ParamState, g: ParamGroup & RMSpropHyper): void {
    const s = st as RMSpropState;
    if (g.centered && !s.gradAvg) s.gradAvg = zerosState(p);
    if (g.momentum > 0 && !s.momentumBuffer) s.momentumBuffer = zerosState(p);
    rmspropStep(p, grad, s, g);
  }
}
