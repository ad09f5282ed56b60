// Discrete Fourier transforms with gradients: fft, ifft, rfft, irfft (torch.fft semantics).
//
// Complex numbers: nabla has no complex dtype, so a complex tensor is a real tensor with a trailing
// dimension of 2 holding (real, imag), exactly what torch.view_as_real gives. `dim` counts the
// complex dimensions only (the trailing 2 is not one): fft(z, {dim: -1}) transforms z.shape[-2].
// Glossary: N transform length, K = N/2 + 1 one-sided bins, ... any leading dimensions.
//
// One primitive does the arithmetic: dftLast(z (..., N, 2), sign, scale), the unnormalised DFT along
// the last complex axis times `scale`, in float64 (radix-2, or Bluestein's chirp-z for other N). Its
// adjoint is the same transform with the opposite sign, so its backward is one more call. rfft and
// irfft are composed from it with differentiable slicing, so their gradients follow (and match
// PyTorch's, which doubles the interior bins of irfft's gradient, as the mirrored bins do here).

import type { Tensor } from '../tensor/tensor.js';
import { fmtShape } from '../tensor/layout.js';
import { record, wrap } from '../ops/util.js';
import { cat, flip, narrow, pad, stack } from '../ops/functional.js';
import { tensor } from '../tensor/creation.js';

export type FftNorm = 'backward' | 'ortho' | 'forward';

export interface FftOptions {
  /** Transform length: the input is cut or zero-padded to it along dim. */
  n?: number;
  /** The complex dimension transformed (the trailing 2 of a complex tensor is not counted). Default -1. */
  dim?: number;
  /** 'backward' (the default: forward unscaled, inverse 1/N), 'ortho' (1/sqrt(N) both ways) or 'forward'. */
  norm?: FftNorm;
}

// ---- the float64 kernels ----

interface Plan {
  n: number;
  /** radix-2 twiddles e^{-2 pi i k / m} for the power-of-two length m, (re, im) interleaved */
  m: number;
  tw: Float64Array;
  rev: Uint32Array;
  /** Bluestein: chirp w_k = e^{-i pi k^2 / n} and the FFT of its conjugate, padded to m */
  chirp?: Float64Array;
  chirpFft?: Float64Array;
}
const plans = new Map<number, Plan>();

