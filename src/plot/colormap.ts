// Colormaps as 256-entry RGB tables (matplotlib's names), for heatmaps and attribution overlays.
// jet is matplotlib's exact piecewise-linear definition (_jet_data). viridis is the degree-6
// polynomial fit of matplotlib's table by Matt Zucker (CC0, shadertoy WlfXRN), within 4/255 per
// channel of the published table: viridis is perceptually uniform and readable in grey, so it is the default.
import type { RGB } from './canvas.js';

export type ColormapName = 'viridis' | 'jet' | 'gray' | 'coolwarm';

// [x, value] knots per channel, from matplotlib/_cm.py.
const JET: readonly (readonly [number, number])[][] = [
  [
    [0, 0],
    [0.35, 0],
    [0.66, 1],
    [0.89, 1],
    [1, 0.5],
  ],
  [
    [0, 0],
    [0.125, 0],
    [0.375, 1],
    [0.64, 1],
    [0.91, 0],
    [1, 0],
  ],
  [
    [0, 0.5],
    [0.11, 1],
    [0.34, 1],
    [0.65, 0],
    [1, 0],
  ],
];

function piecewise(knots: readonly (readonly [number, number])[], t: number): number {
  for (let k = 1; k < knots.length; k++) {
    const [x0, y0] = knots[k - 1],
      [x1, y1] = knots[k];
    if (t <= x1) return y0 + ((y1 - y0) * (t - x0)) / (x1 - x0);
  }
  return knots[knots.length - 1][1];
}

const VIRIDIS_C = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];

function channel(name: ColormapName, c: number, t: number): number {
  switch (name) {
    case 'jet':
      return piecewise(JET[c], t);
    case 'gray':
      return t;
    case 'coolwarm': {
      // NOTE: a linear blue-white-red diverging map (for signed attributions), not matplotlib's exact
      // Moreland table: the endpoints and the white middle are what the eye reads.
      const lo = [0.23, 0.299, 0.754],
        hi = [0.706, 0.016, 0.15];
      return t < 0.5 ? lo[c] + (1 - lo[c]) * (t / 0.5) : 1 + (hi[c] - 1) * ((t - 0.5) / 0.5);
    }
    default: {
      let v = 0;
      for (let k = 6; k >= 0; k--) v = v * t + VIRIDIS_C[k][c];
      return v;
    }
  }
}

const TABLES = new Map<ColormapName, Uint8Array>();

/** The 256x3 uint8 table of a colormap. */
export function colormapTable(name: ColormapName = 'viridis'): Uint8Array {
  if (!['viridis', 'jet', 'gray', 'coolwarm'].includes(name)) {
    throw new Error(`plot.colormap: unknown colormap '${name}'; expected viridis, jet, gray or coolwarm`);
  }
  let t = TABLES.get(name);
  if (!t) {
    t = new Uint8Array(256 * 3);
    for (let i = 0; i < 256; i++)
      for (let c = 0; c < 3; c++) {
        t[i * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, channel(name, c, i / 255))));
      }
    TABLES.set(name, t);
  }
  return t;
}

/** The colour of `t` in [0, 1] (clamped; NaN maps to 0). */
export function colormap(name: ColormapName, t: number): RGB {
  const tab = colormapTable(name);
  const i = Number.isNaN(t) ? 0 : Math.round(255 * Math.min(1, Math.max(0, t)));
  return [tab[i * 3], tab[i * 3 + 1], tab[i * 3 + 2]];
}
