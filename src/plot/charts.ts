// Charts on a Canvas: line charts (learning curves), image grids, confusion matrices and heatmaps.
// Axis ticks are "nice" numbers (1, 2 or 5 times a power of ten, Heckbert 1990) with the fewest decimals
// that tell them apart, so a loss axis reads 0.2 0.4 0.6 rather than 0.17 0.43 0.69.
import { COLORS, Canvas, PALETTE, type RGB, textWidth } from './canvas.js';
import { type ColormapName, colormap } from './colormap.js';

export interface Series {
  name: string;
  values: readonly number[];
  color?: RGB;
}

/** Nice tick values covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) {
    throw new Error(`plot.niceTicks: range must be finite, got [${lo}, ${hi}]`);
  }
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count - 1);
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  const out: number[] = [];
  const start = Math.ceil(lo / step - 1e-9);
  // NOTE: toPrecision drops float noise (0.30000000000000004) and "+ 0" turns -0 into 0
  for (let k = start; k * step <= hi + step * 1e-9; k++) out.push(Number((k * step).toPrecision(12)) + 0);
  return out;
}

/** Tick labels with a shared, minimal number of decimals (exponent form for very large or small values). */
export function formatTicks(ticks: readonly number[]): string[] {
  if (ticks.length === 0) return [];
  const big = Math.max(...ticks.map(Math.abs));
  if (big >= 1e6 || (big > 0 && big < 1e-3)) return ticks.map((t) => t.toExponential(1));
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(ticks[0]) || 1;
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return ticks.map((t) => (Math.abs(t) < step * 1e-9 ? 0 : t).toFixed(decimals));
}

export interface LineChartOptions {
  /** Fixed y range; default: the data's range widened to nice ticks. */
  yRange?: [number, number];
  xLabel?: string;
  /** A label for every x position (default: 1-based numbers at nice steps). */
  xTickLabels?: readonly string[];
}

/** One chart panel at (x, y) of size w x h: axes, nice y ticks, 1-based x ticks, a polyline per series and a legend. */
export function lineChart(
  cv: Canvas,
  x: number,
  y: number,
  w: number,
  h: number,
  title: string,
  series: readonly Series[],
  yRangeOrOpts?: [number, number] | LineChartOptions,
): void {
  const opts: LineChartOptions = Array.isArray(yRangeOrOpts) ? { yRange: yRangeOrOpts } : (yRangeOrOpts ?? {});
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  let lo = opts.yRange?.[0] ?? (all.length ? Math.min(...all) : 0);
  let hi = opts.yRange?.[1] ?? (all.length ? Math.max(...all) : 1);
  if (!(hi > lo)) hi = lo + 1;
  let ticks = niceTicks(lo, hi, 5);
  if (!opts.yRange) {
    // widen to the enclosing nice ticks so the data never touches a frame without a label
    const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
    if (ticks[0] > lo + step * 1e-9) ticks.unshift(ticks[0] - step);
    if (ticks[ticks.length - 1] < hi - step * 1e-9) ticks.push(ticks[ticks.length - 1] + step);
    lo = ticks[0];
    hi = ticks[ticks.length - 1];
  } else ticks = ticks.filter((t) => t >= lo - 1e-12 && t <= hi + 1e-12);
  const labels = formatTicks(ticks);
  const left = x + Math.max(...labels.map((l) => textWidth(l))) + 10,
    top = y + 24,
    right = x + w - 10,
    bottom = y + h - 30;
  cv.text(title, left, y + 6, COLORS.black, 2);
  const py = (v: number) => bottom - ((bottom - top) * (Math.min(Math.max(v, lo), hi) - lo)) / (hi - lo);
  ticks.forEach((t, k) => {
    const gy = py(t);
    cv.line(left, gy, right, gy, COLORS.grey);
    cv.text(labels[k], left - 6 - textWidth(labels[k]), gy - 5, COLORS.darkGrey, 2);
  });
  cv.line(left, top, left, bottom, COLORS.black);
  cv.line(left, bottom, right, bottom, COLORS.black);
  const n = Math.max(0, ...series.map((s) => s.values.length));
  const px = (i: number) => left + (n <= 1 ? 0 : ((right - left) * i) / (n - 1));
  // x ticks at nice 1-based epochs, or at every position with its label
  const xt = opts.xTickLabels ? opts.xTickLabels.map((_, i) => i + 1) : n > 0 ? niceTicks(1, Math.max(1, n), 8) : [];
  for (const t of xt) {
    if (!Number.isInteger(t) || t < 1 || t > n) continue;
    cv.line(px(t - 1), bottom, px(t - 1), bottom + 4, COLORS.black);
    const s = opts.xTickLabels?.[t - 1] ?? String(t);
    cv.text(s, px(t - 1) - textWidth(s) / 2, bottom + 8, COLORS.darkGrey, 2);
  }
  const xl = opts.xLabel ?? 'EPOCH';
  cv.text(xl, (left + right) / 2 - textWidth(xl) / 2, bottom + 19, COLORS.darkGrey, 2);
  series.forEach((s, k) => {
    const c = s.color ?? PALETTE[k % PALETTE.length];
    for (let i = 1; i < s.values.length; i++) {
      if (Number.isFinite(s.values[i - 1]) && Number.isFinite(s.values[i]))
        cv.line(px(i - 1), py(s.values[i - 1]), px(i), py(s.values[i]), c, 2);
    }
    for (let i = 0; i < s.values.length; i++)
      if (Number.isFinite(s.values[i])) cv.fillRect(px(i) - 2, py(s.values[i]) - 2, 5, 5, c);
  });
  let lx = right - 8;
  [...series].reverse().forEach((s, rk) => {
    const c = s.color ?? PALETTE[(series.length - 1 - rk) % PALETTE.length];
    lx -= textWidth(s.name) + 16;
    cv.fillRect(lx, y + 8, 8, 8, c);
    cv.text(s.name, lx + 12, y + 7, c, 2);
  });
}

