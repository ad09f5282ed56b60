// The Keras model: a graph of layers from symbolic inputs to symbolic outputs (the functional API,
// `nb.keras.model({inputs, outputs})`), with compile / fit / evaluate / predict / summary / save.
// A model is itself a Layer, hence an nn.Module: its layers are its submodules, named after them,
// so `model.stateDict()` has keys like 'dense.weight' and an nb.optim optimiser can train
// `model.parameters()` directly. Sequential (sequential.ts) builds the same graph one layer at a time.

import { noGrad } from '../autograd/grad_mode.js';
import { fmtShape } from '../tensor/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Optimizer } from '../optim/optimizer.js';
import {
  Layer,
  SymbolicTensor,
  describe,
  fmtSym,
  isShapeList,
  type LayerArgs,
  type LayerNode,
  type SymShape,
} from './layer.js';
import { InputLayer } from './layers/input.js';
import { reduceLoss, resolveLoss, type Loss, type LossSpec } from './losses.js';
import type { OutputLogits } from './activations.js';
import { resolveMetric, type Metric, type MetricSpec } from './metrics.js';
import { checkOptimizer, makeOptimizer, type OptimizerIdentifier } from './optimizers.js';
import type { History, CallbackModel } from './callbacks.js';
import {
  evaluateModel,
  fitModel,
  predictModel,
  type EvaluateOptions,
  type FitOptions,
  type PredictOptions,
} from './training.js';
import { summaryText, type SummaryOptions } from './summary.js';
import { checkOptionNames } from './options.js';
import type { Data, BatchSource } from './data_adapter.js';
import type { Dataset } from '../data/dataset.js';

/**
 * What `compile` takes, as Keras's `model.compile(optimizer, loss, metrics, loss_weights)`.
 * Names are Keras's, in snake_case or camelCase ('sparse_categorical_crossentropy' or
 * 'sparseCategoricalCrossentropy').
 * @example
 * ```ts
 * model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
 * model.compile({ optimizer: nb.keras.optimizers.adam({ learningRate: 1e-3 }), loss: 'mse' });
 * ```
 */
export interface CompileArgs {
  /**
   * 'adam', 'sgd', 'rmsprop', 'adagrad', 'adamw' (default settings), a spec from `keras.optimizers`
   * (`adam({learningRate: 1e-3})`), or an `nb.optim` optimiser built over `model.parameters()`.
   */
  optimizer: OptimizerIdentifier;
  /**
   * 'categorical_crossentropy', 'sparse_categorical_crossentropy' (integer labels), 'binary_crossentropy',
   * 'mean_squared_error' ('mse'), 'mean_absolute_error' ('mae'), 'huber', a `keras.losses` object or a
   * function (yTrue, yPred) -> per-sample loss. One loss for every output, one per output (array), or one
   * per output name (record).
   */
  loss: LossSpec | LossSpec[] | Record<string, LossSpec>;
  /**
   * Metrics for every output, or per output name: 'accuracy' (picks the variant that fits the loss),
   * 'sparse_categorical_accuracy', 'categorical_accuracy', 'binary_accuracy', 'top_k_categorical_accuracy',
   * 'mse', 'mae', 'precision', 'recall', 'auc', or `keras.metrics` objects.
   */
  metrics?: MetricSpec[] | Record<string, MetricSpec[]>;
  /** Weights of the per-output losses in the total (default 1 each). */
  lossWeights?: number[] | Record<string, number>;
}

const COMPILE_OPTIONS: readonly (keyof CompileArgs)[] = ['optimizer', 'loss', 'metrics', 'lossWeights'];

/** What compile() resolved. */
export interface Compiled {
  args: CompileArgs;
  optimizerId: OptimizerIdentifier;
  optimizer: Optimizer | null;
  losses: Loss[];
  lossWeights: number[];
  /** Per output: the metrics measured on it. */
  metrics: Metric[][];
}

