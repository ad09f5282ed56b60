// Loads the PyTorch goldens written by tools/golden/optim_losses.py (safetensors + JSON specs).
import { readFileSync } from 'node:fs';
import { readSafetensorsFile } from '../../src/io/safetensors.js';
import type { RawTensor } from '../../src/io/raw.js';
import { Layout } from '../../src/tensor/layout.js';
import { Storage, Tensor } from '../../src/tensor/tensor.js';
import { golden } from '../helpers/data.js';

export function loadGoldenTensors(name: string): Record<string, Tensor> {
  const { tensors } = readSafetensorsFile(golden(name));
  const out: Record<string, Tensor> = {};
  for (const [k, r] of Object.entries(tensors)) {
    const raw = r as RawTensor;
    out[k] = new Tensor(new Storage(raw.data), Layout.contiguous(raw.shape), raw.dtype);
  }
  return out;
}

export function loadGoldenJson<T>(name: string): T {
  return JSON.parse(readFileSync(golden(name), 'utf8')) as T;
}
