// The WebGPU backend: a device for tensors (t.to('webgpu'), {device: 'webgpu'}, setBackend('webgpu'))
// whose kernels are WGSL compute shaders. In browsers it uses navigator.gpu; in Node, the optional
// `webgpu` package (Dawn's Node binding). Initialisation is asynchronous (adapter and device requests),
// so it is an explicit call: `await nb.initWebGPU()` reports whether the backend is available and why not.
// Kernels it has: elementwise (unary, binary, where, copy/cast, assign), reductions, argmax/argmin,
// softmax, cumulative sum/product, sort, matmul, conv2d (implicit GEMM, both backward passes),
// max/avg pooling and their backward passes, gather/indexSelect/scatter/indexAdd, flash attention
// (forward; its backward recomputes with primitives), SGD and Adam steps. The other fused ops
// (layer norm, batch norm, linear) compose these primitives on the GPU; any other kernel is a clear error.

import type { DeviceBackend } from '../backend.js';
import { registerDevice } from '../registry.js';
import { IS_NODE } from '../../platform/node.js';
import type { DType, TypedArray } from '../../tensor/dtype.js';
import {
  GpuArray,
  alloc,
  destroyDevice,
  download,
  hasDevice,
  installDevice,
  setUseSubgroups,
  stats,
  upload,
  useSubgroups,
} from './context.js';
import * as E from './elementwise.js';
import * as R from './reduce.js';
import * as MM from './matmul.js';
import * as IX from './indexing.js';
import * as O from './optim.js';
import * as CV from './conv.js';
import * as SC from './scan.js';
import * as AT from './attention.js';
import type { GPUAdapterLike, GPUDeviceLike, GPULike } from './gpu_types.js';

export interface WebGPUReport {
  available: boolean;
  /** Why not, when unavailable. */
  reason?: string;
  adapter?: { vendor?: string; architecture?: string; description?: string };
  subgroups?: boolean;
  /** Where the GPU object came from: 'navigator.gpu', 'webgpu (node)' or 'given'. */
  source?: string;
}

let report: WebGPUReport | null = null;

const info: Record<string, unknown> = {};

const webgpu: DeviceBackend = {
  name: 'webgpu',
  device: 'webgpu',
  info,
  upload: (data: TypedArray, dtype: DType, shape?: readonly number[]) =>
    upload(data, dtype, shape) as unknown as TypedArray,
  zeros: (dtype: DType, n: number) => alloc(dtype, n, true) as unknown as TypedArray,
  download: (buf: TypedArray) => {
    if (!(buf instanceof GpuArray)) throw new Error('webgpu: download of a buffer that is not on the GPU');
    return download(buf);
  },
  unary: E.unary,
  binary: E.binary,
  where: E.where,
  copy: E.copy,
  assign: E.assign,
  reduce: R.reduce,
  argReduce: R.argReduce,
  softmax: R.softmax,
  matmul: MM.matmul,
  gather: IX.gather,
  indexSelect: IX.indexSelect,
  indexAdd: IX.indexAdd,
  scatter: IX.scatter,
  conv2d: CV.conv2d,
  conv2dBackwardInput: CV.conv2dBackwardInput,
  conv2dBackwardWeight: CV.conv2dBackwardWeight,
  maxPool2d: CV.maxPool2d,
  maxPool2dBackward: CV.maxPool2dBackward,
  avgPool2d: CV.avgPool2d,
  avgPool2dBackward: CV.avgPool2dBackward,
  cumulative: SC.cumulative,
  sort: SC.sort,
  attention: AT.attention,
  attentionKv: AT.attentionKv,
  sgdStep: O.sgdStep,
  adamStep: O.adamStep,
};

