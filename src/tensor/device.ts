// Devices: where a tensor's storage lives. 'cpu' storage is a TypedArray; an accelerator's storage
// (the WebGPU backend's) is a DeviceBuffer, an opaque handle the tensor layer only asks for its
// device, dtype and length. Ops dispatch on their inputs' device (ops/util.ts `be`); reading an
// accelerator's storage on the host is asynchronous (Tensor.dataAsync / toAsync('cpu')).

import type { DType } from './dtype.js';

/** The devices a tensor may live on. */
export type Device = 'cpu' | 'webgpu';

/** An accelerator's buffer behind a Storage (a GPU buffer); `length` counts elements. */
export interface DeviceBuffer {
  readonly device: Exclude<Device, 'cpu'>;
  readonly dtype: DType;
  readonly length: number;
}

export function isDevice(x: unknown): x is Device {
  return x === 'cpu' || x === 'webgpu';
}

export function isDeviceBuffer(x: unknown): x is DeviceBuffer {
  return (
    typeof x === 'object' && x !== null && !ArrayBuffer.isView(x) && typeof (x as DeviceBuffer).device === 'string'
  );
}

let defaultDevice: Device = 'cpu';

/** The device creation functions put new tensors on when their options name none (setBackend('webgpu') sets it). */
export function getDefaultDevice(): Device {
  return defaultDevice;
}

/** @internal set by setBackend. */
export function setDefaultDevice(d: Device): void {
  defaultDevice = d;
}

/** The error of a synchronous read (`op`) of a tensor whose storage is on an accelerator. */
export function syncReadError(op: string, device: string, shape: readonly number[], dtype: DType): Error {
  return new Error(
    `${op}: the tensor of shape [${shape.join(', ')}] (${dtype}) is on ${device}, and reading it back is ` +
      'asynchronous: use `await t.dataAsync()` (a TypedArray) or `await t.toAsync("cpu")` (a CPU tensor) instead',
  );
}
