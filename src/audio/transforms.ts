// torchaudio.transforms as Modules: Spectrogram, MelScale, MelSpectrogram, MFCC, AmplitudeToDB,
// Resample, GriffinLim, TimeMasking, FrequencyMasking. Constructor options follow torchaudio's keyword
// arguments in camelCase; buffers keep torchaudio's state-dict names (window, fb, dct_mat, kernel).
// Glossary: L samples, K = nFft/2 + 1 bins, F frames, M mel bands, NC MFCC coefficients.

import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import { fmtShape } from '../tensor/layout.js';
import { wrap } from '../ops/util.js';
import { stack } from '../ops/functional.js';
import type { PadMode } from '../ops/indexing.js';
import * as AF from './functional.js';
import { hannWindow } from './stft.js';

/** Makes a window of n samples, as torch.hann_window does (the default). */
export type WindowFn = (n: number) => Tensor;

export interface SpectrogramOptions {
  nFft?: number;
  winLength?: number | null;
  hopLength?: number | null;
  pad?: number;
  windowFn?: WindowFn;
  power?: number | null;
  normalized?: AF.SpecNormalized;
  center?: boolean;
  padMode?: PadMode;
  onesided?: boolean;
}

/** torchaudio.transforms.Spectrogram: waveform (..., L) -> (..., K, F). Defaults: nFft 400, hann, power 2. */
export class Spectrogram extends Module {
  readonly nFft: number;
  readonly winLength: number;
  readonly hopLength: number;
  readonly pad: number;
  readonly power: number | null;
  readonly normalized: AF.SpecNormalized;
  readonly center: boolean;
  readonly padMode: PadMode;
  readonly onesided: boolean;
  declare window: Tensor;
  constructor(o: SpectrogramOptions = {}) {
    super();
    this.nFft = o.nFft ?? 400;
    this.winLength = o.winLength ?? this.nFft;
    this.hopLength = o.hopLength ?? Math.floor(this.winLength / 2);
    this.pad = o.pad ?? 0;
    this.power = o.power === undefined ? 2 : o.power;
    this.normalized = o.normalized ?? false;
    this.center = o.center ?? true;
    this.padMode = o.padMode ?? 'reflect';
    this.onesided = o.onesided ?? true;
    this.registerBuffer('window', (o.windowFn ?? hannWindow)(this.winLength));
  }
  forward(waveform: Tensor): Tensor {
    return AF.spectrogram(waveform, {
      pad: this.pad,
      window: this.window,
      nFft: this.nFft,
      hopLength: this.hopLength,
      winLength: this.winLength,
      power: this.power,
      normalized: this.normalized,
      center: this.center,
      padMode: this.padMode,
      onesided: this.onesided,
    });
  }
}

/** torchaudio.transforms.MelScale: a spectrogram (..., K, F) -> (..., M, F). */
export class MelScale extends Module {
  declare fb: Tensor;
  constructor(
    readonly nMels = 128,
    readonly sampleRate = 16000,
    readonly fMin = 0,
    fMax: number | null = null,
    readonly nStft = 201,
    readonly norm: 'slaney' | null = null,
    readonly melScale: AF.MelScale = 'htk',
  ) {
    super();
    const top = fMax ?? sampleRate / 2;
    if (fMin > top) throw new Error(`MelScale: require fMin (${fMin}) <= fMax (${top})`);
    this.registerBuffer('fb', AF.melscaleFbanks(nStft, fMin, top, nMels, sampleRate, norm, melScale));
  }
  forward(specgram: Tensor): Tensor {
    const K = specgram.shape[specgram.ndim - 2];
    if (specgram.ndim < 2 || K !== this.fb.shape[0])
      throw new Error(
        `MelScale: expected a spectrogram (..., ${this.fb.shape[0]}, time), got ${fmtShape(specgram.shape)}`,
      );
    // (..., K, F) -> (..., F, K) @ (K, M) -> (..., M, F)
    const fb = this.fb.dtype === specgram.dtype ? this.fb : this.fb.to(specgram.dtype);
    return specgram.transpose(-1, -2).matmul(fb).transpose(-1, -2);
  }
}