/**
 * Learning curves from a Keras History dict ({loss: [...], val_loss: [...], accuracy: [...]}): one panel per
 * metric, train and validation together.
 */
export function learningCurves(
  history: Readonly<Record<string, readonly number[]>>,
  opts: { panelWidth?: number; height?: number } = {},
): Canvas {
  const metrics = Object.keys(history).filter((k) => !k.startsWith('val_'));
  if (metrics.length === 0) {
    throw new Error(`plot.learningCurves: the history has no metric (keys: [${Object.keys(history).join(', ')}])`);
  }
  const pw = opts.panelWidth ?? 480,
    ph = opts.height ?? 360;
  const cv = new Canvas(pw * metrics.length, ph);
  metrics.forEach((m, k) => {
    const series: Series[] = [{ name: 'TRAIN', values: history[m], color: COLORS.blue }];
    if (history[`val_${m}`]) series.push({ name: 'VAL', values: history[`val_${m}`], color: COLORS.orange });
    lineChart(cv, k * pw, 0, pw, ph, m.replace(/_/g, ' '), series);
  });
  return cv;
}

export interface GridImage {
  /** h*w grey values in [0, 1], or h*w*3 RGB values in [0, 1] (channels last). */
  pixels: ArrayLike<number>;
  caption?: string;
  captionColor?: RGB;
}

