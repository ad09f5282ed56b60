// Loss modules (torch.nn.*Loss): each holds its options and calls the functional form in
// ./functional/losses.ts. Class weights are registered as buffers, as PyTorch does, so they follow
// .to(dtype) and appear in stateDict ("weight", "pos_weight").
// forward(input, target) -> loss: a scalar, or per-element with reduction 'none'.

import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import * as F from './functional/losses.js';

type Reduction = F.Reduction;

abstract class Loss extends Module {
  readonly reduction: Reduction;
  constructor(reduction: Reduction = 'mean') {
    super();
    this.reduction = reduction;
  }
  abstract override forward(input: Tensor, target: Tensor): Tensor;
}

/** @example const loss = new nb.nn.CrossEntropyLoss({labelSmoothing: 0.1}).forward(logits, labels); */
export class CrossEntropyLoss extends Loss {
  declare readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(opts: F.CrossEntropyOptions = {}) {
    super(opts.reduction);
    this.registerBuffer('weight', opts.weight ?? null);
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    this.labelSmoothing = opts.labelSmoothing ?? 0;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(input, target, {
      weight: this.weight,
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
      labelSmoothing: this.labelSmoothing,
    });
  }
}

export class NLLLoss extends Loss {
  declare readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  constructor(opts: F.NLLLossOptions = {}) {
    super(opts.reduction);
    this.registerBuffer('weight', opts.weight ?? null);
    this.ignoreIndex = opts.ignoreIndex ?? -100;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

export class MSELoss extends Loss {
  constructor(opts: F.ReductionOptions = {}) {
    super(opts.reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, { reduction: this.reduction });
  }
}

export class L1Loss extends Loss {
  constructor(opts: F.ReductionOptions = {}) {
    super(opts.reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.l1Loss(input, target, { reduction: this.reduction });
  }
}

export class SmoothL1Loss extends Loss {
  readonly beta: number;
  constructor(opts: F.ReductionOptions & { beta?: number } = {}) {
    super(opts.reduction);
    this.beta = opts.beta ?? 1;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

export class HuberLoss extends Loss {
  readonly delta: number;
  constructor(opts: F.ReductionOptions & { delta?: number } = {}) {
    super(opts.reduction);
    this.delta = opts.delta ?? 1;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
}

export class BCELoss extends Loss {
  declare readonly weight: Tensor | null;
  constructor(opts: F.ReductionOptions & { weight?: Tensor | null } = {}) {
    super(opts.reduction);
    this.registerBuffer('weight', opts.weight ?? null);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

export class BCEWithLogitsLoss extends Loss {
  declare readonly weight: Tensor | null;
  declare readonly pos_weight: Tensor | null;
  constructor(opts: F.BCEWithLogitsOptions = {}) {
    super(opts.reduction);
    this.registerBuffer('weight', opts.weight ?? null);
    // NOTE: PyTorch's buffer name, so state dicts load either way.
    this.registerBuffer('pos_weight', opts.posWeight ?? null);
  }
  get posWeight(): Tensor | null {
    return this.pos_weight;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropyWithLogits(input, target, {
      weight: this.weight,
      posWeight: this.pos_weight,
      reduction: this.reduction,
    });
  }
}

export class KLDivLoss extends Module {
  readonly reduction: F.KLDivOptions['reduction'];
  readonly logTarget: boolean;
  constructor(opts: F.KLDivOptions = {}) {
    super();
    this.reduction = opts.reduction ?? 'mean';
    this.logTarget = opts.logTarget ?? false;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
}

/**
 * Knowledge distillation: forward(studentLogits (N, C), teacherLogits (N, C), target (N)) -> scalar,
 * alpha * CE + (1 - alpha) * T^2 * KL of the temperature-softened distributions (F.distillationLoss).
 * @example const loss = new nb.nn.DistillationLoss({ temperature: 4, alpha: 0.1 }).call(s, t, y);
 */
export class DistillationLoss extends Module {
  readonly temperature: number;
  readonly alpha: number;
  constructor(opts: F.DistillationOptions = {}) {
    super();
    this.temperature = opts.temperature ?? 3;
    this.alpha = opts.alpha ?? 0.1;
  }
  forward(studentLogits: Tensor, teacherLogits: Tensor, target: Tensor): Tensor {
    return F.distillationLoss(studentLogits, teacherLogits, target, {
      temperature: this.temperature,
      alpha: this.alpha,
    });
  }
  override extraRepr(): string {
    return `temperature=${this.temperature}, alpha=${this.alpha}`;
  }
}
