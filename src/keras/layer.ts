// The Keras Layer: an nn.Module whose weights are created lazily, on the first call, from the shape
// of its input (Keras's build). A layer can be called on a concrete Tensor (it runs) or on a
// SymbolicTensor from nb.keras.input (it records a node of the functional graph and returns the
// symbolic output). Weights are nn Parameters in PyTorch's layout and under PyTorch's names
// (`weight` (out, in), `bias`, `running_mean`, `weight_ih_l0`), so a model's stateDict() reads as a
// PyTorch model's whose submodules are named after the layers ('dense.weight', 'conv2d_1.bias').
// Shapes: SymShape is a shape whose batch (and any unknown) dimension is null.

import { Module, Parameter } from '../nn/module.js';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { empty } from '../tensor/creation.js';
import { getInitializer, type InitializerIdentifier } from './initializers.js';
import { logitKind, type ActivationFn, type OutputLogits } from './activations.js';
import { getRegularizer, type Regularizer, type RegularizerIdentifier } from './regularizers.js';

export type SymShape = readonly (number | null)[];

/** One call of a layer in a functional graph: its symbolic inputs and outputs. */
export interface LayerNode {
  layer: Layer;
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
  /** Whether the layer was called with a list of inputs (merge layers) rather than one. */
  listInput: boolean;
}

/** A placeholder for a tensor in a functional model: a shape (batch dim null), a dtype and its producer. */
export class SymbolicTensor {
  constructor(
    readonly shape: SymShape,
    readonly dtype: DType,
    /** The node that produced it (for an Input, the InputLayer's node). */
    readonly node: LayerNode,
    readonly outputIndex: number,
    readonly name: string,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  toString(): string {
    return `SymbolicTensor(name=${this.name}, shape=${fmtSym(this.shape)}, dtype=${this.dtype})`;
  }
}

export function fmtSym(s: SymShape): string {
  return `[${s.map((d) => (d === null ? 'null' : d)).join(', ')}]`;
}

/** Keras's output-shape column: (None, 8, 8, 16), or several shapes joined by ', '. */
export function fmtKerasShape(s: SymShape | SymShape[]): string {
  const one = (x: SymShape) => `(${x.map((d) => (d === null ? 'None' : d)).join(', ')}${x.length === 1 ? ',' : ''})`;
  return isShapeList(s) ? (s as SymShape[]).map(one).join(', ') : one(s as SymShape);
}

const nameCounts = new Map<string, number>();

/** A fresh Keras-style name: dense, dense_1, dense_2, ... (per process, as in Keras). */
export function uniqueName(base: string): string {
  const n = nameCounts.get(base) ?? 0;
  nameCounts.set(base, n + 1);
  return n === 0 ? base : `${base}_${n}`;
}

/** Restarts the automatic names (keras.backend.clear_session). */
export function clearSession(): void {
  nameCounts.clear();
}

export interface LayerArgs {
  name?: string;
  /** Shape of one sample (no batch dim); makes the layer the first of a sequential model. */
  inputShape?: readonly (number | null)[];
  batchInputShape?: readonly (number | null)[];
  batchSize?: number;
  /** The input's dtype (an Input made from inputShape gets it). */
  dtype?: DType;
  trainable?: boolean;
  /** A penalty on the layer's output, added to the training loss (see regularizers.ts). */
  activityRegularizer?: RegularizerIdentifier | null;
}

/** What a layer's forward takes: one tensor or several. */
export type Inputs = Tensor | Tensor[];
type SymInputs = SymbolicTensor | SymbolicTensor[];

export abstract class Layer extends Module {
  /** Keras's class name ('Dense'), used in summary() and in the saved config. */
  abstract readonly className: string;
  readonly name: string;
  built = false;
  /** The input shape the layer was built for (batch null). */
  builtInputShape: SymShape | SymShape[] | null = null;
  /** From inputShape/batchInputShape: the model input a sequential model creates for this layer. */
  readonly batchInputShape: SymShape | null;
  readonly inputDtype: DType;
  /** Functional-graph calls of this layer. */
  readonly inboundNodes: LayerNode[] = [];
  private _trainable: boolean;

