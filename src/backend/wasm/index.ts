// The WASM backend: native/src compiled to WebAssembly SIMD128 (scripts/build-wasm.mjs), run through
// NativeBackend, with a worker pool over shared memory where SharedArrayBuffer exists.
export { WasmBackend } from './backend.js';
export { loadWasm, loadWasmSync, type WasmLoad, type WasmLoadOptions } from './load.js';
export { detectFeatures, type WasmFeatures } from './features.js';
