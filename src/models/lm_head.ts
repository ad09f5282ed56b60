// The language-model head: logits = h W^T with W (V, C), a bias-free Linear. Unlike nn.Linear it
// allocates no matrix of its own when tied to the token embedding (the usual case), so a model
// being built for loading never initialises a throw-away (V, C) matrix.
//
// Glossary: B batch, T positions, C hidden size, V vocabulary.

import type { Tensor } from '../tensor/tensor.js';
import { empty } from '../tensor/creation.js';
import { linear } from '../ops/nn_ops.js';
import { Module, Parameter } from '../nn/module.js';
import { normal_ } from '../nn/init.js';

export class LMHead extends Module {
  declare weight: Parameter;
  /** `tiedTo` shares that (V, C) parameter; otherwise a fresh one from N(0, 0.02) (zeros when !initialize). */
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    tiedTo: Parameter | null,
    initialize = true,
  ) {
    super();
    if (tiedTo) this.weight = tiedTo;
    else {
      this.weight = new Parameter(empty([outFeatures, inFeatures]));
      if (initialize) normal_(this.weight, 0, 0.02);
    }
  }
  // h (B,T,C) -> (B*T,C) @ W^T (C,V) -> logits (B,T,V)
  forward(h: Tensor): Tensor {
    // NOTE: a 2-D product, so that decoding (B*T = 1) reaches the backend's matrix-vector path.
    return linear(h.reshape([-1, this.inFeatures]), this.weight).view([...h.shape.slice(0, -1), this.outFeatures]);
  }
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=False`;
  }
}
