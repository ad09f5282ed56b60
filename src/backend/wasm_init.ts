// The WASM backend, loaded on demand (never at import): synchronously in Node (initWasm, when the
// default backend is chosen on first use or NABLA_BACKEND=wasm), asynchronously anywhere
// (initWasmAsync, behind nb.ready(); the only way in a browser). Loading configures its threads from
// NABLA_NUM_THREADS (threadpool.c reads it) and BACKEND_VALIDATE=js shadow-runs it on JS, as for native.

import { loadWasm, loadWasmSync, type WasmBackend, type WasmLoadOptions } from './wasm/index.js';

export interface WasmInit {
  /** The WASM backend, or null with `reason`. */
  backend: WasmBackend | null;
  reason?: string;
  /** Set when it runs on one thread for lack of SharedArrayBuffer: the line to print once. */
  note?: string;
}

let cached: WasmInit | undefined;

/** Loads the WASM backend synchronously (Node), once per process; never throws or prints. */
export function initWasm(): WasmInit {
  if (!cached) cached = loadWasmSync();
  return cached;
}

/** Loads it in any environment (a browser fetches the module); the same cache as initWasm. */
export async function initWasmAsync(o: WasmLoadOptions = {}): Promise<WasmInit> {
  if (!cached?.backend) cached = await loadWasm(o);
  return cached;
}

/** The loaded backend, if any, without loading it. */
export function loadedWasm(): WasmInit | undefined {
  return cached;
}
