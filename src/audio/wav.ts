// WAV (RIFF/WAVE) reading and writing, as torchaudio.load / torchaudio.save do for .wav: PCM 8-bit
// (unsigned), 16/24/32-bit (signed) and IEEE float 32/64-bit, any channel count, WAVE_FORMAT_EXTENSIBLE
// too. Loaded samples are float32 in [-1, 1) (torchaudio's normalize=True): int16 / 2^15, int24 / 2^23,
// int32 / 2^31, (uint8 - 128) / 2^7, float as stored. Waveforms are (C, T): channels first.
//
// Budgets: the reader trusts no size field. A chunk that claims more bytes than the file holds is an
// error naming the chunk and both sizes (a truncated data chunk, an absurd declared size: no allocation
// is ever sized by a field, only by the bytes actually present), and so are an unknown format code, a
// channel count over MAX_CHANNELS, a block align that disagrees with channels x bits, and more than
// MAX_CHUNKS chunks.

import { Buffer, closeSync, fstatSync, readSync } from '../platform/node.js';
import { writeAtomic } from '../io/atomic.js';
import { openRegular } from '../io/source.js';
import type { Tensor } from '../tensor/tensor.js';
import { fromTypedArray } from '../tensor/creation.js';

/** Channel counts above this are refused: no real recording has them, and a fuzzed header often does. */
export const MAX_CHANNELS = 1024;
/** Chunks walked before giving up: RIFF files have a handful; a crafted one may have millions of empty ones. */
export const MAX_CHUNKS = 4096;

export type WavEncoding = 'PCM_U' | 'PCM_S' | 'PCM_F';

/** What a WAV header says about its samples (torchaudio.info's AudioMetaData). */
export interface WavInfo {
  sampleRate: number;
  numFrames: number;
  numChannels: number;
  bitsPerSample: number;
  encoding: WavEncoding;
}

export interface DecodedWav extends WavInfo {
  /** (C, T) float32 in [-1, 1) when normalized; (C, T) of the stored integers as float32 otherwise. */
  waveform: Tensor;
}

const FORMAT_PCM = 1,
  FORMAT_FLOAT = 3,
  FORMAT_EXTENSIBLE = 0xfffe;

function ascii(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
}

interface Header extends WavInfo {
  dataStart: number;
  blockAlign: number;
}

