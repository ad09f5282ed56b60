// IEEE half (F16) and bfloat16 (BF16) <-> float32, working on bit patterns so that every value a
// half can hold survives a round trip bit for bit (NaN payloads, signed zeros, subnormals included).
// Narrowing rounds to nearest even, like PyTorch's .half() / .bfloat16().

import { floatBitsToBf16, floatBitsToHalf, halfToFloatBits } from '../tensor/half.js';

export { floatBitsToBf16, floatBitsToHalf, halfToFloatBits };

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Half or bfloat16 value -> JS number (for scalars and tests). */
export function halfToFloat(h: number, bf16 = false): number {
  u32[0] = bf16 ? h << 16 : halfToFloatBits(h);
  return f32[0];
}

/** JS number -> half or bfloat16 bits. */
export function floatToHalf(v: number, bf16 = false): number {
  f32[0] = v;
  return bf16 ? floatBitsToBf16(u32[0]) : floatBitsToHalf(u32[0]);
}

/** Widens half or bfloat16 bits into `out[at..]`, writing float32 bit patterns directly. */
export function widenHalf(bits: Uint16Array, out: Float32Array, at: number, bf16: boolean): void {
  const o = new Uint32Array(out.buffer, out.byteOffset + at * 4, bits.length);
  if (bf16) for (let i = 0; i < bits.length; i++) o[i] = bits[i] << 16;
  else for (let i = 0; i < bits.length; i++) o[i] = halfToFloatBits(bits[i]);
}

/** Narrows float32 storage to half or bfloat16 bits. */
export function narrowHalf(data: Float32Array, bf16: boolean): Uint16Array {
  const src = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  if (bf16) for (let i = 0; i < src.length; i++) out[i] = floatBitsToBf16(src[i]);
  else for (let i = 0; i < src.length; i++) out[i] = floatBitsToHalf(src[i]);
  return out;
}