function pow2Plan(m: number): { tw: Float64Array; rev: Uint32Array } {
  const tw = new Float64Array(m);
  for (let k = 0; k < m / 2; k++) {
    tw[2 * k] = Math.cos((-2 * Math.PI * k) / m);
    tw[2 * k + 1] = Math.sin((-2 * Math.PI * k) / m);
  }
  const rev = new Uint32Array(m);
  const bits = Math.round(Math.log2(m));
  for (let i = 0; i < m; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  return { tw, rev };
}

function planFor(n: number): Plan {
  let p = plans.get(n);
  if (p) return p;
  if ((n & (n - 1)) === 0) {
    p = { n, m: n, ...pow2Plan(n) };
  } else {
    let m = 1;
    while (m < 2 * n - 1) m *= 2;
    const base = pow2Plan(m);
    const chirp = new Float64Array(2 * n);
    for (let k = 0; k < n; k++) {
      // NOTE: k^2 mod 2n keeps the angle small, so large n loses no precision in cos/sin.
      const a = (-Math.PI * ((k * k) % (2 * n))) / n;
      chirp[2 * k] = Math.cos(a);
      chirp[2 * k + 1] = Math.sin(a);
    }
    const b = new Float64Array(2 * m);
    for (let k = 0; k < n; k++) {
      b[2 * k] = chirp[2 * k];
      b[2 * k + 1] = -chirp[2 * k + 1];
      if (k > 0) {
        b[2 * (m - k)] = chirp[2 * k];
        b[2 * (m - k) + 1] = -chirp[2 * k + 1];
      }
    }
    radix2(b, 0, m, base.tw, base.rev, -1);
    p = { n, m, ...base, chirp, chirpFft: b };
  }
  if (plans.size > 64) plans.clear();
  plans.set(n, p);
  return p;
}

/** In-place radix-2 FFT of m complex values at a[off..]; sign -1 forward, +1 inverse (unscaled). */
function radix2(a: Float64Array, off: number, m: number, tw: Float64Array, rev: Uint32Array, sign: number): void {
  for (let i = 0; i < m; i++) {
    const j = rev[i];
    if (j > i) {
      const ai = off + 2 * i,
        aj = off + 2 * j;
      let t = a[ai];
      a[ai] = a[aj];
      a[aj] = t;
      t = a[ai + 1];
      a[ai + 1] = a[aj + 1];
      a[aj + 1] = t;
    }
  }
  for (let len = 2; len <= m; len *= 2) {
    const half = len / 2,
      step = m / len;
    for (let s = 0; s < m; s += len) {
      for (let k = 0; k < half; k++) {
        const wr = tw[2 * k * step],
          wi = -sign * tw[2 * k * step + 1];
        const u = off + 2 * (s + k),
          v = off + 2 * (s + k + half);
        const xr = a[v] * wr - a[v + 1] * wi,
          xi = a[v] * wi + a[v + 1] * wr;
        a[v] = a[u] - xr;
        a[v + 1] = a[u + 1] - xi;
        a[u] += xr;
        a[u + 1] += xi;
      }
    }
  }
}

/** rows x N complex values (interleaved) -> their DFTs with e^{sign 2 pi i k t / N}, times scale. */
export function dftRows(src: ArrayLike<number>, rows: number, n: number, sign: number, scale: number): Float64Array {
  const out = new Float64Array(rows * 2 * n);
  if (n === 0) return out;
  const p = planFor(n);
  if (p.m === n) {
    for (let i = 0; i < out.length; i++) out[i] = src[i];
    for (let r = 0; r < rows; r++) radix2(out, r * 2 * n, n, p.tw, p.rev, sign);
  } else {
    const m = p.m,
      w = p.chirp!,
      bf = p.chirpFft!;
    const a = new Float64Array(2 * m);
    for (let r = 0; r < rows; r++) {
      a.fill(0);
      const o = r * 2 * n;
      // a_k = x_k * w_k (w conjugated for the inverse sign)
      for (let k = 0; k < n; k++) {
        const xr = src[o + 2 * k],
          xi = src[o + 2 * k + 1];
        const wr = w[2 * k],
          wi = sign < 0 ? w[2 * k + 1] : -w[2 * k + 1];
        a[2 * k] = xr * wr - xi * wi;
        a[2 * k + 1] = xr * wi + xi * wr;
      }
      radix2(a, 0, m, p.tw, p.rev, -1);
      for (let k = 0; k < m; k++) {
        const br = bf[2 * k],
          bi = sign < 0 ? bf[2 * k + 1] : -bf[2 * k + 1];
        // NOTE: the inverse uses the conjugate chirp; b is symmetric (b_j = b_-j), so its spectrum is conj(bf).
        const ar = a[2 * k],
          ai = a[2 * k + 1];
        a[2 * k] = ar * br - ai * bi;
        a[2 * k + 1] = ar * bi + ai * br;
      }
      radix2(a, 0, m, p.tw, p.rev, 1);
      for (let k = 0; k < n; k++) {
        const cr = a[2 * k] / m,
          ci = a[2 * k + 1] / m;
        const wr = w[2 * k],
          wi = sign < 0 ? w[2 * k + 1] : -w[2 * k + 1];
        out[o + 2 * k] = cr * wr - ci * wi;
        out[o + 2 * k + 1] = cr * wi + ci * wr;
      }
    }
  }
  if (scale !== 1) for (let i = 0; i < out.length; i++) out[i] *= scale;
  return out;
}

// ---- the differentiable primitive ----

/** z (..., N, 2) -> DFT along N with e^{sign 2 pi i k t / N}, times scale; same dtype. */
function dftLast(z: Tensor, sign: number, scale: number): Tensor {
  const n = z.shape[z.ndim - 2];
  const rows = z.numel() / Math.max(1, 2 * n);
  const y = dftRows(z.contiguous().toTypedArray() as ArrayLike<number>, n === 0 ? 0 : rows, n, sign, scale);
  const out = wrap(z.dtype === 'float64' ? y : Float32Array.from(y), [...z.shape], z.dtype);
  // NOTE: the adjoint of x -> s * F_sign x is g -> s * F_{-sign} g, so backward is one more transform.
  return record(out, 'FftBackward', [z], (g) => [dftLast(g, -sign, scale)]);
}

// ---- helpers for complex-as-trailing-2 tensors ----

function checkComplex(z: Tensor, op: string): void {
  if (z.ndim < 2 || z.shape[z.ndim - 1] !== 2)
    throw new Error(
      `${op}: expected a complex tensor as (..., 2) (real, imag) in the last dimension, got ${fmtShape(z.shape)}`,
    );
  if (z.dtype !== 'float32' && z.dtype !== 'float64')
    throw new Error(
      `${op}: expected float32 or float64 (real, imag) pairs, got ${z.dtype} of shape ${fmtShape(z.shape)}`,
    );
}

/** The complex dimension `dim` of z (..., 2) as an axis of z. */
function complexAxis(z: Tensor, dim: number, op: string): number {
  const nd = z.ndim - 1;
  const d = dim < 0 ? dim + nd : dim;
  if (!Number.isInteger(d) || d < 0 || d >= nd)
    throw new Error(`${op}: dim ${dim} is out of range for a complex tensor with ${nd} dims ${fmtShape(z.shape)}`);
  return d;
}

/** x cut or zero-padded to n along axis. */
function resize(x: Tensor, axis: number, n: number, op: string): Tensor {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${op}: invalid transform length n=${n} (expected >= 1)`);
  const cur = x.shape[axis];
  if (cur === n) return x;
  if (cur > n) return narrow(x, axis, 0, n);
  const padding = new Array<number>(2 * (x.ndim - axis)).fill(0);
  padding[2 * (x.ndim - 1 - axis) + 1] = n - cur;
  return pad(x, padding);
}

function scaleOf(norm: FftNorm | undefined, n: number, inverse: boolean, op: string): number {
  const nm = norm ?? 'backward';
  if (nm === 'ortho') return 1 / Math.sqrt(n);
  if (nm === 'backward') return inverse ? 1 / n : 1;
  if (nm === 'forward') return inverse ? 1 : 1 / n;
  throw new Error(`${op}: norm must be 'backward', 'ortho' or 'forward', got '${String(norm)}'`);
}

/** A complex tensor (..., 2) from real and imaginary parts of the same shape (torch.complex + view_as_real). */
export function complex(re: Tensor, im: Tensor): Tensor {
  return stack([re, im], -1);
}
/** The real part of z (..., 2). */
export function real(z: Tensor): Tensor {
  checkComplex(z, 'real');
  return z.select(-1, 0);
}
/** The imaginary part of z (..., 2). */
export function imag(z: Tensor): Tensor {
  checkComplex(z, 'imag');
  return z.select(-1, 1);
}
/** The complex conjugate of z (..., 2). */
export function conj(z: Tensor): Tensor {
  checkComplex(z, 'conj');
  return z.mul(tensor([1, -1], { dtype: z.dtype }));
}

/**
 * |z| of z (..., 2) -> (...), with PyTorch's gradient: g * z / |z|, and 0 where z = 0 (where sqrt of a
 * sum of squares would give NaN).
 */
export function cabs(z: Tensor): Tensor {
  checkComplex(z, 'abs');
  const d = z.contiguous().toTypedArray() as Float32Array | Float64Array;
  const n = d.length / 2;
  const o = z.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) o[i] = Math.hypot(d[2 * i], d[2 * i + 1]);
  const out = wrap(o, z.shape.slice(0, -1), z.dtype);
  return record(
    out,
    'AbsBackward',
    [z],
    (g, [zs, r]) => {
      const safe = r.where(r.ne(0), 1);
      return [zs.mul(g.div(safe).where(r.ne(0), 0).unsqueeze(-1))];
    },
    [z, out],
  );
}

/** Squared magnitude re^2 + im^2 of z (..., 2) -> (...): the power spectrum, smooth at 0. */
export function cabs2(z: Tensor): Tensor {
  checkComplex(z, 'abs2');
  return z.mul(z).sum(-1);
}

// ---- torch.fft ----

function cfft(z: Tensor, o: FftOptions, inverse: boolean, op: string): Tensor {
  checkComplex(z, op);
  const axis = complexAxis(z, o.dim ?? -1, op);
  const x = o.n === undefined ? z : resize(z, axis, o.n, op);
  const n = x.shape[axis];
  if (n < 1) throw new Error(`${op}: cannot transform an empty dimension (input ${fmtShape(z.shape)})`);
  const last = x.ndim - 2;
  const moved = axis === last ? x : x.transpose(axis, last);
  const y = dftLast(moved, inverse ? 1 : -1, scaleOf(o.norm, n, inverse, op));
  return axis === last ? y : y.transpose(axis, last);
}

/**
 * The discrete Fourier transform of a complex tensor z (..., 2) along `dim` (torch.fft.fft).
 * @example nb.audio.fft(nb.audio.complex(nb.tensor([1, 2, 3]), nb.zeros([3])))  // (3, 2)
 */
export function fft(z: Tensor, o: FftOptions = {}): Tensor {
  return cfft(z, o, false, 'fft');
}

/** The inverse transform of fft (torch.fft.ifft): z (..., 2) -> (..., 2). */
export function ifft(z: Tensor, o: FftOptions = {}): Tensor {
  return cfft(z, o, true, 'ifft');
}

/** The one-sided transform of a real tensor x (..., N, ...) -> (..., N/2+1, ..., 2) (torch.fft.rfft). */
export function rfft(x: Tensor, o: FftOptions = {}): Tensor {
  const op = 'rfft';
  if (x.dtype !== 'float32' && x.dtype !== 'float64')
    throw new Error(`${op}: expected a float32 or float64 real tensor, got ${x.dtype} of shape ${fmtShape(x.shape)}`);
  if (x.ndim < 1) throw new Error(`${op}: expected at least 1 dimension, got a 0-dim tensor`);
  const d = o.dim ?? -1,
    axis = d < 0 ? d + x.ndim : d;
  if (!Number.isInteger(axis) || axis < 0 || axis >= x.ndim)
    throw new Error(`${op}: dim ${d} is out of range for shape ${fmtShape(x.shape)}`);
  const xs = o.n === undefined ? x : resize(x, axis, o.n, op);
  const n = xs.shape[axis];
  if (n < 1) throw new Error(`${op}: cannot transform an empty dimension (input ${fmtShape(x.shape)})`);
  const z = complex(xs, xs.mul(0));
  const full = cfft(z, { dim: axis, norm: o.norm }, false, op);
  return narrow(full, axis, 0, Math.floor(n / 2) + 1);
}

/**
 * The inverse of rfft (torch.fft.irfft): a one-sided spectrum z (..., K, ..., 2) -> a real signal of
 * length n (default 2 (K - 1)). The imaginary parts of bin 0 (and of bin N/2 for even N) are ignored.
 */
export function irfft(z: Tensor, o: FftOptions = {}): Tensor {
  const op = 'irfft';
  checkComplex(z, op);
  const axis = complexAxis(z, o.dim ?? -1, op);
  const n = o.n ?? 2 * (z.shape[axis] - 1);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${op}: invalid output length n=${n} for input ${fmtShape(z.shape)} along dim ${axis}`);
  const k = Math.floor(n / 2) + 1;
  const half = resize(z, axis, k, op);
  // bins k..n-1 are conj(X[n-k]): the mirror of bins 1..n-k
  const tail = n - k;
  const full = tail > 0 ? cat([half, conj(flip(narrow(half, axis, 1, tail), [axis]))], axis) : half;
  return real(cfft(full, { dim: axis, norm: o.norm }, true, op));
}
