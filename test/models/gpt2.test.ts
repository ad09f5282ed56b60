// GPT-2 against the PyTorch reference of tools/golden/gpt2_tiny.py (logits, greedy tokens, loss
// and gradients), both checkpoint forms, from-scratch construction and the loader's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { golden } from '../helpers/data.js';
import { assertClose } from '../helpers/assert.js';
import { readSafetensors } from '../helpers/golden.js';
import { tensor } from '../../src/tensor/creation.js';
import { crossEntropy } from '../../src/nn/functional/losses.js';
import { saveSafetensors } from '../../src/io/tensors.js';
import { GPT2Config, GPT2LMHeadModel } from '../../src/models/gpt2.js';

// test/golden/gpt2-tiny-ref/reference.safetensors comes from tools/golden/gpt2_tiny.py (float64 PyTorch).
const ref = () => readSafetensors(golden('gpt2-tiny-ref/reference.safetensors'));

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'nabla-gpt2-'));
}

for (const dir of ['gpt2-tiny', 'gpt2-tiny-bin']) {
  test(`${dir}: logits within 1e-4 of PyTorch and greedy tokens equal`, async () => {
    const r = ref();
    const model = await GPT2LMHeadModel.fromPretrained(golden(dir));
    const prompt = Array.from(r.prompt.toTypedArray());
    const logits = model.forward([prompt]);
    assert.deepEqual([...logits.shape], [1, 8, 100]);
    assertClose(logits, r.logits, { atol: 1e-4, rtol: 0 });
    assert.deepEqual(model.generate(prompt, { maxNewTokens: 20 })[0], Array.from(r.greedy.toTypedArray()));
  });
}

test('training path: loss and gradients match PyTorch', async () => {
  const r = ref();
  const model = await GPT2LMHeadModel.fromPretrained(golden('gpt2-tiny'));
  // eval(): no dropout, so the loss is deterministic; gradients flow as in training
  model.eval();
  const prompt = Array.from(r.prompt.toTypedArray());
  const logits = model.forward([prompt.slice(0, -1)]);
  const loss = crossEntropy(logits.reshape([-1, 100]), tensor(prompt.slice(1), { dtype: 'int32' }));
  assertClose(loss.reshape([1]), r.loss, { atol: 1e-5, rtol: 1e-5 });
  loss.backward();
  const params = Object.fromEntries(model.namedParameters());
  for (const name of ['wte.weight', 'h.0.attn.c_attn.weight', 'h.1.mlp.c_fc.bias', 'ln_f.weight']) {
    assertClose(params[`transformer.${name}`].grad!, r[`grad.${name}`], { atol: 1e-5, rtol: 1e-3 }, name);
  }
});

test(
  'from scratch: HF parameter names and shapes, tied head, seeded init, save + fromPretrained round ' + 'trip',
  async () => {
    const config = new GPT2Config({ vocabSize: 30, nPositions: 16, nEmbd: 16, nLayer: 2, nHead: 2 });
    const model = new GPT2LMHeadModel(config, { seed: 1 });
    const sd = model.stateDict();
    assert.deepEqual([...sd['transformer.h.1.attn.c_attn.weight'].shape], [16, 48]);
    assert.deepEqual([...sd['transformer.h.0.mlp.c_proj.weight'].shape], [64, 16]);
    assert.equal(model.lm_head.weight, model.transformer.wte.weight);
    assert.equal(
      model.numParameters(),
      30 * 16 + 16 * 16 + 2 * (4 * 16 + 16 * 48 + 48 + 16 * 16 + 16 + 16 * 64 + 64 + 64 * 16 + 16) + 2 * 16,
    );
    assert.deepEqual(
      new GPT2LMHeadModel(config, { seed: 1 }).stateDict()['transformer.wpe.weight'].toArray(),
      sd['transformer.wpe.weight'].toArray(),
    );
    const dir = tmp();
    try {
      const { 'lm_head.weight': _tied, ...weights } = sd;
      await saveSafetensors(weights, join(dir, 'model.safetensors'));
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config.toJSON()));
      const back = await GPT2LMHeadModel.fromPretrained(dir);
      assert.equal(back.lm_head.weight, back.transformer.wte.weight, 'tied again after loading');
      const ids = [[1, 2, 3, 4, 5]];
      assertClose(back.forward(ids), model.eval().forward(ids), { atol: 0, rtol: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('fromPretrained errors: missing files, shape disagreement, unknown model_type', async () => {
  const dir = tmp();
  try {
    await assert.rejects(GPT2LMHeadModel.fromPretrained(join(dir, 'nope')), /is not a folder/);
    await assert.rejects(GPT2LMHeadModel.fromPretrained(dir), /has no config\.json/);
    cpSync(golden('gpt2-tiny/config.json'), join(dir, 'config.json'));
    await assert.rejects(
      GPT2LMHeadModel.fromPretrained(dir),
      /has no weights; looked for model\.safetensors, model\.safetensors\.index\.json, pytorch_model\.bin/,
    );
    cpSync(golden('gpt2-tiny/model.safetensors'), join(dir, 'model.safetensors'));
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, n_positions: 32 }));
    await assert.rejects(
      GPT2LMHeadModel.fromPretrained(dir),
      /checkpoint tensor 'transformer\.wpe\.weight' has shape \[64, 32\] but the model \(from its config\) expects \[32, 32\]/,
    );
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, n_layer: 3 }));
    await assert.rejects(GPT2LMHeadModel.fromPretrained(dir), /lacks weights for transformer\.h\.2\.ln_1\.weight/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, model_type: 'bert' }));
    await assert.rejects(GPT2LMHeadModel.fromPretrained(dir), /unknown model_type 'bert' \(expected 'gpt2'\)/);
    writeFileSync(join(dir, 'config.json'), '{oops');
    await assert.rejects(GPT2LMHeadModel.fromPretrained(dir), /config\.json is not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
