// Flatten and Reshape: per-sample shape changes; the batch dim is kept.
// Flatten: (N, d1, ..., dk) -> (N, d1*...*dk), in channels-last order as Keras.
// Reshape: (N, *) -> (N, *targetShape), one -1 allowed.

import type { Tensor } from '../../tensor/tensor.js';
import { Layer, fmtSym, type LayerArgs, type SymShape } from '../layer.js';

export class Flatten extends Layer {
  readonly className = 'Flatten';
  constructor(args: LayerArgs = {}) {
    super(args, 'flatten');
  }
  protected override checkedAxes(rank: number): number[] {
    return [...Array(rank).keys()].slice(1);
  }
  computeOutputShape(s: SymShape): SymShape {
    const rest = s.slice(1);
    return [s[0], rest.some((d) => d === null) ? null : rest.reduce<number>((p, q) => p * (q as number), 1)];
  }
  forward(x: Tensor): Tensor {
    return x.reshape([x.shape[0], -1]);
  }
}

export interface ReshapeArgs extends LayerArgs {
  targetShape: readonly number[];
}

export class Reshape extends Layer {
  readonly className = 'Reshape';
  readonly targetShape: number[];
  constructor(args: ReshapeArgs) {
    super(args, 'reshape');
    if (
      !Array.isArray(args?.targetShape) ||
      args.targetShape.some((d) => !Number.isInteger(d) || (d < 0 && d !== -1)) ||
      args.targetShape.filter((d) => d === -1).length > 1
    ) {
      throw new Error(
        `reshape: targetShape must be an array of positive integers with at most one -1, got ` +
          `${JSON.stringify(args?.targetShape)}`,
      );
    }
    this.targetShape = [...args.targetShape];
  }
  protected override checkedAxes(rank: number): number[] {
    return [...Array(rank).keys()].slice(1);
  }
  computeOutputShape(s: SymShape): SymShape {
    const rest = s.slice(1);
    const known = this.targetShape.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
    if (rest.some((d) => d === null)) return [s[0], ...this.targetShape.map((d) => (d === -1 ? null : d))];
    const n = (rest as number[]).reduce((p, q) => p * q, 1);
    const out = this.targetShape.map((d) => (d === -1 ? n / known : d));
    if (out.some((d) => !Number.isInteger(d)) || out.reduce((p, q) => p * q, 1) !== n) {
      throw new Error(
        `Layer '${this.name}' (Reshape): cannot reshape input ${fmtSym(s)} (${n} values per sample) to ` +
          `${fmtSym([null, ...this.targetShape])}`,
      );
    }
    return [s[0], ...out];
  }
  forward(x: Tensor): Tensor {
    const out = this.computeOutputShape([null, ...x.shape.slice(1)]);
    return x.reshape([x.shape[0], ...(out.slice(1) as number[])]);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), targetShape: this.targetShape };
  }
}
