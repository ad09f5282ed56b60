// Chooses the backend. An accelerated backend (PartialBackend) is composed with the JS backend
// kernel by kernel, the same way for every kernel of the seam: each kernel it lacks, or declines for
// a call (returns undefined), runs on JS. BACKEND_VALIDATE=js shadow-runs every call it does handle
// on JS and throws on a mismatch in any output: every field of a multi-output kernel, and for an
// in-place kernel every buffer it writes (JS runs on copies taken before the call).
// Nothing happens at import: the native addon is loaded the first time anything asks which backends
// exist or runs a kernel, and the default backend (native_init.ts) is chosen on that first use.

import { IN_PLACE_KERNELS, type Backend, type DeviceBackend, type Kernels, type PartialBackend } from './backend.js';
import { jsBackend } from './js/index.js';
import { defaultBackendName, initNative } from './native_init.js';
import { initWasm } from './wasm_init.js';
import { setFloat32Allocator, type DType, type TypedArray } from '../tensor/dtype.js';
import { Layout } from '../tensor/layout.js';
import { isDeviceBuffer } from '../tensor/device.js';

let active: Backend | null = null;
let nativeTried = false;
const available = new Map<string, Backend>([['js', jsBackend]]);
/** Registers the native backend, if the addon loads, the first time it is needed. */
function ensureNative(): void {
  if (nativeTried) return;
  nativeTried = true;
  const n = initNative();
  if (n.backend) registerBackend(n.backend, { validate: n.validate });
}

/** Registers the WASM backend, if it loads (synchronously: Node), the first time it is needed. */
function ensureWasm(): { ok: boolean; reason?: string; note?: string } {
  const w = initWasm();
  if (w.backend && !available.has('wasm')) registerBackend(w.backend, { validate: initNative().validate });
  return { ok: !!w.backend, reason: w.reason, note: w.note };
}

function chooseDefault(): Backend {
  const b = available.get(
    defaultBackendName(() => {
      ensureNative();
      return available.has('native');
    }, ensureWasm),
  )!;
  activate(b);
  return b;
}

/** Makes b active; float32 storage then comes from its allocator, if it has one (WASM: linear memory). */
function activate(b: Backend): void {
  active = b;
  setFloat32Allocator(b.allocateF32);
}

/** The backend every op dispatches to (the default one, chosen now, if none was set). */
export function getBackend(): Backend {
  return active ?? chooseDefault();
}

/** Makes a registered backend the active one ('js', 'native', ...). */
export function setBackend(name: string): void {
  if (!available.has(name)) ensureNative();
  if (name === 'wasm' && !available.has(name)) ensureWasm();
  const b = available.get(name);
  if (!b) throw new Error(`setBackend: unknown backend '${name}' (available: ${[...available.keys()].join(', ')})`);
  activate(b);
}

export function availableBackends(): string[] {
  ensureNative();
  ensureWasm();
  return [...available.keys()];
}

export function backendByName(name: string): Backend | undefined {
  if (!available.has(name)) ensureNative();
  if (name === 'wasm' && !available.has(name)) ensureWasm();
  return available.get(name);
}

/** Every kernel name of the seam (the JS backend implements them all). */
export const KERNEL_NAMES: readonly (keyof Kernels)[] = Object.keys(jsBackend).filter(
  (k) => typeof (jsBackend as unknown as Record<string, unknown>)[k] === 'function' && k !== 'nextStamp',
) as (keyof Kernels)[];

type AnyFn = (...a: unknown[]) => unknown;

/**
 * A full backend from a partial one: its kernels where it has them and accepts the call, JS
 * everywhere else. With validate, every accepted call is shadow-run on JS and compared.
 */
export function composeBackend(partial: PartialBackend, opts: { validate?: boolean } = {}): Backend {
  const composed: Record<string, unknown> = { name: partial.name, info: partial.info };
  if (typeof partial.nextStamp === 'function') composed.nextStamp = partial.nextStamp.bind(partial);
  if (typeof partial.allocateF32 === 'function') composed.allocateF32 = partial.allocateF32.bind(partial);
  for (const key of KERNEL_NAMES) {
    const js = jsBackend[key] as AnyFn;
    const fast = (partial as Record<string, unknown>)[key] as AnyFn | undefined;
    if (typeof fast !== 'function') {
      composed[key] = js;
      continue;
    }
    const written = IN_PLACE_KERNELS[key];
    if (!opts.validate) {
      composed[key] = (...args: unknown[]) => {
        const r = fast.apply(partial, args);
        return r !== undefined ? r : js(...args);
      };
    } else if (!written) {
      composed[key] = (...args: unknown[]) => {
        const r = fast.apply(partial, args);
        if (r === undefined) return js(...args);
        compareOutputs(key, r, js(...args));
        return r;
      };
    } else {
      composed[key] = (...args: unknown[]) => {
        // JS runs afterwards on copies of the written buffers as they were before the call
        const before = args.map((a, i) =>
          written.includes(i) && ArrayBuffer.isView(a) ? (a as TypedArray).slice() : a,
        );
        const r = fast.apply(partial, args);
        if (r === undefined) return js(...args);
        for (let i = 0; i < args.length; i++) {
          // an input that is also a written buffer (same array) is read as it was before the call
          if (!written.includes(i) && args[i] !== null && written.some((w) => args[w] === args[i])) {
            before[i] = before[written.find((w) => args[w] === args[i])!];
          }
        }
        js(...before);
        for (const i of written) {
          const what = `${key} (argument ${i}, written in place)`;
          if (args[i] !== null) compareArrays(what, args[i] as TypedArray, before[i] as TypedArray);
        }
        return r;
      };
    }
  }
  return composed as unknown as Backend;
}

