// The WebGPU device, its buffers and the dispatch of compute passes.
// - GpuArray is a tensor's storage on the GPU (a DeviceBuffer): float32 as f32, int32 as i32, bool as
//   u32 (one word per element: WGSL has no byte stores). float64 has no WGSL type: refused on upload.
// - Buffers come from a pool bucketed by size (powers of two); a GpuArray's buffer goes back to the
//   pool when the GpuArray is garbage-collected (FinalizationRegistry), so there is no dispose.
// - Ops enqueue and return; only download waits. Passes are recorded into one command encoder and
//   submitted together (see Batch): on a read-back, after MAX_PASSES passes, or when the JS task that
//   recorded them ends (a microtask), so a training step is a few submits instead of one per op.
//   NOTE: buffer reuse stays safe because nothing reaches the queue out of order: kernel parameters
//   and small uploads go through the batch (a CPU arena written just before its submit, copied by the
//   encoder), zero-fills are encoder commands, and anything else on the queue (a large upload, a
//   read-back) submits the pending batch first. A pooled buffer's next use is thus always ordered
//   after the commands that used it; a destroyed one is destroyed after the batch that used it.
// - A lost device or an out-of-memory error (reported asynchronously by the device) makes every later
//   call throw with the reason.

import type { DType, TypedArray } from '../../tensor/dtype.js';
import type { DeviceBuffer } from '../../tensor/device.js';
import {
  type GPUBufferLike,
  type GPUDeviceLike,
  type GPUEncoderLike,
  type GPUPipelineLike,
  MAP_READ,
  USAGE,
} from './gpu_types.js';

export type WgslType = 'f32' | 'i32' | 'u32';

/** The WGSL element type a dtype is stored as. */
export function wgslType(d: DType): WgslType | null {
  return d === 'float32' ? 'f32' : d === 'int32' ? 'i32' : d === 'bool' ? 'u32' : null;
}

export class GpuArray implements DeviceBuffer {
  readonly device = 'webgpu' as const;
  constructor(
    readonly dtype: DType,
    readonly length: number,
    readonly buffer: GPUBufferLike,
  ) {}
}

interface State {
  device: GPUDeviceLike;
  /** Set when the device is lost or reported an allocation failure: every later call throws it. */
  failure: string | null;
  pipelines: Map<string, GPUPipelineLike>;
  pool: Map<number, GPUBufferLike[]>;
  pooledBytes: number;
  /** Bytes of live GpuArrays (not yet collected). */
  heldBytes: number;
  heldCount: number;
  maxBuffer: number;
  subgroups: boolean;
  /** One u32 the index kernels set when an index on the GPU is out of range (checked at read-back). */
  errorWord: GpuArray | null;
  /** The largest workgroup memory a kernel may declare, in bytes. */
  workgroupBytes: number;
  /** Offsets of storage bindings are multiples of this (bytes). */
  align: number;
  batch: Batch | null;
  /** Set while a microtask that submits the batch is queued. */
  flushQueued: boolean;
  /** Buffers released while a batch that may use them was pending: destroyed after its submit. */
  doomed: GPUBufferLike[];
  /** Submits so far (for tests and benchmarks of the batching). */
  submits: number;
  /** Whether kernels that have a subgroup variant use it (the device has subgroups, and not turned off). */
  useSubgroups: boolean;
}

/**
 * The passes recorded since the last submit: one encoder, and the CPU arena whose bytes (kernel
 * parameters, small uploads) are written to the GPU buffer `arena` just before the encoder is submitted.
 */
interface Batch {
  enc: GPUEncoderLike;
  arena: GPUBufferLike;
  bytes: Uint8Array;
  used: number;
  passes: number;
}

/** Passes per submit at most: enough to amortise a submit, few enough to keep the GPU fed. */
const MAX_PASSES = 64;
/** Bytes of a batch's arena: parameters of MAX_PASSES kernels and a few small uploads. */
const ARENA_BYTES = 64 << 10;
/** Uploads up to this size go through the arena; larger ones are written to the queue directly. */
const SMALL_UPLOAD = 4 << 10;

let S: State | null = null;
const POOL_CAP_BYTES = 256 << 20;

