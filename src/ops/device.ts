// Moving tensors between devices, and reading an accelerator's tensors back. A host -> accelerator
// copy is enqueued at once (synchronous); accelerator -> host waits for the queued work (async).
// NOTE: a device copy is a new leaf that keeps requiresGrad (as Module.to moves parameters):
// gradients do not flow across devices, since the way back would have to wait.

import type { Backend, DeviceBackend } from '../backend/backend.js';
import { deviceBackend } from '../backend/registry.js';
import type { TypedArray } from '../tensor/dtype.js';
import type { Device } from '../tensor/device.js';
import { Layout } from '../tensor/layout.js';
import { Storage, Tensor } from '../tensor/tensor.js';
import { be, dataOf } from './util.js';

function backendOf(device: string, op: string): Backend & DeviceBackend {
  const b = deviceBackend(device);
  if (!b) throw new Error(`${op}: the ${device} backend is not initialised (await nb.initWebGPU() first)`);
  return b;
}

/** Whether any of the tensors lives on an accelerator. */
export function onDevice(...ts: (Tensor | null | undefined)[]): boolean {
  for (const t of ts) if (t && t.storage.device !== 'cpu') return true;
  return false;
}

function leafLike(x: Tensor, storage: Storage): Tensor {
  const t = new Tensor(storage, Layout.contiguous(x.shape), x.dtype);
  if (x.requiresGrad) t.requiresGrad = true;
  return t;
}

/** x on `device`: x itself when it is there already; accelerator -> cpu is toDeviceAsync. */
export function toDevice(x: Tensor, device: Device): Tensor {
  const from = x.storage.device;
  if (from === device) return x;
  if (device === 'cpu') {
    throw new Error(
      `to: moving a tensor of shape [${x.shape.join(', ')}] from ${from} to the CPU waits for the GPU: ` +
        'use `await t.toAsync("cpu")`',
    );
  }
  if (from !== 'cpu') throw new Error(`to: moving a tensor from ${from} to ${device} directly is not supported`);
  const b = backendOf(device, 'to');
  const host =
    x.isContiguous() && x.layout.offset === 0 && x.storageNeeds === x.storage.data.length
      ? dataOf(x, 'to', true)
      : x.toTypedArray();
  return leafLike(x, new Storage(b.upload(host, x.dtype, x.shape)));
}

/** A contiguous copy of x's values on the host; for an accelerator's tensor, after its queued work. */
export async function dataAsync(x: Tensor): Promise<TypedArray> {
  if (x.storage.device === 'cpu') return x.toTypedArray();
  const b = be(x) as Backend & DeviceBackend;
  const flat = b.copy(dataOf(x, 'dataAsync', true), x.layout, x.dtype);
  return b.download(flat);
}

/** x on `device`, waiting for the accelerator when it leaves one. */
export async function toDeviceAsync(x: Tensor, device: Device): Promise<Tensor> {
  if (x.storage.device === device) return x;
  if (device !== 'cpu') return toDevice(x, device);
  return leafLike(x, new Storage(await dataAsync(x)));
}
