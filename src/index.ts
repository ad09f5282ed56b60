// nabla: a deep-learning framework for TypeScript. `import * as nb from 'nabla'`.
// The stable API. Internals (Storage, Layout, checkpoint byte parsers, the backend registry,
// attention helpers) are in src/internals.ts: `import { Layout, Storage } from 'nabla/internals'`.
// Importing nabla loads nothing and prints nothing: the backend is chosen on first use (native if
// the addon loads, else JS; NABLA_BACKEND=js|native) or by nb.setBackend.

export { version } from './util/version.js';
export { Tensor, type TensorLike } from './tensor/tensor.js';
export type { DType, TypedArray } from './tensor/dtype.js';
export type { Device } from './tensor/device.js';
export { promoteTypes } from './tensor/dtype.js';
export {
  tensor,
  fromTypedArray,
  zeros,
  ones,
  full,
  empty,
  zerosLike,
  onesLike,
  emptyLike,
  fullLike,
  arange,
  linspace,
  eye,
  rand,
  randn,
  randint,
  randperm,
  randLike,
  randnLike,
  type CreateOptions,
  type TensorOptions,
} from './tensor/creation.js';
export { Generator, manualSeed, defaultGenerator, getRngState, setRngState } from './tensor/random.js';
export * from './ops/functional.js';
export { ValuesIndices } from './ops/reduce.js';
export type { MeshgridOptions, IscloseOptions, UniqueOptions } from './ops/composite.js';
export type { MultinomialOptions, BernoulliOptions } from './ops/sampling.js';
export * as linalg from './ops/linalg.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd/grad_mode.js';
export * as autograd from './autograd/index.js';
export { backend, ready, setBackend, setNumThreads, getNumThreads } from './backend/select.js';
export {
  initWebGPU,
  webgpuReport,
  webgpuMemory,
  webgpuSubgroups,
  releaseWebGPU,
  type WebGPUReport,
} from './backend/webgpu/index.js';
export * as io from './io/index.js';
export * as hub from './hub/index.js';
export { pipeline } from './pipelines/index.js';
export { load, save } from './io/index.js';
export * as text from './text/index.js';
export * as vision from './vision/index.js';
export * as plot from './plot/index.js';
export * as explain from './explain/index.js';
export * as tensorboard from './tensorboard/index.js';
export * as audio from './audio/index.js';
export * as models from './models/index.js';
export * as distributed from './distributed/index.js';
export * as nn from './nn/index.js';
export * as quantization from './nn/quantized/index.js';
export * as keras from './keras/index.js';
export * as optim from './optim/index.js';
export * as privacy from './privacy/index.js';
export * as data from './data/index.js';
export * as datasets from './data/datasets.js';