/** Walks the chunks: fmt and data. `name` (the file) goes into every error. */
function parseHeader(b: Uint8Array, name: string): Header {
  const fail = (what: string) => new Error(`loadWav(${name}): ${what}`);
  if (b.length < 12) throw fail(`${b.length} bytes is too short for a RIFF/WAVE header (12 bytes)`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const riff = ascii(b, 0);
  if (riff === 'RIFX' || riff === 'RF64') throw fail(`${riff} files are not supported (only little-endian RIFF)`);
  if (riff !== 'RIFF' || ascii(b, 8) !== 'WAVE')
    throw fail(`not a WAV file: expected 'RIFF....WAVE', got '${riff}....${ascii(b, 8)}'`);
  let p = 12,
    chunks = 0;
  let fmt: { code: number; channels: number; rate: number; blockAlign: number; bits: number } | null = null;
  while (p + 8 <= b.length) {
    if (++chunks > MAX_CHUNKS) throw fail(`more than ${MAX_CHUNKS} chunks before the data chunk`);
    const id = ascii(b, p),
      size = dv.getUint32(p + 4, true);
    const body = p + 8,
      left = b.length - body;
    if (id === 'fmt ') {
      if (size < 16 || size > left)
        throw fail(`fmt chunk declares ${size} bytes; it needs 16 or more and only ${left} remain in the file`);
      let code = dv.getUint16(body, true);
      const channels = dv.getUint16(body + 2, true),
        rate = dv.getUint32(body + 4, true),
        blockAlign = dv.getUint16(body + 12, true),
        bits = dv.getUint16(body + 14, true);
      if (code === FORMAT_EXTENSIBLE) {
        if (size < 40) throw fail(`WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes (it needs 40)`);
        // NOTE: the sub-format GUID's first two bytes are the plain format code (KSDATAFORMAT_SUBTYPE_*).
        code = dv.getUint16(body + 24, true);
      }
      fmt = { code, channels, rate, blockAlign, bits };
    } else if (id === 'data') {
      if (!fmt) throw fail('the data chunk comes before the fmt chunk');
      // NOTE: size is checked against the bytes present before anything is allocated from it.
      if (size > left)
        throw fail(`truncated data chunk: it declares ${size} bytes but only ${left} remain in the file`);
      return { ...checkFormat(fmt, fail), dataStart: body, numFrames: Math.floor(size / fmt.blockAlign) };
    }
    if (size > left) throw fail(`chunk '${id}' declares ${size} bytes but only ${left} remain in the file`);
    p = body + size + (size & 1);
  }
  throw fail(fmt ? 'no data chunk' : 'no fmt chunk');
}

function checkFormat(
  f: { code: number; channels: number; rate: number; blockAlign: number; bits: number },
  fail: (what: string) => Error,
): Omit<Header, 'dataStart' | 'numFrames'> {
  let encoding: WavEncoding;
  if (f.code === FORMAT_PCM) {
    if (![8, 16, 24, 32].includes(f.bits)) throw fail(`PCM with ${f.bits} bits per sample (8, 16, 24 or 32 expected)`);
    encoding = f.bits === 8 ? 'PCM_U' : 'PCM_S';
  } else if (f.code === FORMAT_FLOAT) {
    if (f.bits !== 32 && f.bits !== 64) throw fail(`IEEE float with ${f.bits} bits per sample (32 or 64 expected)`);
    encoding = 'PCM_F';
  } else {
    throw fail(`unknown format code 0x${f.code.toString(16)} (1 = PCM and 3 = IEEE float are read)`);
  }
  if (f.channels < 1 || f.channels > MAX_CHANNELS) throw fail(`${f.channels} channels (1 to ${MAX_CHANNELS} are read)`);
  if (f.rate < 1) throw fail('a sample rate of 0');
  if (f.blockAlign !== (f.channels * f.bits) / 8)
    throw fail(`block align ${f.blockAlign} disagrees with ${f.channels} channels of ${f.bits} bits`);
  return {
    sampleRate: f.rate,
    numChannels: f.channels,
    bitsPerSample: f.bits,
    encoding,
    blockAlign: f.blockAlign,
  };
}

/** The header of WAV bytes (torchaudio.info). */
export function wavInfo(bytes: Uint8Array, name = '<bytes>'): WavInfo {
  const { sampleRate, numFrames, numChannels, bitsPerSample, encoding } = parseHeader(bytes, name);
  return { sampleRate, numFrames, numChannels, bitsPerSample, encoding };
}

export interface LoadOptions {
  /** Scale integer samples to [-1, 1) (torchaudio's default); false keeps the integer values (as float32). */
  normalize?: boolean;
  /** (C, T) when true (the default), (T, C) when false. */
  channelsFirst?: boolean;
}

/** Decodes WAV bytes into a (C, T) float32 waveform. `name` (a path) is named in errors. */
export function decodeWav(bytes: Uint8Array, name = '<bytes>', opts: LoadOptions = {}): DecodedWav {
  const h = parseHeader(bytes, name);
  const { numChannels: C, numFrames: T, bitsPerSample: bits } = h;
  const out = new Float32Array(C * T);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const norm = opts.normalize ?? true;
  const bps = bits / 8;
  // sample (t, c) is at dataStart + (t * C + c) * bps; out is (C, T)
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) {
      const at = h.dataStart + (t * C + c) * bps;
      let v: number;
      if (h.encoding === 'PCM_F') v = bits === 32 ? dv.getFloat32(at, true) : dv.getFloat64(at, true);
      else if (bits === 8) v = norm ? (bytes[at] - 128) / 128 : bytes[at];
      else if (bits === 16) v = norm ? dv.getInt16(at, true) / 32768 : dv.getInt16(at, true);
      else if (bits === 24) {
        const i = ((bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16)) << 8) >> 8;
        v = norm ? i / 8388608 : i;
      } else v = norm ? dv.getInt32(at, true) / 2147483648 : dv.getInt32(at, true);
      out[c * T + t] = v;
    }
  }
  let waveform = fromTypedArray(out, [C, T]);
  if (opts.channelsFirst === false) waveform = waveform.transpose(0, 1).contiguous();
  return {
    waveform,
    sampleRate: h.sampleRate,
    numFrames: T,
    numChannels: C,
    bitsPerSample: bits,
    encoding: h.encoding,
  };
}

