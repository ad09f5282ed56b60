// WasmBackend: the native backend's kernels (NativeBackend: what each accepts and declines) over the
// same C compiled to WebAssembly. The only differences are in the binary: SIMD128 instead of
// AVX2/AVX-512, a worker pool over shared memory (or one thread), and storage: with threads, float32
// storage lives in linear memory (heap.ts) and kernels take it in place; other arguments are copied in
// (marshal.ts).

import { NativeBackend } from '../native/index.js';
import type { NablaAddon } from '../native/contract.js';
import type { HeapStats, WasmHeap } from './heap.js';

export interface WasmInfo {
  file: string;
  /** The threaded module (shared memory, worker pool) rather than the one-thread one. */
  threaded: boolean;
  startPool?: () => void;
  /** Resident storage (the threaded module); without it every array is copied per call. */
  heap?: WasmHeap;
}

export class WasmBackend extends NativeBackend {
  override readonly name: string = 'wasm';
  readonly threaded: boolean;
  private readonly pool?: () => void;
  private readonly heap?: WasmHeap;

  constructor(addon: NablaAddon, w: WasmInfo) {
    super(addon, w.file);
    this.threaded = w.threaded;
    this.pool = w.startPool;
    this.heap = w.heap;
    delete this.info.addon;
    // NOTE: the C reports its portable path as 'scalar' (setIsa takes that name back); here it is SIMD128
    Object.assign(this.info, { isa: 'wasm-simd128', cpuIsa: 'wasm-simd128', wasm: w.file, wasmThreads: w.threaded });
  }

  /** Kernel outputs go to linear memory while the heap's budget allows (heap.ts). */
  protected override alloc(n: number): Float32Array {
    return this.heap?.f32(n, false) ?? super.alloc(n);
  }

  /** Zeroed float32 storage for any tensor while this backend is active (tensor/dtype.ts allocate). */
  allocateF32(n: number): Float32Array | undefined {
    return this.heap?.f32(n, true);
  }

  /** Resident storage now (bytes, arrays, budget, spills, linear memory size); null when there is none. */
  heapStats(): HeapStats | null {
    return this.heap?.stats() ?? null;
  }

  /** Large outputs need no huge-page advice: linear memory is one allocation. */
  override useHugePages(on: boolean): void {
    void on;
  }

  /** Threads for the worker pool; the one-thread module stays at 1. */
  override setNumThreads(n: number): void {
    super.setNumThreads(this.threaded ? n : 1);
  }

  /** Starts the pool's workers now rather than on the first parallel kernel. */
  startPool(): void {
    this.pool?.();
  }
}