async function findGpu(given?: GPULike): Promise<{ gpu: GPULike | null; source: string; reason?: string }> {
  if (given) return { gpu: given, source: 'given' };
  const nav = (globalThis as { navigator?: { gpu?: GPULike } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, source: 'navigator.gpu' };
  if (!IS_NODE) {
    return {
      gpu: null,
      source: 'navigator.gpu',
      reason: 'navigator.gpu is absent (no WebGPU in this browser, or not a secure context)',
    };
  }
  try {
    // NOTE: a variable specifier keeps bundlers and tsc from resolving the optional package
    const name = 'webgpu';
    const mod = (await import(name)) as { create(flags: string[]): GPULike; globals?: object };
    if (mod.globals) Object.assign(globalThis, mod.globals);
    return { gpu: mod.create([]), source: 'webgpu (node)' };
  } catch (e) {
    return {
      gpu: null,
      source: 'webgpu (node)',
      reason: `the optional 'webgpu' package (Dawn's Node binding) did not load: ${(e as Error).message}`,
    };
  }
}

/**
 * Starts the WebGPU backend once: finds an adapter, requests a device (with subgroups when the adapter
 * has them) and registers the 'webgpu' device. Never throws: the report says why it is unavailable.
 * @example const r = await nb.initWebGPU(); if (r.available) x = x.to('webgpu');
 */
export async function initWebGPU(
  opts: { gpu?: GPULike; powerPreference?: 'high-performance' | 'low-power' } = {},
): Promise<WebGPUReport> {
  if (report?.available && hasDevice()) return report;
  report = await start(opts);
  return report;
}

async function start(opts: {
  gpu?: GPULike;
  powerPreference?: 'high-performance' | 'low-power';
}): Promise<WebGPUReport> {
  const found = await findGpu(opts.gpu);
  const fail = (reason?: string): WebGPUReport => ({ available: false, reason, source: found.source });
  if (!found.gpu) return fail(found.reason);
  let adapter: GPUAdapterLike | null;
  try {
    adapter = await found.gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch (e) {
    return fail(`requestAdapter failed: ${(e as Error).message}`);
  }
  if (!adapter) return fail('no WebGPU adapter (no GPU, or its driver lacks a feature WebGPU needs)');
  const subgroups = adapter.features.has('subgroups');
  const lim = adapter.limits;
  let device: GPUDeviceLike;
  try {
    device = await adapter.requestDevice({
      requiredFeatures: subgroups ? ['subgroups'] : [],
      requiredLimits: {
        maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
        maxBufferSize: lim.maxBufferSize,
        maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
      },
    });
  } catch (e) {
    return fail(`requestDevice failed: ${(e as Error).message}`);
  }
  installDevice(device, subgroups);
  const a = adapter.info ?? {};
  const adapterInfo = { vendor: a.vendor, architecture: a.architecture, description: a.description };
  Object.assign(info, { adapter: adapterInfo, subgroups, source: found.source });
  registerDevice(webgpu);
  return { available: true, adapter: adapterInfo, subgroups, source: found.source };
}

/** The last initWebGPU report (null before the first call). */
export function webgpuReport(): WebGPUReport | null {
  return report;
}

/**
 * Bytes the GPU tensors hold now, how many there are, the pool's idle bytes, the compiled pipelines
 * and the command submits so far (passes are batched: several per submit).
 */
export function webgpuMemory(): {
  heldBytes: number;
  heldTensors: number;
  pooledBytes: number;
  pipelines: number;
  submits: number;
} {
  const s = stats();
  const { heldBytes, heldTensors, pooledBytes, pipelines, submits } = s;
  return { heldBytes, heldTensors, pooledBytes, pipelines, submits };
}

/**
 * Whether kernels with a subgroup variant (the GEMM) use it: on by default where the adapter has the
 * 'subgroups' feature. Pass false to take the workgroup-memory variants (to compare them), true to
 * return to the default; answers whether the subgroup variants are on now.
 * @example nb.webgpuSubgroups(false); // the non-subgroup GEMM from now on
 */
export function webgpuSubgroups(on?: boolean): boolean {
  return on === undefined ? useSubgroups() : setUseSubgroups(on);
}

/**
 * Releases the GPU device (an app done with the GPU; tests of the lost-device path). Tensors on it are
 * gone: later GPU ops throw an error that says the device was lost; initWebGPU() starts a new one.
 */
export function releaseWebGPU(): void {
  destroyDevice();
}