const registry = new FinalizationRegistry<{ buffer: GPUBufferLike; bytes: number; state: State }>((h) => {
  h.state.heldBytes -= h.bytes;
  h.state.heldCount--;
  if (S !== h.state || h.state.pooledBytes + h.bytes > POOL_CAP_BYTES) {
    // a pending batch may still use it: destroyed after that batch is submitted
    if (h.state.batch) h.state.doomed.push(h.buffer);
    else h.buffer.destroy();
    return;
  }
  toPool(h.state, h.buffer, h.bytes);
});

function toPool(st: State, buf: GPUBufferLike, bytes: number): void {
  const list = st.pool.get(bytes);
  if (list) list.push(buf);
  else st.pool.set(bytes, [buf]);
  st.pooledBytes += bytes;
}

export function installDevice(device: GPUDeviceLike, subgroups: boolean): void {
  const st: State = {
    device,
    failure: null,
    pipelines: new Map(),
    pool: new Map(),
    pooledBytes: 0,
    heldBytes: 0,
    heldCount: 0,
    maxBuffer: Math.min(device.limits.maxStorageBufferBindingSize ?? 2 ** 27, device.limits.maxBufferSize ?? 2 ** 28),
    subgroups,
    errorWord: null,
    workgroupBytes: device.limits.maxComputeWorkgroupStorageSize ?? 16384,
    align: device.limits.minStorageBufferOffsetAlignment ?? 256,
    batch: null,
    flushQueued: false,
    doomed: [],
    submits: 0,
    useSubgroups: subgroups,
  };
  S = st;
  // NOTE: a validation error is a bug in a kernel (its result would be silently wrong): later calls
  // throw it instead of computing on
  device.addEventListener?.('uncapturederror', (ev: unknown) => {
    const err = (ev as { error?: { message?: string } }).error;
    if (!st.failure) st.failure = `webgpu: a GPU error was reported: ${err?.message ?? String(ev)}`;
  });
  device.lost.then((info) => {
    st.failure = `webgpu: the device was lost (${info.reason || 'unknown reason'}: ${info.message || 'no message'})`;
  });
}

/** Destroys the device: the lost-device path (later GPU ops throw with the reason). */
export function destroyDevice(): void {
  if (!S) return;
  S.batch = null;
  S.device.destroy();
}

export function hasDevice(): boolean {
  return S !== null && S.failure === null;
}

function state(): State {
  if (!S) throw new Error('webgpu: the backend is not initialised (await nb.initWebGPU() first)');
  if (S.failure) throw new Error(`${S.failure}; tensors on the GPU are gone, and later GPU ops fail`);
  return S;
}

export function stats(): {
  heldBytes: number;
  heldTensors: number;
  pooledBytes: number;
  subgroups: boolean;
  pipelines: number;
  submits: number;
} {
  const st = state();
  const { heldBytes, heldCount: heldTensors, pooledBytes, subgroups, submits } = st;
  return { heldBytes, heldTensors, pooledBytes, subgroups, pipelines: st.pipelines.size, submits };
}

function bucket(bytes: number): number {
  return Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
}