export interface ModelArgs<O extends SymbolicTensor | SymbolicTensor[] = SymbolicTensor | SymbolicTensor[]> {
  inputs: SymbolicTensor | SymbolicTensor[];
  outputs: O;
  name?: string;
}

/** What predict returns for outputs given as O: one Tensor for one SymbolicTensor, else an array. */
export type Predicted<O> = O extends SymbolicTensor[]
  ? Tensor[]
  : O extends SymbolicTensor
    ? Tensor
    : Tensor | Tensor[];

/**
 * `P` is what predict returns: Tensor for a model built with one output tensor (and for Sequential),
 * Tensor[] for a list of outputs.
 */
export class Model<P extends Tensor | Tensor[] = Tensor | Tensor[]> extends Layer implements CallbackModel {
  readonly className: string = 'Functional';
  inputs: SymbolicTensor[] = [];
  outputs: SymbolicTensor[] = [];
  /** Every layer, in the order they run (InputLayers first). */
  protected allLayers: Layer[] = [];
  /** Nodes in execution order (InputLayer nodes excluded). */
  protected graph: LayerNode[] = [];
  stopTraining = false;
  compiled: Compiled | null = null;
  /** Whether inputs/outputs were given as single tensors (predict then returns a single Tensor). */
  protected singleOutput = true;

  constructor(args?: ModelArgs, base = 'model', layerArgs: LayerArgs = {}) {
    super({ ...layerArgs, name: args?.name ?? layerArgs.name }, base);
    if (args) this.initGraph(args.inputs, args.outputs);
  }

