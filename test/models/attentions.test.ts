// outputAttentions (issue 21): GPT-2 and Llama return Hugging Face's per-layer (B, H, T, S) softmax
// probabilities, checked against tools/golden/attentions_tiny.py (float64 PyTorch restating transformers'
// eager attention, with a padded row and grouped-query heads); the fused kernels still run when they are not
// asked for; a KV-cache step's attentions are the last row of the full ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { golden } from '../helpers/data.js';
import { assertClose } from '../helpers/assert.js';
import { readSafetensors } from '../helpers/golden.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { Node } from '../../src/autograd/node.js';
import { GPT2LMHeadModel } from '../../src/models/gpt2.js';
import { LlamaForCausalLM } from '../../src/models/llama.js';

/** The names of the graph nodes behind t. */
function nodeNames(t: Tensor): Set<string> {
  const names = new Set<string>(),
    seen = new Set<Node>();
  const stack = t.gradFn ? [t.gradFn] : [];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    names.add(n.name);
    for (const m of n.next) if (m) stack.push(m);
  }
  return names;
}

test('GPT-2: attentions (B, H, T, T) match transformers for a full and a right-padded row', async () => {
  const r = readSafetensors(golden('gpt2-tiny-ref/attentions.safetensors'));
  const model = await GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny'));
  const out = model.forward(r.ids, { outputAttentions: true, attentionMask: r.mask });
  assert.equal(out.attentions.length, 2);
  for (const [l, a] of out.attentions.entries()) {
    assert.deepEqual([...a.shape], [2, 4, 8, 8]);
    assertClose(a, r[`attentions.${l}`], { atol: 2e-6, rtol: 0 }, `layer ${l}`);
  }
  assertClose(out.logits, r.logits, { atol: 1e-4, rtol: 0 });
  // the padded keys of row 1 get exactly zero weight
  assert.equal(out.attentions[1].narrow(0, 1, 1).narrow(3, 5, 3).abs().max().item(), 0);
});

test('GPT-2: the fused kernel runs unless attentions are asked for, and both paths agree', async () => {
  const r = readSafetensors(golden('gpt2-tiny-ref/attentions.safetensors'));
  const model = await GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny'));
  const ids = r.ids.narrow(0, 0, 1);
  const fast = model.forward(ids);
  const slow = model.forward(ids, { outputAttentions: true });
  assertClose(fast, slow.logits, { atol: 1e-5, rtol: 0 });
  assert.ok(nodeNames(fast).has('NativeAttentionBackward'), 'plain forward takes the fused attention');
  assert.ok(!nodeNames(slow.logits).has('NativeAttentionBackward'), 'outputAttentions takes the explicit path');
  assert.ok(nodeNames(slow.attentions[0]).has('SoftmaxBackward'), 'the attentions are differentiable');
  // the base model answers with { lastHiddenState, attentions }
  const base = model.transformer.forward(ids, { outputAttentions: true });
  assert.deepEqual([...base.lastHiddenState.shape], [1, 8, 32]);
  assert.equal(base.attentions.length, 2);
});

test('GPT-2: a KV-cache step returns (B, H, 1, S), the last row of the full attentions', async () => {
  const r = readSafetensors(golden('gpt2-tiny-ref/attentions.safetensors'));
  const model = await GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny'));
  const ids = r.ids.narrow(0, 0, 1);
  const full = model.forward(ids, { outputAttentions: true });
  const cache = model.createCache(1, 8);
  model.forward(ids.narrow(1, 0, 7), { cache });
  const step = model.forward(ids.narrow(1, 7, 1), { cache, outputAttentions: true });
  for (const [l, a] of step.attentions.entries()) {
    assert.deepEqual([...a.shape], [1, 4, 1, 8]);
    assertClose(a, full.attentions[l].narrow(2, 7, 1), { atol: 1e-6, rtol: 0 });
  }
});

test('Llama: grouped-query attentions (B, H, T, T) per query head match transformers (repeat_kv)', async () => {
  const r = readSafetensors(golden('llama-tiny/reference.safetensors'));
  const model = await LlamaForCausalLM.fromPretrained(golden('llama-tiny'));
  assert.equal(model.config.numKeyValueHeads, 2);
  const out = model.forward(r.ids, { outputAttentions: true });
  assert.equal(out.attentions.length, 2);
  for (const [l, a] of out.attentions.entries()) {
    assert.deepEqual([...a.shape], [1, 4, 8, 8]);
    assertClose(a, r[`attentions.${l}`], { atol: 2e-6, rtol: 0 }, `layer ${l}`);
  }
  assertClose(out.logits, r.logits, { atol: 1e-4, rtol: 0 });
  assertClose(model.forward(r.ids), r.logits, { atol: 1e-4, rtol: 0 });
  const base = model.model.forward(r.ids, { outputAttentions: true });
  assertClose(base.attentions[1], out.attentions[1], { atol: 0, rtol: 0 });
});
