// nb.explain's pictures: attention rollout on hand-made maps, heatmap overlays, the token HTML view.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as nb from 'nabla';

const E = nb.explain;

test('attentionRollout: identity attention rolls out to identity; one layer is 0.5 A + 0.5 I', () => {
  const I = nb.eye(3).reshape(1, 1, 3, 3);
  assert.deepEqual([...E.attentionRollout([I, I]).toTypedArray()], [...nb.eye(3).toTypedArray()]);
  // every token attends to token 0 in both heads
  const a = nb
    .tensor([
      [
        [1, 0, 0],
        [1, 0, 0],
        [1, 0, 0],
      ],
    ])
    .reshape(1, 1, 3, 3)
    .expand(1, 2, 3, 3);
  const r = E.attentionRollout([a]).toTypedArray();
  assert.deepEqual([...r], [1, 0, 0, 0.5, 0.5, 0, 0.5, 0, 0.5]);
  // two layers: rows of the product still sum to 1
  const r2 = E.attentionRollout([a, a]).sum(-1).toTypedArray();
  for (const v of r2) assert.ok(Math.abs(v - 1) < 1e-6);
  assert.throws(() => E.attentionRollout([a, nb.zeros([1, 2, 4, 4])]), /layer 1 attention has shape \[1,2,4,4\]/);
  assert.throws(() => E.attentionRollout([]), /no attention maps/);
});

test('overlayHeatmap blends a jet-coloured map over the image', () => {
  const img = new nb.vision.Image(4, 2, 'L', new Uint8Array(8).fill(0));
  const heat = nb.tensor([
    [0, 1],
    [0, 1],
  ]);
  const out = E.overlayHeatmap(img, heat, { alpha: 1, cmap: 'jet' });
  assert.equal(out.mode, 'RGB');
  assert.deepEqual([...out.data.subarray(0, 3)], [...nb.plot.colormap('jet', 0)]); // left edge: the map's minimum
  assert.deepEqual([...out.data.subarray(9, 12)], [...nb.plot.colormap('jet', 1)]); // right edge: its maximum
  assert.ok(nb.vision.encodePng(out).length > 0);
  assert.throws(() => E.overlayHeatmap(img, nb.zeros([2, 2, 2])), /expected an \(h, w\) map, got \[2,2,2\]/);
});

test('tokenAttributionsHtml escapes tokens and shades by sign', () => {
  const html = E.tokenAttributionsHtml(['<b>', 'good', 'bad'], [0, 1, -0.5]);
  assert.match(html, /&lt;b&gt;/);
  assert.match(html, /rgba\(44,160,44,1\.000\)[^>]*>good/);
  assert.match(html, /rgba\(214,39,40,0\.500\)[^>]*>bad/);
  assert.throws(() => E.tokenAttributionsHtml(['a'], [1, 2]), /1 tokens but 2 attribution values/);
});