  constructor(args: LayerArgs, baseName: string) {
    super();
    this.name = args.name ?? uniqueName(baseName);
    if (typeof this.name !== 'string' || !this.name) throw new Error(`${baseName}: name must be a non-empty string`);
    const bis = args.batchInputShape ?? (args.inputShape ? [args.batchSize ?? null, ...args.inputShape] : null);
    if (bis) checkShapeArg(bis.slice(1), `${this.name}: inputShape`);
    this.batchInputShape = bis;
    this.inputDtype = args.dtype ?? 'float32';
    this._trainable = args.trainable ?? true;
    this.activityRegularizer = getRegularizer(args.activityRegularizer, `${this.name}: activityRegularizer`);
  }

  /** The weights' penalties (kernelRegularizer, ...): what each regularizes, read when asked. */
  private readonly weightPenalties: [() => Tensor, Regularizer][] = [];
  readonly activityRegularizer: Regularizer | null;
  /** The activity penalties of the last call on tensors. */
  private activityLosses: Tensor[] = [];

  /**
   * Keras's layer.losses: the regularization penalties, of the weights as they are now and of the
   * outputs of the last call. fit adds them to the loss.
   */
  get losses(): Tensor[] {
    return [...this.weightPenalties.map(([w, r]) => r.call(w())), ...this.activityLosses];
  }

  /** Adds a weight penalty on what `weight` returns (a weight, or a sum of the ones that act as one). */
  protected addPenalty(weight: () => Tensor, id: RegularizerIdentifier | null | undefined, what: string): void {
    const r = getRegularizer(id, `${this.name}: ${what}`);
    if (r) this.weightPenalties.push([weight, r]);
  }

  /** Forgets the last call's activity penalties (a model does so before each run). */
  clearActivityLosses(): void {
    this.activityLosses = [];
  }

  private recordActivity<O extends Inputs>(out: O): O {
    if (this.activityRegularizer) {
      for (const o of Array.isArray(out) ? out : [out]) this.activityLosses.push(this.activityRegularizer.call(o));
    }
    return out;
  }

  /** Whether fit updates this layer's weights (false freezes it; its weights count as non-trainable). */
  get trainable(): boolean {
    return this._trainable;
  }
  set trainable(on: boolean) {
    this._trainable = on;
    for (const p of this.parameters()) p.requiresGrad_(on && !this.frozenParams.has(p));
  }
  /** Parameters that never train (none by default). */
  protected frozenParams = new Set<Parameter>();

  /** Creates the weights for this input shape. Called once, before the first forward. */
  build(_inputShape: SymShape | SymShape[]): void {}

  /** The output shape for an input shape (batch dim null). */
  abstract computeOutputShape(inputShape: SymShape | SymShape[]): SymShape | SymShape[];

  /** The computation on concrete tensors (Keras's call); the layer is built. */
  abstract override forward(x: Inputs): Inputs;

  /**
   * forward(x) as activation(pre(x)), for layers that end in an activation (Dense, Conv, Activation),
   * so that a model can keep an output's logits for its loss; null for other layers.
   */
  protected splitActivation(): { pre: (x: Tensor) => Tensor; act: ActivationFn } | null {
    return null;
  }

  /**
   * call(x) on a concrete tensor, and the logits behind the output when it comes straight from a
   * softmax or sigmoid activation (the model hands them to the loss), else null.
   */
  callWithLogits(x: Inputs): { out: Inputs; logits: OutputLogits | null } {
    // NOTE: a hooked layer goes through call(), so its hooks see its output (the loss then reads probabilities)
    if (!(x instanceof Tensor) || this.hasForwardHooks()) return { out: this.call(x), logits: null };
    this.ensureBuilt(concreteShape(x));
    const r = this.forwardWithLogits(x);
    this.recordActivity(r.out);
    return r;
  }

