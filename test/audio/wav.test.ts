// WAV reading against torchaudio.load of files that torchaudio.save (sox) wrote (tools/golden/audio.py):
// PCM u8, s16, s24, s32, float32/64, mono and multichannel, WAVE_FORMAT_EXTENSIBLE. Round trips through
// our writer, and the hostile headers of issue 20: a truncated data chunk, an unknown format code and
// an absurd declared size are clear errors naming the file, and nothing is allocated from a size field.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as audio from '../../src/audio/index.js';
import { tensor } from '../../src/tensor/creation.js';
import { assertClose } from '../helpers/assert.js';
import { readSafetensors } from '../helpers/golden.js';
import { golden } from '../helpers/data.js';

interface WavCase {
  name: string;
  sampleRate: number;
  numChannels: number;
  numFrames: number;
  bitsPerSample: number;
  encoding: string;
  extensible: boolean;
}
const T = readSafetensors(golden('audio/audio.safetensors'));
const spec = JSON.parse(readFileSync(golden('audio/audio.json'), 'utf8')) as { wavs: WavCase[] };

describe('audio.load: torchaudio.load parity on sox-written files', () => {
  for (const w of spec.wavs) {
    it(`${w.name}${w.extensible ? ' (WAVE_FORMAT_EXTENSIBLE)' : ''}`, () => {
      const path = golden(`audio/${w.name}.wav`);
      const r = audio.load(path);
      assert.equal(r.sampleRate, w.sampleRate);
      assert.deepEqual([...r.waveform.shape], [w.numChannels, w.numFrames]);
      assert.equal(r.bitsPerSample, w.bitsPerSample);
      assert.equal(r.encoding, w.encoding);
      // NOTE: sox (under torchaudio.load) routes 32-bit and float64 samples through its own int32 and
      // rounds them to a multiple of 2^-24 when it makes floats; we keep the stored value, so those
      // two differ by at most half of that step. Everything else is bit-exact.
      const lossy = w.bitsPerSample === 32 && w.encoding === 'PCM_S';
      const atol = lossy || w.bitsPerSample === 64 ? 2 ** -25 : 0;
      assertClose(r.waveform, T[`wav.${w.name}.y`], { rtol: 0, atol }, w.name);
      const i = audio.info(path);
      assert.equal(i.numFrames, w.numFrames);
      assert.equal(i.numChannels, w.numChannels);
    });
  }
  it('covers 8/16/24/32-bit PCM, float32, mono, multichannel and the extensible header', () => {
    const bits = new Set(spec.wavs.map((w) => `${w.encoding}${w.bitsPerSample}`));
    for (const b of ['PCM_U8', 'PCM_S16', 'PCM_S24', 'PCM_S32', 'PCM_F32']) assert.ok(bits.has(b), b);
    assert.ok(spec.wavs.some((w) => w.extensible));
    assert.ok(spec.wavs.some((w) => w.numChannels > 2));
  });
});

describe('audio.save / encodeWav', () => {
  const x = tensor([
    [0, 0.5, -0.5, 0.99, -1],
    [0.25, -0.25, 0.125, 0.1, -0.9],
  ]);
  for (const [enc, bits, tol] of [
    ['PCM_U', 8, 1 / 128],
    ['PCM_S', 16, 1 / 32768],
    ['PCM_S', 24, 2 ** -23],
    ['PCM_S', 32, 2 ** -31],
    ['PCM_F', 32, 0],
    ['PCM_F', 64, 0],
  ] as const) {
    it(`round trips ${enc} ${bits}-bit within one quantisation step`, () => {
      const b = audio.encodeWav(x, 16000, { encoding: enc, bitsPerSample: bits });
      const r = audio.decodeWav(b);
      assert.equal(r.sampleRate, 16000);
      assert.equal(r.encoding, enc);
      assertClose(r.waveform, x, { rtol: 0, atol: tol / 2 + 1e-7 });
    });
  }
  it('writes a file atomically and reads it back; channelsFirst false is (T, C)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nabla-wav-'));
    try {
      const p = join(dir, 'a.wav');
      audio.save(p, x.transpose(0, 1), 8000, { channelsFirst: false });
      const r = audio.load(p, { channelsFirst: false });
      assert.deepEqual([...r.waveform.shape], [5, 2]);
      assertClose(r.waveform, x.transpose(0, 1), { atol: 1 / 32768 });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
  it('clips out-of-range samples instead of wrapping', () => {
    const r = audio.decodeWav(audio.encodeWav(tensor([[2, -3]]), 8000));
    assertClose(r.waveform, [[32767 / 32768, -1]], { atol: 0 });
  });
  it('refuses a sample format WAV has no code for', () => {
    assert.throws(() => audio.encodeWav(x, 8000, { encoding: 'PCM_S', bitsPerSample: 8 }), /PCM_S with 8 bits/);
    assert.throws(() => audio.encodeWav(tensor([1, 2]), 8000), /expected a 2-D waveform/);
  });
});

