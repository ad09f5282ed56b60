// The native addon, loaded on demand (never at import), and the default backend choice. Loading
// configures the addon from NABLA_NUM_THREADS and NABLA_HUGE_PAGES, and BACKEND_VALIDATE=js asks the
// registry to shadow-run every native kernel on JS. The default is native when the addon loads,
// else the WASM backend, else JS, with one warning on stderr; NABLA_BACKEND=js|native|wasm forces a choice.

import { loadNativeBackend, type NativeBackend } from './native/index.js';
import { process } from '../platform/node.js';

export interface NativeInit {
  /** The configured native backend, or null with `reason` when the addon could not be loaded. */
  backend: NativeBackend | null;
  reason?: string;
  validate: boolean;
}

let cached: NativeInit | undefined;

function env(): Record<string, string | undefined> {
  return typeof process !== 'undefined' ? (process.env ?? {}) : {};
}

/** Loads and configures the native addon, once per process; never throws or prints. */
export function initNative(): NativeInit {
  if (cached) return cached;
  const e = env();
  const r = loadNativeBackend();
  const validate = e.BACKEND_VALIDATE === 'js';
  if (!r.backend) {
    cached = { backend: null, reason: r.reason, validate };
    return cached;
  }
  const threads = Number(e.NABLA_NUM_THREADS);
  if (Number.isInteger(threads) && threads > 0) r.backend.setNumThreads(threads);
  r.backend.useHugePages(e.NABLA_HUGE_PAGES !== '0');
  cached = { backend: r.backend, validate };
  return cached;
}

/**
 * The backend to use when nothing chose one: NABLA_BACKEND if set, else native when it loads (`native()`
 * registers it and says whether it did; NABLA_BACKEND=js never calls it), else WASM when it loads
 * (`wasm()`, likewise: the native kernels compiled to WebAssembly), else JS, saying why on stderr once.
 * Throws for NABLA_BACKEND=native or wasm when that backend cannot load, or another value.
 */
export function defaultBackendName(
  native: () => boolean,
  wasm: () => { ok: boolean; reason?: string; note?: string } = () => ({ ok: false }),
): 'js' | 'native' | 'wasm' {
  const forced = env().NABLA_BACKEND;
  if (forced === 'js') return 'js';
  if (forced === 'wasm') {
    const w = wasm();
    if (!w.ok) throw new Error(`NABLA_BACKEND=wasm, but the WASM backend could not be loaded: ${w.reason}`);
    if (w.note) console.warn(w.note);
    return 'wasm';
  }
  const nativeOk = native(),
    reason = cached?.reason;
  if (forced === 'native') {
    if (!nativeOk) throw new Error(`NABLA_BACKEND=native, but the native addon could not be loaded: ${reason}`);
    return 'native';
  }
  if (forced !== undefined && forced !== '') {
    throw new Error(`NABLA_BACKEND must be 'js', 'native' or 'wasm', got '${forced}'`);
  }
  if (nativeOk) return 'native';
  const w = wasm();
  if (w.ok) {
    console.warn(`nabla: native backend unavailable (${reason}); using the WASM backend.${w.note ? ` ${w.note}` : ''}`);
    return 'wasm';
  }
  console.warn(
    `nabla: native backend unavailable (${reason}) and WASM backend unavailable (${w.reason}); ` +
      'using the JS backend, which is slower.',
  );
  return 'js';
}
