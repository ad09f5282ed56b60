// Embedding: integer indices (N, *) -> rows of weight (N, *, outputDim); weight (inputDim, outputDim)
// as nn.Embedding stores it, initialised U(-0.05, 0.05) as Keras does. Indices may arrive as floats
// holding integers (a Keras model's inputs are float32 by default); anything else is an error that
// names the layer, the value and the range.

import type { Parameter } from '../../nn/module.js';
import { embedding } from '../../ops/nn_ops.js';
import { fromTypedArray } from '../../tensor/creation.js';
import type { DType } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { initializerName, type InitializerIdentifier } from '../initializers.js';
import { Layer, type LayerArgs, type SymShape } from '../layer.js';
import { regularizerConfigs, type RegularizerIdentifier } from '../regularizers.js';

export interface EmbeddingArgs extends LayerArgs {
  inputDim: number;
  outputDim: number;
  embeddingsInitializer?: InitializerIdentifier;
  embeddingsRegularizer?: RegularizerIdentifier | null;
  /** Accepted for Keras compatibility; sets the sequence length of the input. */
  inputLength?: number;
}

export class Embedding extends Layer {
  readonly className = 'Embedding';
  protected override fixedRank = false;
  readonly inputDim: number;
  readonly outputDim: number;
  declare weight: Parameter;
  constructor(readonly args: EmbeddingArgs) {
    super(
      args.inputShape || args.batchInputShape || args.inputLength === undefined
        ? args
        : { ...args, inputShape: [args.inputLength] },
      'embedding',
    );
    for (const k of ['inputDim', 'outputDim'] as const) {
      if (!Number.isInteger(args?.[k]) || args[k] <= 0)
        throw new Error(`embedding: ${k} must be a positive integer, got ${JSON.stringify(args?.[k])}`);
    }
    this.inputDim = args.inputDim;
    this.outputDim = args.outputDim;
  }
  protected override checkedAxes(): number[] {
    return [];
  }
  override build(): void {
    const a = this.args;
    this.addWeight(
      'weight',
      [this.inputDim, this.outputDim],
      a.embeddingsInitializer ?? 'randomUniform',
      true,
      a.embeddingsRegularizer,
    );
  }
  computeOutputShape(s: SymShape): SymShape {
    return [...s, this.outputDim];
  }
  forward(x: Tensor): Tensor {
    const v = x.toTypedArray();
    const idx = new Int32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const k = v[i];
      if (!Number.isInteger(k) || k < 0 || k >= this.inputDim) {
        throw new Error(
          `Layer '${this.name}' (Embedding): index ${k} at position ${i} is out of range [0, ${this.inputDim - 1}] ` +
            `(inputDim ${this.inputDim})`,
        );
      }
      idx[i] = k;
    }
    return embedding(fromTypedArray(idx, [...x.shape]), this.weight);
  }
  override outputDtype(_d: DType): DType {
    return 'float32';
  }
  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      inputDim: this.inputDim,
      outputDim: this.outputDim,
      embeddingsInitializer: initializerName(this.args.embeddingsInitializer, 'randomUniform'),
      ...regularizerConfigs(this.args, ['embeddingsRegularizer']),
    };
  }
}
