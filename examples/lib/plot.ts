// Tiny raster plotting for the examples: an RGBA canvas with lines, rectangles and a 3x5 pixel font,
// line charts of per-epoch curves, and image grids, written as PNG with pngjs (encoding only; the
// drawing is ours). Coordinates are pixels, origin top-left.
import { renameSync, writeFileSync, unlinkSync } from 'node:fs';
import { PNG } from 'pngjs';

export type RGB = readonly [number, number, number];

export const COLORS = {
  white: [255, 255, 255] as RGB,
  black: [0, 0, 0] as RGB,
  grey: [200, 200, 200] as RGB,
  darkGrey: [90, 90, 90] as RGB,
  blue: [31, 119, 180] as RGB,
  orange: [255, 127, 14] as RGB,
  green: [44, 160, 44] as RGB,
  red: [214, 39, 40] as RGB,
};

// 3x5 glyphs, one string of 15 bits per character (rows top to bottom).
const FONT: Record<string, string> = {
  '0': '111101101101111',
  '1': '010110010010111',
  '2': '111001111100111',
  '3': '111001111001111',
  '4': '101101111001001',
  '5': '111100111001111',
  '6': '111100111101111',
  '7': '111001010010010',
  '8': '111101111101111',
  '9': '111101111001111',
  A: '010101111101101',
  B: '110101110101110',
  C: '011100100100011',
  D: '110101101101110',
  E: '111100110100111',
  F: '111100110100100',
  G: '011100101101011',
  H: '101101111101101',
  I: '111010010010111',
  J: '001001001101010',
  K: '101101110101101',
  L: '100100100100111',
  M: '101111111101101',
  N: '110101101101101',
  O: '010101101101010',
  P: '110101110100100',
  Q: '010101101110011',
  R: '110101110101101',
  S: '011100010001110',
  T: '111010010010010',
  U: '101101101101111',
  V: '101101101101010',
  W: '101101111111101',
  X: '101101010101101',
  Y: '101101010010010',
  Z: '111001010100111',
  '.': '000000000000010',
  '-': '000000111000000',
  ':': '000010000010000',
  '%': '101001010100101',
  '/': '001001010100100',
  '(': '010100100100010',
  ')': '010001001001010',
  ' ': '000000000000000',
  '>': '100010001010100',
};

export class Canvas {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    bg: RGB = COLORS.white,
  ) {
    this.data = new Uint8Array(width * height * 4);
    this.fillRect(0, 0, width, height, bg);
  }

  setPixel(x: number, y: number, c: RGB): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    this.data[i] = c[0];
    this.data[i + 1] = c[1];
    this.data[i + 2] = c[2];
    this.data[i + 3] = 255;
  }

  fillRect(x: number, y: number, w: number, h: number, c: RGB): void {
    for (let j = Math.max(0, Math.floor(y)); j < Math.min(this.height, Math.floor(y + h)); j++) {
      for (let i = Math.max(0, Math.floor(x)); i < Math.min(this.width, Math.floor(x + w)); i++) this.setPixel(i, j, c);
    }
  }

  /** A line of the given thickness (a square brush stepped along the segment). */
  line(x0: number, y0: number, x1: number, y1: number, c: RGB, thickness = 1): void {
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    const r = (thickness - 1) / 2;
    for (let k = 0; k <= n; k++) {
      const x = x0 + ((x1 - x0) * k) / n,
        y = y0 + ((y1 - y0) * k) / n;
      this.fillRect(x - r, y - r, thickness, thickness, c);
    }
  }

  /** Text in the 3x5 font, `scale` pixels per font pixel; unknown characters are skipped. Returns the width. */
  text(s: string, x: number, y: number, c: RGB, scale = 2): number {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const g = FONT[ch];
      if (g)
        for (let k = 0; k < 15; k++)
          if (g[k] === '1') this.fillRect(cx + (k % 3) * scale, y + Math.floor(k / 3) * scale, scale, scale, c);
      cx += 4 * scale;
    }
    return cx - x;
  }

  /** Writes the canvas as a PNG: to a temporary file, then renamed, so no partial file is left. */
  savePng(path: string): void {
    const png = new PNG({ width: this.width, height: this.height });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, PNG.sync.write(png));
      renameSync(tmp, path);
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        /* not created */
      }
      throw e;
    }
  }
}

