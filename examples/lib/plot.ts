// The examples draw through nb.plot (src/plot): this file keeps their imports short.
import * as nb from 'nabla';

export const { COLORS, Canvas, imageGrid, lineChart, learningCurves, confusionMatrix, heatmap } = nb.plot;
export type RGB = nb.plot.RGB;
export type Series = nb.plot.Series;
