// nb.keras: the Keras-style front door over nabla's Module/autograd core.
// @example
//   const model = nb.keras.sequential([
//     nb.keras.layers.dense({units: 64, activation: 'relu', inputShape: [32]}),
//     nb.keras.layers.dense({units: 10, activation: 'softmax'}),
//   ]);
//   model.compile({optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy']});
//   await model.fit(xTrain, yTrain, {epochs: 5});

/** Layers as tfjs-layers spells them: `dense({units})`, `conv2d({filters, kernelSize})`, `lstm`, ..., and their classes. */
export * as layers from './layers/index.js';
/** Losses by name or as objects (`SparseCategoricalCrossentropy({fromLogits})`, `MeanSquaredError`, `Huber`). */
export * as losses from './losses.js';
/** Metrics: accuracy variants, top-k, MSE/MAE, precision, recall, AUC. */
export * as metrics from './metrics.js';
/** Callbacks for fit: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, CSVLogger, LambdaCallback, ... */
export * as callbacks from './callbacks.js';
/** Optimizer specs by name and config: `adam({learningRate: 1e-3})`, `sgd({momentum})`, ... */
export * as optimizers from './optimizers.js';
/** Activations by name ('relu', 'softmax', 'linear', ...). */
export * as activations from './activations.js';
/** Initializers by name ('glorotUniform', 'heNormal', 'zeros', ...), with Keras's fan computation. */
export * as initializers from './initializers.js';
/** Weight regularizers: `l1`, `l2`, `l1L2`, for `kernelRegularizer`, `biasRegularizer`, `activityRegularizer`. */
export * as regularizers from './regularizers.js';
/** keras.datasets: `mnist.loadData()` and `fashionMnist.loadData()` (downloaded into ~/.keras/datasets, or `{root}`). */
export * as datasets from './datasets.js';
/** keras.distribution: fit under `DataParallel` across nb.distributed ranks. */
export * as distribution from './distribution.js';
export {
  Layer,
  SymbolicTensor,
  clearSession,
  type LayerArgs,
  type SymShape,
  type LayerNode,
  type Inputs,
} from './layer.js';
export { input } from './layers/input.js';
export { Model, model, type CompileArgs, type ModelArgs, type Predicted, type Compiled } from './model.js';
export { Sequential, sequential, type SequentialArgs } from './sequential.js';
export { Distiller, type DistillerCompileArgs, type DistillationLossFn } from './distiller.js';
export { loadModel, type LoadModelOptions } from './saving.js';
export { Progbar, type ProgbarOptions, type ProgressStream, type Clock, type ProgressValues } from './progbar.js';
export type { SummaryOptions } from './summary.js';
export type { ArrayData, Data, Batch, BatchSource } from './data_adapter.js';
export {
  Callback,
  History,
  EarlyStopping,
  ModelCheckpoint,
  ReduceLROnPlateau,
  LearningRateScheduler,
  CSVLogger,
  TerminateOnNaN,
  LambdaCallback,
  type Logs,
  type CallbackHooks,
  type MaybePromise,
} from './callbacks.js';
export type { FitOptions, EvaluateOptions, PredictOptions } from './training.js';