/** The bytes of a regular file (FIFOs and devices are refused, not read forever). */
function readBytes(path: string, op: string): Uint8Array {
  const fd = openRegular(path, (problem, cause) => new Error(`${op}(${path}): ${problem}`, { cause }));
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(size);
    for (let done = 0; done < size; ) {
      const n = readSync(fd, buf, done, size - done, done);
      if (n === 0) throw new Error(`${op}(${path}): the file shrank while being read`);
      done += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** Reads a WAV file (torchaudio.load): `{ waveform (C, T) float32, sampleRate, ... }`. */
export function load(path: string, opts: LoadOptions = {}): DecodedWav {
  return decodeWav(readBytes(path, 'loadWav'), path, opts);
}

/** The header of a WAV file (torchaudio.info). */
export function info(path: string): WavInfo {
  return wavInfo(readBytes(path, 'loadWav'), path);
}

export interface SaveOptions {
  /** 'PCM_S' (signed integers; the default), 'PCM_U' (8-bit only) or 'PCM_F' (IEEE float). */
  encoding?: WavEncoding;
  /** 16 by default for PCM_S, 8 for PCM_U, 32 for PCM_F. */
  bitsPerSample?: number;
  /** waveform is (C, T) when true (the default), (T, C) when false. */
  channelsFirst?: boolean;
}

/**
 * WAV bytes of a waveform (C, T) with values in [-1, 1]. Integer encodings round to nearest and clip
 * to the representable range, as sox does when torchaudio.save writes PCM.
 */
export function encodeWav(waveform: Tensor, sampleRate: number, opts: SaveOptions = {}): Uint8Array {
  const op = 'saveWav';
  if (waveform.ndim !== 2)
    throw new Error(`${op}: expected a 2-D waveform (C, T), got shape [${waveform.shape.join(', ')}]`);
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > 0xffffffff)
    throw new Error(`${op}: sampleRate must be a positive integer, got ${sampleRate}`);
  const w = opts.channelsFirst === false ? waveform.transpose(0, 1) : waveform;
  const [C, T] = w.shape;
  if (C < 1 || C > MAX_CHANNELS) throw new Error(`${op}: ${C} channels (1 to ${MAX_CHANNELS} are written)`);
  const encoding = opts.encoding ?? 'PCM_S';
  const bits = opts.bitsPerSample ?? (encoding === 'PCM_U' ? 8 : encoding === 'PCM_F' ? 32 : 16);
  const ok =
    (encoding === 'PCM_U' && bits === 8) ||
    (encoding === 'PCM_S' && [16, 24, 32].includes(bits)) ||
    (encoding === 'PCM_F' && (bits === 32 || bits === 64));
  if (!ok) throw new Error(`${op}: ${encoding} with ${bits} bits per sample is not a WAV sample format`);
  const bps = bits / 8,
    dataBytes = C * T * bps;
  if (dataBytes + 36 > 0xffffffff) throw new Error(`${op}: ${dataBytes} bytes of samples do not fit a RIFF file`);
  const x = w.to('float64').contiguous().toTypedArray() as Float64Array;
  const b = new Uint8Array(44 + dataBytes + (dataBytes & 1));
  const dv = new DataView(b.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) b[at + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  dv.setUint32(4, b.length - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, encoding === 'PCM_F' ? FORMAT_FLOAT : FORMAT_PCM, true);
  dv.setUint16(22, C, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * C * bps, true);
  dv.setUint16(32, C * bps, true);
  dv.setUint16(34, bits, true);
  put(36, 'data');
  dv.setUint32(40, dataBytes, true);
  const q = (v: number, scale: number) => Math.max(-scale, Math.min(scale - 1, Math.round(v * scale)));
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) {
      const v = x[c * T + t],
        at = 44 + (t * C + c) * bps;
      if (encoding === 'PCM_F') {
        if (bits === 32) dv.setFloat32(at, v, true);
        else dv.setFloat64(at, v, true);
      } else if (bits === 8) b[at] = q(v, 128) + 128;
      else if (bits === 16) dv.setInt16(at, q(v, 32768), true);
      else if (bits === 24) {
        const i = q(v, 8388608);
        b[at] = i & 255;
        b[at + 1] = (i >> 8) & 255;
        b[at + 2] = (i >> 16) & 255;
      } else dv.setInt32(at, q(v, 2147483648), true);
    }
  }
  return b;
}

/** Writes a waveform (C, T) to a WAV file (torchaudio.save), atomically. */
export function save(path: string, waveform: Tensor, sampleRate: number, opts: SaveOptions = {}): void {
  writeAtomic(path, [encodeWav(waveform, sampleRate, opts)]);
}
