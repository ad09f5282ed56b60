// nb.audio: audio in the spirit of torchaudio. WAV files (load, save, info), Fourier transforms with
// gradients (fft, ifft, rfft, irfft; complex numbers as a trailing dimension of 2, view_as_real style),
// stft/istft, torchaudio.functional (as nb.audio.functional) and torchaudio.transforms as Modules.
export { load, save, info, decodeWav, encodeWav, wavInfo, type WavInfo, type DecodedWav } from './wav.js';
export type { LoadOptions, SaveOptions, WavEncoding } from './wav.js';
export {
  fft,
  ifft,
  rfft,
  irfft,
  complex,
  real,
  imag,
  conj,
  cabs,
  cabs2,
  type FftOptions,
  type FftNorm,
} from './fft.js';
export { stft, istft, frames, overlapAdd, hannWindow, hammingWindow, blackmanWindow } from './stft.js';
export type { StftOptions, IstftOptions, WindowOptions } from './stft.js';
/** torchaudio.functional: spectrogram, mel filter banks, DCT, amplitude to dB, resampling, Griffin-Lim. */
export * as functional from './functional.js';
export {
  Spectrogram,
  MelScale,
  MelSpectrogram,
  MFCC,
  AmplitudeToDB,
  Resample,
  GriffinLim,
  TimeMasking,
  FrequencyMasking,
  type SpectrogramOptions,
  type MelSpectrogramOptions,
  type MfccOptions,
  type GriffinLimOptions,
  type WindowFn,
} from './transforms.js';
export { loadAt, type LoadAtOptions, type LoadedAt } from './load.js';
export { ctcLoss, CTCLoss, ctcGreedyDecode, ctcBeamSearch, type CtcLossOptions, type CtcReduction } from './ctc.js';
export type { BeamHypothesis } from './ctc.js';
/** The espeak-ng speech corpus and the models trained on it (keyword spotting, CTC digit recognition, synthesis). */
export * as speech from './speech/index.js';
