// What the nn tests use, imported from the core modules and the nn barrel rather than through
// src/index.ts, so these tests do not depend on every other subsystem loading.
export * from '../../src/tensor/creation.js';
export { Generator, manualSeed } from '../../src/tensor/random.js';
export { Tensor } from '../../src/tensor/tensor.js';
export type { DType } from '../../src/tensor/dtype.js';
export { noGrad } from '../../src/autograd/grad_mode.js';
export * as autograd from '../../src/autograd/index.js';
export * as nn from '../../src/nn/index.js';
