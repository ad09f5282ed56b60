// Dropout: zeroes elements with probability p in training (scaling the rest by 1/(1-p)); identity in eval.

import type { Tensor } from '../tensor/tensor.js';
import { dropout } from '../ops/nn_ops.js';
import { Module } from './module.js';
import { pyBool } from './util.js';

export class Dropout extends Module {
  readonly inplace: boolean;
  constructor(
    readonly p = 0.5,
    opts: { inplace?: boolean } = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: dropout probability has to be between 0 and 1, but got ${p}`);
    this.inplace = opts.inplace ?? false;
  }
  forward(x: Tensor): Tensor {
    // x (*) -> (*)
    return dropout(x, this.p, this.training);
  }
  override extraRepr(): string {
    return `p=${this.p}, inplace=${pyBool(this.inplace)}`;
  }
}
