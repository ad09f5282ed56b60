// nb.keras: the Keras-style front door over nabla's Module/autograd core.
// @example
//   const model = nb.keras.sequential([
//     nb.keras.layers.dense({units: 64, activation: 'relu', inputShape: [32]}),
//     nb.keras.layers.dense({units: 10, activation: 'softmax'}),
//   ]);
//   model.compile({optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy']});
//   await model.fit(xTrain, yTrain, {epochs: 5});

export * as layers from './layers/index.js';
export * as losses from './losses.js';
export * as metrics from './metrics.js';
export * as callbacks from './callbacks.js';
export * as optimizers from './optimizers.js';
export * as activations from './activations.js';
export * as initializers from './initializers.js';
export * as regularizers from './regularizers.js';
export * as datasets from './datasets.js';
export * as distribution from './distribution.js';
export { Layer, SymbolicTensor, clearSession, type LayerArgs, type SymShape } from './layer.js';
export { input } from './layers/input.js';
export { Model, model, type CompileArgs, type ModelArgs, type Predicted } from './model.js';
export { Sequential, sequential, type SequentialArgs } from './sequential.js';
export { Distiller, type DistillerCompileArgs, type DistillationLossFn } from './distiller.js';
export { loadModel, type LoadModelOptions } from './saving.js';
export { Progbar, type ProgbarOptions, type ProgressStream, type Clock } from './progbar.js';
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
} from './callbacks.js';
export type { FitOptions, EvaluateOptions, PredictOptions } from './training.js';
