// nn.utils.fuse on GPT-2: c_fc + activation become one LinearAct (the matmul applies the activation as
// it stores); logits and greedy tokens stay PyTorch's (tools/golden/gpt2_tiny.py), state_dict keys
// stay Hugging Face's, and with gradients the fused MLP is exactly the modules' composition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { golden } from '../helpers/data.js';
import { assertClose } from '../helpers/assert.js';
import { readSafetensors } from '../helpers/golden.js';
import { noGrad } from '../../src/autograd/grad_mode.js';
import '../../src/models/index.js'; // registers the language models' entries in the fuse pass
import { GPT2LMHeadModel, type GPT2MLP } from '../../src/models/gpt2.js';
import { LinearAct } from '../../src/nn/fusion.js';
import { fuse } from '../../src/nn/utils/fuse.js';
import { Identity } from '../../src/nn/linear.js';
import { LlamaConfig, LlamaForCausalLM } from '../../src/models/llama.js';
import { manualSeed } from '../../src/tensor/random.js';
import { tensor } from '../../src/tensor/creation.js';

const ref = () => readSafetensors(golden('gpt2-tiny-ref/reference.safetensors'));

test('fused GPT-2: same state_dict keys, logits within 1e-4 of PyTorch, greedy tokens equal', async () => {
  const r = ref();
  const model = await GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny'));
  const keys = Object.keys(model.stateDict());
  fuse(model);
  assert.deepEqual(Object.keys(model.stateDict()), keys);
  const mlp = model.transformer.h.at(0) as unknown as { mlp: GPT2MLP };
  assert.ok(mlp.mlp.c_fc instanceof LinearAct && mlp.mlp.act instanceof Identity, String(mlp.mlp));
  const prompt = Array.from(r.prompt.toTypedArray());
  assertClose(
    noGrad(() => model.forward([prompt])),
    r.logits,
    { atol: 1e-4, rtol: 0 },
  );
  assertClose(model.forward([prompt]).detach(), r.logits, { atol: 1e-4, rtol: 0 });
  assert.deepEqual(model.generate(prompt, { maxNewTokens: 20 })[0], Array.from(r.greedy.toTypedArray()));
});

test('fused GPT-2 in training: the same loss and gradients as the unfused model', async () => {
  const a = await GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny'));
  const b = await GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny'));
  fuse(a);
  a.eval();
  b.eval(); // no dropout: deterministic
  const ids = [[1, 5, 9, 2, 7, 3]];
  const la = a.forward(ids).square().mean(),
    lb = b.forward(ids).square().mean();
  assertClose(la, lb, { rtol: 1e-6, atol: 1e-7 });
  la.backward();
  lb.backward();
  const pa = Object.fromEntries(a.namedParameters()),
    pb = Object.fromEntries(b.namedParameters());
  for (const n of ['transformer.h.0.mlp.c_fc.weight', 'transformer.h.1.mlp.c_fc.bias', 'transformer.wte.weight']) {
    assertClose(pa[n].grad!, pb[n].grad!, { rtol: 1e-5, atol: 1e-7 }, n);
  }
});

test('fused Llama (gate_proj + SiLU as one matmul): same keys, logits and greedy tokens as the unfused model', () => {
  const config = new LlamaConfig({
    vocabSize: 64,
    hiddenSize: 32,
    intermediateSize: 48,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    maxPositionEmbeddings: 64,
  });
  manualSeed(9);
  const a = new LlamaForCausalLM(config).eval(),
    b = new LlamaForCausalLM(config).eval();
  b.loadStateDict(a.stateDict());
  const keys = Object.keys(a.stateDict());
  fuse(a);
  assert.deepEqual(Object.keys(a.stateDict()), keys);
  assert.ok(String(a).includes('LinearAct(in_features=32, out_features=48, bias=False, activation=SiLU)'), String(a));
  const ids = tensor([[1, 7, 3, 9, 12]], { dtype: 'int32' });
  assertClose(
    noGrad(() => a.forward(ids)),
    noGrad(() => b.forward(ids)),
    { rtol: 1e-5, atol: 1e-5 },
  );
  assert.deepEqual(a.generate([1, 7, 3], { maxNewTokens: 12 }), b.generate([1, 7, 3], { maxNewTokens: 12 }));
});
