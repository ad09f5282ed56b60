// nb.audio ops beyond the goldens: float64 gradient checks of every differentiable op (fft family,
// stft/istft, frames/overlapAdd, cabs, the transforms), round trips, SpecAugment masks, clear errors,
// and loading at a model's sample rate (resample or refuse, and say which).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as audio from '../../src/audio/index.js';
import * as AF from '../../src/audio/functional.js';
import { gradcheck } from '../../src/autograd/gradcheck.js';
import { Generator } from '../../src/tensor/random.js';
import { tensor, zeros } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/assert.js';

const g = new Generator(7);
const rnd = (shape: number[]) => g.normal(shape, 0, 1, 'float64').requiresGrad_();

describe('nb.audio gradcheck (float64)', () => {
  const cases: [string, (...x: Tensor[]) => Tensor, number[]][] = [
    ['fft n=6', (z) => audio.fft(z), [2, 6, 2]],
    ['fft n=5 ortho, padded to 7', (z) => audio.fft(z, { n: 7, norm: 'ortho' }), [5, 2]],
    ['ifft dim 0', (z) => audio.ifft(z, { dim: 0 }), [3, 4, 2]],
    ['rfft n=7', (x) => audio.rfft(x), [2, 7]],
    ['rfft n=8 forward', (x) => audio.rfft(x, { norm: 'forward' }), [8]],
    ['irfft k=5 -> 8', (z) => audio.irfft(z), [5, 2]],
    ['irfft k=4 -> 7', (z) => audio.irfft(z, { n: 7 }), [2, 4, 2]],
    ['cabs', (z) => audio.cabs(z), [3, 4, 2]],
    ['frames', (x) => audio.frames(x, 4, 3), [2, 13]],
    ['overlapAdd', (f) => audio.overlapAdd(f, 2), [3, 5]],
    [
      'stft hann center',
      (x) => audio.stft(x, 16, { hopLength: 4, window: audio.hannWindow(16, { dtype: 'float64' }) }),
      [40],
    ],
    [
      'istft',
      (s) => audio.istft(s, 16, { hopLength: 4, window: audio.hannWindow(16, { dtype: 'float64' }) }),
      [9, 6, 2],
    ],
    ['MelSpectrogram', (x) => new audio.MelSpectrogram({ nFft: 32, hopLength: 8, nMels: 6 }).double().call(x), [60]],
    ['MFCC', (x) => new audio.MFCC({ nMfcc: 4, melkwargs: { nFft: 32, nMels: 8 } }).double().call(x.add(3)), [60]],
    ['resample 3 -> 2', (x) => AF.resample(x, 3, 2), [30]],
  ];
  for (const [name, fn, shape] of cases) {
    it(name, () => {
      assert.ok(gradcheck(fn, [rnd(shape)], { atol: 1e-6, rtol: 1e-4 }));
    });
  }
  it('cabs has gradient 0 at 0 (as torch.abs), not NaN', () => {
    const z = zeros([2, 2], { dtype: 'float64' }).requiresGrad_();
    audio.cabs(z).sum().backward();
    assertClose(z.grad!, [
      [0, 0],
      [0, 0],
    ]);
  });
});