  /** forward(x) on the built layer, with the logits behind its output (see callWithLogits). */
  protected forwardWithLogits(x: Tensor): { out: Inputs; logits: OutputLogits | null } {
    const split = this.splitActivation();
    const kind = split && logitKind(split.act);
    if (!split || !kind) return { out: this.forward(x), logits: null };
    const z = split.pre(x);
    return { out: split.act(z), logits: { logits: z, kind } };
  }

  /** Keras's get_config: constructor arguments, JSON-serialisable. */
  getConfig(): Record<string, unknown> {
    const c: Record<string, unknown> = { name: this.name, trainable: this.trainable };
    if (this.batchInputShape) c.batchInputShape = this.batchInputShape;
    if (this.inputDtype !== 'float32') c.dtype = this.inputDtype;
    if (this.activityRegularizer) c.activityRegularizer = this.activityRegularizer.getConfig();
    return c;
  }

  /** Adds a weight as a Parameter under `name`, initialised by `initializer`. */
  protected addWeight(
    name: string,
    shape: readonly number[],
    initializer: InitializerIdentifier,
    trainable = true,
    regularizer: RegularizerIdentifier | null = null,
  ): Parameter {
    const p = new Parameter(empty([...shape]), trainable && this.trainable);
    getInitializer(initializer, this.name)(p);
    this.registerParameter(name, p);
    this.addPenalty(() => p, regularizer, `the regularizer of ${name}`);
    if (!trainable) this.frozenParams.add(p);
    return p;
  }

  /** Builds on first use and checks the input against the built shape; throws naming the layer and both shapes. */
  ensureBuilt(inputShape: SymShape | SymShape[]): void {
    if (!this.built) {
      this.build(inputShape);
      this.builtInputShape = inputShape;
      this.built = true;
      return;
    }
    this.checkInputShape(inputShape);
  }

  /** Which axes of the built shape an input must match (by default the last). */
  protected checkedAxes(rank: number): number[] {
    return [rank - 1];
  }
  /** Whether the input must keep the rank the layer was built for (false: any rank, trailing axes checked). */
  protected fixedRank = true;

  /** Throws if `shape` does not fit what the layer was built for. */
  checkInputShape(shape: SymShape | SymShape[]): void {
    const built = this.builtInputShape;
    if (!built) return;
    const pairs: [SymShape, SymShape][] = isShapeList(built)
      ? (built as SymShape[]).map((b, i) => [b, (shape as SymShape[])[i]])
      : [[built as SymShape, shape as SymShape]];
    for (const [b, s] of pairs) {
      // checked axes count from the end, so layers of any rank (dense on (N, T, F)) compare their trailing axes
      const axes = this.checkedAxes(b.length);
      const bad =
        !s ||
        (this.fixedRank && s.length !== b.length) ||
        axes.some((a) => {
          const k = s.length - b.length + a;
          return k < 1 || (b[a] !== null && s[k] !== null && b[a] !== s[k]);
        });
      if (bad) {
        throw new Error(
          `Layer '${this.name}' (${this.className}): expected input shape ${fmtSym(b)}, got ` +
            `${s ? fmtSym(s) : 'nothing'} ` +
            `(the layer was built for ${fmtSym(b)} on its first call)`,
        );
      }
    }
  }

  /**
   * Calls the layer. On Tensors: builds it if needed and runs it. On SymbolicTensors (functional
   * API): builds it and returns symbolic outputs. On a function: Module.apply(fn).
   */
  // biome-ignore lint/suspicious/noExplicitAny: Tensors, SymbolicTensors or a function, like call()
  override apply(x: any): any {
    if (typeof x === 'function') return super.apply(x);
    return this.call(x);
  }

