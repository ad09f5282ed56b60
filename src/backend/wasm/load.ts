// Loads the WASM backend: native/wasm/nabla.wasm (SIMD128 + a worker pool over shared memory) where
// SharedArrayBuffer exists, else nabla-st.wasm (one thread). Node reads the file synchronously, so
// the default backend can still be chosen on first use; browsers fetch it (loadWasm, behind
// nb.ready()). Node built-ins come from process.getBuiltinModule, never an import, so a browser
// bundle of this file has no node:* in it. Never throws: failures come back as a reason.

import { detectFeatures, type WasmFeatures } from './features.js';
import { wasmAddon, type WasmExports } from './marshal.js';
import { WasmBackend } from './backend.js';
import { DEFAULT_RESIDENT_BYTES, WasmHeap } from './heap.js';

export interface WasmLoad {
  backend: WasmBackend | null;
  /** Why there is no backend. */
  reason?: string;
  /** One line for the user when the backend runs on one thread for lack of SharedArrayBuffer. */
  note?: string;
}

export interface WasmLoadOptions {
  /** Where nabla.wasm and nabla-st.wasm are (a directory URL ending in '/'); default: native/wasm/ of the package. */
  baseUrl?: string | URL;
  /** What the engine offers (tests simulate engines without SIMD or SharedArrayBuffer). */
  features?: WasmFeatures;
  /**
   * Cap on the bytes of tensor storage kept in linear memory (threaded module only); default
   * NABLA_WASM_RESIDENT_MB or 1 GiB; 0 copies every array per call instead.
   */
  residentBytes?: number;
}

/** 4 MiB, as scripts/build-wasm.mjs links with (--initial-memory). */
const WASM_INITIAL_PAGES = 64;
const WASM_MAX_PAGES = 65536;

type Env = Record<string, string | undefined>;
interface NodeProcess {
  env?: Env;
  versions?: { node?: string };
  getBuiltinModule?(name: string): unknown;
}
const proc = (globalThis as { process?: NodeProcess }).process;
const isNode = !!proc?.versions?.node;

function builtin<T>(name: string): T | undefined {
  return proc?.getBuiltinModule?.(name) as T | undefined;
}

function baseUrl(o: WasmLoadOptions): URL {
  if (o.baseUrl) return new URL(o.baseUrl);
  const env = proc?.env?.NABLA_WASM_DIR;
  if (env) return new URL(`file://${env.endsWith('/') ? env : `${env}/`}`);
  // dist/src/backend/wasm/load.js -> the package root
  return new URL('../../../../native/wasm/', import.meta.url);
}

function unsupported(f: WasmFeatures): string | undefined {
  if (!f.wasm) return 'this JavaScript engine has no WebAssembly';
  if (!f.simd) return 'this JavaScript engine lacks WebAssembly SIMD128, which the WASM kernels are compiled for';
  return undefined;
}

const ONE_THREAD_NOTE =
  'nabla: SharedArrayBuffer is unavailable (a browser page must be cross-origin isolated: COOP same-origin, ' +
  'COEP require-corp), so the WASM backend runs on one thread (nabla-st.wasm).';

function hardwareThreads(): number {
  const os = builtin<{ availableParallelism?(): number; cpus(): unknown[] }>('node:os');
  if (os) return os.availableParallelism?.() ?? os.cpus().length;
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return nav?.hardwareConcurrency ?? 1;
}

/**
 * Milliseconds on one clock in the page and every worker (each has its own performance.now() origin):
 * the pool times when its workers join a job (native/src/core/threadpool.c, late workers).
 */
const wallClockMs = (): number => performance.timeOrigin + performance.now();

/** Starts a pool worker for native/src/wasm/threads.c's pthread_create; 0 on success. */
function spawner(module: WebAssembly.Module, memory: WebAssembly.Memory, ready: Promise<void>[]) {
  const url = new URL('./worker.js', import.meta.url);
  return (fn: number, arg: number, stackTop: number, tls: number): number => {
    try {
      const msg = { module, memory, fn, arg, stackTop, tls };
      const wt = builtin<{ Worker: new (u: URL) => NodeWorkerLike }>('node:worker_threads');
      if (wt) {
        const w = new wt.Worker(url);
        // NOTE: a pool worker waits forever between jobs; it must not keep the process alive
        w.unref();
        // NOTE: a worker that fails to start takes no tasks: the caller runs them, so its error is not fatal
        w.on('error', () => {});
        ready.push(new Promise((res) => w.once('message', () => res())));
        w.postMessage(msg);
        return 0;
      }
      const W = (globalThis as { Worker?: new (u: URL, o: { type: string }) => WebWorkerLike }).Worker;
      if (!W) return -1;
      const w = new W(url, { type: 'module' });
      w.addEventListener('error', () => {});
      ready.push(new Promise((res) => w.addEventListener('message', () => res(), { once: true })));
      w.postMessage(msg);
      return 0;
    } catch {
      return -1;
    }
  };
}
interface NodeWorkerLike {
  unref(): void;
  on(ev: string, f: () => void): void;
  once(ev: string, f: () => void): void;
  postMessage(m: unknown): void;
}
interface WebWorkerLike {
  addEventListener(ev: string, f: () => void, o?: { once: boolean }): void;
  postMessage(m: unknown): void;
}

