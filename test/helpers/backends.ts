// The backend matrix: the op suite runs once per available backend (js always; native when built).
import { availableBackends, getBackend, setBackend } from '../../src/backend/registry.js';
import '../../src/index.js';

/** Names of the backends this process can run. */
export function backends(): string[] {
  return availableBackends();
}

/** Runs fn with `name` as the active backend, restoring the previous one afterwards. */
export function withBackend<T>(name: string, fn: () => T): T {
  const prev = getBackend().name;
  setBackend(name);
  try { return fn(); } finally { setBackend(prev); }
}
