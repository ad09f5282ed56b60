// nb.nn.init: in-place initialisers (torch.nn.init), drawing from the default generator (nb.manualSeed).
// Each fills the tensor without recording a graph and returns it.

import { noGrad } from '../autograd/grad_mode.js';
import { computeDtype } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';

export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';
export type FanMode = 'fan_in' | 'fan_out';

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'conv_transpose1d':
    case 'conv_transpose2d':
    case 'conv_transpose3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new Error(`calculateGain: unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/** [fanIn, fanOut] of a weight (out, in, *kernel): in * receptive field, out * receptive field. */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2)
    throw new Error(
      `calculateFanInAndFanOut: fan in and fan out can not be computed for tensor with fewer than 2 dimensions ` +
        `(shape ${fmtShape(t.shape)})`,
    );
  let receptive = 1;
  for (let i = 2; i < t.ndim; i++) receptive *= t.shape[i];
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

function fill(t: Tensor, src: Tensor): Tensor {
  noGrad(() => t.copy_(src));
  return t;
}

function gen(g?: Generator): Generator {
  return g ?? defaultGenerator();
}

export function uniform_(t: Tensor, a = 0, b = 1, generator?: Generator): Tensor {
  return fill(t, gen(generator).uniform([...t.shape], a, b, t.dtype));
}
export function normal_(t: Tensor, mean = 0, std = 1, generator?: Generator): Tensor {
  return fill(t, gen(generator).normal([...t.shape], mean, std, t.dtype));
}
export function constant_(t: Tensor, value: number): Tensor {
  noGrad(() => t.fill_(value));
  return t;
}
export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

/** Normal(mean, std) redrawn until inside [a, b] (torch.nn.init.trunc_normal_). */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2, generator?: Generator): Tensor {
  const g = gen(generator);
  // NOTE: drawn in a kernel dtype (float16/bfloat16 storage holds bits); fill casts into t
  const src = g.normal([...t.shape], 0, 1, computeDtype(t.dtype));
  const d = src.storage.data;
  for (let i = 0; i < d.length; i++) {
    let v = mean + std * d[i];
    for (let tries = 0; (v < a || v > b) && tries < 1000; tries++) v = mean + std * g.randn();
    d[i] = Math.min(Math.max(v, a), b);
  }
  return fill(t, src);
}

export function xavierUniform_(t: Tensor, gain = 1, generator?: Generator): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  const a = gain * Math.sqrt(6 / (fi + fo));
  return uniform_(t, -a, a, generator);
}
export function xavierNormal_(t: Tensor, gain = 1, generator?: Generator): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fi + fo)), generator);
}

export interface KaimingOptions {
  /** The negative slope of the rectifier after this layer (leaky_relu only). Default 0. */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
  generator?: Generator;
}

function kaimingStd(t: Tensor, o: KaimingOptions): number {
  const [fi, fo] = calculateFanInAndFanOut(t);
  const fan = (o.mode ?? 'fan_in') === 'fan_in' ? fi : fo;
  return calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(fan);
}

/** He uniform: U(-b, b) with b = gain * sqrt(3 / fan). Linear/Conv default: {a: Math.sqrt(5)}. */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const b = Math.sqrt(3) * kaimingStd(t, opts);
  return uniform_(t, -b, b, opts.generator);
}
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, opts), opts.generator);
}

/** A (semi-)orthogonal matrix from the QR decomposition of a normal matrix, times gain (torch.nn.init.orthogonal_). */
export function orthogonal_(t: Tensor, gain = 1, generator?: Generator): Tensor {
  if (t.ndim < 2)
    throw new Error(`orthogonal_: only tensors with 2 or more dimensions are supported (shape ${fmtShape(t.shape)})`);
  const rows = t.shape[0],
    cols = t.numel() / rows;
  const m = Math.max(rows, cols),
    n = Math.min(rows, cols);
  // A (m, n) column-major, orthonormalised by modified Gram-Schmidt (= Q of QR with diag(R) > 0)
  const g = gen(generator);
  const q = new Float64Array(m * n);
  for (let i = 0; i < q.length; i++) q[i] = g.randn();
  for (let j = 0; j < n; j++) {
    const cj = j * m;
    for (let k = 0; k < j; k++) {
      const ck = k * m;
      let dot = 0;
      for (let i = 0; i < m; i++) dot += q[ck + i] * q[cj + i];
      for (let i = 0; i < m; i++) q[cj + i] -= dot * q[ck + i];
    }
    let nrm = 0;
    for (let i = 0; i < m; i++) nrm += q[cj + i] * q[cj + i];
    nrm = Math.sqrt(nrm);
    for (let i = 0; i < m; i++) q[cj + i] /= nrm;
  }
  // out (rows, cols): Q when rows >= cols, else Q^T
  const src = gen(generator).uniform([rows, cols], 0, 1, computeDtype(t.dtype));
  const d = src.storage.data;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) d[r * cols + c] = gain * (rows >= cols ? q[c * m + r] : q[r * m + c]);
  }
  return fill(t, src.reshape([...t.shape]));
}

// PyTorch's snake_case names, for line-by-line translations.
export {
  truncNormal_ as trunc_normal_,
  xavierUniform_ as xavier_uniform_,
  xavierNormal_ as xavier_normal_,
  kaimingUniform_ as kaiming_uniform_,
  kaimingNormal_ as kaiming_normal_,
};
