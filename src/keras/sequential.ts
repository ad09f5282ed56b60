// Sequential: a linear stack of layers, `nb.keras.sequential([dense(...), dense(...)])`.
// When the first layer has an inputShape the model is built at once (summary() works before fit);
// otherwise it is built on the first data it sees, from the shape of x.

import type { Tensor } from '../tensor/tensor.js';
import { Layer, SymbolicTensor, describe, fmtSym, type SymShape } from './layer.js';
import { InputLayer, input } from './layers/input.js';
import { Model } from './model.js';

export interface SequentialArgs {
  layers?: Layer[];
  name?: string;
}

export class Sequential extends Model<Tensor> {
  override readonly className: string = 'Sequential';
  /** The layers added so far (without the InputLayer). */
  private stack: Layer[] = [];

  constructor(args: SequentialArgs = {}) {
    super(undefined, 'sequential', { name: args.name });
    this.built = false;
    for (const l of args.layers ?? []) this.add(l);
  }

  /** Appends a layer; builds the graph when the input shape is known. */
  add(layer: Layer): void {
    if (!(layer instanceof Layer))
      throw new Error(`sequential: add() expects a layer (nb.keras.layers.*), got ${describe(layer)}`);
    if (layer instanceof InputLayer) {
      if (this.stack.length) throw new Error('sequential: an InputLayer can only come first');
      this.inputLayer = layer;
      this.rebuild();
      return;
    }
    if (this.stack.length && layer.batchInputShape) {
      throw new Error(
        `sequential: only the first layer may have an inputShape ('${layer.name}' is layer ${this.stack.length + 1})`,
      );
    }
    this.stack.push(layer);
    this.rebuild();
  }

  /** Removes the last layer. */
  pop(): void {
    if (!this.stack.length) throw new Error('sequential: there is no layer to pop');
    const l = this.stack.pop()!;
    this._modules.delete(l.name);
    this.rebuild();
  }

  private inputLayer: InputLayer | null = null;

  /** The stack as layers with weights (what `layers` lists in Keras for a Sequential). */
  override get layers(): Layer[] {
    return this.inputs.length ? this.allLayers.filter((l) => !(l instanceof InputLayer)) : [...this.stack];
  }

  /** Builds for a batch input shape, e.g. model.build([null, 8, 8, 1]). */
  override build(batchInputShape: SymShape | SymShape[]): void {
    const s = batchInputShape as SymShape;
    if (!Array.isArray(s))
      throw new Error(`sequential: build expects a batch input shape such as [null, 32], got ${describe(s)}`);
    this.inputLayer = new InputLayer({
      batchShape: s,
      name: this.stack[0] ? `${this.stack[0].name}_input` : undefined,
    });
    this.rebuild();
  }

  private rebuild(): void {
    if (!this.stack.length) return;
    const first = this.stack[0];
    if (!this.inputLayer && first.batchInputShape) {
      this.inputLayer = new InputLayer({
        batchShape: first.batchInputShape,
        dtype: first.inputDtype,
        name: `${first.name}_input`,
      });
    }
    if (!this.inputLayer) return;
    let t: SymbolicTensor = this.inputLayer.output;
    for (const l of this.stack) {
      try {
        t = l.apply(t) as SymbolicTensor;
      } catch (e) {
        throw new Error(
          `sequential '${this.name}': cannot add layer '${l.name}' (${l.className}) after an output of shape ` +
            `${fmtSym(t.shape)}: ${(e as Error).message}`,
        );
      }
      if (!(t instanceof SymbolicTensor))
        throw new Error(`sequential: layer '${l.name}' has several outputs; a Sequential needs one`);
    }
    this.initGraph(this.inputLayer.output, t);
    if (this.compiled && !this.compiled.losses.length) this.resolveCompile();
  }

  protected override buildFromData(xs: Tensor[]): void {
    if (!this.stack.length) throw new Error(`sequential '${this.name}': the model has no layers`);
    this.build([null, ...xs[0].shape.slice(1)]);
  }

  override getConfig(): Record<string, unknown> {
    return {
      name: this.name,
      buildInputShape: this.inputs.length ? this.inputs[0].shape : null,
      inputName: this.inputLayer?.name,
      layers: this.stack.map((l) => ({ className: l.className, config: l.getConfig() })),
    };
  }
}

/**
 * A linear stack of layers.
 * @example const m = nb.keras.sequential([nb.keras.layers.dense({units: 10, inputShape: [4]})]); m.summary();
 */
export function sequential(layers: Layer[] | SequentialArgs = []): Sequential {
  return new Sequential(Array.isArray(layers) ? { layers } : layers);
}

export { input };