/** Images (h x w each, grey or RGB in [0, 1]) in a grid with a caption under each. */
export function imageGrid(
  images: readonly GridImage[],
  h: number,
  w: number,
  opts: { cols?: number; scale?: number; title?: string; invert?: boolean } = {},
): Canvas {
  const cols = Math.max(1, Math.min(opts.cols ?? 10, images.length || 1));
  const scale = opts.scale ?? 6;
  // NOTE: grey digits draw dark on white by default (invert), as the examples always showed them
  const invert = opts.invert ?? true;
  const cellW = w * scale + 12,
    cellH = h * scale + 24;
  const rows = Math.max(1, Math.ceil(images.length / cols));
  const head = opts.title ? 24 : 4;
  const cv = new Canvas(cols * cellW + 8, rows * cellH + head + 4);
  if (opts.title) cv.text(opts.title, 6, 6, COLORS.black, 2);
  images.forEach((im, k) => {
    const rgb = im.pixels.length === h * w * 3;
    if (!rgb && im.pixels.length !== h * w) {
      throw new Error(`plot.imageGrid: image ${k} has ${im.pixels.length} values; expected ${h}x${w} or ${h}x${w}x3`);
    }
    const ox = 6 + (k % cols) * cellW,
      oy = head + Math.floor(k / cols) * cellH;
    const q = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let c: RGB;
        if (rgb) {
          const o = (i * w + j) * 3;
          c = [q(im.pixels[o]), q(im.pixels[o + 1]), q(im.pixels[o + 2])];
        } else {
          const v = q(invert ? 1 - im.pixels[i * w + j] : im.pixels[i * w + j]);
          c = [v, v, v];
        }
        cv.fillRect(ox + j * scale, oy + i * scale, scale, scale, c);
      }
    }
    if (im.caption) cv.text(im.caption, ox, oy + h * scale + 6, im.captionColor ?? COLORS.black, 2);
  });
  if (images.length === 0) cv.text('NONE', 6, head + 4, COLORS.darkGrey, 2);
  return cv;
}

export interface HeatmapOptions {
  title?: string;
  cmap?: ColormapName;
  /** Labels of the columns (x) and rows (y); default 0, 1, 2... */
  xLabels?: readonly string[];
  yLabels?: readonly string[];
  /** Pixels per cell (default: 24, at least the widest value label). */
  cell?: number;
  /** Writes each cell's value in it. */
  annotate?: boolean;
  /** Colour range; default the data's min and max. */
  vmin?: number;
  vmax?: number;
  xTitle?: string;
  yTitle?: string;
}

function rows2d(name: string, values: readonly (readonly number[])[]): [number, number] {
  const r = values.length,
    c = r ? values[0].length : 0;
  if (r === 0 || c === 0 || values.some((row) => row.length !== c)) {
    throw new Error(
      `plot.${name}: expected a non-empty rectangular 2-D array, got row lengths [${values.map((v) => v.length)}]`,
    );
  }
  return [r, c];
}

/** A matrix drawn as coloured cells with a colour bar, labelled rows and columns. */
export function heatmap(values: readonly (readonly number[])[], opts: HeatmapOptions = {}): Canvas {
  const [R, C] = rows2d('heatmap', values);
  const flat = values.flat().filter(Number.isFinite);
  const vmin = opts.vmin ?? (flat.length ? Math.min(...flat) : 0);
  const vmax = opts.vmax ?? (flat.length ? Math.max(...flat) : 1);
  const span = vmax > vmin ? vmax - vmin : 1;
  const xl = opts.xLabels ?? Array.from({ length: C }, (_, i) => String(i));
  const yl = opts.yLabels ?? Array.from({ length: R }, (_, i) => String(i));
  if (xl.length !== C || yl.length !== R) {
    throw new Error(`plot.heatmap: ${xl.length} x labels and ${yl.length} y labels for a ${R}x${C} matrix`);
  }
  const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
  const valueW = opts.annotate ? Math.max(...values.flat().map((v) => textWidth(fmt(v)))) + 6 : 0;
  const cell = opts.cell ?? Math.max(24, valueW, ...xl.map((s) => textWidth(s) + 4));
  const left = Math.max(...yl.map((s) => textWidth(s))) + 12 + (opts.yTitle ? 16 : 0);
  const top = (opts.title ? 26 : 6) + 16;
  const barX = left + C * cell + 16;
  const ticks = niceTicks(vmin, vmax, 5).filter((t) => t >= vmin - 1e-12 && t <= vmax + 1e-12);
  const tl = formatTicks(ticks);
  const cv = new Canvas(barX + 20 + Math.max(0, ...tl.map((s) => textWidth(s))) + 10, top + R * cell + 30);
  const cmap = opts.cmap ?? 'viridis';
  if (opts.title) cv.text(opts.title, left, 6, COLORS.black, 2);
  for (let i = 0; i < R; i++)
    for (let j = 0; j < C; j++) {
      const v = values[i][j];
      const t = (v - vmin) / span;
      const c = Number.isFinite(v) ? colormap(cmap, t) : COLORS.grey;
      cv.fillRect(left + j * cell, top + i * cell, cell, cell, c);
      if (opts.annotate) {
        const s = fmt(v);
        const lum = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
        cv.text(
          s,
          left + j * cell + (cell - textWidth(s)) / 2,
          top + i * cell + cell / 2 - 5,
          lum > 128 ? COLORS.black : COLORS.white,
        );
      }
    }
  xl.forEach((s, j) => {
    cv.text(s, left + j * cell + (cell - textWidth(s)) / 2, top - 14, COLORS.darkGrey);
  });
  yl.forEach((s, i) => {
    cv.text(s, left - 6 - textWidth(s), top + i * cell + cell / 2 - 5, COLORS.darkGrey);
  });
  if (opts.xTitle)
    cv.text(opts.xTitle, left + (C * cell - textWidth(opts.xTitle)) / 2, top + R * cell + 10, COLORS.black);
  if (opts.yTitle) {
    // NOTE: no rotated text in a 3x5 font: the y title is stacked one letter per line
    [...opts.yTitle].forEach((ch, k) => {
      cv.text(ch, 2, top + k * 12, COLORS.black);
    });
  }
  // colour bar
  const barH = R * cell;
  for (let k = 0; k < barH; k++)
    cv.fillRect(barX, top + barH - 1 - k, 14, 1, colormap(cmap, k / Math.max(1, barH - 1)));
  ticks.forEach((t, k) => {
    const ty = top + barH - 1 - ((t - vmin) / span) * (barH - 1);
    cv.line(barX + 14, ty, barX + 17, ty, COLORS.black);
    cv.text(tl[k], barX + 20, ty - 5, COLORS.darkGrey);
  });
  return cv;
}

