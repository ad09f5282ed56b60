// Quantization arithmetic shared by every layer: the integer codes and scales of int8 / int4 / bf16
// weights and activations, computed exactly as the references that nabla matches do.
// - Dynamic activations and symmetric int8 weights follow PyTorch's QNNPACK engine
//   (torch.ao.quantization.quantize_dynamic with default_dynamic_qconfig): ChooseQuantizationParams over
//   [min(x, 0), max(x, 0)] to uint8 [0, 255] (onednn's reduce_range: [0, 127]), and MinMaxObserver
//   per_tensor_symmetric int8 weights (scale = max|w| / 127.5, zero point 0).
// - LLM weight-only int8 is per output row (scale = max|w| / 127); int4 is llama.cpp's Q4_0 in groups
//   of G along K (d = the signed value of largest magnitude / -8, codes 0..15 for (q - 8) * d).
// Glossary: N rows (outputs), K columns (inputs), G group size.

/** An affine quantization: real = scale * (q - zeroPoint). */
export interface QParams {
  scale: number;
  zeroPoint: number;
}

const F32_EPS = 1.1920928955078125e-7;

/** ATen's quant_utils::ChooseQuantizationParams (no sparsity, no power-of-two scale), to uint8. */
export function chooseQParams(min: number, max: number, reduceRange = false): QParams {
  const qmin = 0,
    qmax = reduceRange ? 127 : 255;
  min = Math.fround(Math.min(min, 0));
  max = Math.fround(Math.max(max, 0));
  let s = (max - min) / (qmax - qmin);
  if (Math.fround(s) === 0 || !Number.isFinite(Math.fround(1 / Math.fround(s)))) s = 0.1;
  const sf = Math.fround(s);
  const zmin = qmin - min / sf,
    zmax = qmax - max / sf;
  const emin = Math.abs(qmin) - Math.abs(min / sf),
    emax = Math.abs(qmax) - Math.abs(max / sf);
  const z0 = emin < emax ? zmin : zmax;
  const zeroPoint = z0 < qmin ? qmin : z0 > qmax ? qmax : roundHalfEven(z0);
  return { scale: sf, zeroPoint };
}

/** Round half to even, as C's nearbyint in the default rounding mode. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** x quantized to uint8 with (scale, zeroPoint): clamp(zp + nearbyint(x * (1/scale)), 0, qmax), in float32. */
export function quantizeU8(x: ArrayLike<number>, p: QParams, qmax = 255): Uint8Array {
  const inv = Math.fround(1 / p.scale);
  const q = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = roundHalfEven(Math.fround(x[i] * inv)) + p.zeroPoint;
    q[i] = Math.min(qmax, Math.max(0, v));
  }
  return q;
}

/** PyTorch's per-tensor symmetric int8 weight: scale = max(max|w| / 127.5, eps), q = clamp(round(w / scale)). */
export function quantizeSymmetricInt8(w: ArrayLike<number>): { q: Int8Array; scale: number } {
  let amax = 0;
  for (let i = 0; i < w.length; i++) {
    const a = Math.abs(w[i]);
    if (a > amax) amax = a;
  }
  const scale = Math.max(Math.fround(Math.fround(amax) / 127.5), F32_EPS);
  const inv = Math.fround(1 / scale);
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const v = roundHalfEven(Math.fround(w[i] * inv));
    q[i] = Math.min(127, Math.max(-128, v));
  }
  return { q, scale };
}

/** LLM weight-only int8, per row of w (N, K): scale[n] = max|w[n]| / 127, q = round(w / scale). */
export function quantizeRowsInt8(w: ArrayLike<number>, N: number, K: number): { q: Int8Array; scales: Float32Array } {
  const q = new Int8Array(N * K),
    scales = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let amax = 0;
    for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(w[n * K + k]));
    const s = Math.fround(amax / 127);
    scales[n] = s;
    const inv = s > 0 ? 1 / s : 0;
    for (let k = 0; k < K; k++) {
      const v = Math.round(w[n * K + k] * inv);
      q[n * K + k] = Math.min(127, Math.max(-127, v));
    }
  }
  return { q, scales };
}

/** Bytes per row of an int4 weight with K columns in groups of G (each group G/2 bytes, the last one padded). */
export function int4RowBytes(K: number, G: number): number {
  return (Math.ceil(K / G) * G) / 2;
}

