// Dense: y = activation(x W^T + b) over the last axis. weight (units, in) as nn.Linear stores it
// (Keras's kernel is its transpose), bias (units).
// x (N, *, in) -> (N, *, units)

import type { Parameter } from '../../nn/module.js';
import { linear } from '../../ops/nn_ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { activationName, getActivation, type ActivationFn, type ActivationIdentifier } from '../activations.js';
import { initializerName, type InitializerIdentifier } from '../initializers.js';
import { Layer, knownDim, type LayerArgs, type SymShape } from '../layer.js';
import { regularizerConfigs, type RegularizerIdentifier } from '../regularizers.js';

/** keras.layers.Dense's arguments: `dense({units: 64, activation: 'relu', inputShape: [32]})`. */
export interface DenseArgs extends LayerArgs {
  /** Output features. */
  units: number;
  /** 'relu', 'softmax', 'sigmoid', 'tanh', ... or a function (default none: linear). */
  activation?: ActivationIdentifier;
  /** Add a bias (default true). */
  useBias?: boolean;
  /** Default 'glorotUniform', as Keras. */
  kernelInitializer?: InitializerIdentifier;
  /** Default 'zeros'. */
  biasInitializer?: InitializerIdentifier;
  /** A penalty on the kernel added to the loss: `nb.keras.regularizers.l2(1e-4)` or 'l2'. */
  kernelRegularizer?: RegularizerIdentifier | null;
  biasRegularizer?: RegularizerIdentifier | null;
}

export class Dense extends Layer {
  readonly className = 'Dense';
  protected override fixedRank = false;
  readonly units: number;
  readonly useBias: boolean;
  private readonly act: ActivationFn;
  declare weight: Parameter;
  declare bias: Parameter | null;

  constructor(readonly args: DenseArgs) {
    super(args, 'dense');
    if (!Number.isInteger(args?.units) || args.units <= 0)
      throw new Error(`dense: units must be a positive integer, got ${JSON.stringify(args?.units)}`);
    this.units = args.units;
    this.useBias = args.useBias ?? true;
    this.act = getActivation(args.activation, this.name);
  }

  override build(s: SymShape): void {
    const inF = knownDim(s, -1, this);
    const a = this.args;
    this.addWeight('weight', [this.units, inF], a.kernelInitializer ?? 'glorotUniform', true, a.kernelRegularizer);
    if (this.useBias) this.addWeight('bias', [this.units], a.biasInitializer ?? 'zeros', true, a.biasRegularizer);
    else this.registerParameter('bias', null);
  }

  computeOutputShape(s: SymShape): SymShape {
    return [...s.slice(0, -1), this.units];
  }

  forward(x: Tensor): Tensor {
    return this.act(this.preActivation(x));
  }
  protected override splitActivation() {
    return { pre: (x: Tensor) => this.preActivation(x), act: this.act };
  }
  private preActivation(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: activationName(this.args.activation),
      useBias: this.useBias,
      kernelInitializer: initializerName(this.args.kernelInitializer, 'glorotUniform'),
      biasInitializer: initializerName(this.args.biasInitializer, 'zeros'),
      ...regularizerConfigs(this.args, ['kernelRegularizer', 'biasRegularizer']),
    };
  }
}