describe('audio.decodeWav: hostile headers', () => {
  const good = audio.encodeWav(tensor([[0.1, 0.2, 0.3, 0.4]]), 8000);
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  it('a truncated data chunk names the file and both sizes', () => {
    const cut = good.subarray(0, good.length - 3);
    assert.throws(
      () => audio.decodeWav(cut, 'cut.wav'),
      /loadWav\(cut\.wav\): truncated data chunk: it declares 8 bytes but only 5/,
    );
  });
  it('an absurd declared size is refused before any allocation', () => {
    const b = Uint8Array.from(good);
    dv(b).setUint32(40, 0xfffffff0, true);
    assert.throws(() => audio.decodeWav(b, 'huge.wav'), /declares 4294967280 bytes but only 8 remain/);
    const c = Uint8Array.from(good);
    dv(c).setUint32(16, 0x7fffffff, true); // fmt chunk size
    assert.throws(() => audio.decodeWav(c, 'fmt.wav'), /fmt chunk declares 2147483647 bytes/);
  });
  it('an unknown format code, a bad bit depth, channel count or block align', () => {
    const b = Uint8Array.from(good);
    dv(b).setUint16(20, 0x55, true); // MP3-in-WAV
    assert.throws(() => audio.decodeWav(b, 'mp3.wav'), /loadWav\(mp3\.wav\): unknown format code 0x55/);
    const c = Uint8Array.from(good);
    dv(c).setUint16(34, 12, true);
    assert.throws(() => audio.decodeWav(c), /PCM with 12 bits per sample/);
    const d = Uint8Array.from(good);
    dv(d).setUint16(22, 0, true);
    assert.throws(() => audio.decodeWav(d), /0 channels/);
    const e = Uint8Array.from(good);
    dv(e).setUint16(32, 3, true);
    assert.throws(() => audio.decodeWav(e), /block align 3 disagrees with 1 channels of 16 bits/);
  });
  it('not a WAV file, RIFX, missing chunks, too many chunks', () => {
    assert.throws(() => audio.decodeWav(new Uint8Array(5), 'x'), /too short/);
    assert.throws(() => audio.decodeWav(new TextEncoder().encode('OggS0000000000000'), 'x'), /not a WAV file/);
    const rifx = Uint8Array.from(good);
    rifx.set([0x52, 0x49, 0x46, 0x58], 0);
    assert.throws(() => audio.decodeWav(rifx), /RIFX files are not supported/);
    assert.throws(() => audio.decodeWav(good.subarray(0, 36)), /no data chunk/);
    // 5000 empty 'junk' chunks before fmt
    const junk = new Uint8Array(12 + 8 * 5000);
    junk.set(good.subarray(0, 12));
    for (let i = 0; i < 5000; i++) junk.set([0x6a, 0x75, 0x6e, 0x6b], 12 + 8 * i);
    assert.throws(() => audio.decodeWav(junk), /more than 4096 chunks/);
  });
  it('a FIFO or directory is refused by load, not read forever', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nabla-wav-'));
    try {
      assert.throws(() => audio.load(dir), /loadWav\(.*\): not a regular file \(a directory\)/);
      writeFileSync(join(dir, 'e.wav'), new Uint8Array(0));
      assert.throws(() => audio.load(join(dir, 'e.wav')), /0 bytes is too short/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
