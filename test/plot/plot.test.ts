// nb.plot: tick choice, colormap tables, and figures checked by decoding their PNG pixels.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nb from 'nabla';

const P = nb.plot;

test('niceTicks picks 1-2-5 steps and formatTicks the fewest decimals', () => {
  assert.deepEqual(P.niceTicks(0, 10, 6), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(P.formatTicks(P.niceTicks(0.17, 0.69, 5)), ['0.2', '0.4', '0.6']);
  assert.deepEqual(P.formatTicks([0, 500, 1000]), ['0', '500', '1000']);
  assert.deepEqual(P.formatTicks([0, 2e-4, 4e-4]), ['0.0e+0', '2.0e-4', '4.0e-4']);
  assert.throws(() => P.niceTicks(0, Number.NaN), /plot\.niceTicks: range must be finite/);
});

test('colormaps: jet is matplotlib exact, viridis within 4/255 of the published table', () => {
  assert.deepEqual(P.colormap('jet', 0), [0, 0, 128]);
  assert.deepEqual(P.colormap('jet', 1), [128, 0, 0]);
  assert.deepEqual(P.colormap('jet', 0.5), [125, 255, 122]); // entry 128 of _jet_data's ramps, by hand
  // matplotlib's _viridis_data at 0, 128 and 255: #440154, #21918c, #fde725
  const ref: [number, [number, number, number]][] = [
    [0, [0x44, 0x01, 0x54]],
    [128 / 255, [0x21, 0x91, 0x8c]],
    [1, [0xfd, 0xe7, 0x25]],
  ];
  for (const [t, want] of ref) {
    const got = P.colormap('viridis', t);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(got[c] - want[c]) <= 4, `viridis(${t}) = ${got} vs ${want}`);
  }
  assert.throws(() => P.colormapTable('rainbow' as nb.plot.ColormapName), /unknown colormap 'rainbow'/);
});

test('confusionMatrix counts labels and colours the largest cell brightest', () => {
  const cv = P.confusionMatrix({ yTrue: [0, 0, 0, 1, 2, 2], yPred: [0, 0, 1, 1, 2, 0] }, { labels: ['A', 'B', 'C'] });
  const img = nb.vision.decodeImage(cv.toPng());
  assert.equal(img.width, cv.width);
  // the (0,0) cell holds 2 = the maximum -> viridis yellow; (0,2) holds 0 -> viridis purple
  const colours = new Set<string>();
  for (let i = 0; i < img.data.length; i += 4) colours.add(`${img.data[i]},${img.data[i + 1]},${img.data[i + 2]}`);
  assert.ok(colours.has(P.colormap('viridis', 1).join(',')));
  assert.ok(colours.has(P.colormap('viridis', 0).join(',')));
  assert.throws(() => P.confusionMatrix({ yTrue: [0, 1], yPred: [0] }), /yTrue has 2 labels but yPred has 1/);
  assert.throws(() => P.confusionMatrix([[1, 2]]), /must be square, got 1x2/);
});

test('learningCurves and imageGrid write decodable PNGs of the expected size', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nb-plot-'));
  const cv = P.learningCurves({ loss: [1, 0.5, 0.3], val_loss: [1.1, 0.7, 0.6], accuracy: [0.5, 0.8, 0.9] });
  assert.equal(cv.width, 960);
  cv.savePng(join(dir, 'c.png'));
  const img = nb.vision.decodeImage(readFileSync(join(dir, 'c.png')));
  assert.deepEqual(img.size, [960, 360]);
  const grid = P.imageGrid([{ pixels: new Float32Array(16).fill(1), caption: '7' }], 4, 4, { scale: 2 });
  assert.ok(grid.width > 8);
  assert.throws(() => P.imageGrid([{ pixels: [1, 2] }], 4, 4), /image 0 has 2 values; expected 4x4/);
  assert.throws(() => P.learningCurves({}), /history has no metric/);
  assert.throws(() => new P.Canvas(0, 5), /positive integers, got 0x5/);
});

test('heatmap rejects ragged input', () => {
  assert.throws(() => P.heatmap([[1, 2], [3]]), /plot\.heatmap: expected a non-empty rectangular/);
});
