// Layers that merge several inputs: Concatenate (along an axis, the last by default), Add, Multiply,
// Average, and Dot (per-sample dot product along an axis, optionally of L2-normalised vectors: cosine).
// Inputs (N, *) each -> (N, *) (Concatenate: summed along the axis; Dot: (N, 1)).

import { cat } from '../../ops/movement.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, fmtSym, type LayerArgs, type SymShape } from '../layer.js';

abstract class Merge extends Layer {
  protected override checkedAxes(rank: number): number[] {
    return [...Array(rank).keys()].slice(1);
  }
  protected shapes(s: SymShape | SymShape[]): SymShape[] {
    if (!Array.isArray(s[0]) || (s as SymShape[]).length < 2) {
      throw new Error(
        `Layer '${this.name}' (${this.className}): expected a list of at least 2 inputs, got ` +
          `${Array.isArray(s[0]) ? 'one' : fmtSym(s as SymShape)}`,
      );
    }
    return s as SymShape[];
  }
}

export interface ConcatenateArgs extends LayerArgs {
  axis?: number;
}

export class Concatenate extends Merge {
  readonly className = 'Concatenate';
  readonly axis: number;
  constructor(args: ConcatenateArgs = {}) {
    super(args, 'concatenate');
    this.axis = args.axis ?? -1;
  }
  computeOutputShape(s: SymShape | SymShape[]): SymShape {
    const list = this.shapes(s);
    const r = list[0].length,
      a = this.axis < 0 ? this.axis + r : this.axis;
    if (a < 1 || a >= r)
      throw new Error(`Layer '${this.name}' (Concatenate): axis ${this.axis} is out of range for inputs of rank ${r}`);
    for (const x of list) {
      if (
        x.length !== r ||
        x.some((d, i) => i !== a && i !== 0 && d !== null && list[0][i] !== null && d !== list[0][i])
      ) {
        throw new Error(
          `Layer '${this.name}' (Concatenate): inputs must match except along axis ${this.axis}, got ` +
            `${list.map(fmtSym).join(' and ')}`,
        );
      }
    }
    const out = [...list[0]];
    out[a] = list.some((x) => x[a] === null) ? null : list.reduce((p, x) => p + (x[a] as number), 0);
    return out;
  }
  forward(xs: Tensor[]): Tensor {
    return cat(xs, this.axis);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: this.axis };
  }
}

abstract class Elementwise extends Merge {
  computeOutputShape(s: SymShape | SymShape[]): SymShape {
    const list = this.shapes(s);
    for (const x of list) {
      if (
        x.length !== list[0].length ||
        x.some((d, i) => i > 0 && d !== null && list[0][i] !== null && d !== list[0][i])
      ) {
        throw new Error(
          `Layer '${this.name}' (${this.className}): inputs must have the same shape, got ` +
            `${list.map(fmtSym).join(' and ')}`,
        );
      }
    }
    return list[0];
  }
}

export class Add extends Elementwise {
  readonly className = 'Add';
  constructor(args: LayerArgs = {}) {
    super(args, 'add');
  }
  forward(xs: Tensor[]): Tensor {
    return xs.slice(1).reduce((p, x) => p.add(x), xs[0]);
  }
}

export class Multiply extends Elementwise {
  readonly className = 'Multiply';
  constructor(args: LayerArgs = {}) {
    super(args, 'multiply');
  }
  forward(xs: Tensor[]): Tensor {
    return xs.slice(1).reduce((p, x) => p.mul(x), xs[0]);
  }
}

export class Average extends Elementwise {
  readonly className = 'Average';
  constructor(args: LayerArgs = {}) {
    super(args, 'average');
  }
  forward(xs: Tensor[]): Tensor {
    return xs
      .slice(1)
      .reduce((p, x) => p.add(x), xs[0])
      .div(xs.length);
  }
}

export interface DotArgs extends LayerArgs {
  axes?: number;
  normalize?: boolean;
}

/** (N, D) . (N, D) -> (N, 1); with normalize, the cosine similarity. */
export class Dot extends Merge {
  readonly className = 'Dot';
  readonly axes: number;
  readonly normalize: boolean;
  constructor(args: DotArgs = {}) {
    super(args, 'dot');
    this.axes = args.axes ?? -1;
    this.normalize = args.normalize ?? false;
  }
  computeOutputShape(s: SymShape | SymShape[]): SymShape {
    const [a, b] = this.shapes(s);
    if (a.length !== 2 || b.length !== 2 || (a[1] !== null && b[1] !== null && a[1] !== b[1])) {
      throw new Error(
        `Layer '${this.name}' (Dot): expected two inputs (batch, d) of the same d, got ${fmtSym(a)} and ${fmtSym(b)}`,
      );
    }
    return [a[0], 1];
  }
  forward(xs: Tensor[]): Tensor {
    let [a, b] = xs;
    if (this.normalize) {
      a = a.div(a.norm(2, -1, true).clamp(1e-12));
      b = b.div(b.norm(2, -1, true).clamp(1e-12));
    }
    return a.mul(b).sum(-1, true);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axes: this.axes, normalize: this.normalize };
  }
}
