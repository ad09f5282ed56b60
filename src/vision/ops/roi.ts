// Region-of-interest pooling as torchvision.ops.roi_align and roi_pool (0.14, the CPU kernels):
// crop each box of a feature map into a fixed (PH, PW) grid. Both are linear in the input once the
// sampling (roiAlign: bilinear weights; roiPool: the argmax of each bin) is fixed, so each forward
// builds a sparse plan and its backward scatters through the same plan; roiAlign's backward is
// itself differentiable (its adjoint is the forward). Boxes get no gradient, as in torchvision.
// Glossary: N images, C channels, H, W feature size, K boxes, PH, PW output size, S samples per bin.

import { Tensor } from '../../tensor/tensor.js';
import { fmtShape } from '../../tensor/layout.js';
import { record, wrap } from '../../ops/util.js';
import { Module } from '../../nn/module.js';
import { checkBoxes } from './boxes.js';

/** A list of (L, 4) boxes per image, or one (K, 5) tensor of (batch index, x1, y1, x2, y2). */
export type Rois = Tensor | readonly Tensor[];

export interface RoiAlignOptions {
  /** Scale from box coordinates to feature coordinates (1/stride). Default 1. */
  spatialScale?: number;
  /** Samples per bin along each axis; <= 0: adaptive, ceil(roi size / output size). Default -1. */
  samplingRatio?: number;
  /** Shift boxes by -0.5 pixel so that pixel centres align (Detectron2's ROIAlignV2). Default false. */
  aligned?: boolean;
}

function outSize(op: string, s: number | readonly [number, number]): [number, number] {
  const [ph, pw] = typeof s === 'number' ? [s, s] : s;
  if (!(Number.isInteger(ph) && Number.isInteger(pw) && ph > 0 && pw > 0))
    throw new Error(`${op}: outputSize must be positive integers, got ${JSON.stringify(s)}`);
  return [ph, pw];
}

function checkScale(op: string, s: number): void {
  if (!(Number.isFinite(s) && s > 0)) throw new Error(`${op}: spatialScale must be a positive number, got ${s}`);
}

/** Rois as rows (K, 5) in float64, validated against the input's N. */
function roiRows(op: string, input: Tensor, boxes: Rois): Float64Array {
  if (input.ndim !== 4) throw new Error(`${op}: expected input (N, C, H, W), got ${fmtShape(input.shape)}`);
  if (input.dtype !== 'float32' && input.dtype !== 'float64')
    throw new Error(`${op}: input must be float32 or float64, got ${input.dtype}`);
  const N = input.shape[0];
  let rows: Float64Array;
  if (boxes instanceof Tensor) {
    if (boxes.ndim !== 2 || boxes.shape[1] !== 5)
      throw new Error(`${op}: expected boxes (K, 5) of (batch index, x1, y1, x2, y2), got ${fmtShape(boxes.shape)}`);
    rows = boxes.detach().to('float64').contiguous().toTypedArray() as Float64Array;
  } else {
    if (!Array.isArray(boxes) || boxes.length === 0)
      throw new Error(`${op}: boxes is an empty image list; pass one (L, 4) tensor per image or a (K, 5) tensor`);
    if (boxes.length !== N)
      throw new Error(`${op}: ${boxes.length} box tensors for ${N} images; pass one (L, 4) tensor per image`);
    const parts: number[] = [];
    boxes.forEach((b, n) => {
      if (b.ndim !== 2 || b.shape[1] !== 4)
        throw new Error(`${op}: expected boxes[${n}] of shape (L, 4), got ${fmtShape(b.shape)}`);
      const d = b.detach().to('float64').contiguous().toTypedArray();
      for (let i = 0; i < d.length; i += 4) parts.push(n, d[i], d[i + 1], d[i + 2], d[i + 3]);
    });
    rows = Float64Array.from(parts);
  }
  const K = rows.length / 5;
  const xyxy = new Float64Array(K * 4);
  for (let k = 0; k < K; k++) {
    const b = rows[5 * k];
    if (!(Number.isInteger(b) && b >= 0 && b < N))
      throw new Error(`${op}: boxes[${k}] has batch index ${b}, outside [0, ${N}) for input ${fmtShape(input.shape)}`);
    xyxy.set(rows.subarray(5 * k + 1, 5 * k + 5), 4 * k);
  }
  checkBoxes(op, wrap(xyxy, [K, 4], 'float64'));
  return rows;
}

/** The bilinear plan: for each (k, ph, pw) a run of (pixel, weight) pairs in image rows[k]'s planes. */
interface AlignPlan {
  K: number;
  C: number;
  H: number;
  W: number;
  PH: number;
  PW: number;
  batch: Int32Array; // (K)
  start: Int32Array; // (K*PH*PW + 1)
  pix: Int32Array;
  w: Float64Array;
}

