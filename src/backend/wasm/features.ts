// What this JavaScript engine offers the WASM backend: WebAssembly itself, its SIMD128 proposal (the
// kernels are compiled with it: no fallback module), and shared memory for the worker pool
// (SharedArrayBuffer, which browsers give only to cross-origin isolated pages).

export interface WasmFeatures {
  wasm: boolean;
  simd: boolean;
  /** SharedArrayBuffer and shared WebAssembly.Memory: the threaded module can run. */
  sharedMemory: boolean;
}

// (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt): validates only with SIMD128.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export function detectFeatures(): WasmFeatures {
  const wasm = typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function';
  let simd = false,
    sharedMemory = false;
  if (wasm) {
    try {
      simd = WebAssembly.validate(SIMD_PROBE);
    } catch {
      simd = false;
    }
    const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown };
    // NOTE: a browser page that is not cross-origin isolated may still expose the constructor
    if (typeof g.SharedArrayBuffer === 'function' && g.crossOriginIsolated !== false) {
      try {
        sharedMemory =
          new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof
          (g.SharedArrayBuffer as typeof SharedArrayBuffer);
      } catch {
        sharedMemory = false;
      }
    }
  }
  return { wasm, simd, sharedMemory };
}
