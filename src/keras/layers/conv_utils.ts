// Shared by convolution and pooling layers: Keras's data formats and TensorFlow's 'same' padding.
// Keras images are channels-last (N, H, W, C) by default; nn's ops are channels-first (N, C, H, W),
// so channels-last layers permute in and out around them.

import { pad } from '../../ops/indexing.js';
import type { Tensor } from '../../tensor/tensor.js';

export type DataFormat = 'channelsLast' | 'channelsFirst';
export type Padding = 'valid' | 'same';

export function checkDataFormat(f: unknown, layer: string): DataFormat {
  const v = f ?? 'channelsLast';
  if (v === 'channels_last') return 'channelsLast';
  if (v === 'channels_first') return 'channelsFirst';
  if (v !== 'channelsLast' && v !== 'channelsFirst')
    throw new Error(`${layer}: dataFormat must be 'channelsLast' or 'channelsFirst', got ${JSON.stringify(f)}`);
  return v;
}

export function checkPadding(p: unknown, layer: string): Padding {
  const v = p ?? 'valid';
  if (v !== 'valid' && v !== 'same')
    throw new Error(`${layer}: padding must be 'valid' or 'same', got ${JSON.stringify(p)}`);
  return v;
}

/** n or [a, b, ...] -> k positive integers. */
export function tuple(
  v: number | readonly number[] | undefined,
  k: number,
  what: string,
  layer: string,
  dflt?: number[],
): number[] {
  if (v === undefined && dflt) return dflt;
  const t = typeof v === 'number' ? Array(k).fill(v) : v;
  if (!Array.isArray(t) || t.length !== k || t.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`${layer}: ${what} must be a positive integer or ${k} of them, got ${JSON.stringify(v)}`);
  }
  return [...t];
}

/** Output length of a window op: valid floor((n - eff) / s) + 1, same ceil(n / s). */
export function outLen(n: number | null, k: number, s: number, d: number, padding: Padding): number | null {
  if (n === null) return null;
  const eff = d * (k - 1) + 1;
  return padding === 'same' ? Math.ceil(n / s) : Math.floor((n - eff) / s) + 1;
}

/** TensorFlow's 'same' padding of one axis: [before, after], the extra one after. */
export function samePad(n: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + d * (k - 1) + 1 - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Pads the trailing spatial axes of a channels-first x (N, C, *spatial) for 'same'. */
export function padSame(x: Tensor, k: number[], s: number[], d: number[], value = 0): Tensor {
  const spatial = x.shape.slice(2);
  const pads: number[] = [];
  // F.pad lists the last axis first
  for (let i = spatial.length - 1; i >= 0; i--) pads.push(...samePad(spatial[i], k[i], s[i], d[i]));
  return pads.some((p) => p !== 0) ? pad(x, pads, 'constant', value) : x;
}

/** (N, *spatial, C) -> (N, C, *spatial). */
export function toChannelsFirst(x: Tensor): Tensor {
  const r = x.ndim;
  return x.permute([0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)]);
}

/** (N, C, *spatial) -> (N, *spatial, C). */
export function toChannelsLast(x: Tensor): Tensor {
  const r = x.ndim;
  return x.permute([0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1]);
}
