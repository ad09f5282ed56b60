// The WebGPU device, its buffers and the dispatch of one compute pass.
// - GpuArray is a tensor's storage on the GPU (a DeviceBuffer): float32 as f32, int32 as i32, bool as
//   u32 (one word per element: WGSL has no byte stores). float64 has no WGSL type: refused on upload.
// - Buffers come from a pool bucketed by size (powers of two); a GpuArray's buffer goes back to the
//   pool when the GpuArray is garbage-collected (FinalizationRegistry), so there is no dispose.
//   NOTE: reuse is safe because every op is submitted at once: any later write or read of a reused
//   buffer is ordered after the commands that used it by the queue.
// - Ops enqueue and return; only download waits. A lost device or an out-of-memory error (reported
//   asynchronously by the device) makes every later call throw with the reason.

import type { DType, TypedArray } from '../../tensor/dtype.js';
import type { DeviceBuffer } from '../../tensor/device.js';
import { type GPUBufferLike, type GPUDeviceLike, type GPUPipelineLike, MAP_READ, USAGE } from './gpu_types.js';

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
}

let S: State | null = null;
const POOL_CAP_BYTES = 256 << 20;

const registry = new FinalizationRegistry<{ buffer: GPUBufferLike; bytes: number; state: State }>((h) => {
  h.state.heldBytes -= h.bytes;
  h.state.heldCount--;
  if (S !== h.state || h.state.pooledBytes + h.bytes > POOL_CAP_BYTES) {
    h.buffer.destroy();
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
  S?.device.destroy();
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
} {
  const st = state();
  const { heldBytes, heldCount: heldTensors, pooledBytes, subgroups } = st;
  return { heldBytes, heldTensors, pooledBytes, subgroups, pipelines: st.pipelines.size };
}

function bucket(bytes: number): number {
  return Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
}

function fmtBytes(b: number): string {
  return b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${b} bytes`;
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
        `(${fmtBytes(st.maxBuffer)}); held: ${fmtBytes(st.heldBytes)} in ${st.heldCount} tensors`,
    );
  }
  st.device.pushErrorScope('out-of-memory');
  const buf = st.device.createBuffer({ size: bytes, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
  const held = st.heldBytes;
  st.device.popErrorScope().then((err) => {
    if (err && !st.failure) {
      st.failure =
        `webgpu: out of memory allocating ${fmtBytes(bytes)} for ${what} ` +
        `(held then: ${fmtBytes(held)} in ${st.heldCount} tensors, ${fmtBytes(st.pooledBytes)} pooled): ${err.message}`;
    }
  });
  return buf;
}

/** A GpuArray of n elements of dtype; its contents are undefined (a pooled buffer) unless zero. */
export function alloc(dtype: DType, n: number, zero = false): GpuArray {
  const st = state();
  if (!wgslType(dtype)) throw new Error(`webgpu: dtype ${dtype} is not supported on the GPU (float32, int32, bool)`);
  const need = Math.max(1, n) * 4;
  const bytes = bucket(need);
  const buf = rawBuffer(st, bytes, `a tensor of ${n} ${dtype} elements`);
  if (zero) {
    const enc = st.device.createCommandEncoder();
    enc.clearBuffer(buf, 0, bytes);
    st.device.queue.submit([enc.finish()]);
  }
  const a = new GpuArray(dtype, n, buf);
  st.heldBytes += bytes;
  st.heldCount++;
  registry.register(a, { buffer: buf, bytes, state: st });
  return a;
}

/** Host values to a fresh GpuArray (bool bytes widen to u32 words). */
export function upload(data: TypedArray, dtype: DType): GpuArray {
  if (!wgslType(dtype)) {
    throw new Error(
      `webgpu: dtype ${dtype} is not supported on the GPU (it holds float32, int32 and bool; WGSL has no 64-bit ` +
        'floats and nabla keeps float16, bfloat16, int8, uint8 and int64 on the CPU): cast to float32 first ' +
        '(t.to("float32").to("webgpu"))',
    );
  }
  const a = alloc(dtype, data.length);
  if (data.length === 0) return a;
  const words =
    dtype === 'bool'
      ? Uint32Array.from(data as Uint8Array)
      : dtype === 'int32'
        ? Int32Array.from(data)
        : Float32Array.from(data);
  state().device.queue.writeBuffer(a.buffer, 0, words);
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
    const enc2 = st.device.createCommandEncoder();
    enc2.clearBuffer(ew!.buffer, 0, 16);
    st.device.queue.submit([enc2.finish()]);
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

/**
 * Runs one compute pass of `code` (entry point main) over the buffers bound at 0.. in order, with
 * `meta` (i32 words: shapes, strides, bit-cast f32 scalars) bound last, and submits it.
 */
export function dispatch(code: string, bufs: GpuArray[], meta: Int32Array, groups: [number, number, number?]): void {
  const st = state();
  const p = pipeline(st, code);
  const mbytes = bucket(Math.max(16, meta.byteLength));
  const mbuf = rawBuffer(st, mbytes, 'kernel parameters');
  st.device.queue.writeBuffer(mbuf, 0, meta);
  const entries = bufs.map((b, i) => ({ binding: i, resource: { buffer: b.buffer } }));
  entries.push({ binding: bufs.length, resource: { buffer: mbuf } });
  const bg = st.device.createBindGroup({ layout: p.getBindGroupLayout(0), entries });
  const enc = st.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(p);
  pass.setBindGroup(0, bg);
  pass.dispatchWorkgroups(groups[0], groups[1], groups[2] ?? 1);
  pass.end();
  st.device.queue.submit([enc.finish()]);
  // the parameters buffer is free for the next call: its next write is queued after this submit
  toPool(st, mbuf, mbytes);
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
