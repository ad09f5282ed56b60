// Loads the native addon if it was built and registers it as the 'native' backend (each kernel it
// lacks or declines runs on JS). If it cannot load, nabla says so once per process on stderr —
// unless NABLA_BACKEND=js asked for JS anyway — and runs on the JS backend.
// BACKEND_VALIDATE=js shadow-runs every native kernel on JS and throws on a mismatch.

import { loadNativeBackend } from './native/index.js';
import { registerBackend } from './registry.js';

export interface NativeInit {
  ok: boolean;
  reason?: string;
  setNumThreads?: (n: number) => void;
  getNumThreads?: () => number;
}

export function initNative(): NativeInit {
  const env = typeof process !== 'undefined' ? process.env ?? {} : {};
  const r = loadNativeBackend();
  if (!r.backend) {
    if (env.NABLA_BACKEND !== 'js') {
      console.warn(`nabla: native backend unavailable (${r.reason}); using the JS backend, which is slower.`);
    }
    return { ok: false, reason: r.reason };
  }
  const nb = r.backend;
  const threads = Number(env.NABLA_NUM_THREADS);
  if (Number.isInteger(threads) && threads > 0) nb.setNumThreads(threads);
  nb.useHugePages(env.NABLA_HUGE_PAGES !== '0');
  registerBackend(nb, { validate: env.BACKEND_VALIDATE === 'js' });
  return { ok: true, setNumThreads: (n) => nb.setNumThreads(n), getNumThreads: () => nb.getNumThreads() };
}