function fmtBytes(b: number): string {
  return b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${b} bytes`;
}

/** What the device holds now, for out-of-memory errors. */
function heldNow(st: State): string {
  return (
    `held: ${fmtBytes(st.heldBytes)} in ${st.heldCount} tensors, ${fmtBytes(st.pooledBytes)} idle in the pool ` +
    '(released when their tensors are garbage-collected)'
  );
}

function rawBuffer(st: State, bytes: number, what: string): GPUBufferLike {
  const pooled = st.pool.get(bytes)?.pop();
  if (pooled) {
    st.pooledBytes -= bytes;
    return pooled;
  }
  if (bytes > st.maxBuffer) {
    throw new Error(
      `webgpu: out of memory: ${what} needs ${fmtBytes(bytes)}, over the adapter's largest storage buffer ` +
        `(${fmtBytes(st.maxBuffer)}); ${heldNow(st)}`,
    );
  }
  st.device.pushErrorScope('out-of-memory');
  const buf = st.device.createBuffer({ size: bytes, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
  const held = heldNow(st);
  st.device.popErrorScope().then((err) => {
    if (err && !st.failure) {
      st.failure = `webgpu: out of memory allocating ${fmtBytes(bytes)} for ${what} (${held} then): ${err.message}`;
    }
  });
  return buf;
}

/**
 * A GpuArray of n elements of dtype; its contents are undefined (a pooled buffer) unless zero.
 * `shape`, when the caller knows it, names the tensor in an out-of-memory error.
 */
export function alloc(dtype: DType, n: number, zero = false, shape?: readonly number[]): GpuArray {
  const st = state();
  if (!wgslType(dtype)) throw new Error(`webgpu: dtype ${dtype} is not supported on the GPU (float32, int32, bool)`);
  const need = Math.max(1, n) * 4;
  const bytes = bucket(need);
  const what = shape ? `a tensor of shape [${shape.join(', ')}] (${dtype})` : `a tensor of ${n} ${dtype} elements`;
  const buf = rawBuffer(st, bytes, what);
  if (zero) batchOf(st).enc.clearBuffer(buf, 0, bytes);
  const a = new GpuArray(dtype, n, buf);
  st.heldBytes += bytes;
  st.heldCount++;
  registry.register(a, { buffer: buf, bytes, state: st });
  return a;
}

/** Host values to a fresh GpuArray (bool bytes widen to u32 words). */
export function upload(data: TypedArray, dtype: DType, shape?: readonly number[]): GpuArray {
  if (!wgslType(dtype)) {
    throw new Error(
      `webgpu: dtype ${dtype} is not supported on the GPU (it holds float32, int32 and bool; WGSL has no 64-bit ` +
        'floats and nabla keeps float16, bfloat16, int8, uint8 and int64 on the CPU): cast to float32 first ' +
        '(t.to("float32").to("webgpu"))',
    );
  }
  const a = alloc(dtype, data.length, false, shape);
  if (data.length === 0) return a;
  const words =
    dtype === 'bool'
      ? Uint32Array.from(data as Uint8Array)
      : dtype === 'int32'
        ? Int32Array.from(data)
        : Float32Array.from(data);
  const st = state();
  if (words.byteLength <= SMALL_UPLOAD) {
    // through the batch: ordered after the passes recorded before it, like every other command
    const b = batchOf(st, words.byteLength);
    const at = stage(st, b, words);
    b.enc.copyBufferToBuffer(b.arena, at, a.buffer, 0, words.byteLength);
  } else {
    flush();
    st.device.queue.writeBuffer(a.buffer, 0, words);
  }
  return a;
}

/** The device's error word, bound by kernels that bounds-check indices on the GPU. */
export function errorWord(): GpuArray {
  const st = state();
  if (!st.errorWord) st.errorWord = alloc('int32', 4, true);
  return st.errorWord;
}

/** A host copy of the whole GpuArray, after the work queued before it. */
export async function download(a: GpuArray): Promise<TypedArray> {
  flush();
  const st = state();
  const bytes = Math.max(16, Math.ceil((a.length * 4) / 16) * 16);
  const ew = st.errorWord;
  const staging = st.device.createBuffer({ size: bytes + (ew ? 16 : 0), usage: USAGE.MAP_READ | USAGE.COPY_DST });
  const enc = st.device.createCommandEncoder();
  enc.copyBufferToBuffer(a.buffer, 0, staging, 0, bytes);
  if (ew) enc.copyBufferToBuffer(ew.buffer, 0, staging, bytes, 16);
  st.device.queue.submit([enc.finish()]);
  try {
    await staging.mapAsync(MAP_READ);
  } catch (e) {
    staging.destroy();
    state();
    throw new Error(`webgpu: reading a tensor back failed: ${(e as Error).message}`);
  }
  const mapped = staging.getMappedRange();
  const raw = mapped.slice(0, a.length * 4);
  const bad = ew ? new Uint32Array(mapped, bytes, 1)[0] : 0;
  staging.unmap();
  staging.destroy();
  state();
  if (bad) {
    batchOf(st).enc.clearBuffer(ew!.buffer, 0, 16);
    throw new Error(
      'webgpu: an index tensor on the GPU held an index out of range (gather, indexSelect, scatter or ' +
        'indexAdd since the last read-back); the results computed from it are invalid',
    );
  }
  if (a.dtype === 'bool') return Uint8Array.from(new Uint32Array(raw));
  return a.dtype === 'int32' ? new Int32Array(raw) : new Float32Array(raw);
}

/** A buffer argument of a dispatch: a GpuArray, or host values (a 0-dim CPU tensor's) uploaded for the call. */
export function asGpu(x: TypedArray, dtype: DType): GpuArray {
  if (x instanceof GpuArray) return x;
  return upload(x, dtype);
}

function pipeline(st: State, code: string): GPUPipelineLike {
  let p = st.pipelines.get(code);
  if (!p) {
    p = st.device.createComputePipeline({
      layout: 'auto',
      compute: { module: st.device.createShaderModule({ code }), entryPoint: 'main' },
    });
    st.pipelines.set(code, p);
  }
  return p;
}

/** Workgroups for `n` items of `per` each, folded into 2-D when over the 65535 limit of one dimension. */
export function grid(groups: number): [number, number] {
  if (groups <= 65535) return [Math.max(1, groups), 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

/** The pending batch, started if none (with room for `need` more arena bytes: else the full one is submitted). */
function batchOf(st: State, need = 0): Batch {
  let b = st.batch;
  if (b && (b.passes >= MAX_PASSES || b.used + need + st.align > b.bytes.length)) {
    flush();
    b = null;
  }
  if (!b) {
    const size = Math.max(ARENA_BYTES, bucket(need + st.align));
    b = {
      enc: st.device.createCommandEncoder(),
      arena: rawBuffer(st, size, 'kernel parameters'),
      bytes: new Uint8Array(size),
      used: 0,
      passes: 0,
    };
    st.batch = b;
    if (!st.flushQueued) {
      st.flushQueued = true;
      // the passes recorded by this JS task go to the GPU when it ends, even with no read-back
      queueMicrotask(() => {
        st.flushQueued = false;
        if (S === st && !st.failure) flush();
      });
    }
  }
  return b;
}

/** Copies `data` into the batch's arena at the next aligned offset; returns that offset. */
function stage(st: State, b: Batch, data: ArrayBufferView): number {
  const at = b.used;
  b.bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
  b.used = at + Math.ceil(Math.max(data.byteLength, 16) / st.align) * st.align;
  return at;
}

/** Submits the pending batch (its arena written first); a no-op when nothing is pending. */
export function flush(): void {
  const st = S;
  const b = st?.batch;
  if (!st || !b) return;
  st.batch = null;
  if (st.failure) return;
  if (b.used > 0) st.device.queue.writeBuffer(b.arena, 0, b.bytes.subarray(0, b.used));
  st.device.queue.submit([b.enc.finish()]);
  st.submits++;
  // the arena's next write is queued after this submit; doomed buffers are destroyed once it is done
  toPool(st, b.arena, b.bytes.length);
  for (const d of st.doomed.splice(0)) d.destroy();
}

/**
 * Records one compute pass of `code` (entry point main) over the buffers bound at 0.. in order, with
 * `meta` (i32 words: shapes, strides, bit-cast f32 scalars) bound last, into the pending batch.
 */
export function dispatch(code: string, bufs: GpuArray[], meta: Int32Array, groups: [number, number, number?]): void {
  const st = state();
  const p = pipeline(st, code);
  const b = batchOf(st, meta.byteLength);
  const at = stage(st, b, meta);
  const entries: { binding: number; resource: { buffer: GPUBufferLike; offset?: number; size?: number } }[] = bufs.map(
    (x, i) => ({ binding: i, resource: { buffer: x.buffer } }),
  );
  entries.push({
    binding: bufs.length,
    resource: { buffer: b.arena, offset: at, size: Math.max(16, meta.byteLength) },
  });
  const bg = st.device.createBindGroup({ layout: p.getBindGroupLayout(0), entries });
  const pass = b.enc.beginComputePass();
  pass.setPipeline(p);
  pass.setBindGroup(0, bg);
  pass.dispatchWorkgroups(groups[0], groups[1], groups[2] ?? 1);
  pass.end();
  b.passes++;
}

/** f32 bits as an i32 word, for scalars in a meta array. */
export function f32bits(x: number): number {
  F32[0] = x;
  return I32[0];
}
const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

export function subgroupsAvailable(): boolean {
  return state().subgroups;
}

/** Whether kernels take their subgroup variants now. */
export function useSubgroups(): boolean {
  return state().useSubgroups;
}

/** Turns the subgroup variants on (where the device has subgroups) or off; returns whether they are on. */
export function setUseSubgroups(on: boolean): boolean {
  const st = state();
  st.useSubgroups = on && st.subgroups;
  return st.useSubgroups;
}

/** The largest workgroup memory a kernel may declare on this device, in bytes. */
export function workgroupStorage(): number {
  return state().workgroupBytes;
}
