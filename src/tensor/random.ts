// Seeded random numbers. A Generator is xoshiro128** (32-bit state words, fast in JS) seeded by
// splitmix32; normals come from Box-Muller. `manualSeed` reseeds the default generator.

import { type DType, allocate, isFloating } from './dtype.js';
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

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5, lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal sample. */
  randn(): number {
    if (this.spare !== null) { const v = this.spare; this.spare = null; return v; }
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
    for (let i = 0; i < n; i++) d[i] = low + (high - low) * this.random();
    return new Tensor(new Storage(d), Layout.contiguous(shape), dtype);
  }

  normal(shape: Shape, mean = 0, std = 1, dtype: DType = 'float32'): Tensor {
    const n = checkedNumel(shape, 'normal');
    const d = allocate(floatOnly(dtype, 'normal'), n);
    for (let i = 0; i < n; i++) d[i] = mean + std * this.randn();
    return new Tensor(new Storage(d), Layout.contiguous(shape), dtype);
  }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = p[i]; p[i] = p[j]; p[j] = t;
    }
    return p;
  }
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
  if (n > 2 ** 31 - 1) throw new Error(`${op}: shape [${shape.join(', ')}] has ${n} elements, more than a tensor can hold`);
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