export interface MelSpectrogramOptions extends SpectrogramOptions {
  sampleRate?: number;
  fMin?: number;
  fMax?: number | null;
  nMels?: number;
  norm?: 'slaney' | null;
  melScale?: AF.MelScale;
}

/** torchaudio.transforms.MelSpectrogram: waveform (..., L) -> (..., M, F). Defaults: 16 kHz, nFft 400, 128 mels. */
export class MelSpectrogram extends Module {
  readonly spectrogram: Spectrogram;
  readonly mel_scale: MelScale;
  constructor(o: MelSpectrogramOptions = {}) {
    super();
    const nFft = o.nFft ?? 400;
    this.spectrogram = new Spectrogram({ ...o, nFft, power: o.power === undefined ? 2 : o.power });
    this.mel_scale = new MelScale(
      o.nMels ?? 128,
      o.sampleRate ?? 16000,
      o.fMin ?? 0,
      o.fMax ?? null,
      Math.floor(nFft / 2) + 1,
      o.norm ?? null,
      o.melScale ?? 'htk',
    );
  }
  forward(waveform: Tensor): Tensor {
    return this.mel_scale.call(this.spectrogram.call(waveform));
  }
}

/** torchaudio.transforms.AmplitudeToDB: stype 'power' (10 log10) or 'magnitude' (20 log10). */
export class AmplitudeToDB extends Module {
  readonly multiplier: number;
  readonly amin = 1e-10;
  readonly refValue = 1;
  readonly dbMultiplier: number;
  constructor(
    readonly stype: 'power' | 'magnitude' = 'power',
    readonly topDb: number | null = null,
  ) {
    super();
    if (topDb !== null && topDb < 0) throw new Error(`AmplitudeToDB: topDb must be positive, got ${topDb}`);
    this.multiplier = stype === 'power' ? 10 : 20;
    this.dbMultiplier = Math.log10(Math.max(this.amin, this.refValue));
  }
  forward(x: Tensor): Tensor {
    return AF.amplitudeToDB(x, this.multiplier, this.amin, this.dbMultiplier, this.topDb);
  }
}

export interface MfccOptions {
  sampleRate?: number;
  nMfcc?: number;
  dctType?: 2;
  norm?: 'ortho' | null;
  logMels?: boolean;
  melkwargs?: MelSpectrogramOptions;
}

/** torchaudio.transforms.MFCC: waveform (..., L) -> (..., NC, F). Defaults: 40 coefficients, ortho DCT-II. */
export class MFCC extends Module {
  readonly nMfcc: number;
  readonly logMels: boolean;
  readonly amplitude_to_DB: AmplitudeToDB;
  readonly MelSpectrogram: MelSpectrogram;
  declare dct_mat: Tensor;
  constructor(o: MfccOptions = {}) {
    super();
    if ((o.dctType ?? 2) !== 2) throw new Error(`MFCC: DCT type ${String(o.dctType)} is not supported`);
    this.nMfcc = o.nMfcc ?? 40;
    this.logMels = o.logMels ?? false;
    this.amplitude_to_DB = new AmplitudeToDB('power', 80);
    const mk = { ...o.melkwargs, sampleRate: o.sampleRate ?? 16000 };
    this.MelSpectrogram = new MelSpectrogram(mk);
    const nMels = mk.nMels ?? 128;
    if (this.nMfcc > nMels)
      throw new Error(`MFCC: cannot select more MFCC coefficients (${this.nMfcc}) than mel bins (${nMels})`);
    this.registerBuffer('dct_mat', AF.createDct(this.nMfcc, nMels, o.norm === undefined ? 'ortho' : o.norm));
  }
  forward(waveform: Tensor): Tensor {
    let mel = this.MelSpectrogram.call(waveform);
    mel = this.logMels ? mel.add(1e-6).log() : this.amplitude_to_DB.call(mel);
    const dct = this.dct_mat.dtype === mel.dtype ? this.dct_mat : this.dct_mat.to(mel.dtype);
    // (..., M, F) -> (..., F, M) @ (M, NC) -> (..., NC, F)
    return mel.transpose(-1, -2).matmul(dct).transpose(-1, -2);
  }
}

