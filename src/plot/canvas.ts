// A tiny raster canvas: RGBA pixels, lines, rectangles and a 3x5 pixel font, written as PNG through
// nb.vision.encodePng. Coordinates are pixels, origin top-left. The drawing is ours so that plots need
// no browser, no native library and no font file.
import { writeAtomic } from '../io/atomic.js';
import { Image, encodePng } from '../vision/image.js';

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
  purple: [148, 103, 189] as RGB,
  brown: [140, 86, 75] as RGB,
};

/** matplotlib's tab10 order, for series without an explicit colour. */
export const PALETTE: readonly RGB[] = [
  COLORS.blue,
  COLORS.orange,
  COLORS.green,
  COLORS.red,
  COLORS.purple,
  COLORS.brown,
];

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
  ',': '000000000010100',
  '-': '000000111000000',
  '+': '000010111010000',
  _: '000000000000111',
  '=': '000111000111000',
  ':': '000010000010000',
  '%': '101001010100101',
  '/': '001001010100100',
  '(': '010100100100010',
  ')': '010001001001010',
  '[': '110100100100110',
  ']': '011001001001011',
  ' ': '000000000000000',
  '>': '100010001010100',
  '<': '001010100010001',
};

/** Width in pixels of `s` drawn at `scale` (4 font pixels per character: 3 wide plus a gap). */
export function textWidth(s: string, scale = 2): number {
  return s.length * 4 * scale;
}

export class Canvas {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    bg: RGB = COLORS.white,
  ) {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
      throw new Error(`plot.Canvas: width and height must be positive integers, got ${width}x${height}`);
    }
    if (width * height > 1 << 26) {
      throw new Error(`plot.Canvas: ${width}x${height} is over 2^26 pixels; draw a smaller figure`);
    }
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

  /** Text in the 3x5 font, `scale` pixels per font pixel; unknown characters draw as a gap. Returns the width. */
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

  /** The canvas as an RGBA nb.vision.Image. */
  toImage(): Image {
    return new Image(this.width, this.height, 'RGBA', this.data);
  }

  /** PNG bytes. */
  toPng(): Uint8Array {
    return encodePng(this.toImage());
  }

  /** Writes the canvas as a PNG atomically (temporary file, then rename), so no partial file is left. */
  savePng(path: string): void {
    writeAtomic(path, [this.toPng()]);
  }
}