describe('nb.audio round trips and semantics', () => {
  it('irfft(rfft(x)) = x for even and odd lengths; ifft(fft(z)) = z', () => {
    for (const n of [8, 9, 400]) {
      const x = g.normal([3, n], 0, 1, 'float64');
      assertClose(audio.irfft(audio.rfft(x), { n }), x, { atol: 1e-12 });
    }
    const z = g.normal([4, 12, 2], 0, 1, 'float64');
    assertClose(audio.ifft(audio.fft(z)), z, { atol: 1e-12 });
  });
  it('a large prime length matches the naive DFT (Bluestein)', () => {
    const n = 1009;
    const x = g.normal([n], 0, 1, 'float64');
    const X = audio.rfft(x).toTypedArray();
    const xs = x.toTypedArray();
    for (const k of [0, 1, 17, 504]) {
      let re = 0,
        im = 0;
      for (let t = 0; t < n; t++) {
        const a = (-2 * Math.PI * ((k * t) % n)) / n;
        re += xs[t] * Math.cos(a);
        im += xs[t] * Math.sin(a);
      }
      assertClose([X[2 * k], X[2 * k + 1]], [re, im], { atol: 1e-9 });
    }
  });
  it('istft(stft(x)) = x with a hann window and 75% overlap', () => {
    const x = g.normal([2, 500], 0, 1, 'float64');
    const w = audio.hannWindow(64, { dtype: 'float64' });
    const y = audio.istft(audio.stft(x, 64, { hopLength: 16, window: w }), 64, {
      hopLength: 16,
      window: w,
      length: 500,
    });
    assertClose(y, x, { atol: 1e-10 });
  });
  it('GriffinLim recovers a waveform whose spectrogram is close to the target', () => {
    const t = Array.from({ length: 2000 }, (_, i) => Math.sin(i * 0.2) + 0.5 * Math.sin(i * 0.05));
    const x = tensor([t]);
    const spec = new audio.Spectrogram({ nFft: 128, hopLength: 32 }).call(x);
    const err = (nIter: number) => {
      const y = new audio.GriffinLim({ nFft: 128, hopLength: 32, nIter, generator: new Generator(1) }).call(spec);
      const spec2 = new audio.Spectrogram({ nFft: 128, hopLength: 32 }).call(y);
      return (spec2.sub(spec).abs().sum().item() as number) / (spec.sum().item() as number);
    };
    const [e0, e30] = [err(0), err(30)];
    assert.ok(e30 < 0.25 && e30 < e0 / 3, `relative spectral error ${e0} with random phases, ${e30} after 30`);
  });
  it('TimeMasking / FrequencyMasking set one band of at most maskParam to the value, seeded', () => {
    const s = g.normal([2, 20, 30], 0, 1, 'float32').abs().add(1);
    for (const [m, axis, param] of [
      [new audio.TimeMasking(10, false, 1, new Generator(3)), 2, 10],
      [new audio.FrequencyMasking(6, false, new Generator(4)), 1, 6],
    ] as const) {
      const out = m.call(s);
      const d = out.toTypedArray();
      const masked = new Set<number>();
      for (let b = 0; b < 2; b++)
        for (let f = 0; f < 20; f++)
          for (let t = 0; t < 30; t++) if (d[b * 600 + f * 30 + t] === 0) masked.add(axis === 2 ? t : f);
      assert.ok(masked.size < param, `${masked.size} masked of at most ${param - 1}`);
      const idx = [...masked].sort((p, q) => p - q);
      for (let i = 1; i < idx.length; i++) assert.equal(idx[i], idx[i - 1] + 1, 'one contiguous band');
      // whole rows or columns: every masked index is masked across the other axis and the batch
      const zerosCount = Array.from(d).filter((v) => v === 0).length;
      assert.equal(zerosCount, masked.size * 2 * (axis === 2 ? 20 : 30));
    }
    const again = new audio.TimeMasking(10, false, 1, new Generator(3)).call(s);
    assertClose(again, new audio.TimeMasking(10, false, 1, new Generator(3)).call(s));
  });
  it('iid masks differ per item of a 4-D batch', () => {
    const s = zeros([8, 1, 10, 40]).add(1);
    const out = new audio.TimeMasking(20, true, 1, new Generator(5)).call(s);
    const perItem = out.sum([1, 2, 3]).toTypedArray();
    assert.ok(new Set(perItem).size > 1, `masks: ${perItem}`);
  });
});

describe('nb.audio errors', () => {
  it('name the op, the shapes and what is wrong', () => {
    assert.throws(() => audio.fft(zeros([4, 3])), /fft: expected a complex tensor as \(\.\.\., 2\).*\[4, 3\]/);
    assert.throws(
      () => audio.rfft(zeros([4], { dtype: 'int32' })),
      /rfft: expected a float32 or float64 real tensor, got int32/,
    );
    assert.throws(() => audio.irfft(zeros([1, 2])), /irfft: invalid output length n=0/);
    assert.throws(() => audio.stft(zeros([10]), 64), /stft: reflect padding of 32 \(n_fft\/2\) needs a signal longer/);
    assert.throws(() => audio.stft(zeros([100]), 16, { winLength: 20 }), /expected 0 < win_length <= n_fft/);
    assert.throws(
      () => audio.istft(zeros([5, 4, 2]), 16, { hopLength: 4 }),
      /istft: expected the frequency dimension .* to equal n_fft \/ 2 \+ 1 = 9/,
    );
    assert.throws(
      () => audio.istft(zeros([9, 4, 2]), 16, { hopLength: 20, window: audio.hannWindow(16) }),
      /window overlap add min/,
    );
    assert.throws(
      () => new audio.MelScale(10).call(zeros([5, 3])),
      /MelScale: expected a spectrogram \(\.\.\., 201, time\)/,
    );
    assert.throws(() => AF.resample(zeros([10]), 16000, 0), /resample: frequencies must be positive integers/);
    assert.throws(() => AF.melscaleFbanks(10, 0, 100, 4, 200, null, 'bark' as 'htk'), /mel_scale should be one of/);
  });
  it('loadAt resamples a file at another rate and says so, or refuses naming both rates', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nabla-rate-'));
    try {
      const p = join(dir, 'a.wav');
      const t = Array.from({ length: 2205 }, (_, i) => 0.5 * Math.sin(i * 0.1));
      audio.save(p, tensor([t, t]), 22050);
      const r = audio.loadAt(p, 16000, { mono: true });
      assert.equal(r.resampledFrom, 22050);
      assert.deepEqual([...r.waveform.shape], [1, 1600]);
      assert.throws(
        () => audio.loadAt(p, 16000, { onMismatch: 'error' }),
        /sampled at 22050 Hz but 16000 Hz is expected; refusing/,
      );
      assert.equal(audio.loadAt(p, 22050).resampledFrom, undefined);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
