// model.save(dir) and nb.keras.loadModel(dir). The folder format (version 1):
//
//   dir/model.safetensors  the model's stateDict(): keys '<layer name>.<weight>' in PyTorch layout
//                          ('dense.weight' (units, in), 'conv2d.weight' (filters, C, KH, KW),
//                          'batch_normalization.running_mean', 'lstm.weight_ih_l0', ...), float32;
//                          __metadata__ {format: 'nabla.keras', formatVersion: '1'}.
//   dir/config.json        {format: 'nabla.keras', formatVersion: 1, className: 'Sequential' | 'Functional',
//                          config: the model's getConfig() (layers as {className, config}; for a
//                          functional model also nodes [{layer, inputs: [[node, output], ...], listInput}],
//                          inputs and outputs as [node, output] references), compile: {optimizer,
//                          loss, metrics} or null when they are not serialisable, weights: 'model.safetensors'}.
//   dir/training_state.safetensors  (save with includeOptimizer, the default; tf.keras's include_optimizer)
//                          the optimiser's stateDict() tensors as 'state.<param index>.<name>' in
//                          their own dtype (moments, momentum buffers) and 'rng_state', the default
//                          generator's getRngState() (int32); __metadata__ 'nabla.optimizer' holds
//                          the rest as JSON: {className, paramGroups (hyper-parameters, as the
//                          optimiser's stateDict), state: {index: {step: n, ...}} (numbers and nulls)}.
//                          config.json names it as trainingState. loadModel restores the optimiser
//                          state (when it recompiles) and the default generator, so fit(..., {initialEpoch})
//                          continues the run exactly: same dropout masks, same shuffles, same updates.
//
// Each file is written to a temporary name in `dir`, fsynced and renamed over the old one, weights
// first, so an interrupted save never leaves a partial file (an older config.json may remain beside
// new weights only if the process dies between the two renames; both are complete files).

import { mkdirSync, readFileSync, existsSync, join } from '../platform/node.js';
import { writeTextAtomic } from '../io/atomic.js';
import { loadSafetensors, loadSafetensorsMetadata, saveSafetensors } from '../io/tensors.js';
import type { Tensor } from '../tensor/tensor.js';
import { getRngState, setRngState } from '../tensor/random.js';
import { flattenOptimizerState, loadFlatOptimizerState } from '../optim/flat_state.js';
import { checkOptionNames } from './options.js';
import type { Layer, SymbolicTensor } from './layer.js';
import { Model, type CompileArgs } from './model.js';
import { Sequential } from './sequential.js';
import { NamedLoss, type LossSpec } from './losses.js';
import type { MetricSpec } from './metrics.js';
import { optimizerConfig } from './optimizers.js';
import { Dense } from './layers/dense.js';
import { Conv1D, Conv2D } from './layers/conv.js';
import { AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D } from './layers/pooling.js';
import { Flatten, Reshape } from './layers/reshaping.js';
import { Dropout } from './layers/dropout.js';
import { BatchNormalization, LayerNormalization } from './layers/normalization.js';
import { Embedding } from './layers/embedding.js';
import { Bidirectional, GRU, LSTM, SimpleRNN } from './layers/recurrent.js';
import { Activation } from './layers/activation.js';
import { Add, Average, Concatenate, Dot, Multiply } from './layers/merge.js';
import { InputLayer } from './layers/input.js';

export const FORMAT = 'nabla.keras';
export const FORMAT_VERSION = 1;

// biome-ignore lint/suspicious/noExplicitAny: a layer config parsed from JSON, read by each layer's constructor
type Config = Record<string, any>;

/** className -> constructor from config; models and wrappers are handled by deserialize(). */
// biome-ignore lint/suspicious/noExplicitAny: each constructor takes its own args type, filled from the JSON config
const LAYERS: Record<string, new (c: any) => Layer> = {
  Dense,
  Conv1D,
  Conv2D,
  MaxPooling2D,
  AveragePooling2D,
  GlobalAveragePooling2D,
  Flatten,
  Reshape,
  Dropout,
  BatchNormalization,
  LayerNormalization,
  Embedding,
  SimpleRNN,
  LSTM,
  GRU,
  Activation,
  Concatenate,
  Add,
  Multiply,
  Average,
  Dot,
};

