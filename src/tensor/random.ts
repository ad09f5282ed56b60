// Seeded random numbers. A Generator is xoshiro128** (32-bit state words, fast in JS) seeded by
// splitmix32; normals come from Box-Muller. `manualSeed` reseeds the default generator.
//
// getState()/setState() (torch.Generator.get_state/set_state) snapshot a generator as an int32
// tensor of STATE_SIZE words: [STATE_TAG, s0, s1, s2, s3, hasSpare, spareLo, spareHi], where s0..s3
// are the xoshiro words bit-cast to int32 and spareLo/Hi the bits of the cached Box-Muller normal.
// NOTE: int32, not float (nor uint8 like PyTorch's ByteTensor, to keep older saved states loading): int32
// words are raw bits too, and round-trip exactly through nb.save/nb.load (I32 in safetensors,
// IntStorage in .pt) and through JSON (every int32 is an exact double).

import { type DType, allocate, castScalar, isFloating, isKernelDtype } from './dtype.js';
import { Layout, type Shape, checkShape, numel } from './layout.js';
import { Storage, Tensor } from './tensor.js';

export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  manualSeed(seed: number): this {
    let x = (Math.floor(seed) >>> 0) ^ Math.floor(seed / 2 ** 32);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
    this.spare = null;
    return this;
  }

  /** The full state as an int32 tensor of STATE_SIZE words (torch.Generator.get_state). */
  getState(): Tensor {
    const w = new Int32Array(STATE_SIZE);
    w[0] = STATE_TAG;
    for (let i = 0; i < 4; i++) w[1 + i] = this.s[i] | 0;
    if (this.spare !== null) {
      w[5] = 1;
      const f = new Float64Array([this.spare]);
      w.set(new Int32Array(f.buffer), 6);
    }
    return new Tensor(new Storage(w), Layout.contiguous([STATE_SIZE]), 'int32');
  }

  /** Restores a state from getState() (torch.Generator.set_state): a Tensor, or its values as numbers. */
  setState(state: Tensor | ArrayLike<number>): this {
    const w = stateWords(state, 'Generator.setState');
    for (let i = 0; i < 4; i++) this.s[i] = w[1 + i] >>> 0;
    this.spare = w[5] === 1 ? new Float64Array(Int32Array.from([w[6], w[7]]).buffer)[0] : null;
    return this;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5,
      lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal sample. */
  randn(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A uniform integer in [low, high). */
  randint(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }

  uniform(shape: Shape, low = 0, high = 1, dtype: DType = 'float32'): Tensor {
    const n = checkedNumel(shape, 'uniform');
    const d = allocate(floatOnly(dtype, 'uniform'), n);
    if (isKernelDtype(dtype)) for (let i = 0; i < n; i++) d[i] = low + (high - low) * this.random();
    else for (let i = 0; i < n; i++) d[i] = castScalar(low + (high - low) * this.random(), dtype);
    return new Tensor(new Storage(d), Layout.contiguous(shape), dtype);
  }

  normal(shape: Shape, mean = 0, std = 1, dtype: DType = 'float32'): Tensor {
    const n = checkedNumel(shape, 'normal');
    const d = allocate(floatOnly(dtype, 'normal'), n);
    if (isKernelDtype(dtype)) for (let i = 0; i < n; i++) d[i] = mean + std * this.randn();
    else for (let i = 0; i < n; i++) d[i] = castScalar(mean + std * this.randn(), dtype);
    return new Tensor(new Storage(d), Layout.contiguous(shape), dtype);
  }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

/** Number of int32 words in a Generator state (getState/setState). */
export const STATE_SIZE = 8;
// 'nbR1': marks a nabla xoshiro128** state, so an unrelated int32 tensor is refused.
const STATE_TAG = 0x6e625231;

/** The words of a state, checked: the right size, tag, integer words, a non-zero xoshiro state. */
function stateWords(state: Tensor | ArrayLike<number>, op: string): Int32Array {
  let v: ArrayLike<number>;
  if (state instanceof Tensor) {
    if (state.dtype !== 'int32') {
      throw new Error(
        `${op}: expected an int32 tensor of ${STATE_SIZE} elements (from getState()), got ` +
          `${state.dtype} of shape [${state.shape.join(', ')}]`,
      );
    }
    v = state.toTypedArray();
  } else if (state !== null && typeof state === 'object' && typeof (state as ArrayLike<number>).length === 'number') {
    v = state;
  } else {
    throw new Error(
      `${op}: expected an int32 Tensor of ${STATE_SIZE} elements from getState(), got ` +
        `${state === null ? 'null' : typeof state}`,
    );
  }
  if (v.length !== STATE_SIZE) {
    throw new Error(`${op}: invalid state: expected ${STATE_SIZE} int32 words (from getState()), got ${v.length}`);
  }
  const w = new Int32Array(STATE_SIZE);
  for (let i = 0; i < STATE_SIZE; i++) {
    const x = Number(v[i]);
    if (!Number.isInteger(x) || x < -(2 ** 31) || x >= 2 ** 31) {
      throw new Error(`${op}: invalid state: word ${i} is ${String(v[i])}, not an int32`);
    }
    w[i] = x;
  }
  if (w[0] !== STATE_TAG) {
    throw new Error(`${op}: invalid state: word 0 is ${w[0]}, not the tag ${STATE_TAG} of a nabla generator state`);
  }
  if ((w[1] | w[2] | w[3] | w[4]) === 0) throw new Error(`${op}: invalid state: the generator words are all zero`);
  if (w[5] !== 0 && w[5] !== 1) {
    throw new Error(`${op}: invalid state: word 5 (has a cached normal) is ${w[5]}, expected 0 or 1`);
  }
  return w;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function floatOnly(d: DType, op: string): DType {
  if (!isFloating(d)) throw new Error(`${op}: expected a floating point dtype, got ${d}`);
  return d;
}

export function checkedNumel(shape: Shape, op: string): number {
  checkShape(shape, op);
  const n = numel(shape);
  if (n > 2 ** 31 - 1)
    throw new Error(`${op}: shape [${shape.join(', ')}] has ${n} elements, more than a tensor can hold`);
  return n;
}

let defaultGen = new Generator(Date.now() % 2 ** 31);

export function defaultGenerator(): Generator {
  return defaultGen;
}

/** Seeds the default generator (torch.manual_seed). */
export function manualSeed(seed: number): Generator {
  defaultGen = new Generator(seed);
  return defaultGen;
}

/** The default generator's state, an int32 tensor (torch.get_rng_state). */
export function getRngState(): Tensor {
  return defaultGen.getState();
}

/** Restores the default generator from getRngState() (torch.set_rng_state). */
export function setRngState(state: Tensor | ArrayLike<number>): void {
  defaultGen.setState(state);
}
