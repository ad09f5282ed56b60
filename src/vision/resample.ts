// Separable resampling with an antialiasing triangle (bilinear) filter, as PIL's Image.resize
// (Resample.c) does it: the filter's support widens by the downscale factor, weights are normalised
// per output pixel, and 8-bit images round to uint8 after each pass (horizontal first). The same
// code resamples float tensors without the rounding (torchvision's antialiased tensor resize).

/** Per output pixel: the first input index, the count, and the normalised weights. */
interface Coeffs {
  bounds: Int32Array;
  weights: Float64Array;
  ksize: number;
}

function coefficients(inSize: number, outSize: number, in0 = 0, in1 = inSize): Coeffs {
  const scale = (in1 - in0) / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale; // bilinear filter support is 1
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Float64Array(outSize * ksize);
  const ss = 1 / filterscale;
  for (let x = 0; x < outSize; x++) {
    const center = in0 + (x + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let total = 0;
    for (let k = 0; k < xmax; k++) {
      const t = Math.abs((k + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      weights[x * ksize + k] = w;
      total += w;
    }
    if (total !== 0) for (let k = 0; k < xmax; k++) weights[x * ksize + k] /= total;
    bounds[2 * x] = xmin;
    bounds[2 * x + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

const PRECISION_BITS = 32 - 8 - 2;

/** PIL's fixed-point weights for 8-bit images. */
function fixedPoint(c: Coeffs): Int32Array {
  const out = new Int32Array(c.weights.length);
  for (let i = 0; i < out.length; i++) {
    const w = c.weights[i] * (1 << PRECISION_BITS);
    out[i] = Math.trunc(w < 0 ? w - 0.5 : w + 0.5);
  }
  return out;
}

/**
 * Resamples planar data (C planes of H x W) to (C, outH, outW). `u8` rounds and clips each pass as
 * PIL does for 8-bit images; otherwise the arithmetic is float.
 */
export function resamplePlanes(
  src: Float32Array | Uint8Array,
  C: number,
  H: number,
  W: number,
  outH: number,
  outW: number,
  u8: boolean,
): Float32Array {
  const cx = coefficients(W, outW),
    cy = coefficients(H, outH);
  const kx = u8 ? fixedPoint(cx) : null,
    ky = u8 ? fixedPoint(cy) : null;
  const round = 1 << (PRECISION_BITS - 1);
  // horizontal pass: (C, H, W) -> (C, H, outW)
  const tmp = new Float32Array(C * H * outW);
  for (let c = 0; c < C; c++)
    for (let y = 0; y < H; y++) {
      const row = (c * H + y) * W,
        orow = (c * H + y) * outW;
      for (let x = 0; x < outW; x++) {
        const x0 = cx.bounds[2 * x],
          n = cx.bounds[2 * x + 1],
          wo = x * cx.ksize;
        if (u8) {
          let s = round;
          for (let k = 0; k < n; k++) s += src[row + x0 + k] * kx![wo + k];
          tmp[orow + x] = clip8(Math.floor(s / (1 << PRECISION_BITS)));
        } else {
          let s = 0;
          for (let k = 0; k < n; k++) s += src[row + x0 + k] * cx.weights[wo + k];
          tmp[orow + x] = s;
        }
      }
    }
  // vertical pass: (C, H, outW) -> (C, outH, outW)
  const out = new Float32Array(C * outH * outW);
  for (let c = 0; c < C; c++)
    for (let y = 0; y < outH; y++) {
      const y0 = cy.bounds[2 * y],
        n = cy.bounds[2 * y + 1],
        wo = y * cy.ksize;
      for (let x = 0; x < outW; x++) {
        if (u8) {
          let s = round;
          for (let k = 0; k < n; k++) s += tmp[(c * H + y0 + k) * outW + x] * ky![wo + k];
          out[(c * outH + y) * outW + x] = clip8(Math.floor(s / (1 << PRECISION_BITS)));
        } else {
          let s = 0;
          for (let k = 0; k < n; k++) s += tmp[(c * H + y0 + k) * outW + x] * cy.weights[wo + k];
          out[(c * outH + y) * outW + x] = s;
        }
      }
    }
  return out;
}

function clip8(v: number): number {
  return Math.min(Math.max(v, 0), 255);
}
