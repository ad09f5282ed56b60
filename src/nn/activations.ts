// Activation modules: ReLU, LeakyReLU, GELU, SiLU, Tanh, Sigmoid, Softmax, LogSoftmax, ELU, Softplus,
// Hardswish, Mish.
// Each maps x (*) -> (*).

import type { Tensor } from '../tensor/tensor.js';
import { elu, gelu, hardswish, leakyRelu, mish, softplus } from '../ops/unary.js';
import { Module } from './module.js';
import { pyFloat } from './util.js';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
  override extraRepr(): string {
    return `negative_slope=${this.negativeSlope}`;
  }
}

export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  forward(x: Tensor): Tensor {
    return gelu(x, this.approximate);
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}

/** x * relu6(x + 3) / 6, as torch.nn.Hardswish. */
export class Hardswish extends Module {
  forward(x: Tensor): Tensor {
    return hardswish(x);
  }
}

/** x * tanh(softplus(x)), as torch.nn.Mish. */
export class Mish extends Module {
  forward(x: Tensor): Tensor {
    return mish(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return elu(x, this.alpha);
  }
  override extraRepr(): string {
    return `alpha=${pyFloat(this.alpha)}`;
  }
}

export class Softplus extends Module {
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return softplus(x, this.beta, this.threshold);
  }
  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/** PyTorch's legacy choice when dim is None: 0 for 0-, 1- and 3-D inputs, else 1. */
function implicitDim(x: Tensor): number {
  return x.ndim === 0 || x.ndim === 1 || x.ndim === 3 ? 0 : 1;
}

export class Softmax extends Module {
  constructor(readonly dim: number | null = null) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.softmax(this.dim ?? implicitDim(x));
  }
  override extraRepr(): string {
    return `dim=${this.dim === null ? 'None' : this.dim}`;
  }
}

export class LogSoftmax extends Module {
  constructor(readonly dim: number | null = null) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim ?? implicitDim(x));
  }
  override extraRepr(): string {
    return `dim=${this.dim === null ? 'None' : this.dim}`;
  }
}
