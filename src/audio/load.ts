// Loading audio at the sample rate a model expects: a file at another rate is resampled (and the
// result says so) or refused with both rates named, never silently fed to a model at the wrong rate.

import type { Tensor } from '../tensor/tensor.js';
import { resample } from './functional.js';
import { load } from './wav.js';

export interface LoadAtOptions {
  /** 'resample' (the default) converts with torchaudio's sinc resampler; 'error' refuses. */
  onMismatch?: 'resample' | 'error';
  /** Average the channels into one (C, T) -> (1, T). Default false. */
  mono?: boolean;
}

export interface LoadedAt {
  /** (C, T) float32 at `sampleRate`. */
  waveform: Tensor;
  sampleRate: number;
  /** The file's own rate when it was resampled, else undefined. */
  resampledFrom?: number;
}

/** Reads a WAV file and returns it at `sampleRate` Hz (see LoadAtOptions for a file at another rate). */
export function loadAt(path: string, sampleRate: number, o: LoadAtOptions = {}): LoadedAt {
  const r = load(path);
  let w = o.mono && r.numChannels > 1 ? r.waveform.mean(0, true) : r.waveform;
  if (r.sampleRate === sampleRate) return { waveform: w, sampleRate };
  if ((o.onMismatch ?? 'resample') === 'error')
    throw new Error(
      `loadAt(${path}): the file is sampled at ${r.sampleRate} Hz but ${sampleRate} Hz is expected; ` +
        `refusing (pass onMismatch: 'resample' to convert it)`,
    );
  w = resample(w, r.sampleRate, sampleRate);
  return { waveform: w, sampleRate, resampledFrom: r.sampleRate };
}
