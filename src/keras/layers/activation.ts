// Activation: applies a named activation elementwise (softmax over the last axis). x (*) -> (*)

import type { Tensor } from '../../tensor/tensor.js';
import { activationName, getActivation, type ActivationFn, type ActivationIdentifier } from '../activations.js';
import { Layer, type LayerArgs, type SymShape } from '../layer.js';

export interface ActivationArgs extends LayerArgs {
  activation: ActivationIdentifier;
}

export class Activation extends Layer {
  readonly className = 'Activation';
  protected override fixedRank = false;
  private readonly fn: ActivationFn;
  constructor(readonly args: ActivationArgs) {
    super(args, 'activation');
    this.fn = getActivation(args?.activation, this.name);
  }
  computeOutputShape(s: SymShape): SymShape {
    return s;
  }
  protected override checkedAxes(): number[] {
    return [];
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
  protected override splitActivation() {
    return { pre: (x: Tensor) => x, act: this.fn };
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), activation: activationName(this.args.activation) };
  }
}
