// A worker of the WASM backend's pool (a worker_threads Worker in Node, a module Web Worker in
// browsers): it instantiates the threaded module over the main thread's shared memory, with its own
// stack, and runs the pool's worker loop (native/src/core/threadpool.c over native/src/wasm/threads.c),
// which waits on the shared memory between jobs and never returns.
// NOTE: no imports: the file is loaded by URL in both environments, and a browser bundle keeps it as is.

interface Start {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  fn: number;
  arg: number;
  stackTop: number;
  tls: number;
}

interface Port {
  postMessage(m: unknown): void;
}

function start(d: Start, port: Port): void {
  const instance = new WebAssembly.Instance(d.module, {
    // NOTE: as load.ts's wallClockMs (this file imports nothing)
    env: { memory: d.memory, nbw_spawn: () => -1, nbw_now: () => performance.timeOrigin + performance.now() },
  });
  const e = instance.exports as unknown as {
    __stack_pointer: WebAssembly.Global;
    nbw_thread_start(fn: number, arg: number, tls: number): void;
  };
  e.__stack_pointer.value = d.stackTop;
  port.postMessage('ready');
  e.nbw_thread_start(d.fn, d.arg, d.tls);
}

const g = globalThis as unknown as {
  process?: { getBuiltinModule?(m: string): unknown };
  onmessage?: (e: { data: Start }) => void;
  postMessage?(m: unknown): void;
};
const wt = g.process?.getBuiltinModule?.('node:worker_threads') as
  | { parentPort: { once(ev: string, f: (d: Start) => void): void } & Port }
  | undefined;
if (wt?.parentPort) {
  const port = wt.parentPort;
  port.once('message', (d) => start(d, port));
} else {
  g.onmessage = (e) => start(e.data, { postMessage: (m) => g.postMessage?.(m) });
}
export {};
