// The core pieces the optim/data/loss tests use, imported directly rather than through the
// src/index.ts barrel, so these tests do not depend on every other subsystem loading.
export * from '../../src/tensor/creation.js';
export { Generator, manualSeed } from '../../src/tensor/random.js';
export { Tensor } from '../../src/tensor/tensor.js';
