// InputLayer and nb.keras.input: the start of a functional model. input({shape: [32]}) returns a
// SymbolicTensor of shape [null, 32]; calling layers on it builds the graph.

import type { DType } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, SymbolicTensor, checkShapeArg, type LayerNode, type SymShape } from '../layer.js';

export interface InputArgs {
  /** Shape of one sample, e.g. [28, 28, 1] (null for an unknown size). */
  shape?: readonly (number | null)[];
  batchShape?: readonly (number | null)[];
  batchSize?: number;
  name?: string;
  dtype?: DType;
}

export class InputLayer extends Layer {
  readonly className = 'InputLayer';
  readonly output: SymbolicTensor;
  readonly shape: SymShape;
  readonly dtype: DType;
  constructor(args: InputArgs) {
    const bs = args?.batchShape ?? (args?.shape ? [args.batchSize ?? null, ...args.shape] : undefined);
    if (!bs) throw new Error(`input: give the shape of one sample, e.g. input({shape: [32]})`);
    checkShapeArg(bs.slice(1), 'input: shape');
    super({ name: args.name, batchInputShape: bs, dtype: args.dtype }, 'input_layer');
    this.shape = bs;
    this.dtype = args.dtype ?? 'float32';
    this.built = true;
    this.builtInputShape = bs;
    const node: LayerNode = { layer: this, inputs: [], outputs: [], listInput: false };
    this.output = new SymbolicTensor(bs, this.dtype, node, 0, this.name);
    node.outputs = [this.output];
    this.inboundNodes.push(node);
  }
  protected override checkedAxes(rank: number): number[] {
    return [...Array(rank).keys()].slice(1);
  }
  computeOutputShape(s: SymShape): SymShape {
    return s;
  }
  forward(x: Tensor): Tensor {
    return x;
  }
  override getConfig(): Record<string, unknown> {
    return { name: this.name, batchInputShape: this.shape, dtype: this.dtype };
  }
}

/**
 * A symbolic model input, to call layers on.
 * @example const x = nb.keras.input({shape: [32]}); // SymbolicTensor [null, 32]
 */
export function input(args: InputArgs): SymbolicTensor {
  return new InputLayer(args).output;
}
