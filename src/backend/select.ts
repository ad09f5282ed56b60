// Public backend controls: which backend runs (nb.backend(), nb.setBackend) and how many threads.
// The native addon is loaded here, once, and registered when it loads; NABLA_BACKEND=js|native
// forces a choice. If the addon is missing, nabla says so once and runs on JS.

import { availableBackends, backendByName, getBackend, setBackend as setActive } from './registry.js';
import { initNative } from './native_init.js';

const native = initNative();
const forced = typeof process !== 'undefined' ? process.env?.NABLA_BACKEND : undefined;
if (forced === 'js') setActive('js');
else if (forced === 'native') {
  if (!native.ok) throw new Error(`NABLA_BACKEND=native, but the native addon could not be loaded: ${native.reason}`);
  setActive('native');
} else if (native.ok) setActive('native');
else if (forced !== undefined && forced !== '') throw new Error(`NABLA_BACKEND must be 'js' or 'native', got '${forced}'`);

export interface BackendReport {
  name: string;
  available: string[];
  [k: string]: unknown;
}

/** Which backend is in use and, for native, which CPU path (avx512, avx2, scalar) it took. */
export function backend(): BackendReport {
  const b = getBackend();
  return { name: b.name, available: availableBackends(), ...b.info, ...(native.ok ? {} : { nativeUnavailable: native.reason }) };
}

export function setBackend(name: 'js' | 'native' | string): void {
  if (name === 'native' && !backendByName('native')) {
    throw new Error(`setBackend: the native backend is not available: ${native.ok ? 'not registered' : native.reason}`);
  }
  setActive(name);
}

export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setNumThreads: expected a positive integer, got ${n}`);
  native.setNumThreads?.(n);
}

export function getNumThreads(): number {
  return native.getNumThreads?.() ?? 1;
}