/** torchaudio.transforms.Resample: waveform (..., L) at origFreq -> (..., ceil(L newFreq / origFreq)). */
export class Resample extends Module {
  declare kernel: Tensor;
  readonly width: number;
  constructor(
    readonly origFreq = 16000,
    readonly newFreq = 16000,
    readonly opts: AF.ResampleOptions = {},
  ) {
    super();
    const k = AF.sincResampleKernel(origFreq, newFreq, opts);
    this.width = k.width;
    this.registerBuffer('kernel', wrap(Float32Array.from(k.kernel), [k.next, 1, 2 * k.width + k.orig], 'float32'));
  }
  forward(waveform: Tensor): Tensor {
    return AF.resample(waveform, this.origFreq, this.newFreq, this.opts);
  }
}

export interface GriffinLimOptions {
  nFft?: number;
  nIter?: number;
  winLength?: number | null;
  hopLength?: number | null;
  windowFn?: WindowFn;
  power?: number;
  momentum?: number;
  length?: number | null;
  randInit?: boolean;
  generator?: Generator;
}

/** torchaudio.transforms.GriffinLim: a power (or magnitude) spectrogram (..., K, F) -> waveform (..., L). */
export class GriffinLim extends Module {
  declare window: Tensor;
  readonly o: Omit<AF.GriffinLimOptions, 'window'>;
  constructor(o: GriffinLimOptions = {}) {
    super();
    const nFft = o.nFft ?? 400;
    const winLength = o.winLength ?? nFft;
    const momentum = o.momentum ?? 0.99;
    if (!(momentum >= 0 && momentum < 1)) throw new Error(`GriffinLim: momentum must be in [0, 1), got ${momentum}`);
    this.o = {
      nFft,
      nIter: o.nIter ?? 32,
      winLength,
      hopLength: o.hopLength ?? Math.floor(winLength / 2),
      power: o.power ?? 2,
      momentum,
      length: o.length ?? null,
      randInit: o.randInit ?? true,
      generator: o.generator,
    };
    this.registerBuffer('window', (o.windowFn ?? hannWindow)(winLength));
  }
  forward(specgram: Tensor): Tensor {
    return AF.griffinlim(specgram, { ...this.o, window: this.window });
  }
}

class AxisMasking extends Module {
  constructor(
    readonly maskParam: number,
    readonly axis: 1 | 2,
    readonly iidMasks: boolean,
    readonly p: number,
    readonly generator?: Generator,
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`${this.constructor.name}: p must be in [0, 1], got ${p}`);
  }
  /** specgram (..., K, F) -> the same with one band set to maskValue (per item and channel with iidMasks, 4-D input). */
  forward(specgram: Tensor, maskValue = 0): Tensor {
    const one = (s: Tensor) => AF.maskAlongAxis(s, this.maskParam, maskValue, this.axis, this.p, this.generator);
    if (this.iidMasks && specgram.ndim === 4) {
      // (B, C, K, F): a band of its own for every item and channel
      return stack(specgram.unbind(0).map((item) => stack(item.unbind(0).map(one))));
    }
    return one(specgram);
  }
  override extraRepr(): string {
    return `maskParam=${this.maskParam}, iidMasks=${this.iidMasks}, p=${this.p}`;
  }
}

/** torchaudio.transforms.TimeMasking (SpecAugment): one band of at most timeMaskParam frames. */
export class TimeMasking extends AxisMasking {
  constructor(timeMaskParam: number, iidMasks = false, p = 1, generator?: Generator) {
    super(timeMaskParam, 2, iidMasks, p, generator);
  }
}

/** torchaudio.transforms.FrequencyMasking (SpecAugment): one band of at most freqMaskParam bins. */
export class FrequencyMasking extends AxisMasking {
  constructor(freqMaskParam: number, iidMasks = false, generator?: Generator) {
    super(freqMaskParam, 1, iidMasks, 1, generator);
  }
}
