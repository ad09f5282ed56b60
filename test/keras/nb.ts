// What the keras tests use, imported from the core modules and the barrels they need rather than
// through src/index.ts, so these tests do not depend on every other subsystem loading.
export * from '../../src/tensor/creation.js';
export { Generator, manualSeed } from '../../src/tensor/random.js';
export { Tensor } from '../../src/tensor/tensor.js';
export { noGrad } from '../../src/autograd/grad_mode.js';
export * as nn from '../../src/nn/index.js';
export * as optim from '../../src/optim/index.js';
export * as keras from '../../src/keras/index.js';
export { DataLoader, TensorDataset } from '../../src/data/index.js';
export { digits } from '../../src/data/datasets.js';

/** A stream that records what is written, for progress-bar snapshots. */
export class Capture {
  text = '';
  constructor(public isTTY = false) {}
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

/** A clock that advances by `step` seconds on every read. */
export function fakeClock(step = 0.25): () => number {
  let t = 1000;
  return () => {
    const v = t;
    t += step;
    return v;
  };
}
