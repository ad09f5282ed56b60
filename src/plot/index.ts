// nb.plot: figures as PNG with no browser: learning curves, image grids, confusion matrices, heatmaps,
// and the colormaps (viridis, jet) that nb.explain's overlays use.
//   nb.plot.learningCurves(history.history).savePng('curves.png')
export { Canvas, COLORS, PALETTE, textWidth, type RGB } from './canvas.js';
export { colormap, colormapTable, type ColormapName } from './colormap.js';
export {
  lineChart,
  learningCurves,
  imageGrid,
  heatmap,
  confusionMatrix,
  niceTicks,
  formatTicks,
  type Series,
  type LineChartOptions,
  type GridImage,
  type HeatmapOptions,
} from './charts.js';
