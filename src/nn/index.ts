// nb.nn: modules, layers, nb.nn.functional and nb.nn.init (torch.nn).

export {
  Module,
  Parameter,
  deepCopyModule,
  type StateDict,
  type LoadResult,
  type ForwardHook,
  type ForwardPreHook,
} from './module.js';
export { Identity, Linear, Bilinear, type LinearOptions } from './linear.js';
export {
  Conv1d,
  Conv2d,
  ConvTranspose2d,
  type ConvOptions,
  type ConvTransposeOptions,
  type PaddingMode,
} from './conv.js';
export {
  MaxPool1d,
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
  type MaxPoolOptions,
  type AvgPoolOptions,
} from './pooling.js';
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './batch_norm.js';
export {
  LayerNorm,
  GroupNorm,
  RMSNorm,
  type LayerNormOptions,
  type GroupNormOptions,
  type RMSNormOptions,
} from './normalization.js';
export { Dropout } from './dropout.js';
export { Embedding } from './embedding.js';
export { Flatten, Unflatten, Upsample, type UpsampleOptions } from './shape.js';
export {
  ReLU,
  LeakyReLU,
  GELU,
  SiLU,
  Tanh,
  Sigmoid,
  Softmax,
  LogSoftmax,
  ELU,
  Softplus,
  Hardswish,
  Mish,
} from './activations.js';
export { Sequential, ModuleList, ModuleDict } from './containers.js';
export { ConvBn2d, FoldedBatchNorm2d, LinearAct, type LinearLike } from './fusion.js';
export { RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell, type RNNOptions, type LSTMState, type RNNMode } from './rnn.js';
export {
  MultiheadAttention,
  NonDynamicallyQuantizableLinear,
  type MultiheadAttentionOptions,
  type AttentionCallOptions,
} from './attention.js';
export {
  TransformerEncoderLayer,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerDecoder,
  Transformer,
  type TransformerLayerOptions,
  type TransformerOptions,
  type TransformerCallOptions,
  type DecoderCallOptions,
  type Activation,
} from './transformer.js';
/** torch.nn.functional: `relu`, `softmax`, `conv2d`, `crossEntropy`, `scaledDotProductAttention`, ... */
export * as functional from './functional/index.js';
/** torch.nn.init: in-place initialisers (`kaimingUniform_`, `xavierNormal_`, `zeros_`, ...). */
export * as init from './init.js';
/** torch.nn.utils: gradient clipping (`clipGradNorm_`) and the inference fusion pass (`fuse`). */
export * as utils from './utils/index.js';
export {
  CrossEntropyLoss,
  NLLLoss,
  MSELoss,
  L1Loss,
  SmoothL1Loss,
  HuberLoss,
  BCELoss,
  BCEWithLogitsLoss,
  KLDivLoss,
  DistillationLoss,
} from './losses.js';
/** torch.nn.parallel: `DistributedDataParallel` over nb.distributed. */
export * as parallel from './parallel/index.js';
