// 2-D convolution and pooling for the JS backend, by im2col + matrix products.
// Glossary: N batch, C input channels, H,W input size, OC output channels, KH,KW kernel size,
// OH,OW output size, G groups, Cg = C/G, OCg = OC/G, L = OH*OW, Kc = Cg*KH*KW.

import type { TypedArray } from '../../tensor/dtype.js';
import { allocate, dtypeOfArray } from '../../tensor/dtype.js';
import type { Layout } from '../../tensor/layout.js';
import type { Conv2dParams, Pool2dParams } from '../backend.js';
import { asContiguous } from './strided.js';
import { convOutSize, poolOutSize } from '../../util/window.js';

interface Geometry {
  N: number;
  C: number;
  H: number;
  W: number;
  OC: number;
  KH: number;
  KW: number;
  OH: number;
  OW: number;
  G: number;
  Cg: number;
  OCg: number;
  L: number;
  Kc: number;
}

function geometry(xShape: readonly number[], wShape: readonly number[], p: Conv2dParams): Geometry {
  const [N, C, H, W] = xShape;
  const [OC, , KH, KW] = wShape;
  const OH = convOutSize(H, KH, p.strideH, p.padH, p.dilationH);
  const OW = convOutSize(W, KW, p.strideW, p.padW, p.dilationW);
  const G = p.groups,
    Cg = C / G,
    OCg = OC / G;
  return { N, C, H, W, OC, KH, KW, OH, OW, G, Cg, OCg, L: OH * OW, Kc: Cg * KH * KW };
}

/** col (Kc, L) of image n, group g: col[(c,kh,kw)][(oh,ow)] = x[n, g*Cg+c, oh*s-p+kh*d, ow*s-p+kw*d] or 0. */
function im2col(x: TypedArray, g: Geometry, p: Conv2dParams, n: number, grp: number, col: Float64Array): void {
  const { C, H, W, KH, KW, OH, OW, Cg, L } = g;
  for (let c = 0; c < Cg; c++) {
    const plane = (n * C + grp * Cg + c) * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const row = ((c * KH + kh) * KW + kw) * L;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * p.strideH - p.padH + kh * p.dilationH;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * p.strideW - p.padW + kw * p.dilationW;
            col[row + oh * OW + ow] = ih >= 0 && ih < H && iw >= 0 && iw < W ? x[plane + ih * W + iw] : 0;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: dx[n, g*Cg+c, ih, iw] += col[(c,kh,kw)][(oh,ow)]. */
function col2im(col: Float64Array, g: Geometry, p: Conv2dParams, n: number, grp: number, dx: TypedArray): void {
  const { C, H, W, KH, KW, OH, OW, Cg, L } = g;
  for (let c = 0; c < Cg; c++) {
    const plane = (n * C + grp * Cg + c) * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const row = ((c * KH + kh) * KW + kw) * L;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * p.strideH - p.padH + kh * p.dilationH;
          if (ih < 0 || ih >= H) continue;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * p.strideW - p.padW + kw * p.dilationW;
            if (iw >= 0 && iw < W) dx[plane + ih * W + iw] += col[row + oh * OW + ow];
          }
        }
      }
    }
  }
}

/** x (N,C,H,W), w (OC,Cg,KH,KW) -> y (N,OC,OH,OW). */
export function conv2d(x: TypedArray, lx: Layout, w: TypedArray, lw: Layout, p: Conv2dParams): TypedArray {
  const g = geometry(lx.shape, lw.shape, p);
  const dt = dtypeOfArray(x);
  const xs = asContiguous(x, lx, dt),
    ws = asContiguous(w, lw, dt);
  const y = allocate(dt, g.N * g.OC * g.L);
  const col = new Float64Array(g.Kc * g.L);
  const acc = new Float64Array(g.L);
  for (let n = 0; n < g.N; n++) {
    for (let grp = 0; grp < g.G; grp++) {
      im2col(xs, g, p, n, grp, col);
      for (let oc = 0; oc < g.OCg; oc++) {
        // y[n, oc] (L) = w[oc] (Kc) @ col (Kc, L)
        acc.fill(0);
        const wo = (grp * g.OCg + oc) * g.Kc;
        for (let k = 0; k < g.Kc; k++) {
          const wv = ws[wo + k],
            r = k * g.L;
          for (let l = 0; l < g.L; l++) acc[l] += wv * col[r + l];
        }
        y.set(acc as never, (n * g.OC + grp * g.OCg + oc) * g.L);
      }
    }
  }
  return y;
}