/** A layer or model from {className, config}. */
export function deserialize(entry: { className: string; config: Config }): Layer {
  const { className, config } = entry ?? {};
  if (className === 'InputLayer')
    return new InputLayer({ batchShape: config.batchInputShape, name: config.name, dtype: config.dtype });
  if (className === 'Bidirectional') {
    const inner = deserialize(config.layer) as SimpleRNN | LSTM | GRU;
    return new Bidirectional({ ...config, layer: inner });
  }
  if (className === 'Sequential') {
    const m = new Sequential({ name: config.name });
    for (const l of config.layers as { className: string; config: Config }[]) m.add(deserialize(l));
    if (!m.inputs.length && config.buildInputShape) m.build(config.buildInputShape);
    return m;
  }
  if (className === 'Functional') {
    const byName = new Map<string, Layer>();
    for (const l of config.layers as { className: string; config: Config }[]) byName.set(l.config.name, deserialize(l));
    const outs: SymbolicTensor[][] = [];
    for (const n of config.nodes as { layer: string; inputs: [number, number][]; listInput: boolean }[]) {
      const layer = byName.get(n.layer);
      if (!layer) throw new Error(`loadModel: the config's graph names layer '${n.layer}', which it does not define`);
      if (layer instanceof InputLayer) {
        outs.push([layer.output]);
        continue;
      }
      const ins = n.inputs.map(([i, k]) => outs[i][k]);
      const r = layer.apply(n.listInput ? ins : ins[0]) as SymbolicTensor | SymbolicTensor[];
      outs.push(Array.isArray(r) ? r : [r]);
    }
    const ref = ([i, k]: [number, number]) => outs[i][k];
    const outputs = (config.outputs as [number, number][]).map(ref);
    return new Model({
      name: config.name,
      inputs: (config.inputs as [number, number][]).map(ref),
      outputs: config.singleOutput && outputs.length === 1 ? outputs[0] : outputs,
    });
  }
  const C = LAYERS[className];
  if (!C)
    throw new Error(
      `loadModel: unknown layer class '${className}' (known: ${Object.keys(LAYERS).join(', ')}, InputLayer, ` +
        `Bidirectional, Sequential, Functional)`,
    );
  return new C(config);
}

function lossConfig(l: LossSpec): unknown {
  if (typeof l === 'string') return l;
  if (l instanceof NamedLoss) return { name: l.name, options: l.options };
  return undefined;
}

/** compile()'s arguments as JSON, or null when something (a custom loss or metric) is not serialisable. */
function compileConfig(args: CompileArgs | undefined): Config | null {
  if (!args) return null;
  const optimizer = optimizerConfig(args.optimizer);
  if (!optimizer) return null;
  let ok = true;
  const L = (l: LossSpec) => {
    const v = lossConfig(l);
    if (v === undefined) ok = false;
    return v;
  };
  const M = (m: MetricSpec) => {
    if (typeof m !== 'string') ok = false;
    return typeof m === 'string' ? m : null;
  };
  const rec = <T, U>(r: Record<string, T>, f: (x: T) => U) =>
    Object.fromEntries(Object.entries(r).map(([k, x]) => [k, f(x)]));
  const l = args.loss;
  const one = typeof l === 'string' || typeof l === 'function' || l instanceof NamedLoss;
  const loss = one ? L(l as LossSpec) : Array.isArray(l) ? l.map(L) : rec(l as Record<string, LossSpec>, L);
  const ms = args.metrics;
  const metrics = ms === undefined ? undefined : Array.isArray(ms) ? ms.map(M) : rec(ms, (list) => list.map(M));
  return ok ? { optimizer, loss, metrics, lossWeights: args.lossWeights } : null;
}

function reviveLoss(v: unknown): LossSpec {
  if (typeof v === 'string') return v;
  const o = v as { name: string; options: Config };
  return new NamedLoss(o.name, o.options);
}

export interface SaveModelOptions {
  /** Also write the optimiser state and the RNG state (training_state.safetensors); default true. */
  includeOptimizer?: boolean;
}

const TRAINING_STATE = 'training_state.safetensors';
const OPTIMIZER_META = 'nabla.optimizer';

/** The optimiser state as tensors (each 'state.<i>.<name>') plus JSON for its numbers and groups, and the RNG state. */
function trainingStateOf(model: Model): { tensors: Record<string, Tensor>; meta: Record<string, string> } {
  const rng = { rng_state: getRngState() };
  const opt = model.optimizer;
  if (!opt) return { tensors: rng, meta: {} };
  const flat = flattenOptimizerState(opt, 'state.');
  return { tensors: { ...flat.tensors, ...rng }, meta: { [OPTIMIZER_META]: flat.json } };
}