/** Instantiates a compiled module; throws with the reason. */
function start(
  module: WebAssembly.Module,
  threaded: boolean,
  file: string,
  workersReady: Promise<void>[],
  o: WasmLoadOptions,
): WasmBackend {
  const memory = new WebAssembly.Memory({ initial: WASM_INITIAL_PAGES, maximum: WASM_MAX_PAGES, shared: threaded });
  const env: WebAssembly.ModuleImports = { memory };
  if (threaded) {
    env.nbw_spawn = spawner(module, memory, workersReady);
    env.nbw_now = wallClockMs;
  }
  const instance = new WebAssembly.Instance(module, { env });
  const e = instance.exports as unknown as WasmExports;
  if (e.nbw_main_init(threaded ? hardwareThreads() : 1) !== 0) throw new Error('out of memory at start');
  // the NABLA_* settings the C reads with getenv
  const vars = ['NABLA_NUM_THREADS', 'NABLA_WINOGRAD', 'NABLA_WINOGRAD_CACHE_MB'];
  const lines = vars.flatMap((v) => (proc?.env?.[v] ? [`${v}=${proc.env[v]}\n`] : [])).join('');
  const bytes = new TextEncoder().encode(lines.slice(0, 1000));
  new Uint8Array(memory.buffer).set([...bytes, 0], e.nbw_setenv());
  if (e.nbw_init() !== 0) throw new Error('its kernel table did not register (kernels.def)');
  // NOTE: a memory that is not shared detaches every view of it when it grows: no resident storage
  const heap = threaded ? new WasmHeap(e, memory, residentBudget(o)) : undefined;
  const addon = wasmAddon(e, memory, heap);
  if (!threaded) addon.setNumThreads(1);
  return new WasmBackend(addon, { file, threaded, startPool: e.nbw_start_pool?.bind(e), heap });
}

function residentBudget(o: WasmLoadOptions): number {
  if (o.residentBytes !== undefined) return Math.max(0, o.residentBytes);
  const mb = Number(proc?.env?.NABLA_WASM_RESIDENT_MB);
  return proc?.env?.NABLA_WASM_RESIDENT_MB && Number.isFinite(mb) && mb >= 0 ? mb * 2 ** 20 : DEFAULT_RESIDENT_BYTES;
}

function fail(reason: string): WasmLoad {
  return { backend: null, reason };
}

/**
 * Loads the WASM backend synchronously (Node only: it reads the file from disk). In a browser, use
 * loadWasm (nb.ready()).
 */
export function loadWasmSync(o: WasmLoadOptions = {}): WasmLoad {
  const f = o.features ?? detectFeatures();
  const no = unsupported(f);
  if (no) return fail(no);
  const fs = builtin<{ readFileSync(u: URL): Uint8Array<ArrayBuffer> }>('node:fs');
  if (!fs) {
    return fail(
      isNode
        ? 'this Node has no process.getBuiltinModule (Node >= 20.16 loads the WASM backend on first use)'
        : 'in a browser the WASM backend loads asynchronously: await nb.ready() first',
    );
  }
  const file = f.sharedMemory ? 'nabla.wasm' : 'nabla-st.wasm';
  const url = new URL(file, baseUrl(o));
  try {
    const module = new WebAssembly.Module(fs.readFileSync(url));
    const backend = start(module, f.sharedMemory, url.href, [], o);
    return { backend, note: f.sharedMemory ? undefined : ONE_THREAD_NOTE };
  } catch (e) {
    return fail(`loading ${url.href} failed: ${String((e as Error).message).split('\n')[0]}`);
  }
}

/**
 * Loads the WASM backend in any environment: Node reads the file, a browser fetches it
 * (WebAssembly.compileStreaming; the server must send application/wasm). With threads, resolves once
 * the pool's workers have started.
 */
export async function loadWasm(o: WasmLoadOptions = {}): Promise<WasmLoad> {
  const f = o.features ?? detectFeatures();
  const no = unsupported(f);
  if (no) return fail(no);
  if (builtin('node:fs')) return loadWasmSync({ ...o, features: f });
  const file = f.sharedMemory ? 'nabla.wasm' : 'nabla-st.wasm';
  const url = new URL(file, baseUrl(o));
  try {
    const res = await fetch(url);
    if (!res.ok) return fail(`fetching ${url.href} answered ${res.status} ${res.statusText}`);
    const module =
      typeof WebAssembly.compileStreaming === 'function' &&
      (res.headers.get('content-type') ?? '').startsWith('application/wasm')
        ? await WebAssembly.compileStreaming(res)
        : await WebAssembly.compile(await res.arrayBuffer());
    const ready: Promise<void>[] = [];
    const backend = start(module, f.sharedMemory, url.href, ready, o);
    backend.startPool();
    // NOTE: a worker that never starts must not hang the page: the pool runs without it
    await Promise.race([Promise.all(ready), new Promise((r) => setTimeout(r, 10000))]);
    return { backend, note: f.sharedMemory ? undefined : ONE_THREAD_NOTE };
  } catch (e) {
    return fail(`loading ${url.href} failed: ${String((e as Error).message).split('\n')[0]}`);
  }
}
