// The backend matrix: the op suite runs once per available backend (js always; native when built).
// Nothing is registered by importing nabla: backends() asks the registry, which loads the addon then.
import { availableBackends, getBackend, setBackend } from '../../src/backend/registry.js';

/** Names of the backends this process can run (loads the native addon on the first call). */
export function backends(): string[] {
  return availableBackends();
}

/** Runs fn with `name` as the active backend, restoring the previous one afterwards. */
export function withBackend<T>(name: string, fn: () => T): T {
  const prev = getBackend().name;
  setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(prev);
  }
}
