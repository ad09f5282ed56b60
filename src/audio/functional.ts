// torchaudio.functional: spectrogram, mel filter banks, DCT, amplitude to dB, resampling, Griffin-Lim
// and the SpecAugment masks, with torchaudio 0.13's arithmetic (the goldens come from it).
// Glossary: L samples, NF n_fft, K = NF/2 + 1 bins, F frames, M mel bands, NC MFCC coefficients.

import type { Tensor } from '../tensor/tensor.js';
import { fmtShape } from '../tensor/layout.js';
import { wrap } from '../ops/util.js';
import { conv1d } from '../ops/conv.js';
import { pad, maximum } from '../ops/functional.js';
import type { PadMode } from '../ops/indexing.js';
import { type Generator, defaultGenerator } from '../tensor/random.js';
import { cabs, cabs2, complex } from './fft.js';
import { istft, stft } from './stft.js';

export type SpecNormalized = boolean | 'window' | 'frame_length';

export interface SpectrogramOptions {
  pad?: number;
  /** (W) window. */
  window: Tensor;
  nFft: number;
  hopLength: number;
  winLength: number;
  /** 2 for power, 1 for magnitude, null for the complex spectrum (..., K, F, 2). */
  power: number | null;
  /** true or 'window': divide by the window's L2 norm; 'frame_length': by sqrt(NF). */
  normalized?: SpecNormalized;
  center?: boolean;
  padMode?: PadMode;
  onesided?: boolean;
}

/** torchaudio.functional.spectrogram: waveform (..., L) -> (..., K, F) (or (..., K, F, 2) when power is null). */
export function spectrogram(waveform: Tensor, o: SpectrogramOptions): Tensor {
  let x = waveform;
  if ((o.pad ?? 0) > 0) x = pad(x, [o.pad!, o.pad!]);
  const frameNorm = o.normalized === 'frame_length';
  const windowNorm = o.normalized === true || o.normalized === 'window';
  let spec = stft(x, o.nFft, {
    hopLength: o.hopLength,
    winLength: o.winLength,
    window: o.window,
    center: o.center ?? true,
    padMode: o.padMode ?? 'reflect',
    normalized: frameNorm,
    onesided: o.onesided ?? true,
  });
  if (windowNorm) spec = spec.div(o.window.to(spec.dtype).square().sum().sqrt());
  if (o.power === null) return spec;
  if (o.power === 1) return cabs(spec);
  if (o.power === 2) return cabs2(spec);
  return cabs(spec).pow(o.power);
}

export type MelScale = 'htk' | 'slaney';

function hzToMel(f: number, scale: MelScale): number {
  if (scale === 'htk') return 2595 * Math.log10(1 + f / 700);
  const fsp = 200 / 3,
    minLogHz = 1000,
    minLogMel = minLogHz / fsp,
    logstep = Math.log(6.4) / 27;
  return f >= minLogHz ? minLogMel + Math.log(f / minLogHz) / logstep : f / fsp;
}

function checkScale(scale: string, op: string): MelScale {
  if (scale !== 'htk' && scale !== 'slaney')
    throw new Error(`${op}: mel_scale should be one of "htk" or "slaney", got "${scale}"`);
  return scale;
}

/**
 * torchaudio.functional.melscale_fbanks: triangular filters (nFreqs, nMels), float32.
 * NOTE: torchaudio computes these in float32 (linspace and the slopes); so does this, so the
 * filters agree to the last bit where it matters (the zero crossings).
 */