  // biome-ignore lint/suspicious/noExplicitAny: Tensors or SymbolicTensors, one or a list, in and out
  override call(x: any): any {
    if (
      x instanceof SymbolicTensor ||
      (Array.isArray(x) && x.length > 0 && x.every((e) => e instanceof SymbolicTensor))
    ) {
      return this.callSymbolic(x as SymInputs);
    }
    if (!(x instanceof Tensor) && !(Array.isArray(x) && x.every((e) => e instanceof Tensor))) {
      throw new Error(
        `Layer '${this.name}' (${this.className}): expected a Tensor, an array of Tensors or SymbolicTensors, got ` +
          `${describe(x)}`,
      );
    }
    this.ensureBuilt(Array.isArray(x) ? x.map(concreteShape) : concreteShape(x));
    // Module.call runs the forward hooks (nb.privacy's per-sample gradients, explain's captures) around forward
    return this.recordActivity(this.hasForwardHooks() ? super.call(...([x] as never)) : this.forward(x as Inputs));
  }

  private callSymbolic(x: SymInputs): SymInputs {
    const list = Array.isArray(x) ? x : [x];
    const shape = Array.isArray(x) ? list.map((t) => t.shape) : list[0].shape;
    this.ensureBuilt(shape);
    const out = this.computeOutputShape(shape);
    const node: LayerNode = { layer: this, inputs: list, outputs: [], listInput: Array.isArray(x) };
    const outs = isShapeList(out) ? (out as SymShape[]) : [out as SymShape];
    const dtype = this.outputDtype(list[0].dtype);
    node.outputs = outs.map(
      (s, i) => new SymbolicTensor(s, dtype, node, i, `${this.name}/out${outs.length > 1 ? i : ''}`),
    );
    this.inboundNodes.push(node);
    return isShapeList(out) ? node.outputs : node.outputs[0];
  }

  /** The dtype of the output for an input dtype (float32 for most layers). */
  outputDtype(_inputDtype: DType): DType {
    return 'float32';
  }

  /** Keras's count_params: trainable and non-trainable weights, counting float buffers (moving statistics) as
   * non-trainable. */
  countParams(): { trainable: number; nonTrainable: number } {
    let trainable = 0,
      nonTrainable = 0;
    for (const p of this.parameters()) {
      if (p.requiresGrad) trainable += p.numel();
      else nonTrainable += p.numel();
    }
    for (const [k, b] of this.namedBuffers())
      if (b.isFloatingPoint() && !k.endsWith('num_batches_tracked')) nonTrainable += b.numel();
    return { trainable, nonTrainable };
  }

  override extraRepr(): string {
    return `name='${this.name}'`;
  }
}

export function isShapeList(s: unknown): boolean {
  return Array.isArray(s) && s.length > 0 && Array.isArray(s[0]);
}

function concreteShape(t: Tensor): SymShape {
  return [null, ...t.shape.slice(1)];
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array (${x.length} items)`;
  if (x instanceof Tensor) return `a Tensor of shape [${x.shape.join(', ')}]`;
  return typeof x === 'object' ? (x.constructor?.name ?? 'an object') : `a ${typeof x}`;
}

export function checkShapeArg(s: readonly (number | null)[], what: string): void {
  if (!Array.isArray(s) || s.some((d) => d !== null && !(Number.isInteger(d) && d >= 0))) {
    throw new Error(`${what} must be an array of non-negative integers (null for unknown), got ${JSON.stringify(s)}`);
  }
}

/** Known dims as numbers; throws naming the layer if a needed dim is unknown. */
export function knownDim(s: SymShape, axis: number, layer: Layer): number {
  const d = s[axis < 0 ? s.length + axis : axis];
  if (d === null || d === undefined) {
    throw new Error(
      `Layer '${layer.name}' (${layer.className}): the input dimension ${axis} must be known to build the layer, ` +
        `got shape ${fmtSym(s)}`,
    );
  }
  return d;
}
