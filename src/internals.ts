/**
 * nabla/internals: the pieces under the stable API, for tools, tests, reproducers and new backends.
 * `import { Layout, Storage, ZipReader } from 'nabla/internals'`. Nothing here is stable: names and
 * signatures follow the implementation. The stable API is the main entry, 'nabla'.
 * @module nabla/internals
 */

// A tensor's memory and the view over it: new Tensor(storage, layout, dtype).
export { Storage, contiguousValues } from './tensor/tensor.js';
export { Layout, contiguousStrides, offsets, broadcastShapes, type Shape } from './tensor/layout.js';

// The backend seam: kernel interfaces, op codes, the registry that composes and selects backends.
export type {
  Backend,
  PartialBackend,
  OrDecline,
  Kernels,
  Conv2dParams,
  Pool2dParams,
  AdamParams,
  SgdParams,
} from './backend/backend.js';
export { UnaryOp, BinaryOp, ReduceOp } from './backend/op_codes.js';
export {
  getBackend,
  registerBackend,
  availableBackends,
  backendByName,
  composeBackend,
  KERNEL_NAMES,
} from './backend/registry.js';

// Checkpoint bytes: raw records, parsers, the restricted unpickler, zip, writers.
export * from './io/internals.js';

// Attention as the language models run it: the causal bias and the fused-or-composed kernel.
export { attentionBias, causalAttention } from './models/attention.js';

// The slice of the WebGPU API the WebGPU backend uses (navigator.gpu or the `webgpu` package).
export type * from './backend/webgpu/gpu_types.js';