/** Registers an accelerated backend, filling its gaps with JS kernels. Returns the composed backend. */
export function registerBackend(partial: PartialBackend, opts: { validate?: boolean } = {}): Backend {
  const b = composeBackend(partial, opts);
  available.set(partial.name, b);
  return b;
}

/** Compares a kernel's result with JS's: one array, or every array field of a result object. */
function compareOutputs(kernel: string, got: unknown, want: unknown): void {
  if (ArrayBuffer.isView(got)) {
    compareArrays(kernel, got as TypedArray, want as TypedArray);
    return;
  }
  const g = got as Record<string, TypedArray | null>,
    w = want as Record<string, TypedArray | null>;
  for (const k of Object.keys(w)) {
    // an output the call asked not to compute (maxPool2d's indices without withIndices, dw without needW)
    // is null on one side
    if (g[k] === null || w[k] === null || g[k] === undefined) continue;
    compareArrays(`${kernel} (${k})`, g[k]!, w[k]!);
  }
}

function compareArrays(what: string, a: TypedArray, b: TypedArray): void {
  if (a.length !== b.length) throw new Error(`BACKEND_VALIDATE: ${what} returned ${a.length} elements, js ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i],
      y = b[i];
    if (x === y || (x !== x && y !== y)) continue;
    if (!(Math.abs(x - y) <= 1e-4 * Math.max(1, Math.abs(y)))) {
      throw new Error(`BACKEND_VALIDATE: ${what} differs from js at element ${i}: ${x} vs ${y}`);
    }
  }
}

const devices = new Map<string, Backend & DeviceBackend>();

/**
 * The fused kernels (backend.ts): an op calls them on a device only where it composes primitives when
 * the device lacks or declines one, so on a device they answer undefined instead of refusing.
 */
const FUSED_ON_DEVICE = new Set<string>(['attention', 'attentionBackward', 'attentionKv']);

/**
 * Registers an accelerator's backend (WebGPU): every kernel of the seam, its own where it has one and
 * accepts the call, else an error that names the kernel and says how to get the tensors to the CPU
 * (a fused kernel answers undefined instead: see FUSED_ON_DEVICE). An out-of-memory error gets the
 * kernel's name and its operands' shapes.
 */
export function registerDevice(dev: DeviceBackend): Backend & DeviceBackend {
  const composed: Record<string, unknown> = { name: dev.name, info: dev.info, device: dev.device };
  for (const key of ['upload', 'zeros', 'download'] as const) composed[key] = dev[key].bind(dev);
  for (const key of KERNEL_NAMES) {
    const fast = (dev as unknown as Record<string, unknown>)[key] as AnyFn | undefined;
    const optional = FUSED_ON_DEVICE.has(key);
    const refuse = (why: string): never => {
      throw new Error(
        `${dev.device}: the ${key} kernel ${why} on ${dev.device}; ` +
          'move the tensors to the CPU first (await t.toAsync("cpu"))',
      );
    };
    if (typeof fast !== 'function') {
      composed[key] = optional ? () => undefined : () => refuse('is not implemented');
      continue;
    }
    composed[key] = (...args: unknown[]) => {
      let r: unknown;
      try {
        r = fast.apply(dev, args);
      } catch (e) {
        throw withOperands(e, key, args);
      }
      return r !== undefined || optional ? r : refuse(`does not handle this call (${describeCall(args)})`);
    };
  }
  const b = composed as unknown as Backend & DeviceBackend;
  devices.set(dev.device, b);
  return b;
}

/** The dtypes and shapes of a kernel call, for its refusal: which dtype or layout it lacks. */
function describeCall(args: unknown[]): string {
  const dtypes: string[] = [],
    shapes: string[] = [];
  for (const a of args) {
    if (isDeviceBuffer(a)) dtypes.push(a.dtype);
    else if (typeof a === 'string' && DTYPES.has(a)) dtypes.push(`-> ${a}`);
    else if (a instanceof Layout) shapes.push(`[${a.shape.join(', ')}]`);
  }
  const f64 = dtypes.some((d) => d.includes('float64')) ? '; the GPU has no float64: use float32' : '';
  return `dtypes ${dtypes.join(' ') || 'none'}, shapes ${shapes.join(', ') || 'none'}${f64}`;
}

const DTYPES = new Set<string>(['float32', 'float64', 'int32', 'bool'] satisfies DType[]);

/** An out-of-memory error of a device kernel, with the kernel and the shapes of its operands (their layouts). */
function withOperands(e: unknown, kernel: string, args: unknown[]): unknown {
  if (!(e instanceof Error) || !e.message.includes('out of memory')) return e;
  const shapes = args.filter((a): a is Layout => a instanceof Layout).map((l) => `[${l.shape.join(', ')}]`);
  return new Error(`${e.message} (in the ${kernel} kernel, operands of shape ${shapes.join(', ') || 'none'})`);
}

/** The registered backend of an accelerator, or undefined (not initialised). */
export function deviceBackend(device: string): (Backend & DeviceBackend) | undefined {
  return devices.get(device);
}
