// Log-mel features shared by the speech models: 16 kHz audio, 25 ms windows (400 samples) every 10 ms
// (160), a 512-point FFT (a power of two: the radix-2 path), 40 htk mel bands, log(power + 1e-6), then
// each utterance normalised to zero mean and unit variance (robust to level and microphone gain).
// Glossary: B batch, L samples, M = 40 mel bands, F = 1 + floor(L / 160) frames.

import type { Tensor } from '../../tensor/tensor.js';
import { noGrad } from '../../autograd/grad_mode.js';
import { stack } from '../../ops/functional.js';
import { fromTypedArray } from '../../tensor/creation.js';
import { MelSpectrogram } from '../transforms.js';
import { hannWindow } from '../stft.js';

export const N_MELS = 40;
export const HOP = 160;

let mel: MelSpectrogram | null = null;

/** The mel power spectrogram these features start from, built once: waveforms (B, L) -> (B, M, F). */
export function melSpectrogram(): MelSpectrogram {
  mel ??= new MelSpectrogram({
    nFft: 512,
    winLength: 400,
    hopLength: HOP,
    nMels: N_MELS,
    windowFn: (n) => hannWindow(n),
  });
  return mel;
}

/** waveforms (B, L) -> normalised log-mel (B, M, F); no gradient. */
export function logMel(waveforms: Tensor): Tensor {
  return noGrad(() => {
    const x = melSpectrogram().call(waveforms).add(1e-6).log(); // (B, M, F)
    const mean = x.mean([1, 2], true);
    const std = x.sub(mean).square().mean([1, 2], true).add(1e-5).sqrt();
    return x.sub(mean).div(std);
  });
}

/** Pads (right, zeros) or crops each clip to L samples and stacks them: (B, L). */
export function batchOf(clips: readonly Float32Array[], L: number): Tensor {
  return stack(
    clips.map((c) => {
      const y = new Float32Array(L);
      y.set(c.subarray(0, L));
      return fromTypedArray(y);
    }),
  );
}
