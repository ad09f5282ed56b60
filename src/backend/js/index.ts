// The pure-TypeScript reference backend: every kernel of the seam, correct on any layout. It runs
// everywhere (browsers too) and is the oracle the other backends are tested against.

import type { Backend } from '../backend.js';
import { avgPool2d, avgPool2dBackward, conv2d, conv2dBackwardInput, conv2dBackwardWeight, maxPool2d, maxPool2dBackward } from './conv.js';
import { binary, unary, where } from './elementwise.js';
import { assign, gather, indexAdd, indexSelect, scatter } from './indexing.js';
import { matmul } from './matmul.js';
import { argReduce, cumulative, reduce, softmax, sort } from './reduce.js';
import { copyContiguous } from './strided.js';

export const jsBackend: Backend = {
  name: 'js',
  info: { kind: 'pure TypeScript reference backend' },
  unary, binary, where, reduce, argReduce, cumulative, sort, softmax,
  copy: copyContiguous,
  assign, matmul, gather, scatter, indexSelect, indexAdd,
  conv2d, conv2dBackwardInput, conv2dBackwardWeight, maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward,
};