export function melscaleFbanks(
  nFreqs: number,
  fMin: number,
  fMax: number,
  nMels: number,
  sampleRate: number,
  norm: 'slaney' | null = null,
  melScale: MelScale = 'htk',
): Tensor {
  const op = 'melscaleFbanks';
  checkScale(melScale, op);
  if (norm !== null && norm !== 'slaney') throw new Error(`${op}: norm must be one of None or "slaney", got "${norm}"`);
  if (nFreqs < 1 || nMels < 1) throw new Error(`${op}: nFreqs (${nFreqs}) and nMels (${nMels}) must be positive`);
  const f32 = Math.fround;
  const top = Math.floor(sampleRate / 2);
  const allFreqs = new Float32Array(nFreqs);
  const linspace = (a: number, b: number, n: number, out: Float32Array) => {
    // NOTE: torch.linspace in float32 as its CPU kernel computes it: blocks of 8 lanes from a base
    // (start + step * idx before halfway, end - step * (n - idx - 1) after) plus step * lane; then
    // the scalar tail. The mel points then agree bit for bit.
    const s = n > 1 ? f32((f32(b) - f32(a)) / (n - 1)) : 0,
      half = Math.floor(n / 2);
    const at = (idx: number) => (idx < half ? f32(f32(a) + f32(s * idx)) : f32(f32(b) - f32(s * (n - idx - 1))));
    let idx = 0;
    for (; idx + 8 <= n; idx += 8) {
      const base = at(idx);
      for (let l = 0; l < 8; l++) out[idx + l] = f32(base + f32(s * l));
    }
    for (; idx < n; idx++) out[idx] = at(idx);
  };
  linspace(0, top, nFreqs, allFreqs);
  const mMin = hzToMel(fMin, melScale),
    mMax = hzToMel(fMax, melScale);
  const mPts = new Float32Array(nMels + 2);
  linspace(f32(mMin), f32(mMax), nMels + 2, mPts);
  const fPts = new Float32Array(nMels + 2);
  for (let i = 0; i < fPts.length; i++) fPts[i] = melToHzF32(mPts[i], melScale);
  const fb = new Float32Array(nFreqs * nMels);
  for (let j = 0; j < nMels; j++) {
    const d0 = f32(fPts[j + 1] - fPts[j]),
      d1 = f32(fPts[j + 2] - fPts[j + 1]);
    const enorm = norm === 'slaney' ? f32(2 / f32(fPts[j + 2] - fPts[j])) : 1;
    for (let i = 0; i < nFreqs; i++) {
      const down = f32(f32(-1 * f32(fPts[j] - allFreqs[i])) / d0);
      const up = f32(f32(fPts[j + 2] - allFreqs[i]) / d1);
      const v = Math.max(0, Math.min(down, up));
      fb[i * nMels + j] = norm === 'slaney' ? f32(v * enorm) : v;
    }
  }
  return wrap(fb, [nFreqs, nMels], 'float32');
}

/** _mel_to_hz on a float32 tensor, rounded as torch rounds each float32 op. */
function melToHzF32(m: number, scale: MelScale): number {
  const f32 = Math.fround;
  if (scale === 'htk') return f32(700 * f32(f32(10 ** f32(m / 2595)) - 1));
  const fsp = 200 / 3,
    minLogMel = 1000 / fsp,
    logstep = Math.log(6.4) / 27;
  if (m >= minLogMel) return f32(1000 * f32(Math.exp(f32(logstep * f32(m - minLogMel)))));
  return f32(fsp * m);
}

/** torchaudio.functional.create_dct: the DCT-II matrix (nMels, nMfcc), 'ortho' or unnormalised (null). */
export function createDct(nMfcc: number, nMels: number, norm: 'ortho' | null = 'ortho'): Tensor {
  if (norm !== null && norm !== 'ortho')
    throw new Error(`createDct: norm must be either "ortho" or None, got "${norm}"`);
  const out = new Float32Array(nMels * nMfcc);
  // NOTE: in float32 step by step as torchaudio computes it: the cosine's argument reaches ~pi nMels, so
  // its float32 rounding moves the result by more than an ulp of the result.
  const f32 = Math.fround,
    c = f32(Math.PI / nMels),
    s0 = f32(Math.SQRT1_2),
    sAll = f32(Math.sqrt(2 / nMels));
  for (let k = 0; k < nMfcc; k++)
    for (let n = 0; n < nMels; n++) {
      let v = f32(Math.cos(f32(f32(c * (n + 0.5)) * k)));
      if (norm === null) v = f32(v * 2);
      else v = f32((k === 0 ? f32(v * s0) : v) * sAll);
      out[n * nMfcc + k] = v;
    }
  return wrap(out, [nMels, nMfcc], 'float32');
}

/**
 * torchaudio.functional.amplitude_to_DB: multiplier * log10(max(x, amin)) - multiplier * dbMultiplier,
 * then, with topDb, floored at (max - topDb) per spectrogram (the last 3 dims of (..., C, K, F)).
 */