/** dy (N,OC,OH,OW), w (OC,Cg,KH,KW) -> dx (N,C,H,W). */
export function conv2dBackwardInput(
  dy: TypedArray,
  ldy: Layout,
  w: TypedArray,
  lw: Layout,
  xShape: readonly number[],
  p: Conv2dParams,
): TypedArray {
  const g = geometry(xShape, lw.shape, p);
  const dt = dtypeOfArray(dy);
  const dys = asContiguous(dy, ldy, dt),
    ws = asContiguous(w, lw, dt);
  const dx = allocate(dt, g.N * g.C * g.H * g.W);
  const col = new Float64Array(g.Kc * g.L);
  for (let n = 0; n < g.N; n++) {
    for (let grp = 0; grp < g.G; grp++) {
      // dcol (Kc, L) = w_g^T (Kc, OCg) @ dy_g (OCg, L)
      col.fill(0);
      for (let oc = 0; oc < g.OCg; oc++) {
        const wo = (grp * g.OCg + oc) * g.Kc,
          yo = (n * g.OC + grp * g.OCg + oc) * g.L;
        for (let k = 0; k < g.Kc; k++) {
          const wv = ws[wo + k],
            r = k * g.L;
          for (let l = 0; l < g.L; l++) col[r + l] += wv * dys[yo + l];
        }
      }
      col2im(col, g, p, n, grp, dx);
    }
  }
  return dx;
}

/** dy (N,OC,OH,OW), x (N,C,H,W) -> dw (OC,Cg,KH,KW). */
export function conv2dBackwardWeight(
  dy: TypedArray,
  ldy: Layout,
  x: TypedArray,
  lx: Layout,
  wShape: readonly number[],
  p: Conv2dParams,
): TypedArray {
  const g = geometry(lx.shape, wShape, p);
  const dt = dtypeOfArray(dy);
  const dys = asContiguous(dy, ldy, dt),
    xs = asContiguous(x, lx, dt);
  const dw = new Float64Array(g.OC * g.Kc);
  const col = new Float64Array(g.Kc * g.L);
  for (let n = 0; n < g.N; n++) {
    for (let grp = 0; grp < g.G; grp++) {
      im2col(xs, g, p, n, grp, col);
      // dw_g (OCg, Kc) += dy_g (OCg, L) @ col^T (L, Kc)
      for (let oc = 0; oc < g.OCg; oc++) {
        const wo = (grp * g.OCg + oc) * g.Kc,
          yo = (n * g.OC + grp * g.OCg + oc) * g.L;
        for (let k = 0; k < g.Kc; k++) {
          const r = k * g.L;
          let s = 0;
          for (let l = 0; l < g.L; l++) s += dys[yo + l] * col[r + l];
          dw[wo + k] += s;
        }
      }
    }
  }
  const out = allocate(dt, dw.length);
  out.set(dw as never);
  return out;
}

/** x (N,C,H,W) -> values (N,C,OH,OW), indices = flat ih*W+iw of each window's max (NaN wins). */
export function maxPool2d(x: TypedArray, lx: Layout, p: Pool2dParams): { values: TypedArray; indices: Int32Array } {
  const [N, C, H, W] = lx.shape;
  const dt = dtypeOfArray(x);
  const xs = asContiguous(x, lx, dt);
  const OH = poolOutSize(H, p.kH, p.strideH, p.padH, p.dilationH, p.ceilMode);
  const OW = poolOutSize(W, p.kW, p.strideW, p.padW, p.dilationW, p.ceilMode);
  const values = allocate(dt, N * C * OH * OW);
  const indices = new Int32Array(N * C * OH * OW);
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let best = -Infinity,
          bi = -1;
        for (let kh = 0; kh < p.kH; kh++) {
          const ih = oh * p.strideH - p.padH + kh * p.dilationH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < p.kW; kw++) {
            const iw = ow * p.strideW - p.padW + kw * p.dilationW;
            if (iw < 0 || iw >= W) continue;
            const v = xs[plane + ih * W + iw];
            if (bi < 0 || v > best || (v !== v && best === best)) {
              best = v;
              bi = ih * W + iw;
            }
          }
        }
        const o = (nc * OH + oh) * OW + ow;
        values[o] = best;
        indices[o] = bi;
      }
    }
  }
  return { values, indices };
}

