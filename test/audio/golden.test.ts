// nb.audio against torch 1.13 / torchaudio 0.13: values and input gradients of fft, ifft, rfft, irfft,
// stft, istft, Spectrogram, MelSpectrogram (htk and slaney scales, both norms), MFCC, AmplitudeToDB,
// resample and GriffinLim, from test/golden/audio/audio.safetensors (tools/golden/audio.py), in float64.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as audio from '../../src/audio/index.js';
import * as AF from '../../src/audio/functional.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { Module } from '../../src/nn/module.js';
import { assertClose } from '../helpers/assert.js';
import { readSafetensors } from '../helpers/golden.js';
import { golden } from '../helpers/data.js';

interface Case {
  name: string;
  op: string;
  opts: Record<string, unknown>;
  grad: boolean;
  extra: string[];
}
const T = readSafetensors(golden('audio/audio.safetensors'));
const spec = JSON.parse(readFileSync(golden('audio/audio.json'), 'utf8')) as { cases: Case[] };

function windowOf(o: Record<string, unknown>): Record<string, unknown> {
  const w = o.window;
  if (w === 'hann') return { ...o, window: audio.hannWindow(o.winLength as number, { dtype: 'float64' }) };
  if (w === 'hann64') return { ...o, window: audio.hannWindow(64, { dtype: 'float64' }) };
  return o;
}

/**
 * A module built by nabla: its buffers are compared with torchaudio's (float32 windows from torch's own
 * cosf differ in the last bit here and there), then replaced by them so the arithmetic is compared tightly.
 */
function withTorchBuffers<M extends Module>(c: Case, m: M): M {
  const sd: Record<string, Tensor> = {};
  for (const k of c.extra.filter((e) => e.startsWith('sd.'))) {
    const key = k.slice(3);
    const mine = m.stateDict()[key];
    assert.ok(
      mine,
      `${c.name}: nabla's module has no buffer '${key}' (state-dict keys: ${Object.keys(m.stateDict())})`,
    );
    // NOTE: a 1-ulp difference of a mel band edge (torch's float32 exp and pow are not correctly rounded)
    // moves the filters near it by up to 1e-5: (f_pts - freq) / f_diff amplifies it.
    const tol = key.endsWith('fb') ? { rtol: 0, atol: 1e-5 } : { rtol: 1e-6, atol: 1e-7 };
    assertClose(mine.double(), T[`${c.name}.${k}`], tol, `${c.name} buffer ${key}`);
    sd[key] = T[`${c.name}.${k}`];
  }
  assert.deepEqual(Object.keys(m.stateDict()).sort(), Object.keys(sd).sort(), `${c.name}: state-dict keys`);
  m.double().loadStateDict(sd);
  return m;
}

function run(c: Case, x: Tensor): Tensor {
  const o = c.opts as never;
  switch (c.op) {
    case 'fft':
      return audio.fft(x, o);
    case 'ifft':
      return audio.ifft(x, o);
    case 'rfft':
      return audio.rfft(x, o);
    case 'irfft':
      return audio.irfft(x, o);
    case 'stft':
      return audio.stft(x, c.opts.nFft as number, windowOf(c.opts));
    case 'istft':
      return audio.istft(x, c.opts.nFft as number, windowOf(c.opts));
    case 'Spectrogram':
      return withTorchBuffers(c, new audio.Spectrogram(o)).call(x);
    case 'MelSpectrogram':
      return withTorchBuffers(c, new audio.MelSpectrogram(o)).call(x);
    case 'MFCC':
      return withTorchBuffers(c, new audio.MFCC(o)).call(x);
    case 'AmplitudeToDB':
      return new audio.AmplitudeToDB(c.opts.stype as 'power', (c.opts.topDb as number) ?? null).call(x);
    case 'resample':
      return AF.resample(x, c.opts.origFreq as number, c.opts.newFreq as number, o);
    case 'GriffinLim':
      return withTorchBuffers(c, new audio.GriffinLim(o)).call(x);
  }
  throw new Error(`unknown op ${c.op}`);
}

describe('nb.audio: torchaudio 0.13 parity (tools/golden/audio.py)', () => {
  for (const c of spec.cases) {
    it(`${c.name}: ${c.op} value${c.grad ? ' and input gradient' : ''}`, () => {
      const x = T[`${c.name}.x`].clone();
      if (c.grad) x.requiresGrad_();
      const y = run(c, x);
      // GriffinLim divides by |angles| + 1e-16 at every iteration, so rounding compounds a little.
      const tol = c.op === 'GriffinLim' ? { rtol: 1e-6, atol: 1e-9 } : { rtol: 1e-7, atol: 1e-10 };
      assertClose(y, T[`${c.name}.y`], tol, `${c.name} value`);
      if (c.grad) {
        y.mul(T[`${c.name}.w`]).sum().backward();
        assertClose(x.grad!, T[`${c.name}.gx`], tol, `${c.name} gradient`);
      }
    });
  }
  it('covers every op of the golden file', () => {
    const ops = new Set(spec.cases.map((c) => c.op));
    for (const op of ['fft', 'ifft', 'rfft', 'irfft', 'stft', 'istft', 'MelSpectrogram', 'MFCC', 'resample'])
      assert.ok(ops.has(op), op);
  });
});