/** Restores what trainingStateOf saved: the optimiser state when the model has an optimiser, and the RNG state. */
async function restoreTrainingState(model: Model, path: string, restoreRng: boolean): Promise<void> {
  const tensors = await loadSafetensors(path);
  const json = (await loadSafetensorsMetadata(path))[OPTIMIZER_META];
  if (json !== undefined && model.optimizer) {
    loadFlatOptimizerState(model.optimizer, tensors, json, 'state.', `loadModel: ${path}`);
  }
  if (restoreRng && tensors.rng_state) setRngState(tensors.rng_state);
}

/** Writes `dir`/model.safetensors and `dir`/config.json (see the format above). */
export async function saveModel(model: Model, dir: string, opts: SaveModelOptions = {}): Promise<void> {
  checkOptionNames(opts, ['includeOptimizer'], 'save');
  if (typeof dir !== 'string' || !dir) throw new Error(`save: expected a folder path, got ${JSON.stringify(dir)}`);
  if (!model.inputs.length)
    throw new Error(
      `save: model '${model.name}' is not built yet (give the first layer an inputShape, or fit/predict once)`,
    );
  mkdirSync(dir, { recursive: true });
  const config = {
    format: FORMAT,
    formatVersion: FORMAT_VERSION,
    className: model.className,
    config: model.getConfig(),
    compile: compileConfig(model.compiled?.args),
    weights: 'model.safetensors',
    ...(opts.includeOptimizer !== false ? { trainingState: TRAINING_STATE } : {}),
  };
  const text = JSON.stringify(config, null, 2) + '\n';
  await saveSafetensors(model.stateDict(), join(dir, 'model.safetensors'), {
    format: FORMAT,
    formatVersion: String(FORMAT_VERSION),
  });
  if (opts.includeOptimizer !== false) {
    const st = trainingStateOf(model);
    await saveSafetensors(st.tensors, join(dir, TRAINING_STATE), { format: FORMAT, ...st.meta });
  }
  writeTextAtomic(join(dir, 'config.json'), text);
}

export interface LoadModelOptions {
  /** Compile with the saved optimizer, loss and metrics when they were saved (default true). */
  compile?: boolean;
  /**
   * Restore the default generator from the saved RNG state, when the model was saved with
   * includeOptimizer (default true), so that fit continues with the same dropout masks and shuffles.
   */
  restoreRngState?: boolean;
}

/**
 * Reads a folder written by model.save(dir): the same layers, names and weights, compiled again
 * when the compile arguments were serialisable.
 * @example await model.save('runs/m'); const same = await nb.keras.loadModel('runs/m');
 */
export async function loadModel(dir: string, opts: LoadModelOptions = {}): Promise<Model> {
  checkOptionNames(opts, ['compile', 'restoreRngState'], 'loadModel');
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath))
    throw new Error(`loadModel: ${cfgPath} does not exist (expected a folder written by model.save)`);
  let cfg: Config;
  try {
    cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    throw new Error(`loadModel: ${cfgPath} is not valid JSON (${(e as Error).message})`);
  }
  if (cfg.format !== FORMAT)
    throw new Error(`loadModel: ${cfgPath} is not a nabla Keras model (format ${JSON.stringify(cfg.format)})`);
  if (cfg.formatVersion > FORMAT_VERSION)
    throw new Error(
      `loadModel: ${cfgPath} has format version ${cfg.formatVersion}; this nabla reads up to ${FORMAT_VERSION}`,
    );
  const model = deserialize({ className: cfg.className, config: cfg.config });
  if (!(model instanceof Model)) throw new Error(`loadModel: ${cfgPath} describes a ${cfg.className}, not a model`);
  model.loadStateDict(await loadSafetensors(join(dir, cfg.weights ?? 'model.safetensors')));
  if (cfg.compile && opts.compile !== false) {
    const c = cfg.compile;
    const loss =
      typeof c.loss === 'string' || (c.loss && 'name' in c.loss)
        ? reviveLoss(c.loss)
        : Array.isArray(c.loss)
          ? c.loss.map(reviveLoss)
          : Object.fromEntries(Object.entries(c.loss).map(([k, v]) => [k, reviveLoss(v)]));
    model.compile({ optimizer: c.optimizer, loss, metrics: c.metrics, lossWeights: c.lossWeights });
  }
  // NOTE: last, after the layers' initialisers have drawn from the default generator.
  if (typeof cfg.trainingState === 'string') {
    await restoreTrainingState(model, join(dir, cfg.trainingState), opts.restoreRngState !== false);
  }
  return model;
}
