// Activation observers of static quantization (torch.ao.quantization.observer), quint8 per-tensor affine
// over [0, 255] (no reduce_range: nabla's u8 x s8 kernels are exact, as QNNPACK's and oneDNN's):
// MinMaxObserver (the observed range), MovingAverageMinMaxObserver (its running averages) and
// HistogramObserver (a 2048-bin histogram of everything observed, and the range within it that minimises
// the L2 quantization error; the activation observer of torch's default static qconfigs).
// Glossary: B bins of the histogram (2048), D destination bins (256, the uint8 codes), U upsample rate.

import type { ActQParams } from '../../ops/quantized.js';
import { contiguousValues, type Tensor } from '../../tensor/tensor.js';
import { roundHalfEven } from '../../util/math.js';
import { Module } from '../module.js';

const F32_EPS = 1.1920928955078125e-7;
const f32 = Math.fround;

/** torch's _calculate_qparams for quint8 per_tensor_affine over [0, 255]: the range always includes 0. */
function affineQparams(min: number, max: number, who: string): ActQParams {
  if (!(min <= max)) {
    throw new Error(`${who}: nothing was observed; run the prepared model on calibration data first`);
  }
  const lo = f32(Math.min(min, 0)),
    hi = f32(Math.max(max, 0));
  const scale = Math.max(f32((hi - lo) / 255), F32_EPS);
  const zp = 0 - roundHalfEven(f32(lo / scale));
  return { scale, zeroPoint: Math.min(255, Math.max(0, zp)) };
}

/** x's values as float32 (any shape, detached) and their min and max. */
function valuesOf(x: Tensor): { v: ArrayLike<number>; mn: number; mx: number } {
  const v = contiguousValues(x.detach().float());
  let mn = Infinity,
    mx = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const a = v[i];
    if (a < mn) mn = a;
    if (a > mx) mx = a;
  }
  return { v, mn, mx };
}

/** An observer: forward records what passes through and returns it; calculateQparams gives its uint8 grid. */
export abstract class Observer extends Module {
  /** Observes x (any shape) and returns it unchanged. */
  abstract override forward(x: Tensor): Tensor;
  /** The (scale, zeroPoint) of uint8 codes for what was observed. */
  abstract calculateQparams(): ActQParams;
}

/** Records the running min and max of what passes through; calculateQparams gives uint8 (scale, zeroPoint). */
export class MinMaxObserver extends Observer {
  min = Infinity;
  max = -Infinity;
  forward(x: Tensor): Tensor {
    const { v, mn, mx } = valuesOf(x);
    if (v.length) this.update(mn, mx);
    return x;
  }
  protected update(mn: number, mx: number): void {
    this.min = Math.min(this.min, mn);
    this.max = Math.max(this.max, mx);
  }
  calculateQparams(): ActQParams {
    return affineQparams(this.min, this.max, this.constructor.name);
  }
  override extraRepr(): string {
    return `min_val=${this.min}, max_val=${this.max}`;
  }
}

/** min and max as exponential moving averages of each batch's (torch's averaging_constant 0.01). */
export class MovingAverageMinMaxObserver extends MinMaxObserver {
  constructor(readonly averagingConstant = 0.01) {
    super();
    if (!(averagingConstant > 0 && averagingConstant <= 1)) {
      throw new Error(`MovingAverageMinMaxObserver: averagingConstant must be in (0, 1], got ${averagingConstant}`);
    }
  }
  protected override update(mn: number, mx: number): void {
    if (this.min === Infinity) {
      this.min = mn;
      this.max = mx;
    } else {
      this.min += this.averagingConstant * (mn - this.min);
      this.max += this.averagingConstant * (mx - this.max);
    }
  }
}

/** torch.histc: counts of v (B) over B equal bins of [lo, hi] (hi in the last bin; values outside dropped). */
function histc(v: ArrayLike<number>, B: number, lo: number, hi: number): Float32Array {
  const h = new Float32Array(B);
  if (!(hi > lo)) {
    // NOTE: all values equal: torch.histc widens the range around them, which puts them in the middle bin
    h[B >> 1] = v.length;
    return h;
  }
  const w = hi - lo;
  for (let i = 0; i < v.length; i++) {
    const a = v[i];
    if (a < lo || a > hi) continue;
    const b = Math.floor(((a - lo) * B) / w);
    h[b >= B ? B - 1 : b]++;
  }
  return h;
}

/**
 * Records a histogram (B = 2048 bins) of everything observed over its running [min, max]; a batch that
 * widens the range re-bins the old histogram (upsampled U times, spread evenly within each bin).
 * calculateQparams searches the range [min', max'] within it that minimises the L2 error of uint8
 * quantization (clipping outliers costs less than a coarse grid for the bulk), as torch's
 * HistogramObserver: the activation observer of its default static qconfigs ('x86', 'fbgemm', 'qnnpack',
 * 'onednn'). Slower to observe than MinMaxObserver; calibrate with a few batches.
 */
export class HistogramObserver extends Observer {
  min = Infinity;
  max = -Infinity;
  histogram: Float32Array;
  constructor(
    readonly bins = 2048,
    readonly upsampleRate = 128,
  ) {
    super();
    if (!(Number.isInteger(bins) && bins > 0) || !(Number.isInteger(upsampleRate) && upsampleRate > 0)) {
      throw new Error(
        `HistogramObserver: bins and upsampleRate must be positive integers, got ${bins} and ${upsampleRate}`,
      );
    }
    this.histogram = new Float32Array(bins);
  }

