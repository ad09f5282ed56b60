// The pure-TypeScript reference backend: every kernel of the seam, primitives and fused kernels,
// correct on any layout. It runs everywhere (browsers too) and is the oracle the other backends are
// tested (and, with BACKEND_VALIDATE=js, shadow-checked) against.

import type { Backend } from '../backend.js';
import { attention, attentionBackward, attentionKv } from './attention.js';
import {
  avgPool2d,
  avgPool2dBackward,
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  maxPool2d,
  maxPool2dBackward,
} from './conv.js';
import { conv2dFused } from './conv_fused.js';
import { binary, unary, where } from './elementwise.js';
import { assign, gather, indexAdd, indexSelect, scatter } from './indexing.js';
import { linear } from './linear.js';
import { matmul } from './matmul.js';
import { batchNorm, batchNormBackward, layerNorm, layerNormBackward } from './norm.js';
import { adamStep, sgdStep } from './optim.js';
import { argReduce, cumulative, reduce, softmax, sort } from './reduce.js';
import { copyContiguous } from './strided.js';
import { addU8, conv2dU8, pool2dU8, quantizeNhwcU8 } from './qconv.js';
import { gemmU8S8, linearBf16, linearInt8Dynamic, linearWeightOnly } from './quant.js';

export const jsBackend: Backend = {
  name: 'js',
  info: { kind: 'pure TypeScript reference backend' },
  unary,
  binary,
  where,
  reduce,
  argReduce,
  cumulative,
  sort,
  softmax,
  copy: copyContiguous,
  assign,
  matmul,
  gather,
  scatter,
  indexSelect,
  indexAdd,
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  maxPool2d,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  linear,
  conv2dFused,
  layerNorm,
  layerNormBackward,
  batchNorm,
  batchNormBackward,
  attention,
  attentionKv,
  attentionBackward,
  sgdStep,
  adamStep,
  linearInt8Dynamic,
  gemmU8S8,
  linearBf16,
  linearWeightOnly,
  conv2dU8,
  quantizeNhwcU8,
  addU8,
  pool2dU8,
};