export interface Series {
  name: string;
  values: number[];
  color: RGB;
}

function niceNumber(v: number): string {
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** One chart panel: axes, min/max labels, epoch ticks, a polyline per series and a legend. */
export function lineChart(
  cv: Canvas,
  x: number,
  y: number,
  w: number,
  h: number,
  title: string,
  series: Series[],
  yRange?: [number, number],
): void {
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  let lo = yRange?.[0] ?? Math.min(...all),
    hi = yRange?.[1] ?? Math.max(...all);
  if (!(hi > lo)) {
    hi = lo + 1;
  }
  const left = x + 50,
    top = y + 24,
    right = x + w - 10,
    bottom = y + h - 30;
  cv.text(title, left, y + 6, COLORS.black, 2);
  // grid and axes
  for (let k = 0; k <= 4; k++) {
    const gy = bottom - ((bottom - top) * k) / 4;
    cv.line(left, gy, right, gy, COLORS.grey);
    cv.text(niceNumber(lo + ((hi - lo) * k) / 4), x + 2, gy - 5, COLORS.darkGrey, 2);
  }
  cv.line(left, top, left, bottom, COLORS.black);
  cv.line(left, bottom, right, bottom, COLORS.black);
  const n = Math.max(...series.map((s) => s.values.length));
  const px = (i: number) => left + (n <= 1 ? 0 : ((right - left) * i) / (n - 1));
  const py = (v: number) => bottom - ((bottom - top) * (Math.min(Math.max(v, lo), hi) - lo)) / (hi - lo);
  const step = Math.max(1, Math.ceil(n / 10));
  for (let i = 0; i < n; i += step) {
    cv.line(px(i), bottom, px(i), bottom + 4, COLORS.black);
    cv.text(String(i + 1), px(i) - 3, bottom + 8, COLORS.darkGrey, 2);
  }
  cv.text('EPOCH', (left + right) / 2 - 20, bottom + 19, COLORS.darkGrey, 2);
  for (const s of series) {
    for (let i = 1; i < s.values.length; i++)
      cv.line(px(i - 1), py(s.values[i - 1]), px(i), py(s.values[i]), s.color, 2);
    for (let i = 0; i < s.values.length; i++) cv.fillRect(px(i) - 2, py(s.values[i]) - 2, 5, 5, s.color);
  }
  let lx = right - 8;
  for (const s of [...series].reverse()) {
    lx -= s.name.length * 8 + 16;
    cv.fillRect(lx, y + 8, 8, 8, s.color);
    cv.text(s.name, lx + 12, y + 7, s.color, 2);
  }
}

/** Grey images (values in [0, 1], h x w each) in a grid with a caption under each. */
export function imageGrid(
  images: { pixels: ArrayLike<number>; caption: string; captionColor?: RGB }[],
  h: number,
  w: number,
  opts: { cols?: number; scale?: number; title?: string } = {},
): Canvas {
  const cols = Math.max(1, Math.min(opts.cols ?? 10, images.length || 1));
  const scale = opts.scale ?? 6;
  const cellW = w * scale + 12,
    cellH = h * scale + 24;
  const rows = Math.max(1, Math.ceil(images.length / cols));
  const head = opts.title ? 24 : 4;
  const cv = new Canvas(cols * cellW + 8, rows * cellH + head + 4);
  if (opts.title) cv.text(opts.title, 6, 6, COLORS.black, 2);
  images.forEach((im, k) => {
    const ox = 6 + (k % cols) * cellW,
      oy = head + Math.floor(k / cols) * cellH;
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const v = Math.round(255 * (1 - Math.min(1, Math.max(0, im.pixels[i * w + j]))));
        cv.fillRect(ox + j * scale, oy + i * scale, scale, scale, [v, v, v]);
      }
    }
    cv.text(im.caption, ox, oy + h * scale + 6, im.captionColor ?? COLORS.black, 2);
  });
  if (images.length === 0) cv.text('NONE', 6, head + 4, COLORS.darkGrey, 2);
  return cv;
}
