// Linear layers: Identity, Linear (y = x W^T + b) and Bilinear (y = x1^T W x2 + b).
// Glossary: in/out features; * any leading dims.

import { empty } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { bilinear, linear } from '../ops/nn_ops.js';
import { Module, Parameter } from './module.js';
import { kaimingUniform_, uniform_, calculateFanInAndFanOut } from './init.js';
import { inputError, pyBool } from './util.js';
import type { DType } from '../tensor/dtype.js';

export interface LinearOptions {
  bias?: boolean;
  dtype?: DType;
}

/** Returns its input unchanged. */
export class Identity extends Module {
  // x (*) -> (*)
  forward(x: Tensor): Tensor {
    return x;
  }
}

/**
 * y = x W^T + b, weight (out, in) initialised U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform, a = sqrt(5)).
 * @example new Linear(32, 64).call(nb.randn([8, 32])) // -> [8, 64]
 */
export class Linear extends Module {
  declare weight: Parameter;
  declare bias: Parameter | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const dtype = opts.dtype ?? 'float32';
    this.weight = new Parameter(empty([outFeatures, inFeatures], { dtype }));
    this.registerParameter('bias', (opts.bias ?? true) ? new Parameter(empty([outFeatures], { dtype })) : null);
    this.resetParameters();
  }
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const [fanIn] = calculateFanInAndFanOut(this.weight);
      const b = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -b, b);
    }
  }
  forward(x: Tensor): Tensor {
    // x (*, in) -> (*, out)
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw inputError(
        this,
        `(*, ${this.inFeatures})`,
        x,
        `${this.constructor.name}(in_features=${this.inFeatures}, out_features=${this.outFeatures})`,
      );
    }
    return linear(x, this.weight, this.bias);
  }
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

/** y_k = x1^T W_k x2 + b_k; weight (out, in1, in2) and bias U(-1/sqrt(in1), 1/sqrt(in1)). */
export class Bilinear extends Module {
  declare weight: Parameter;
  declare bias: Parameter | null;
  constructor(
    readonly in1Features: number,
    readonly in2Features: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const dtype = opts.dtype ?? 'float32';
    this.weight = new Parameter(empty([outFeatures, in1Features, in2Features], { dtype }));
    this.registerParameter('bias', (opts.bias ?? true) ? new Parameter(empty([outFeatures], { dtype })) : null);
    this.resetParameters();
  }
  resetParameters(): void {
    const b = 1 / Math.sqrt(this.weight.shape[1]);
    uniform_(this.weight, -b, b);
    if (this.bias) uniform_(this.bias, -b, b);
  }
  forward(x1: Tensor, x2: Tensor): Tensor {
    // x1 (*, in1), x2 (*, in2) -> (*, out)
    if (x1.ndim === 0 || x1.shape[x1.ndim - 1] !== this.in1Features)
      throw inputError(this, `x1 (*, ${this.in1Features})`, x1);
    if (x2.ndim === 0 || x2.shape[x2.ndim - 1] !== this.in2Features)
      throw inputError(this, `x2 (*, ${this.in2Features})`, x2);
    return bilinear(x1, x2, this.weight, this.bias);
  }
  override extraRepr(): string {
    return (
      `in1_features=${this.in1Features}, in2_features=${this.in2Features}, out_features=${this.outFeatures}, ` +
      `bias=${pyBool(this.bias !== null)}`
    );
  }
}
