// nb.nn.functional: the torch.nn.functional equivalents. Append-only barrel: each family adds its
// own export line (layers' ops, activations, losses).

export {
  conv1d,
  conv2d,
  convTranspose2d,
  maxPool1d,
  maxPool2d,
  avgPool2d,
  adaptiveAvgPool2d,
  interpolate,
  type Pair,
  type ConvPadding,
  type InterpolateMode,
  type InterpolateOptions,
} from '../../ops/conv.js';
export {
  linear,
  bilinear,
  layerNorm,
  rmsNorm,
  groupNorm,
  batchNorm,
  dropout,
  embedding,
  scaledDotProductAttention,
  causalMask,
  type BatchNormOptions,
  type SdpaOptions,
} from '../../ops/nn_ops.js';
export { relu, gelu, silu, sigmoid, tanh, leakyRelu, elu, softplus, hardswish, mish } from '../../ops/unary.js';
export { softmax, logSoftmax } from '../../ops/reduce.js';
export { pad, oneHot, type PadMode } from '../../ops/indexing.js';
export {
  crossEntropy,
  nllLoss,
  mseLoss,
  l1Loss,
  smoothL1Loss,
  huberLoss,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  klDiv,
  distillationLoss,
  type Reduction,
  type ReductionOptions,
  type NLLLossOptions,
  type CrossEntropyOptions,
  type BCEWithLogitsOptions,
  type KLDivOptions,
  type DistillationOptions,
} from './losses.js';
