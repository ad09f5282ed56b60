// Public backend controls: which backend runs (nb.backend(), nb.setBackend) and how many threads.
// Importing nabla loads nothing: the default backend (native if the addon loads, else JS with one
// warning; NABLA_BACKEND=js|native forces it) is chosen on first use, or by an explicit setBackend.

import { availableBackends, backendByName, deviceBackend, getBackend, setBackend as setActive } from './registry.js';
import { setDefaultDevice } from '../tensor/device.js';
import { initNative } from './native_init.js';

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
  return { name: b.name, available: availableBackends(), ...b.info, ...unavailable };
}

/** Makes 'js' or 'native' the backend every op runs on; 'js' never loads the addon. */
export function setBackend(name: 'js' | 'native' | 'webgpu' | string): void {
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
  setActive(name);
}

/** Threads the native kernels use (loads the addon if it was not loaded yet; JS is single-threaded). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setNumThreads: expected a positive integer, got ${n}`);
  initNative().backend?.setNumThreads(n);
}

export function getNumThreads(): number {
  return initNative().backend?.getNumThreads() ?? 1;
}