  /** Sets up the graph from inputs to outputs (checks it is connected) and registers the layers. */
  protected initGraph(inputs: SymbolicTensor | SymbolicTensor[], outputs: SymbolicTensor | SymbolicTensor[]): void {
    const ins = Array.isArray(inputs) ? inputs : [inputs];
    const outs = Array.isArray(outputs) ? outputs : [outputs];
    if (ins.length === 0 || outs.length === 0) throw new Error(`model: inputs and outputs must be non-empty`);
    for (const t of [...ins, ...outs]) {
      if (!(t instanceof SymbolicTensor))
        throw new Error(
          `model: inputs and outputs must be symbolic tensors from nb.keras.input() and layer calls, got ` +
            `${describe(t)}`,
        );
    }
    for (const t of ins) {
      if (!(t.node.layer instanceof InputLayer))
        throw new Error(`model: input '${t.name}' is not an nb.keras.input(); model inputs must be inputs`);
    }
    this.singleOutput = !Array.isArray(outputs);
    // depth-first post-order from the outputs: every node after the nodes it reads
    const order: LayerNode[] = [];
    const state = new Map<LayerNode, 1 | 2>();
    const stack: [LayerNode, number][] = outs.map((t) => [t.node, 0]);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [node, i] = top;
      if (i === 0) {
        if (state.get(node) === 2) {
          stack.pop();
          continue;
        }
        state.set(node, 1);
      }
      if (i < node.inputs.length) {
        top[1]++;
        const dep = node.inputs[i].node;
        if (state.get(dep) === 1) throw new Error(`model: the graph has a cycle through layer '${dep.layer.name}'`);
        if (!state.get(dep)) stack.push([dep, 0]);
        continue;
      }
      stack.pop();
      state.set(node, 2);
      order.push(node);
    }
    for (const n of order) {
      if (n.layer instanceof InputLayer && !ins.includes(n.outputs[0])) {
        throw new Error(
          `model: the outputs depend on input '${n.layer.name}' ${fmtSym(n.layer.shape)}, which is not in inputs ` +
            `(${ins.map((t) => t.name).join(', ')})`,
        );
      }
    }
    this.inputs = ins;
    this.outputs = outs;
    this.graph = order.filter((n) => !(n.layer instanceof InputLayer));
    const layers: Layer[] = [];
    for (const t of ins) layers.push(t.node.layer);
    for (const n of this.graph) if (!layers.includes(n.layer)) layers.push(n.layer);
    const names = new Set<string>();
    for (const l of layers) {
      if (names.has(l.name))
        throw new Error(`model: two layers are named '${l.name}'; layer names must be unique within a model`);
      names.add(l.name);
    }
    this.allLayers = layers;
    // NOTE: registered in the module map only, not as properties, so a layer named like a method
    // ('summary', 'add') cannot shadow it; stateDict keys are '<layer name>.<weight>'.
    for (const l of layers) if (!(l instanceof InputLayer)) this._modules.set(l.name, l);
    this.built = true;
    this.builtInputShape = ins.length === 1 ? ins[0].shape : ins.map((t) => t.shape);
  }

  /** The layers, in the order they run (a functional model's InputLayers first). */
  get layers(): Layer[] {
    return this.allLayers;
  }

  get inputNames(): string[] {
    return this.inputs.map((t) => t.node.layer.name);
  }
  get outputNames(): string[] {
    return this.outputs.map((t) => t.node.layer.name);
  }

  /** The layer with this name (or at this index of `layers`). */
  getLayer(nameOrIndex: string | number): Layer {
    const l =
      typeof nameOrIndex === 'number' ? this.layers[nameOrIndex] : this.layers.find((x) => x.name === nameOrIndex);
    if (!l)
      throw new Error(
        `getLayer: no layer ${JSON.stringify(nameOrIndex)} in model '${this.name}' (layers: ` +
          `${this.layers.map((x) => x.name).join(', ')})`,
      );
    return l;
  }

  computeOutputShape(_s: SymShape | SymShape[]): SymShape | SymShape[] {
    return this.outputs.length === 1 ? this.outputs[0].shape : this.outputs.map((t) => t.shape);
  }

  /** The first layer that reads input i (for error messages). */
  private consumerOf(i: number): string {
    const t = this.inputs[i];
    const n = this.graph.find((g) => g.inputs.includes(t));
    return n ? `layer '${n.layer.name}' (${n.layer.className})` : `input '${t.name}'`;
  }

  /** Throws unless each x matches its input's shape (rank and known dims), naming the layer. */
  checkInputs(xs: readonly Tensor[], op: string): void {
    if (xs.length !== this.inputs.length) {
      throw new Error(
        `${op}: model '${this.name}' has ${this.inputs.length} inputs (${this.inputNames.join(', ')}) but got ` +
          `${xs.length} arrays`,
      );
    }
    xs.forEach((x, i) => {
      const want = this.inputs[i].shape;
      const bad = x.ndim !== want.length || want.some((d, k) => k > 0 && d !== null && d !== x.shape[k]);
      if (bad) {
        const feat = want.length === 2 && x.ndim === 2 ? ` (${x.shape[1]} features where ${want[1]} are expected)` : '';
        throw new Error(
          `${op}: ${this.consumerOf(i)} of model '${this.name}' expects input shape ${fmtSym(want)}, ` +
            `but ${this.inputs.length > 1 ? `x[${i}] (${this.inputNames[i]})` : 'x'} has shape ` +
            `${fmtShape(x.shape)}${feat}`,
        );
      }
    });
  }

  /**
   * Runs the graph: one tensor per input -> one per output. With `logits`, sets logits[k] to the logits
   * behind output k when its layer ends in a softmax or sigmoid (Layer.callWithLogits), else null.
   */
  run(xs: readonly Tensor[], logits?: (OutputLogits | null)[]): Tensor[] {
    if (!this.built || this.inputs.length === 0)
      throw new Error(
        `model '${this.name}' is not built yet: call it on data (fit, predict) or give the first layer an inputShape`,
      );
    for (const l of this.allLayers) l.clearActivityLosses();
    const values = new Map<SymbolicTensor, Tensor>();
    this.inputs.forEach((t, i) => {
      values.set(t, xs[i]);
    });
    for (const node of this.graph) {
      const ins = node.inputs.map((t) => {
        const v = values.get(t);
        if (!v)
          throw new Error(
            `model '${this.name}': internal error, '${t.name}' was not computed before layer '${node.layer.name}'`,
          );
        return v;
      });
      const isOutput =
        logits !== undefined && !node.listInput && node.outputs.length === 1 && this.outputs.includes(node.outputs[0]);
      let out: Tensor | Tensor[];
      if (isOutput) {
        const r = node.layer.callWithLogits(ins[0]);
        out = r.out as Tensor | Tensor[];
        this.outputs.forEach((t, k) => {
          if (t === node.outputs[0]) logits[k] = r.logits;
        });
      } else {
        out = node.layer.call(node.listInput ? ins : ins[0]) as Tensor | Tensor[];
      }
      const outs = Array.isArray(out) ? out : [out];
      node.outputs.forEach((t, i) => {
        values.set(t, outs[i]);
      });
    }
    return this.outputs.map((t) => values.get(t)!);
  }

  /** A nested model's output keeps the logits of its own output layer. */
  protected override forwardWithLogits(x: Tensor): { out: Tensor | Tensor[]; logits: OutputLogits | null } {
    if (this.inputs.length !== 1 || this.outputs.length !== 1) return { out: this.forward(x), logits: null };
    const logits: (OutputLogits | null)[] = [];
    const [out] = this.run([x], logits);
    return { out, logits: logits[0] ?? null };
  }

  override forward(x: Tensor | Tensor[]): Tensor | Tensor[] {
    const xs = Array.isArray(x) ? x : [x];
    const out = this.run(xs);
    return out.length === 1 ? out[0] : out;
  }

  // ---- weights ----

  /** Copies of every weight and buffer, in stateDict order (Keras's get_weights). */
  getWeights(): Tensor[] {
    return Object.values(this.stateDict()).map((t) => t.clone());
  }

  /** Sets every weight from a getWeights()-ordered list; shapes must match. */
  setWeights(weights: readonly Tensor[]): void {
    const own = Object.entries(this.stateDict({ keepVars: true }));
    if (weights.length !== own.length)
      throw new Error(`setWeights: model '${this.name}' has ${own.length} weights but ${weights.length} were given`);
    noGrad(() =>
      own.forEach(([k, t], i) => {
        if (fmtShape(t.shape) !== fmtShape(weights[i].shape))
          throw new Error(
            `setWeights: weight ${i} ('${k}') has shape ${fmtShape(t.shape)} but the value has ` +
              `${fmtShape(weights[i].shape)}`,
          );
        t.copy_(weights[i]);
      }),
    );
  }

  // ---- compile / fit / evaluate / predict ----

  compile(args: CompileArgs): void {
    if (!args || typeof args !== 'object') throw new Error('compile: expected {optimizer, loss, metrics?}');
    checkOptionNames(args, COMPILE_OPTIONS, 'compile');
    if (args.optimizer === undefined) throw new Error("compile: an optimizer is required, e.g. optimizer: 'adam'");
    if (args.loss === undefined)
      throw new Error("compile: a loss is required, e.g. loss: 'sparse_categorical_crossentropy'");
    const optimizerId = checkOptimizer(args.optimizer);
    this.compiled = { args, optimizerId, optimizer: null, losses: [], lossWeights: [], metrics: [] };
    if (this.built && this.inputs.length) this.resolveCompile();
  }

  /** Binds losses, metrics and the optimiser to the (built) outputs; called by compile or on the first fit. */
  resolveCompile(): Compiled {
    const c = this.compiled;
    if (!c)
      throw new Error(
        `model '${this.name}' must be compiled before training or evaluation: call model.compile({optimizer, loss, ` +
          `metrics})`,
      );
    if (c.losses.length) return c;
    const names = this.outputNames;
    const perOutput = <T>(
      v: T | T[] | Record<string, T> | undefined,
      what: string,
      isOne: (x: unknown) => boolean,
    ): (T | undefined)[] => {
      if (v === undefined) return names.map(() => undefined);
      if (isOne(v)) return names.map(() => v as T);
      if (Array.isArray(v)) {
        if (v.length !== names.length)
          throw new Error(
            `compile: ${what} has ${v.length} entries but the model has ${names.length} outputs (${names.join(', ')})`,
          );
        return v;
      }
      const rec = v as Record<string, T>;
      for (const k of Object.keys(rec))
        if (!names.includes(k))
          throw new Error(`compile: ${what} names '${k}', which is not an output (${names.join(', ')})`);
      return names.map((n) => rec[n]);
    };
    const isLossOne = (x: unknown) =>
      typeof x === 'string' ||
      typeof x === 'function' ||
      (typeof x === 'object' && x !== null && !Array.isArray(x) && typeof (x as Loss).call === 'function');
    const losses = perOutput(c.args.loss, 'loss', isLossOne).map((l, i) => {
      if (l === undefined) throw new Error(`compile: no loss for output '${names[i]}'`);
      return resolveLoss(l);
    });
    const weights = perOutput(
      c.args.lossWeights as number | number[] | Record<string, number> | undefined,
      'lossWeights',
      (x) => typeof x === 'number',
    ).map((w) => w ?? 1);
    const ms = c.args.metrics;
    const metricLists: MetricSpec[][] =
      ms === undefined
        ? names.map(() => [])
        : Array.isArray(ms)
          ? names.map(() => ms)
          : names.map((n) => (ms as Record<string, MetricSpec[]>)[n] ?? []);
    c.metrics = metricLists.map((list, i) =>
      list.map((m) => {
        const metric = resolveMetric(m, losses[i].name, this.outputs[i].shape);
        if (names.length > 1) metric.name = `${names[i]}_${metric.name}`;
        return metric;
      }),
    );
    c.losses = losses;
    c.lossWeights = weights;
    c.optimizer = makeOptimizer(
      c.optimizerId,
      this.parameters().filter((p) => p.requiresGrad),
      this,
    );
    return c;
  }

  /**
   * Keras's compute_loss: one weighted loss per output, from the compiled losses over the batch
   * (x, y, the model's outputs yPred and their logits; sampleWeight (N) if any). The regularization
   * penalties are added by the caller. A subclass may override it to add terms (keras.Distiller).
   */
  computeLoss(
    _x: Tensor[],
    y: Tensor[],
    yPred: Tensor[],
    logits: (OutputLogits | null)[],
    sampleWeight?: Tensor,
  ): Tensor[] {
    const c = this.resolveCompile();
    return yPred.map((o, k) =>
      reduceLoss(c.losses[k].call(y[k], o, logits[k] ?? null), sampleWeight).mul(c.lossWeights[k]),
    );
  }

  get optimizer(): Optimizer | null {
    return this.compiled?.optimizer ?? null;
  }

  get learningRate(): number {
    const o = this.compiled?.optimizer;
    if (!o) throw new Error(`model '${this.name}' has no optimizer yet (compile and start fit first)`);
    return o.paramGroups[0].lr;
  }
  set learningRate(lr: number) {
    const o = this.compiled?.optimizer;
    if (!o) throw new Error(`model '${this.name}' has no optimizer yet (compile and start fit first)`);
    if (!(lr >= 0)) throw new Error(`learningRate must be a non-negative number, got ${lr}`);
    for (const g of o.paramGroups) g.lr = lr;
  }

  /** Called on data before the graph exists (Sequential without an inputShape builds here). */
  protected buildFromData(_xs: Tensor[]): void {}

  /** @internal used by training.ts */
  ensureBuiltFor(xs: Tensor[]): void {
    if (!this.inputs.length) this.buildFromData(xs);
  }

  /**
   * Trains for `epochs` epochs over (x, y), or over a DataLoader / iterable of [x, y] batches
   * (then the second argument may be the options).
   * @example await model.fit(xTrain, yTrain, {epochs: 5, batchSize: 32, validationSplit: 0.1})
   */
  fit(x: Data | BatchSource | Dataset, y?: Data | FitOptions, opts?: FitOptions): Promise<History> {
    return fitModel(this, x, y, opts);
  }

  /** Loss and metrics on (x, y): a number (loss only), [loss, ...metrics], or a record with returnDict. */
  evaluate(
    x: Data | BatchSource | Dataset,
    y?: Data | EvaluateOptions,
    opts?: EvaluateOptions,
  ): Promise<number | number[] | Record<string, number>> {
    return evaluateModel(this, x, y, opts);
  }

  /** Outputs for x, in batches, in inference mode (dropout off, batch-norm running statistics). */
  predict(x: Data | BatchSource | Dataset, opts?: PredictOptions): P {
    return predictModel(this, x, opts) as P;
  }

  /** Keras's summary table; printed with console.log (or printFn), and returned. */
  summary(opts: SummaryOptions = {}): string {
    const s = summaryText(this, opts);
    (opts.printFn ?? console.log)(s);
    return s;
  }

  /**
   * Writes config.json and model.safetensors to `dir` (see saving.ts), each atomically; with
   * includeOptimizer (default true) also the optimiser and RNG state, so a loaded model resumes fit exactly.
   */
  async save(dir: string, opts: { includeOptimizer?: boolean } = {}): Promise<void> {
    // NOTE: imported lazily: saving.ts knows every layer class and Sequential, which import this file.
    const { saveModel } = await import('./saving.js');
    return saveModel(this, dir, opts);
  }

  /** Writes the weights (the stateDict) to a .safetensors file, atomically. */
  async saveWeights(path: string): Promise<void> {
    const { saveSafetensors } = await import('../io/tensors.js');
    await saveSafetensors(this.stateDict(), path, { format: 'nabla-keras-weights' });
  }

  /** Loads weights from a .safetensors file written by saveWeights or save. */
  async loadWeights(path: string): Promise<void> {
    const { loadSafetensors } = await import('../io/tensors.js');
    this.loadStateDict(await loadSafetensors(path));
  }

  /** The graph: each node's layer and the (node index, output index) of each input. */
  /** Keras's model.losses: every layer's regularization penalties (weights now, activities of the last run). */
  override get losses(): Tensor[] {
    return [...super.losses, ...this.allLayers.flatMap((l) => l.losses)];
  }

  override getConfig(): Record<string, unknown> {
    const ids = new Map<LayerNode, number>();
    const all = [...this.inputs.map((t) => t.node), ...this.graph];
    all.forEach((n, i) => {
      ids.set(n, i);
    });
    const ref = (t: SymbolicTensor) => [ids.get(t.node)!, t.outputIndex];
    return {
      name: this.name,
      layers: this.layers.map((l) => ({ className: l.className, config: l.getConfig() })),
      nodes: all.map((n) => ({ layer: n.layer.name, inputs: n.inputs.map(ref), listInput: n.listInput })),
      inputs: this.inputs.map(ref),
      outputs: this.outputs.map(ref),
      singleOutput: this.singleOutput,
    };
  }

  override countParams(): { trainable: number; nonTrainable: number } {
    let trainable = 0,
      nonTrainable = 0;
    for (const l of this.layers) {
      const c = l.countParams();
      trainable += c.trainable;
      nonTrainable += c.nonTrainable;
    }
    return { trainable, nonTrainable };
  }

  /** Whether predict returns one Tensor (single output given as a tensor) or an array. */
  get returnsSingle(): boolean {
    return this.singleOutput && this.outputs.length === 1;
  }
}

/**
 * The functional API: a model from symbolic inputs to symbolic outputs.
 * @example
 *   const x = nb.keras.input({shape: [4]});
 *   const y = nb.keras.layers.dense({units: 2}).apply(x);
 *   const m = nb.keras.model({inputs: x, outputs: y});
 */
export function model<O extends SymbolicTensor | SymbolicTensor[]>(args: ModelArgs<O>): Model<Predicted<O>> {
  return new Model<Predicted<O>>(args);
}

export { isShapeList };