export function amplitudeToDB(
  x: Tensor,
  multiplier: number,
  amin: number,
  dbMultiplier: number,
  topDb: number | null = null,
): Tensor {
  let db = x
    .clamp(amin)
    .log()
    .mul(multiplier / Math.LN10);
  if (dbMultiplier !== 0) db = db.sub(multiplier * dbMultiplier);
  if (topDb === null) return db;
  const shape = db.shape;
  const packed = db.ndim > 2 ? shape[db.ndim - 3] : 1;
  const r = db.reshape([-1, packed, shape[db.ndim - 2], shape[db.ndim - 1]]);
  const floor = r.amax([-3, -2, -1]).sub(topDb).reshape([-1, 1, 1, 1]);
  return maximum(r, floor).reshape([...shape]);
}

/** torchaudio.functional.DB_to_amplitude: ref * (10^(x/10))^power. */
export function dbToAmplitude(x: Tensor, ref: number, power: number): Tensor {
  return x
    .mul(0.1 * Math.LN10)
    .exp()
    .pow(power)
    .mul(ref);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export interface ResampleOptions {
  lowpassFilterWidth?: number;
  rolloff?: number;
  resamplingMethod?: 'sinc_interpolation' | 'kaiser_window';
  beta?: number | null;
}

/** Modified Bessel function of the first kind, order 0 (torch.i0), by its power series. */
function besselI0(x: number): number {
  let sum = 1,
    term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** The polyphase kernel (newFreq, 1, 2 width + origFreq) and width, in float64 (reduced by the gcd). */
export function sincResampleKernel(
  origFreq: number,
  newFreq: number,
  o: ResampleOptions = {},
): { kernel: Float64Array; width: number; orig: number; next: number } {
  const op = 'resample';
  if (!Number.isInteger(origFreq) || !Number.isInteger(newFreq) || origFreq <= 0 || newFreq <= 0)
    throw new Error(`${op}: frequencies must be positive integers, got ${origFreq} -> ${newFreq}`);
  const method = o.resamplingMethod ?? 'sinc_interpolation';
  if (method !== 'sinc_interpolation' && method !== 'kaiser_window')
    throw new Error(`${op}: invalid resampling method: ${method}`);
  const lpw = o.lowpassFilterWidth ?? 6;
  if (lpw <= 0) throw new Error(`${op}: low pass filter width should be positive, got ${lpw}`);
  const g = gcd(origFreq, newFreq),
    orig = origFreq / g,
    next = newFreq / g;
  const base = Math.min(orig, next) * (o.rolloff ?? 0.99);
  const width = Math.ceil((lpw * orig) / base);
  const K = 2 * width + orig;
  if (next * K > 1 << 26)
    throw new Error(`${op}: ${origFreq} -> ${newFreq} Hz needs a ${next} x ${K} kernel; reduce the ratio first`);
  const kernel = new Float64Array(next * K);
  // NOTE: torchaudio holds beta in a float32 tensor, and i0(beta) is computed in float32.
  const betaF = Math.fround(o.beta ?? 14.769656459379492),
    i0Beta = Math.fround(besselI0(betaF));
  for (let j = 0; j < next; j++)
    for (let i = 0; i < K; i++) {
      let t = (-j / next + (i - width) / orig) * base;
      t = Math.max(-lpw, Math.min(lpw, t));
      const win =
        method === 'sinc_interpolation'
          ? Math.cos((t * Math.PI) / lpw / 2) ** 2
          : besselI0(betaF * Math.sqrt(1 - (t / lpw) ** 2)) / i0Beta;
      const tp = t * Math.PI;
      kernel[j * K + i] = (tp === 0 ? 1 : Math.sin(tp) / tp) * win * (base / orig);
    }
  return { kernel, width, orig, next };
}

/** torchaudio.functional.resample: waveform (..., L) at origFreq -> (..., ceil(L newFreq / origFreq)). */
export function resample(waveform: Tensor, origFreq: number, newFreq: number, o: ResampleOptions = {}): Tensor {
  if (waveform.dtype !== 'float32' && waveform.dtype !== 'float64')
    throw new Error(`resample: expected a floating point waveform, got ${waveform.dtype} ${fmtShape(waveform.shape)}`);
  const { kernel, width, orig, next } = sincResampleKernel(origFreq, newFreq, o);
  if (origFreq === newFreq) return waveform;
  const K = 2 * width + orig;
  const k = wrap(waveform.dtype === 'float64' ? kernel : Float32Array.from(kernel), [next, 1, K], waveform.dtype);
  const shape = waveform.shape,
    L = shape[shape.length - 1];
  const x = pad(waveform.reshape([-1, 1, L]), [width, width + orig]);
  const y = conv1d(x, k, null, orig); // (B, next, steps)
  const B = y.shape[0];
  const target = Math.ceil((next * L) / orig);
  const flat = y.transpose(1, 2).reshape([B, -1]).narrow(1, 0, target);
  return flat.reshape([...shape.slice(0, -1), target]);
}

export interface GriffinLimOptions {
  window: Tensor;
  nFft: number;
  hopLength: number;
  winLength: number;
  power: number;
  nIter: number;
  momentum: number;
  length?: number | null;
  /** Random initial phases (from `generator`); false starts every phase at 0 (angle 1 + 0i). */
  randInit: boolean;
  generator?: Generator;
}

/** torchaudio.functional.griffinlim: a magnitude or power spectrogram (..., K, F) -> waveform (..., L). */
export function griffinlim(specgram: Tensor, o: GriffinLimOptions): Tensor {
  const op = 'griffinlim';
  if (!(o.momentum >= 0 && o.momentum < 1))
    throw new Error(`${op}: momentum must be in range [0, 1). Found: ${o.momentum}`);
  const m = o.momentum / (1 + o.momentum);
  const shape = specgram.shape;
  const spec = specgram.reshape([-1, ...shape.slice(-2)]).pow(1 / o.power);
  const stOpts = { hopLength: o.hopLength, winLength: o.winLength, window: o.window };
  const istOpts = { ...stOpts, length: o.length ?? undefined };
  // angles (B, K, F, 2)
  let angles: Tensor;
  if (o.randInit) {
    // NOTE: torch.rand on a complex dtype draws real and imaginary parts uniform in [0, 1).
    const g = o.generator ?? defaultGenerator();
    const d = new Float64Array(spec.numel() * 2);
    for (let i = 0; i < d.length; i++) d[i] = g.random();
    angles = wrap(spec.dtype === 'float64' ? d : Float32Array.from(d), [...spec.shape, 2], spec.dtype);
  } else angles = complex(spec.mul(0).add(1), spec.mul(0));
  const mag = spec.unsqueeze(-1);
  let tprev: Tensor | null = null;
  for (let it = 0; it < o.nIter; it++) {
    const inverse = istft(mag.mul(angles), o.nFft, istOpts);
    const rebuilt = stft(inverse, o.nFft, { ...stOpts, center: true, padMode: 'reflect' });
    angles = m && tprev ? rebuilt.sub(tprev.mul(m)) : rebuilt;
    angles = angles.div(cabs(angles).add(1e-16).unsqueeze(-1));
    tprev = rebuilt;
  }
  const wave = istft(mag.mul(angles), o.nFft, istOpts);
  return wave.reshape([...shape.slice(0, -2), wave.shape[wave.ndim - 1]]);
}

/**
 * torchaudio.functional.mask_along_axis: one band [start, start + width) of axis 1 (freq) or 2 (time)
 * of the packed (B, K, F) view set to maskValue, the same band for every item; width = floor(u maskParam),
 * start = floor(v (size - width)) with u, v uniform from `generator`.
 */
export function maskAlongAxis(
  specgram: Tensor,
  maskParam: number,
  maskValue: number,
  axis: 1 | 2,
  p = 1,
  generator: Generator = defaultGenerator(),
): Tensor {
  const op = 'maskAlongAxis';
  if (axis !== 1 && axis !== 2) throw new Error(`${op}: only frequency (1) and time (2) masking are supported`);
  if (!(p >= 0 && p <= 1)) throw new Error(`${op}: the value of p must be between 0.0 and 1.0 (${p} given)`);
  if (specgram.ndim < 2)
    throw new Error(`${op}: expected a spectrogram (..., freq, time), got ${fmtShape(specgram.shape)}`);
  const shape = specgram.shape;
  const size = shape[shape.length - 3 + axis];
  const param = p === 1 ? maskParam : Math.min(maskParam, Math.floor(size * p));
  if (param < 1) return specgram;
  const value = generator.random() * param;
  const minValue = generator.random() * (size - value);
  const start = Math.floor(minValue),
    end = Math.floor(minValue) + Math.floor(value);
  const idx = new Uint8Array(size);
  for (let i = start; i < Math.min(end, size); i++) idx[i] = 1;
  let mask = wrap(idx, [size], 'bool');
  if (axis === 1) mask = mask.unsqueeze(-1);
  return specgram.maskedFill(mask, maskValue);
}