/** Checks an int4 group size: a multiple of 32 (the kernels' unit). */
export function checkGroupSize(G: number, who: string): void {
  if (!Number.isInteger(G) || G < 32 || G % 32 !== 0) {
    throw new Error(`${who}: int4 group size must be a positive multiple of 32 (32, 64, 128, ...), got ${G}`);
  }
}

/**
 * Q4_0-style int4 of w (N, K) in groups of G along K: per row ceil(K/G) groups of G/2 bytes, byte j of a
 * group holding element j (low nibble) and j + G/2 (high nibble); scales (N, ceil(K/G)). Padding codes are 8 (zero).
 */
export function quantizeInt4(
  w: ArrayLike<number>,
  N: number,
  K: number,
  G: number,
): { q: Uint8Array; scales: Float32Array } {
  checkGroupSize(G, 'quantizeInt4');
  const ng = Math.ceil(K / G),
    rowb = int4RowBytes(K, G);
  const q = new Uint8Array(N * rowb),
    scales = new Float32Array(N * ng);
  const code = new Uint8Array(G);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < ng; g++) {
      const k0 = g * G,
        k1 = Math.min(K, k0 + G);
      let m = 0;
      for (let k = k0; k < k1; k++) if (Math.abs(w[n * K + k]) > Math.abs(m)) m = w[n * K + k];
      const d = Math.fround(m / -8);
      scales[n * ng + g] = d;
      const id = d !== 0 ? 1 / d : 0;
      code.fill(8);
      for (let k = k0; k < k1; k++) code[k - k0] = Math.min(15, Math.max(0, Math.floor(w[n * K + k] * id + 8.5)));
      const base = n * rowb + (g * G) / 2;
      for (let j = 0; j < G / 2; j++) q[base + j] = code[j] | (code[j + G / 2] << 4);
    }
  }
  return { q, scales };
}

/**
 * One row of activations x (K) quantized to int8 in groups of G for the int4 product (llama.cpp's Q8_0
 * beside Q4_0): d[g] = max|x| over the group / 127, codes rint(x / d) in [-127, 127] (NaN: 0), padded with
 * zeros to ceil(K/G)*G.
 */
export function quantizeActivationGroups(
  x: ArrayLike<number>,
  K: number,
  G: number,
  offset = 0,
): { codes: Int8Array; d: Float32Array } {
  const ng = Math.ceil(K / G);
  const codes = new Int8Array(ng * G),
    d = new Float32Array(ng);
  for (let g = 0; g < ng; g++) {
    const k0 = g * G,
      k1 = Math.min(K, k0 + G);
    let amax = 0;
    for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(Math.fround(x[offset + k])) || 0);
    const dg = Math.fround(amax / 127),
      id = dg !== 0 ? Math.fround(1 / dg) : 0;
    d[g] = dg;
    for (let k = k0; k < k1; k++) {
      const v = Math.min(127, Math.max(-127, Math.fround(x[offset + k] * id)));
      codes[k] = Number.isNaN(v) ? 0 : roundHalfEven(v);
    }
  }
  return { codes, d };
}

/** The float32 weight (N, K) an int8 (per row) or int4 (groups of G) weight stands for. */
export function dequantizeWeight(
  q: Int8Array | Uint8Array,
  scales: Float32Array,
  bits: 4 | 8,
  N: number,
  K: number,
  G = 0,
): Float32Array {
  const w = new Float32Array(N * K);
  if (bits === 8) {
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) w[n * K + k] = ((q[n * K + k] << 24) >> 24) * scales[n];
    return w;
  }
  const ng = Math.ceil(K / G),
    rowb = int4RowBytes(K, G);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const g = Math.floor(k / G),
        j = k - g * G;
      const byte = q[n * rowb + (g * G) / 2 + (j % (G / 2))];
      const c = j < G / 2 ? byte & 15 : byte >> 4;
      w[n * K + k] = (c - 8) * scales[n * ng + g];
    }
  return w;
}

/** float32 -> bfloat16 bits, round to nearest even (NaN stays NaN), as torch's c10::BFloat16. */
export function f32ToBf16(x: ArrayLike<number>): Uint16Array {
  const f = new Float32Array(1),
    u = new Uint32Array(f.buffer);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    f[0] = x[i];
    const b = u[0];
    out[i] = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x40 : ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/** bfloat16 bits -> float32. */
export function bf16ToF32(h: Uint16Array): Float32Array {
  const u = new Uint32Array(h.length);
  for (let i = 0; i < h.length; i++) u[i] = h[i] << 16;
  return new Float32Array(u.buffer);
}
