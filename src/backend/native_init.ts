// Loads the native addon if it was built. Until the native backend lands, nabla runs on JS.
// The warning is printed once per process, and never when NABLA_BACKEND=js asked for JS anyway.

export interface NativeInit {
  ok: boolean;
  reason?: string;
  setNumThreads?: (n: number) => void;
  getNumThreads?: () => number;
}

export function initNative(): NativeInit {
  return { ok: false, reason: 'the native backend is not wired in yet' };
}