/**
 * A confusion matrix (rows = true class, columns = predicted, as sklearn) with counts in the cells.
 * Takes the matrix, or `{yTrue, yPred, numClasses}` to count it.
 */
export function confusionMatrix(
  m: readonly (readonly number[])[] | { yTrue: ArrayLike<number>; yPred: ArrayLike<number>; numClasses?: number },
  opts: { labels?: readonly string[]; title?: string; normalize?: boolean; cmap?: ColormapName } = {},
): Canvas {
  let mat: number[][];
  if (Array.isArray(m)) mat = (m as number[][]).map((r) => [...r]);
  else {
    const { yTrue, yPred } = m as { yTrue: ArrayLike<number>; yPred: ArrayLike<number>; numClasses?: number };
    if (yTrue.length !== yPred.length) {
      throw new Error(`plot.confusionMatrix: yTrue has ${yTrue.length} labels but yPred has ${yPred.length}`);
    }
    let n = (m as { numClasses?: number }).numClasses ?? 0;
    for (let i = 0; i < yTrue.length; i++) n = Math.max(n, yTrue[i] + 1, yPred[i] + 1);
    mat = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let i = 0; i < yTrue.length; i++) {
      const t = yTrue[i],
        p = yPred[i];
      if (!(Number.isInteger(t) && Number.isInteger(p) && t >= 0 && p >= 0 && t < n && p < n)) {
        throw new Error(`plot.confusionMatrix: label pair ${i} (${t}, ${p}) is not an integer class in [0, ${n})`);
      }
      mat[t][p]++;
    }
  }
  const [R, C] = rows2d('confusionMatrix', mat);
  if (R !== C) throw new Error(`plot.confusionMatrix: the matrix must be square, got ${R}x${C}`);
  if (opts.normalize)
    mat = mat.map((r) => {
      const s = r.reduce((a, b) => a + b, 0);
      return r.map((v) => (s ? Math.round((v / s) * 100) / 100 : 0));
    });
  return heatmap(mat, {
    title: opts.title ?? 'CONFUSION MATRIX',
    cmap: opts.cmap ?? 'viridis',
    xLabels: opts.labels,
    yLabels: opts.labels,
    annotate: true,
    xTitle: 'PREDICTED',
    yTitle: 'TRUE',
  });
}