function alignPlan(
  rows: Float64Array,
  shape: readonly number[],
  PH: number,
  PW: number,
  o: RoiAlignOptions,
): AlignPlan {
  const [, C, H, W] = shape;
  const scale = o.spatialScale ?? 1,
    ratio = o.samplingRatio ?? -1,
    off = o.aligned ? 0.5 : 0;
  const K = rows.length / 5;
  const batch = new Int32Array(K),
    start = new Int32Array(K * PH * PW + 1);
  const pix: number[] = [],
    w: number[] = [];
  for (let k = 0; k < K; k++) {
    batch[k] = rows[5 * k];
    const x1 = rows[5 * k + 1] * scale - off,
      y1 = rows[5 * k + 2] * scale - off;
    let rw = rows[5 * k + 3] * scale - off - x1,
      rh = rows[5 * k + 4] * scale - off - y1;
    if (!o.aligned) {
      // NOTE: torchvision forces malformed (too small) rois to 1x1 in the legacy mode
      rw = Math.max(rw, 1);
      rh = Math.max(rh, 1);
    }
    const bh = rh / PH,
      bw = rw / PW;
    const gh = ratio > 0 ? ratio : Math.ceil(rh / PH),
      gw = ratio > 0 ? ratio : Math.ceil(rw / PW);
    const count = Math.max(gh * gw, 1);
    for (let ph = 0; ph < PH; ph++)
      for (let pw = 0; pw < PW; pw++) {
        for (let iy = 0; iy < gh; iy++) {
          const yy = y1 + ph * bh + ((iy + 0.5) * bh) / gh;
          for (let ix = 0; ix < gw; ix++) {
            let x = x1 + pw * bw + ((ix + 0.5) * bw) / gw,
              y = yy;
            if (y < -1 || y > H || x < -1 || x > W) continue; // outside: contributes 0
            if (y <= 0) y = 0;
            if (x <= 0) x = 0;
            let yl = Math.floor(y),
              xl = Math.floor(x),
              yh: number,
              xh: number;
            if (yl >= H - 1) {
              yh = yl = H - 1;
              y = yl;
            } else yh = yl + 1;
            if (xl >= W - 1) {
              xh = xl = W - 1;
              x = xl;
            } else xh = xl + 1;
            const ly = y - yl,
              lx = x - xl,
              hy = 1 - ly,
              hx = 1 - lx;
            pix.push(yl * W + xl, yl * W + xh, yh * W + xl, yh * W + xh);
            w.push((hy * hx) / count, (hy * lx) / count, (ly * hx) / count, (ly * lx) / count);
          }
        }
        start[(k * PH + ph) * PW + pw + 1] = pix.length;
      }
  }
  return { K, C, H, W, PH, PW, batch, start, pix: Int32Array.from(pix), w: Float64Array.from(w) };
}

function f64(t: Tensor): Float64Array {
  return t.to('float64').contiguous().toTypedArray() as Float64Array;
}

function cast(d: Float64Array, shape: number[], dtype: Tensor['dtype']): Tensor {
  return wrap(dtype === 'float64' ? d : Float32Array.from(d), shape, dtype);
}

/** x (N, C, H, W) -> (K, C, PH, PW) through the plan. */
function alignApply(x: Tensor, p: AlignPlan): Tensor {
  const { K, C, H, W, PH, PW } = p,
    HW = H * W,
    B = PH * PW;
  const xd = f64(x.detach()),
    out = new Float64Array(K * C * B);
  for (let k = 0; k < K; k++)
    for (let c = 0; c < C; c++) {
      const plane = (p.batch[k] * C + c) * HW,
        o = (k * C + c) * B;
      for (let b = 0; b < B; b++) {
        let s = 0;
        for (let e = p.start[k * B + b]; e < p.start[k * B + b + 1]; e++) s += p.w[e] * xd[plane + p.pix[e]];
        out[o + b] = s;
      }
    }
  const N = x.shape[0];
  return record(cast(out, [K, C, PH, PW], x.dtype), 'RoiAlignBackward', [x], (g) => [alignApplyT(g, p, N)]);
}

/** The adjoint: g (K, C, PH, PW) -> (N, C, H, W), scattering (accumulating) through the plan. */
function alignApplyT(g: Tensor, p: AlignPlan, N: number): Tensor {
  const { K, C, H, W } = p,
    HW = H * W,
    B = p.PH * p.PW;
  const gd = f64(g.detach()),
    out = new Float64Array(N * C * HW);
  for (let k = 0; k < K; k++)
    for (let c = 0; c < C; c++) {
      const plane = (p.batch[k] * C + c) * HW,
        o = (k * C + c) * B;
      for (let b = 0; b < B; b++) {
        const gv = gd[o + b];
        if (gv === 0) continue;
        for (let e = p.start[k * B + b]; e < p.start[k * B + b + 1]; e++) out[plane + p.pix[e]] += p.w[e] * gv;
      }
    }
  return record(cast(out, [N, C, H, W], g.dtype), 'RoiAlignBackwardBackward', [g], (gg) => [alignApply(gg, p)]);
}

