// Resident storage: float32 tensor storage that lives inside the WASM module's linear memory, so a
// kernel call passes its address instead of copying it in and out (marshal.ts). A resident array is an
// ordinary Float32Array over the memory's SharedArrayBuffer (only the threaded module: a shared memory
// never detaches its views when it grows); its block goes back to the module's malloc when the array is
// garbage-collected (FinalizationRegistry), so users never dispose.
// - Subarrays keep their parent alive (ResidentF32.subarray): a view of a block never outlives it.
// - Bounded: at most `budget` bytes are resident at once. Past it (or when malloc fails) storage comes
//   from the JS heap as before and is copied per call; V8 counts that memory, collects, and the freed
//   blocks come back at the next turn of the event loop (finalizers never run inside a synchronous loop).
// - The engine cannot see linear memory: every 32 MB made resident, an untouched ArrayBuffer of that size
//   tells its collector (a pressure hint), so dead arrays are found about as soon as JS-heap ones would be.
// - Blocks freed go to malloc's free lists (libc.c) and are reused; linear memory itself never shrinks.

import type { WasmExports } from './marshal.js';

/** Arrays smaller than this stay on the JS heap: copying them per call costs less than tracking them. */
export const RESIDENT_MIN_ELEMENTS = 1024;
/** Default cap on resident bytes (NABLA_WASM_RESIDENT_MB or loadWasm's residentBytes change it). */
export const DEFAULT_RESIDENT_BYTES = 1 << 30;
/**
 * Every this many resident bytes, the collector is told of them: a JS engine sees a resident array as a
 * few bytes of view, so without a hint it rarely collects and blocks wait long after their arrays died.
 */
const PRESSURE_BYTES = 32 << 20;

/** A Float32Array over linear memory; a subarray of it holds the array that owns the block. */
export class ResidentF32 extends Float32Array {
  owner?: Float32Array;

  override subarray(begin?: number, end?: number): ResidentF32 {
    const v = super.subarray(begin, end) as ResidentF32;
    v.owner = this.owner ?? this;
    return v;
  }
}

export interface HeapStats {
  /** Bytes (and arrays) resident now: allocated and not yet collected. */
  residentBytes: number;
  residentArrays: number;
  /** The cap on residentBytes. */
  budgetBytes: number;
  /** Allocations that went to the JS heap because the cap or linear memory was reached. */
  spilled: number;
  /** The size of linear memory. */
  memoryBytes: number;
}

export class WasmHeap {
  private readonly buffers = new Set<ArrayBufferLike>();
  private last: ArrayBufferLike | null = null;
  private bytes = 0;
  private count = 0;
  private spilled = 0;
  private sinceHint = 0;
  /** The last pressure hint: an untouched ArrayBuffer (virtual memory only) the engine counts as external. */
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: only held, so the engine counts it until the next hint
  private hint: ArrayBuffer | null = null;
  private readonly registry = new FinalizationRegistry<{ ptr: number; bytes: number }>((h) => {
    this.exports.nbw_free(h.ptr);
    this.bytes -= h.bytes;
    this.count--;
  });

  constructor(
    private readonly exports: WasmExports,
    private readonly memory: WebAssembly.Memory,
    /** Cap on resident bytes; 0 turns residency off (the one-thread module: its memory detaches views on growth). */
    public budget: number,
  ) {
    this.sync();
  }

  /** Records the memory's current buffer object (a shared memory hands out a new one after each growth). */
  sync(): ArrayBufferLike {
    const b = this.memory.buffer;
    if (b !== this.last) {
      this.buffers.add(b);
      this.last = b;
    }
    return b;
  }

  /** Whether `a` is a view of linear memory (its byteOffset is then its address). */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  /**
   * `n` floats in linear memory (zeroed when `zero`), or undefined: too small to be worth it, over the
   * budget, or out of memory (the caller then allocates on the JS heap).
   */
  f32(n: number, zero: boolean): Float32Array | undefined {
    if (this.budget <= 0 || n < RESIDENT_MIN_ELEMENTS) return undefined;
    const bytes = n * 4;
    if (this.bytes + bytes > this.budget) {
      this.spilled++;
      return undefined;
    }
    const ptr = this.exports.nbw_alloc(bytes);
    if (!ptr) {
      this.spilled++;
      return undefined;
    }
    // NOTE: typed as ArrayBuffer-backed as every storage is; it is a SharedArrayBuffer
    const a = new ResidentF32(this.sync() as ArrayBuffer, ptr, n);
    if (zero) a.fill(0);
    this.registry.register(a, { ptr, bytes });
    this.bytes += bytes;
    this.count++;
    this.sinceHint += bytes;
    if (this.sinceHint >= PRESSURE_BYTES) {
      // NOTE: an engine schedules a full collection as external (ArrayBuffer) memory grows; this one is
      // dropped at the next hint, so what it adds is in proportion to what was made resident
      this.hint = new ArrayBuffer(this.sinceHint);
      this.sinceHint = 0;
    }
    return a;
  }

  stats(): HeapStats {
    return {
      residentBytes: this.bytes,
      residentArrays: this.count,
      budgetBytes: this.budget,
      spilled: this.spilled,
      memoryBytes: this.memory.buffer.byteLength,
    };
  }
}