function avgWindows(
  shape: readonly number[],
  p: Pool2dParams,
  countIncludePad: boolean,
  visit: (nc: number, o: number, ih0: number, ih1: number, iw0: number, iw1: number, div: number) => void,
): number[] {
  const [N, C, H, W] = shape;
  const OH = poolOutSize(H, p.kH, p.strideH, p.padH, 1, p.ceilMode);
  const OW = poolOutSize(W, p.kW, p.strideW, p.padW, 1, p.ceilMode);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let h0 = oh * p.strideH - p.padH,
          w0 = ow * p.strideW - p.padW;
        let h1 = Math.min(h0 + p.kH, H + p.padH),
          w1 = Math.min(w0 + p.kW, W + p.padW);
        const poolSize = (h1 - h0) * (w1 - w0);
        h0 = Math.max(h0, 0);
        w0 = Math.max(w0, 0);
        h1 = Math.min(h1, H);
        w1 = Math.min(w1, W);
        const div = countIncludePad ? poolSize : (h1 - h0) * (w1 - w0);
        visit(nc, (nc * OH + oh) * OW + ow, h0, h1, w0, w1, div);
      }
    }
  }
  return [N, C, OH, OW];
}

export function avgPool2d(x: TypedArray, lx: Layout, p: Pool2dParams, countIncludePad: boolean): TypedArray {
  const [N, C, H, W] = lx.shape;
  const dt = dtypeOfArray(x);
  const xs = asContiguous(x, lx, dt);
  const OH = poolOutSize(H, p.kH, p.strideH, p.padH, 1, p.ceilMode);
  const OW = poolOutSize(W, p.kW, p.strideW, p.padW, 1, p.ceilMode);
  const y = allocate(dt, N * C * OH * OW);
  avgWindows(lx.shape, p, countIncludePad, (nc, o, h0, h1, w0, w1, div) => {
    let s = 0;
    for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) s += xs[(nc * H + ih) * W + iw];
    y[o] = s / div;
  });
  return y;
}

export function avgPool2dBackward(
  dy: TypedArray,
  ldy: Layout,
  xShape: readonly number[],
  p: Pool2dParams,
  countIncludePad: boolean,
): TypedArray {
  const [N, C, H, W] = xShape;
  const dt = dtypeOfArray(dy);
  const dys = asContiguous(dy, ldy, dt);
  const dx = allocate(dt, N * C * H * W);
  avgWindows(xShape, p, countIncludePad, (nc, o, h0, h1, w0, w1, div) => {
    const g = dys[o] / div;
    for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) dx[(nc * H + ih) * W + iw] += g;
  });
  return dx;
}

export function maxPool2dBackward(
  dy: TypedArray,
  ldy: Layout,
  indices: Int32Array,
  xShape: readonly number[],
): TypedArray {
  // dy, indices (N, C, OH, OW) -> dx (N, C, H, W)
  const [N, C, H, W] = xShape,
    HW = H * W,
    O = ldy.shape[2] * ldy.shape[3];
  const dt = dtypeOfArray(dy);
  const dys = asContiguous(dy, ldy, dt);
  const dx = allocate(dt, N * C * HW);
  for (let nc = 0; nc < N * C; nc++) {
    for (let o = 0; o < O; o++) {
      const i = indices[nc * O + o];
      if (i >= 0) dx[nc * HW + i] += dys[nc * O + o];
    }
  }
  return dx;
}