/**
 * RoIAlign (He et al., Mask R-CNN): average of bilinear samples in each of PH x PW bins of each box.
 * input (N, C, H, W), boxes (K, 5) or [(L, 4) per image] in input coordinates / spatialScale
 * -> (K, C, PH, PW). Differentiable with respect to input.
 * @example nb.vision.ops.roiAlign(feat, [boxes], 7, {spatialScale: 1 / 16, samplingRatio: 2, aligned: true})
 */
export function roiAlign(
  input: Tensor,
  boxes: Rois,
  outputSize: number | readonly [number, number],
  o: RoiAlignOptions = {},
): Tensor {
  const op = 'roiAlign';
  const [PH, PW] = outSize(op, outputSize);
  checkScale(op, o.spatialScale ?? 1);
  const rows = roiRows(op, input, boxes);
  return alignApply(input, alignPlan(rows, input.shape, PH, PW, o));
}

/** Rounds half away from zero (C's round), unlike Math.round. */
function cRound(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

/**
 * RoIPool (Girshick, Fast R-CNN): the maximum over each of PH x PW integer bins of each box (rounded to
 * the feature grid); an empty bin gives 0. input (N, C, H, W), boxes as roiAlign -> (K, C, PH, PW).
 * Differentiable with respect to input (the gradient goes to each bin's argmax).
 */
export function roiPool(
  input: Tensor,
  boxes: Rois,
  outputSize: number | readonly [number, number],
  spatialScale = 1,
): Tensor {
  const op = 'roiPool';
  const [PH, PW] = outSize(op, outputSize);
  checkScale(op, spatialScale);
  const rows = roiRows(op, input, boxes);
  const [N, C, H, W] = input.shape,
    K = rows.length / 5,
    HW = H * W;
  const xd = f64(input.detach()),
    out = new Float64Array(K * C * PH * PW),
    arg = new Int32Array(K * C * PH * PW).fill(-1);
  for (let k = 0; k < K; k++) {
    const sw = cRound(rows[5 * k + 1] * spatialScale),
      sh = cRound(rows[5 * k + 2] * spatialScale);
    const rw = Math.max(cRound(rows[5 * k + 3] * spatialScale) - sw + 1, 1),
      rh = Math.max(cRound(rows[5 * k + 4] * spatialScale) - sh + 1, 1);
    const bh = rh / PH,
      bw = rw / PW;
    const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
    for (let ph = 0; ph < PH; ph++)
      for (let pw = 0; pw < PW; pw++) {
        const h0 = clip(Math.floor(ph * bh) + sh, H),
          h1 = clip(Math.ceil((ph + 1) * bh) + sh, H);
        const w0 = clip(Math.floor(pw * bw) + sw, W),
          w1 = clip(Math.ceil((pw + 1) * bw) + sw, W);
        const empty = h1 <= h0 || w1 <= w0;
        for (let c = 0; c < C; c++) {
          const plane = (rows[5 * k] * C + c) * HW,
            o = ((k * C + c) * PH + ph) * PW + pw;
          let m = empty ? 0 : -Infinity,
            mi = -1;
          for (let h = h0; h < h1; h++)
            for (let x = w0; x < w1; x++)
              if (xd[plane + h * W + x] > m) {
                m = xd[plane + h * W + x];
                mi = plane + h * W + x;
              }
          out[o] = m;
          arg[o] = mi;
        }
      }
  }
  return record(cast(out, [K, C, PH, PW], input.dtype), 'RoiPoolBackward', [input], (g) => {
    const gd = f64(g.detach()),
      gi = new Float64Array(N * C * HW);
    for (let i = 0; i < arg.length; i++) if (arg[i] >= 0) gi[arg[i]] += gd[i];
    return [cast(gi, [N, C, H, W], g.dtype)];
  });
}

/** torchvision.ops.RoIAlign as a Module: forward(input, boxes). */
export class RoIAlign extends Module {
  constructor(
    readonly outputSize: number | readonly [number, number],
    readonly spatialScale: number,
    readonly samplingRatio: number,
    readonly aligned = false,
  ) {
    super();
  }
  forward(input: Tensor, boxes: Rois): Tensor {
    const { spatialScale, samplingRatio, aligned } = this;
    return roiAlign(input, boxes, this.outputSize, { spatialScale, samplingRatio, aligned });
  }
  override extraRepr(): string {
    const { spatialScale, samplingRatio, aligned } = this;
    const size = JSON.stringify(this.outputSize);
    return `outputSize=${size}, spatialScale=${spatialScale}, samplingRatio=${samplingRatio}, aligned=${aligned}`;
  }
}

/** torchvision.ops.RoIPool as a Module: forward(input, boxes). */
export class RoIPool extends Module {
  constructor(
    readonly outputSize: number | readonly [number, number],
    readonly spatialScale: number,
  ) {
    super();
  }
  forward(input: Tensor, boxes: Rois): Tensor {
    return roiPool(input, boxes, this.outputSize, this.spatialScale);
  }
  override extraRepr(): string {
    return `outputSize=${JSON.stringify(this.outputSize)}, spatialScale=${this.spatialScale}`;
  }
}
