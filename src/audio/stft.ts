// Short-time Fourier transforms (torch.stft / torch.istft, return_complex as view_as_real) and the
// window functions (torch.hann_window, hamming_window, ...).
// Glossary: L signal length, NF n_fft, W win_length, H hop_length, F frames, K = NF/2 + 1 bins.
//
// Framing and overlap-add are each other's adjoint, so each is a small op whose backward is the other.

import type { Tensor } from '../tensor/tensor.js';
import { fmtShape } from '../tensor/layout.js';
import { record, wrap } from '../ops/util.js';
import { pad } from '../ops/functional.js';
import type { PadMode } from '../ops/indexing.js';
import { ones, zerosLike } from '../tensor/creation.js';
import { complex, fft, ifft, irfft, rfft } from './fft.js';

export interface WindowOptions {
  /** true (the default) for a periodic window, as spectral analysis wants; false for a symmetric one. */
  periodic?: boolean;
  dtype?: 'float32' | 'float64';
}

function cosineWindow(n: number, o: WindowOptions, a0: number, a1: number, a2 = 0, op = 'window'): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${op}: window length must be a non-negative integer, got ${n}`);
  const dtype = o.dtype ?? 'float32';
  const d = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  // NOTE: torch computes windows in the window's dtype, step by step (arange * (2 pi / den), cos, * -a1,
  // + a0); float32 windows round as it does, so spectra agree to the last bit, not just to 1e-7.
  const r = dtype === 'float64' ? (v: number) => v : Math.fround;
  if (n === 1) d[0] = 1;
  else {
    const den = (o.periodic ?? true) ? n : n - 1;
    const step = r((2 * Math.PI) / den),
      step2 = r((4 * Math.PI) / den);
    for (let i = 0; i < n; i++) {
      const c1 = r(r(Math.cos(r(i * step))) * -a1);
      d[i] = a2 === 0 ? r(c1 + a0) : r(r(c1 + a0) + r(r(Math.cos(r(i * step2))) * a2));
    }
  }
  return wrap(d, [n], dtype);
}

/** torch.hann_window: 0.5 - 0.5 cos(2 pi i / N) (periodic by default). */
export function hannWindow(n: number, o: WindowOptions = {}): Tensor {
  return cosineWindow(n, o, 0.5, 0.5, 0, 'hannWindow');
}
/** torch.hamming_window (alpha 0.54, beta 0.46). */
export function hammingWindow(n: number, o: WindowOptions = {}): Tensor {
  return cosineWindow(n, o, 0.54, 0.46, 0, 'hammingWindow');
}
/** torch.blackman_window. */
export function blackmanWindow(n: number, o: WindowOptions = {}): Tensor {
  return cosineWindow(n, o, 0.42, 0.5, 0.08, 'blackmanWindow');
}

// ---- framing and overlap-add ----

/** x (..., L) -> (..., F, NF): frame f is x[f H .. f H + NF). */
export function frames(x: Tensor, nfft: number, hop: number, count?: number): Tensor {
  const L = x.shape[x.ndim - 1];
  const F = count ?? 1 + Math.floor((L - nfft) / hop);
  if (F < 1 || nfft + hop * (F - 1) > L)
    throw new Error(`frames: ${F} frames of ${nfft} with hop ${hop} do not fit a signal of length ${L}`);
  const src = x.contiguous().toTypedArray() as Float32Array | Float64Array;
  const B = src.length / Math.max(1, L);
  const out = new (src.constructor as Float64ArrayConstructor)(B * F * nfft);
  for (let b = 0; b < B; b++)
    for (let f = 0; f < F; f++) out.set(src.subarray(b * L + f * hop, b * L + f * hop + nfft), (b * F + f) * nfft);
  const y = wrap(out, [...x.shape.slice(0, -1), F, nfft], x.dtype);
  return record(y, 'FramesBackward', [x], (g) => [overlapAdd(g, hop, L)]);
}

/** frames (..., F, NF) -> (..., L): the sum of frame f placed at f H (the adjoint of `frames`). */
export function overlapAdd(fr: Tensor, hop: number, length?: number): Tensor {
  const [F, NF] = fr.shape.slice(-2);
  const L = length ?? NF + hop * (F - 1);
  if (L < NF + hop * (F - 1))
    throw new Error(`overlapAdd: length ${L} is shorter than ${F} frames of ${NF} with hop ${hop}`);
  const src = fr.contiguous().toTypedArray() as Float32Array | Float64Array;
  const B = src.length / Math.max(1, F * NF);
  const out = new (src.constructor as Float64ArrayConstructor)(B * L);
  for (let b = 0; b < B; b++)
    for (let f = 0; f < F; f++) {
      const o = b * L + f * hop,
        s = (b * F + f) * NF;
      for (let i = 0; i < NF; i++) out[o + i] += src[s + i];
    }
  const y = wrap(out, [...fr.shape.slice(0, -2), L], fr.dtype);
  return record(y, 'OverlapAddBackward', [fr], (g) => [frames(g, NF, hop, F)]);
}

// ---- stft / istft ----

export interface StftOptions {
  /** Default floor(NF / 4). */
  hopLength?: number;
  /** Default NF. */
  winLength?: number;
  /** (W) window; default all ones (rectangular), as torch.stft. Zero-padded on both sides to NF. */
  window?: Tensor | null;
  /** Pad NF/2 on both sides so frame f is centred at f H (default true). */
  center?: boolean;
  /** How center pads: 'reflect' (the default), 'constant', 'replicate' or 'circular'. */
  padMode?: PadMode;
  /** Scale by NF^-1/2 (default false). */
  normalized?: boolean;
  /** Return K = NF/2 + 1 bins (default true for real input). */
  onesided?: boolean;
}

function windowFor(o: StftOptions, nfft: number, dtype: Tensor['dtype'], op: string): Tensor {
  const W = o.winLength ?? nfft;
  if (!Number.isInteger(W) || W < 1 || W > nfft)
    throw new Error(`${op}: expected 0 < win_length <= n_fft, but got win_length=${W} and n_fft=${nfft}`);
  let w = o.window ?? ones([W], { dtype });
  if (w.ndim !== 1 || w.shape[0] !== W)
    throw new Error(`${op}: expected a 1-D window of size win_length=${W}, got ${fmtShape(w.shape)}`);
  if (w.dtype !== dtype) w = w.to(dtype);
  const left = Math.floor((nfft - W) / 2);
  return W === nfft ? w : pad(w, [left, nfft - W - left]);
}

function hopFor(o: StftOptions, nfft: number, op: string): number {
  const H = o.hopLength ?? Math.floor(nfft / 4);
  if (!Number.isInteger(H) || H < 1) throw new Error(`${op}: expected hop_length > 0, but got hop_length=${H}`);
  return H;
}

/**
 * torch.stft(x, n_fft, ..., return_complex=True) as view_as_real: x (..., L) real -> (..., K, F, 2).
 * @example nb.audio.stft(wave, 400, { hopLength: 160, window: nb.audio.hannWindow(400) })
 */
export function stft(x: Tensor, nfft: number, o: StftOptions = {}): Tensor {
  const op = 'stft';
  if (x.dtype !== 'float32' && x.dtype !== 'float64')
    throw new Error(`${op}: expected a float32 or float64 real signal, got ${x.dtype} of shape ${fmtShape(x.shape)}`);
  if (x.ndim < 1) throw new Error(`${op}: expected a 1-D or batched signal (..., L), got a 0-dim tensor`);
  if (!Number.isInteger(nfft) || nfft < 1) throw new Error(`${op}: n_fft must be a positive integer, got ${nfft}`);
  const H = hopFor(o, nfft, op);
  const w = windowFor(o, nfft, x.dtype, op);
  let s = x;
  if (o.center ?? true) {
    const p = Math.floor(nfft / 2);
    const mode = o.padMode ?? 'reflect';
    if (mode === 'reflect' && p >= x.shape[x.ndim - 1])
      throw new Error(
        `${op}: reflect padding of ${p} (n_fft/2) needs a signal longer than ${p} samples, got ${fmtShape(x.shape)}`,
      );
    s = pad(x, [p, p], mode);
  }
  const L = s.shape[s.ndim - 1];
  if (L < nfft)
    throw new Error(
      `${op}: n_fft=${nfft} is longer than the (padded) signal of ${L} samples (input ${fmtShape(x.shape)})`,
    );
  const fr = frames(s, nfft, H).mul(w); // (..., F, NF)
  const norm = o.normalized ? 'ortho' : 'backward';
  const spec = (o.onesided ?? true) ? rfft(fr, { norm }) : fft(complex(fr, zerosLike(fr)), { norm });
  return spec.transpose(-3, -2); // (..., K, F, 2)
}

export interface IstftOptions extends StftOptions {
  /** Output length: the signal is trimmed or zero-padded to it. */
  length?: number;
}

/** torch.istft: a spectrum (..., K, F, 2) (or (..., NF, F, 2) when not onesided) -> a real signal (..., L). */
export function istft(spec: Tensor, nfft: number, o: IstftOptions = {}): Tensor {
  const op = 'istft';
  if (spec.ndim < 3 || spec.shape[spec.ndim - 1] !== 2)
    throw new Error(`${op}: expected a complex spectrum (..., freq, frames, 2), got ${fmtShape(spec.shape)}`);
  const H = hopFor(o, nfft, op);
  const w = windowFor(o, nfft, spec.dtype, op);
  const onesided = o.onesided ?? true;
  const K = spec.shape[spec.ndim - 3],
    F = spec.shape[spec.ndim - 2];
  const want = onesided ? Math.floor(nfft / 2) + 1 : nfft;
  if (K !== want)
    throw new Error(
      `${op}: expected the frequency dimension (${spec.ndim - 3}) of input ${fmtShape(spec.shape)} to equal ` +
        `${onesided ? 'n_fft / 2 + 1' : 'n_fft'} = ${want}`,
    );
  const norm = o.normalized ? 'ortho' : 'backward';
  const byFrame = spec.transpose(-3, -2); // (..., F, K, 2)
  const fr = onesided ? irfft(byFrame, { n: nfft, norm }) : ifft(byFrame, { norm }).select(-1, 0); // (..., F, NF)
  const expected = nfft + H * (F - 1);
  const y = overlapAdd(fr.mul(w), H, expected);
  const env = overlapAdd(w.square().expand([F, nfft]), H, expected);
  const center = o.center ?? true;
  const start = center ? Math.floor(nfft / 2) : 0;
  const end = o.length !== undefined ? start + o.length : center ? expected - Math.floor(nfft / 2) : expected;
  const stop = Math.min(end, expected);
  if (stop <= start)
    throw new Error(`${op}: no samples left between ${start} and ${end} (input ${fmtShape(spec.shape)})`);
  const envS = env.narrow(-1, start, stop - start);
  const lowest = (envS.abs().min() as Tensor).item() as number;
  if (!(lowest > 1e-11))
    throw new Error(`${op}: window overlap add min: ${lowest} (the window and hop ${H} do not cover every sample)`);
  let out = y.narrow(-1, start, stop - start).div(envS);
  if (end > expected) out = pad(out, [0, end - expected]);
  return out;
}
