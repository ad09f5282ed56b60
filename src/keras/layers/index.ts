// nb.keras.layers: factories named as in tfjs-layers (dense({units: 64})), and the classes.

import { Dense, type DenseArgs } from './dense.js';
import { Conv1D, Conv2D, type ConvArgs } from './conv.js';
import {
  AveragePooling2D,
  GlobalAveragePooling2D,
  MaxPooling2D,
  type GlobalPooling2DArgs,
  type Pooling2DArgs,
} from './pooling.js';
import { Flatten, Reshape, type ReshapeArgs } from './reshaping.js';
import { Dropout, type DropoutArgs } from './dropout.js';
import {
  BatchNormalization,
  LayerNormalization,
  type BatchNormalizationArgs,
  type LayerNormalizationArgs,
} from './normalization.js';
import { Embedding, type EmbeddingArgs } from './embedding.js';
import { Bidirectional, GRU, LSTM, SimpleRNN, type BidirectionalArgs, type RNNArgs } from './recurrent.js';
import { Activation, type ActivationArgs } from './activation.js';
import { Add, Average, Concatenate, Dot, Multiply, type ConcatenateArgs, type DotArgs } from './merge.js';
import { InputLayer, type InputArgs } from './input.js';
import type { LayerArgs } from '../layer.js';

export const dense = (args: DenseArgs) => new Dense(args);
export const conv1d = (args: ConvArgs) => new Conv1D(args);
export const conv2d = (args: ConvArgs) => new Conv2D(args);
export const maxPooling2d = (args: Pooling2DArgs = {}) => new MaxPooling2D(args);
export const averagePooling2d = (args: Pooling2DArgs = {}) => new AveragePooling2D(args);
export const globalAveragePooling2d = (args: GlobalPooling2DArgs = {}) => new GlobalAveragePooling2D(args);
export const flatten = (args: LayerArgs = {}) => new Flatten(args);
export const reshape = (args: ReshapeArgs) => new Reshape(args);
export const dropout = (args: DropoutArgs) => new Dropout(args);
export const batchNormalization = (args: BatchNormalizationArgs = {}) => new BatchNormalization(args);
export const layerNormalization = (args: LayerNormalizationArgs = {}) => new LayerNormalization(args);
export const embedding = (args: EmbeddingArgs) => new Embedding(args);
export const simpleRNN = (args: RNNArgs) => new SimpleRNN(args);
export const lstm = (args: RNNArgs) => new LSTM(args);
export const gru = (args: RNNArgs) => new GRU(args);
export const bidirectional = (args: BidirectionalArgs) => new Bidirectional(args);
export const activation = (args: ActivationArgs) => new Activation(args);
export const concatenate = (args: ConcatenateArgs = {}) => new Concatenate(args);
export const add = (args: LayerArgs = {}) => new Add(args);
export const multiply = (args: LayerArgs = {}) => new Multiply(args);
export const average = (args: LayerArgs = {}) => new Average(args);
export const dot = (args: DotArgs = {}) => new Dot(args);
export const inputLayer = (args: InputArgs) => new InputLayer(args);

export {
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
  Bidirectional,
  Activation,
  Concatenate,
  Add,
  Multiply,
  Average,
  Dot,
  InputLayer,
};
export type {
  DenseArgs,
  ConvArgs,
  Pooling2DArgs,
  GlobalPooling2DArgs,
  ReshapeArgs,
  DropoutArgs,
  BatchNormalizationArgs,
  LayerNormalizationArgs,
  EmbeddingArgs,
  RNNArgs,
  BidirectionalArgs,
  ActivationArgs,
  ConcatenateArgs,
  DotArgs,
  InputArgs,
};
export type { DataFormat, Padding } from './conv_utils.js';
export type { RNNKind, MergeMode } from './recurrent.js';
