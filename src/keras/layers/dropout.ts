// Dropout: in training, zeroes each element with probability `rate` and scales the rest by
// 1/(1-rate); in evaluation and prediction, the identity. x (*) -> (*)

import { dropout } from '../../ops/nn_ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, type LayerArgs, type SymShape } from '../layer.js';

export interface DropoutArgs extends LayerArgs {
  rate: number;
}

export class Dropout extends Layer {
  readonly className = 'Dropout';
  protected override fixedRank = false;
  readonly rate: number;
  constructor(args: DropoutArgs) {
    super(args, 'dropout');
    if (!(args?.rate >= 0 && args.rate < 1))
      throw new Error(`dropout: rate must be in [0, 1), got ${JSON.stringify(args?.rate)}`);
    this.rate = args.rate;
  }
  computeOutputShape(s: SymShape): SymShape {
    return s;
  }
  protected override checkedAxes(): number[] {
    return [];
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.rate, this.training);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate };
  }
}
