// Embedding: a lookup table (num_embeddings, embedding_dim) initialised N(0, 1); the paddingIdx row
// is zeroed and receives no gradient.

import { empty } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/grad_mode.js';
import { embedding } from '../ops/nn_ops.js';
import { Module, Parameter } from './module.js';
import { normal_ } from './init.js';
import { inputError } from './util.js';

export class Embedding extends Module {
  declare weight: Parameter;
  readonly paddingIdx: number | null;
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: { paddingIdx?: number | null; dtype?: DType; weight?: Tensor } = {},
  ) {
    super();
    let pi = opts.paddingIdx ?? null;
    if (pi !== null) {
      if (pi >= numEmbeddings || pi < -numEmbeddings)
        throw new Error(`Embedding: padding_idx (${pi}) must be within num_embeddings (${numEmbeddings})`);
      if (pi < 0) pi += numEmbeddings;
    }
    this.paddingIdx = pi;
    this.weight = new Parameter(
      opts.weight ?? empty([numEmbeddings, embeddingDim], { dtype: opts.dtype ?? 'float32' }),
    );
    if (!opts.weight) this.resetParameters();
  }
  resetParameters(): void {
    normal_(this.weight);
    if (this.paddingIdx !== null) noGrad(() => this.weight.select(0, this.paddingIdx!).fill_(0));
  }
  forward(input: Tensor): Tensor {
    // input (*) int32 or int64 -> (*, embedding_dim)
    if (input.dtype !== 'int32' && input.dtype !== 'int64')
      throw inputError(this, `int32 indices in [0, ${this.numEmbeddings}) (got ${input.dtype})`, input);
    return embedding(input, this.weight, this.paddingIdx);
  }
  override extraRepr(): string {
    return (
      `${this.numEmbeddings}, ` +
      `${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`
    );
  }
}
