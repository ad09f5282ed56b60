// Attention maps (issue 21): MultiheadAttention's per-head weights and captureAttentions on an
// nn.TransformerEncoder against softmax(q k^T / sqrt(d) + mask) written out from the modules' own weights;
// the fast path (needWeights false) agrees; attentionMap / attentionHeatmap on the tiny GPT-2 write a PNG.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as nb from 'nabla';
import { golden } from '../helpers/data.js';
import { assertClose } from '../helpers/assert.js';
import { readSafetensors } from '../helpers/golden.js';

const E = nb.explain;
type T = nb.Tensor;

/** softmax(q k^T / sqrt(HD) + mask) per head from MHA's in_proj: x (N, L, E) batch-first -> (N, NH, L, L). */
function explicitAttention(m: nb.nn.MultiheadAttention, x: T, padding: T | null): T {
  const [N, L, Em] = x.shape;
  const NH = m.numHeads,
    HD = Em / NH;
  const [wq, wk] = m.in_proj_weight!.chunk(3, 0);
  const [bq, bk] = m.in_proj_bias!.chunk(3, 0);
  const heads = (t: T) => t.reshape([N, L, NH, HD]).permute(0, 2, 1, 3);
  const q = heads(x.matmul(wq.T).add(bq)),
    k = heads(x.matmul(wk.T).add(bk));
  let s = q.matmul(k.transpose(2, 3)).div(Math.sqrt(HD));
  if (padding) s = s.maskedFill(padding.reshape([N, 1, 1, L]), -Infinity);
  return s.softmax(-1);
}

test('MultiheadAttention: per-head weights are the explicit softmax; needWeights false agrees', () => {
  nb.manualSeed(0);
  const m = new nb.nn.MultiheadAttention(8, 2, { batchFirst: true, dtype: 'float64' });
  const x = nb.randn([3, 5, 8], { dtype: 'float64' });
  const pad = nb.tensor(
    [
      [0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0],
      [0, 0, 1, 1, 1],
    ],
    { dtype: 'bool' },
  );
  const [y, w] = m.call(x, x, x, { keyPaddingMask: pad, averageAttnWeights: false });
  assert.deepEqual([...w!.shape], [3, 2, 5, 5]);
  assertClose(w!, explicitAttention(m, x, pad), { atol: 1e-12 });
  const [y2, none] = m.call(x, x, x, { keyPaddingMask: pad, needWeights: false });
  assert.equal(none, null);
  assertClose(y2, y, { atol: 1e-12 });
  // float32 without masks: the fused kernel (needWeights false) against the explicit path
  const m32 = new nb.nn.MultiheadAttention(8, 2);
  const x32 = nb.randn([5, 2, 8]);
  assertClose(m32.call(x32, x32, x32, { needWeights: false })[0], m32.call(x32, x32, x32)[0], { atol: 1e-5 });
  const causal = m32.call(x32, x32, x32, { isCausal: true, needWeights: false })[0];
  assertClose(causal, m32.call(x32, x32, x32, { isCausal: true })[0], { atol: 1e-5 });
});

test('captureAttentions: every TransformerEncoder layer, per head, as the explicit softmax of its input', () => {
  nb.manualSeed(1);
  const layer = new nb.nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, batchFirst: true, dtype: 'float64' });
  const enc = new nb.nn.TransformerEncoder(layer, 2).eval();
  const src = nb.randn([2, 4, 8], { dtype: 'float64' });
  const pad = nb.tensor(
    [
      [0, 0, 0, 1],
      [0, 0, 0, 0],
    ],
    { dtype: 'bool' },
  );
  const plain = enc.call(src, { srcKeyPaddingMask: pad });
  const { output, attentions } = E.captureAttentions(enc, () => enc.call(src, { srcKeyPaddingMask: pad }));
  assertClose(output, plain, { atol: 1e-12 });
  assert.equal(attentions.length, 2);
  const [l0, l1] = [...enc.layers] as nb.nn.TransformerEncoderLayer[];
  const h1 = l0.call(src, { srcKeyPaddingMask: pad });
  assertClose(attentions[0], explicitAttention(l0.self_attn, src, pad), { atol: 1e-12 });
  assertClose(attentions[1], explicitAttention(l1.self_attn, h1, pad), { atol: 1e-12 });
  assert.equal(l0.self_attn.hasForwardHooks(), false, 'the hooks are removed afterwards');
  // a caller that asked for averaged weights still gets them
  const mha = l0.self_attn;
  const got = E.captureAttentions(mha, () => mha.call(src, src, src));
  assertClose(got.output[1]!, got.attentions[0].mean(1), { atol: 1e-12 });
  assert.throws(() => E.captureAttentions(new nb.nn.Linear(2, 2), () => 0), /has no nn.MultiheadAttention/);
});

test('attentionMap and attentionHeatmap: a GPT-2-tiny prompt to a PNG; layers, heads, rollout', async () => {
  const r = readSafetensors(golden('gpt2-tiny-ref/attentions.safetensors'));
  const model = await nb.models.GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny'));
  const ids = r.ids.narrow(0, 0, 1);
  const { attentions } = model.forward(ids, { outputAttentions: true });
  assertClose(E.attentionMap(attentions), attentions[1].select(0, 0).mean(0), { atol: 0 });
  assertClose(E.attentionMap(attentions, { layer: 0, head: 3 }), attentions[0].select(0, 0).select(0, 3), { atol: 0 });
  assertClose(E.attentionMap(attentions, { layer: 'rollout' }), E.attentionRollout(attentions).select(0, 0), {
    atol: 0,
  });
  const tokens = Array.from(ids.toTypedArray(), (i) => `t${i}`);
  const png = E.attentionHeatmap(attentions, tokens, { head: 1 }).toPng();
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
  const img = nb.vision.decodeImage(png);
  assert.ok(img.width > 8 * 24 && img.height > 8 * 24, `${img.width}x${img.height} holds 8x8 cells of 24 px`);
  assert.throws(() => E.attentionHeatmap(attentions, tokens.slice(1)), /8 queries x 8 keys but got 7 tokens/);
  assert.throws(() => E.attentionMap(attentions, { layer: 2 }), /layer 2 is not in \[-2, 2\) for 2 layers/);
  assert.throws(() => E.attentionMap(attentions, { head: 4 }), /head 4 is not in \[0, 4\)/);
});