  forward(x: Tensor): Tensor {
    const { v, mn, mx } = valuesOf(x);
    if (!v.length) return x;
    if ((this.min === Infinity && this.max === -Infinity) || this.min === this.max) {
      this.min = mn;
      this.max = mx;
      // NOTE: torch 1.13 passes int(min), int(max) to histc, binning over a truncated range that the
      // search then reads as [min, max] (fixed in later torch); this bins over [min, max] itself
      this.histogram = histc(v, this.bins, mn, mx);
      return x;
    }
    let cmin = Math.min(mn, this.min),
      cmax = Math.max(mx, this.max);
    // _adjust_min_max: a common grid of the old bins' width / U, the combined range a whole number of
    // them (only the max relaxed, so that a one-sided range keeps its min at 0)
    const U = this.upsampleRate,
      B = this.bins;
    const fine = f32(f32(this.max - this.min) / (B * U));
    const down = Math.ceil(f32(f32(cmax - cmin) / f32(B * fine)));
    const e = f32(f32(down * f32(B * fine)) - f32(cmax - cmin));
    cmax = f32(cmax + e);
    const start = roundHalfEven(f32(f32(this.min - cmin) / fine));
    const h = histc(v, B, cmin, cmax);
    if (cmin === this.min && cmax === this.max) {
      for (let i = 0; i < B; i++) h[i] += this.histogram[i];
    } else {
      this.combine(h, down, start);
    }
    this.histogram = h;
    this.min = cmin;
    this.max = cmax;
    return x;
  }

  /**
   * _combine_histograms: the old histogram upsampled U times (each value repeated U times) at offset
   * `start` of a fine grid of B * down cells, summed over runs of `down` cells and divided by U, added to
   * h (B). The fine grid is never materialised: each old bin's U cells are spread over the runs they cover.
   */
  private combine(h: Float32Array, down: number, start: number): void {
    const U = this.upsampleRate,
      B = this.bins,
      old = this.histogram;
    const acc = new Float64Array(B);
    for (let k = 0; k < B; k++) {
      const c = old[k];
      if (c === 0) continue;
      let a = start + k * U;
      const end = a + U;
      while (a < end) {
        const j = Math.floor(a / down);
        if (j >= B) break;
        const stop = Math.min(end, (j + 1) * down);
        acc[j] += c * (stop - a);
        a = stop;
      }
    }
    for (let j = 0; j < B; j++) h[j] += f32(acc[j] / U);
  }

  /**
   * The L2 error of quantizing the histogram to D = 256 codes over bins [startBin, endBin]: each source
   * bin's mass spread uniformly over its width, measured against the centres of the codes it falls in
   * (torch's _compute_quantization_error).
   */
  private quantizationError(startBin: number, endBin: number): number {
    const B = this.bins,
      D = 256;
    const binWidth = (this.max - this.min) / B;
    const dstWidth = (binWidth * (endBin - startBin + 1)) / D;
    if (dstWidth === 0) return 0;
    // density * (integral of x^2 from a to b)
    const norm = (a: number, b: number, density: number) => (density * (b * b * b - a * a * a)) / 3;
    const half = dstWidth / 2;
    let total = 0;
    for (let i = 0; i < B; i++) {
      const c = this.histogram[i];
      if (c === 0) continue;
      const density = c / binWidth;
      const begin = (i - startBin) * binWidth,
        end = begin + binWidth;
      const db = Math.min(Math.max(Math.floor(begin / dstWidth), 0), D - 1),
        de = Math.min(Math.max(Math.floor(end / dstWidth), 0), D - 1);
      total += norm(begin - (db + 0.5) * dstWidth, half, density);
      total += (de - db - 1) * norm(-half, half, density);
      total += norm(-half, end - (de * dstWidth + half), density);
    }
    return total;
  }

  /**
   * torch's _non_linear_param_search (caffe2's NormMinimization): moves the lower or upper quantile bound
   * inward in steps of 1e-5 of the mass, whichever side drops fewer bins, while the L2 error falls.
   * Returns the chosen [min', max'].
   */
  private searchRange(): [number, number] {
    const B = this.bins,
      h = this.histogram;
    const binWidth = f32(f32(this.max - this.min) / B);
    const cSum = new Float64Array(B);
    let total = 0;
    for (let i = 0; i < B; i++) cSum[i] = total += h[i];
    const step = 1e-5;
    let alpha = 0,
      beta = 1,
      startBin = 0,
      endBin = B - 1,
      normMin = Infinity;
    while (alpha < beta) {
      const nextAlpha = alpha + step,
        nextBeta = beta - step;
      let l = startBin,
        r = endBin;
      while (l < endBin && cSum[l] < nextAlpha * total) l++;
      while (r > startBin && cSum[r] > nextBeta * total) r--;
      let nextStart = startBin,
        nextEnd = endBin;
      if (l - startBin > endBin - r) {
        nextStart = l;
        alpha = nextAlpha;
      } else {
        nextEnd = r;
        beta = nextBeta;
      }
      if (nextStart === startBin && nextEnd === endBin) continue;
      const norm = this.quantizationError(nextStart, nextEnd);
      if (norm > normMin) break;
      normMin = norm;
      startBin = nextStart;
      endBin = nextEnd;
    }
    return [f32(this.min + f32(binWidth * startBin)), f32(this.min + f32(binWidth * (endBin + 1)))];
  }

  calculateQparams(): ActQParams {
    if (!(this.min <= this.max)) return affineQparams(this.min, this.max, 'HistogramObserver');
    const [lo, hi] = this.searchRange();
    return affineQparams(lo, hi, 'HistogramObserver');
  }

  override extraRepr(): string {
    return `min_val=${this.min}, max_val=${this.max}, bins=${this.bins}`;
  }
}
