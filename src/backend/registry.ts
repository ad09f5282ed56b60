// Chooses the backend. An accelerated backend (PartialBackend) is composed with the JS backend
// kernel by kernel: each kernel it lacks, or declines for a call, runs on JS.
// BACKEND_VALIDATE=js shadow-runs every accelerated kernel on JS and throws on a mismatch.
// Nothing happens at import: the native addon is loaded the first time anything asks which backends
// exist or runs a kernel, and the default backend (native_init.ts) is chosen on that first use.

import type { Backend, FusedKernels, Kernels, PartialBackend } from './backend.js';
import { jsBackend } from './js/index.js';
import { defaultBackendName, initNative } from './native_init.js';
import type { TypedArray } from '../tensor/dtype.js';

let active: Backend | null = null;
let nativeTried = false;
const available = new Map<string, Backend>([['js', jsBackend]]);
const fusedOf = new Map<string, FusedKernels>();
const FUSED_NAMES: (keyof FusedKernels)[] = ['layerNorm', 'layerNormBackward', 'attention', 'attentionBackward', 'conv2dFused', 'batchNorm', 'batchNormBackward', 'sgdStep', 'adamStep', 'linear', 'attentionKv', 'nextStamp'];

/** Registers the native backend, if the addon loads, the first time it is needed. */
function ensureNative(): void {
  if (nativeTried) return;
  nativeTried = true;
  const n = initNative();
  if (n.backend) registerBackend(n.backend, { validate: n.validate });
}

function chooseDefault(): Backend {
  const b = available.get(defaultBackendName(() => { ensureNative(); return available.has('native'); }))!;
  active = b;
  return b;
}

/** The active backend's optional fused kernels (none for JS). */
export function fused(): FusedKernels {
  return fusedOf.get(getBackend().name) ?? {};
}

/** The backend every op dispatches to (the default one, chosen now, if none was set). */
export function getBackend(): Backend {
  return active ?? chooseDefault();
}

/** Makes a registered backend the active one ('js', 'native', ...). */
export function setBackend(name: string): void {
  if (!available.has(name)) ensureNative();
  const b = available.get(name);
  if (!b) throw new Error(`setBackend: unknown backend '${name}' (available: ${[...available.keys()].join(', ')})`);
  active = b;
}

export function availableBackends(): string[] {
  ensureNative();
  return [...available.keys()];
}

export function backendByName(name: string): Backend | undefined {
  if (!available.has(name)) ensureNative();
  return available.get(name);
}

/** Registers an accelerated backend, filling its gaps with JS kernels. Returns the composed backend. */
export function registerBackend(partial: PartialBackend, opts: { validate?: boolean } = {}): Backend {
  const composed: Record<string, unknown> = { name: partial.name, info: partial.info };
  for (const key of Object.keys(jsBackend) as (keyof Backend)[]) {
    if (key === 'name' || key === 'info') continue;
    const js = jsBackend[key] as (...a: unknown[]) => unknown;
    const fast = (partial as Record<string, unknown>)[key] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof fast !== 'function') { composed[key] = js; continue; }
    const inPlace = key === 'assign' || key === 'scatter' || key === 'indexAdd';
    composed[key] = (...args: unknown[]) => {
      const r = fast.apply(partial, args);
      if (inPlace ? r === true : r !== undefined) {
        if (opts.validate && !inPlace) shadowCheck(key, r, js(...args));
        return inPlace ? undefined : r;
      }
      return js(...args);
    };
  }
  const b = composed as unknown as Backend;
  available.set(partial.name, b);
  const f: Record<string, unknown> = {};
  for (const k of FUSED_NAMES) {
    const fn = (partial as Record<string, unknown>)[k];
    if (typeof fn === 'function') f[k] = fn.bind(partial);
  }
  fusedOf.set(partial.name, f as FusedKernels);
  return b;
}

function shadowCheck(kernel: keyof Kernels, got: unknown, want: unknown): void {
  const pairs: [TypedArray, TypedArray][] = [];
  if (ArrayBuffer.isView(got)) pairs.push([got as TypedArray, want as TypedArray]);
  else {
    const g = got as Record<string, TypedArray>, w = want as Record<string, TypedArray>;
    // an output the call asked not to compute (maxPool2d's indices without withIndices) is null on one side
    for (const k of Object.keys(w)) if (g[k] !== null && w[k] !== null) pairs.push([g[k], w[k]]);
  }
  for (const [a, b] of pairs) {
    if (a.length !== b.length) throw new Error(`BACKEND_VALIDATE: ${kernel} returned ${a.length} elements, js ${b.length}`);
    for (let i = 0; i < a.length; i++) {
      const x = a[i], y = b[i];
      if (x === y || (x !== x && y !== y)) continue;
      if (Math.abs(x - y) > 1e-4 * Math.max(1, Math.abs(y))) {
        throw new Error(`BACKEND_VALIDATE: ${kernel} differs from js at element ${i}: ${x} vs ${y}`);
      }
    }
  }
}
