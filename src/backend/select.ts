// Public backend controls: which backend runs (nb.backend(), nb.setBackend, nb.ready()) and how many
// threads. Importing nabla loads nothing: the default backend (native if the addon loads, else WASM,
// else JS, with one warning; NABLA_BACKEND=js|native|wasm forces it) is chosen on first use, or by an
// explicit setBackend. In a browser the WASM module loads asynchronously: `await nb.ready()` first.

import { availableBackends, backendByName, deviceBackend, getBackend, setBackend as setActive } from './registry.js';
import { setDefaultDevice } from '../tensor/device.js';
import { initNative } from './native_init.js';
import { process } from '../platform/node.js';
import { initWasm, initWasmAsync, loadedWasm } from './wasm_init.js';

export interface BackendReport {
  name: string;
  available: string[];
  [k: string]: unknown;
}

/** Which backend is in use (the default one, chosen now, if none was set) and, for native, its CPU path. */
export function backend(): BackendReport {
  const b = getBackend();
  const n = initNative();
  const unavailable = n.backend ? {} : { nativeUnavailable: n.reason };
  // the WASM backend's resident storage (bytes and arrays in linear memory, spills to the JS heap)
  const heap = b.name === 'wasm' ? loadedWasm()?.backend?.heapStats() : null;
  return {
    name: b.name,
    available: availableBackends(),
    ...b.info,
    ...unavailable,
    ...(heap ? { wasmHeap: heap } : {}),
  };
}

/**
 * Makes 'js', 'native' or 'wasm' the backend every op runs on ('js' never loads the addon; 'wasm' loads
 * synchronously in Node, in a browser call `await nb.ready()` first), or 'webgpu' the default device.
 */
export function setBackend(name: 'js' | 'native' | 'wasm' | 'webgpu' | string): void {
  // NOTE: 'webgpu' is a device, not a CPU backend: new tensors go there (as torch.set_default_device),
  // and tensors already on the CPU keep running on the CPU backend.
  if (name === 'webgpu') {
    if (!deviceBackend('webgpu'))
      throw new Error('setBackend: the webgpu backend is not initialised: await nb.initWebGPU() first');
    setDefaultDevice('webgpu');
    return;
  }
  setDefaultDevice('cpu');
  if (name === 'native' && !backendByName('native')) {
    throw new Error(`setBackend: the native backend is not available: ${initNative().reason ?? 'not registered'}`);
  }
  if (name === 'wasm' && !backendByName('wasm')) {
    throw new Error(`setBackend: the WASM backend is not available: ${initWasm().reason ?? 'not registered'}`);
  }
  setActive(name);
}

/**
 * Loads what the default backend needs, asynchronously, and reports the backend: in a browser this
 * fetches and starts the WASM module (and its worker pool, where SharedArrayBuffer exists); in Node
 * it does what the first op would. Call it before the first op in a browser.
 * @example const b = await nb.ready(); // { name: 'wasm', wasmThreads: true, threads: 8, ... }
 * @param o.wasmBaseUrl where nabla.wasm and nabla-st.wasm are served (a URL ending in '/'); default: the
 *   package's native/wasm/ beside this module
 */
export async function ready(o: { wasmBaseUrl?: string | URL } = {}): Promise<BackendReport> {
  const forced = process.env.NABLA_BACKEND;
  if (forced !== 'js' && (forced === 'wasm' || !initNative().backend)) await initWasmAsync({ baseUrl: o.wasmBaseUrl });
  return backend();
}

/** Threads the native (or WASM) kernels use (loads the addon if it was not loaded yet; JS is single-threaded). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setNumThreads: expected a positive integer, got ${n}`);
  initNative().backend?.setNumThreads(n);
  loadedWasm()?.backend?.setNumThreads(n);
}

export function getNumThreads(): number {
  const w = loadedWasm()?.backend;
  if (w && getBackend() === backendByName('wasm')) return w.getNumThreads();
  return initNative().backend?.getNumThreads() ?? 1;
}
