// Llama: the real stories260K checkpoint reproduces llama2.c's published greedy sample, and the
// same weights written as a Hugging Face folder (q/k rows permuted the way HF's convert script
// does it) give the same logits through fromPretrained.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedData, skipUnlessShared } from '../helpers/data.js';
import { assertClose } from '../helpers/assert.js';
import { fromTypedArray, tensor } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { saveSafetensors } from '../../src/io/tensors.js';
import { LlamaTokenizer } from '../../src/text/sentencepiece.js';
import { LlamaForCausalLM } from '../../src/models/llama.js';

const needs = skipUnlessShared('stories260K.bin', 'tok512.bin');

// karpathy/llama2.c README, stories260K: `./run stories260K.bin -z tok512.bin -t 0.0`
const PUBLISHED =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. ' +
  'One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n' +
  "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do.";

test('stories260K: greedy from BOS reproduces the published llama2.c sample', { skip: needs }, () => {
  const model = LlamaForCausalLM.fromLlama2c(sharedData('stories260K.bin'));
  const tok = LlamaTokenizer.fromLlama2c(sharedData('tok512.bin'));
  assert.equal(model.config.numKeyValueHeads, 4);
  const out = model.generate([tok.bosTokenId!], { maxNewTokens: 120 });
  const text = tok.decode(out[0]);
  assert.ok(text.startsWith(PUBLISHED), `got: ${JSON.stringify(text.slice(0, 300))}`);
});

/** The raw llama2.c tensors (adjacent-pair rotary order), read independently of src/models. */
function rawLlama2c(path: string): { h: number[]; get: (name: string) => Float32Array } {
  const buf = readFileSync(path);
  const h = [0, 1, 2, 3, 4, 5, 6].map((i) => buf.readInt32LE(4 * i));
  const [C, F, L, NH, NKV, V, P] = h;
  const KV = (C / NH) * NKV,
    D = C / NH;
  const sizes: [string, number][] = [
    ['tok', V * C],
    ['rms_att', L * C],
    ['wq', L * C * C],
    ['wk', L * KV * C],
    ['wv', L * KV * C],
    ['wo', L * C * C],
    ['rms_ffn', L * C],
    ['w1', L * F * C],
    ['w2', L * C * F],
    ['w3', L * F * C],
    ['rms_final', C],
    ['fr', (P * D) / 2],
    ['fi', (P * D) / 2],
  ];
  const at = new Map<string, Float32Array>();
  let off = 28;
  for (const [n, size] of sizes) {
    at.set(n, new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + 4 * size)));
    off += 4 * size;
  }
  return { h, get: (n) => at.get(n)! };
}

/** HF convert_llama_weights_to_hf.py: w.view(heads, dim1 // heads // 2, 2, dim2).transpose(1, 2).reshape(dim1, dim2).
 * */
function hfPermute(w: Tensor, heads: number): Tensor {
  const [d1, d2] = w.shape;
  return w
    .view(heads, d1 / heads / 2, 2, d2)
    .transpose(1, 2)
    .reshape([d1, d2])
    .contiguous();
}

test('stories260K as a Hugging Face folder (permuted q/k, rotate_half) matches the llama2.c loader', {
  skip: needs,
}, async () => {
  const { h, get } = rawLlama2c(sharedData('stories260K.bin'));
  const [C, F, L, NH, NKV, V, P] = h;
  const KV = (C / NH) * NKV;
  const slab = (n: string, i: number, r: number, c: number) =>
    fromTypedArray(get(n).slice(i * r * c, (i + 1) * r * c), [r, c]);
  const sd: Record<string, Tensor> = {
    'model.embed_tokens.weight': fromTypedArray(get('tok'), [V, C]),
    'model.norm.weight': fromTypedArray(get('rms_final'), [C]),
  };
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}.`;
    sd[p + 'input_layernorm.weight'] = slab('rms_att', i, 1, C).reshape([C]);
    sd[p + 'post_attention_layernorm.weight'] = slab('rms_ffn', i, 1, C).reshape([C]);
    sd[p + 'self_attn.q_proj.weight'] = hfPermute(slab('wq', i, C, C), NH);
    sd[p + 'self_attn.k_proj.weight'] = hfPermute(slab('wk', i, KV, C), NKV);
    sd[p + 'self_attn.v_proj.weight'] = slab('wv', i, KV, C);
    sd[p + 'self_attn.o_proj.weight'] = slab('wo', i, C, C);
    sd[p + 'mlp.gate_proj.weight'] = slab('w1', i, F, C);
    sd[p + 'mlp.down_proj.weight'] = slab('w2', i, C, F);
    sd[p + 'mlp.up_proj.weight'] = slab('w3', i, F, C);
  }
  const dir = mkdtempSync(join(tmpdir(), 'nabla-llama-'));
  try {
    await saveSafetensors(sd, join(dir, 'model.safetensors'));
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        model_type: 'llama',
        vocab_size: V,
        hidden_size: C,
        intermediate_size: F,
        num_hidden_layers: L,
        num_attention_heads: NH,
        num_key_value_heads: NKV,
        max_position_embeddings: P,
        rms_norm_eps: 1e-5,
        rope_theta: 10000,
        tie_word_embeddings: true,
        bos_token_id: 1,
        eos_token_id: 2,
      }),
    );
    const hf = await LlamaForCausalLM.fromPretrained(dir);
    const c2 = LlamaForCausalLM.fromLlama2c(sharedData('stories260K.bin'));
    const ids = tensor(
      [
        [1, 403, 407, 261, 378, 20, 289, 300],
        [1, 9, 30, 40, 50, 60, 70, 80],
      ],
      { dtype: 'int32' },
    );
    const a = hf.forward(ids),
      b = c2.forward(ids);
    assertClose(a, b, { atol: 1e-5, rtol: 1e-5 });
    assert.deepEqual(hf.generate([1], { maxNewTokens: 30 }), c2.generate([1], { maxNewTokens: 30 }));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'mistral' }));
    await assert.rejects(LlamaForCausalLM.fromPretrained(dir), /unknown model_type 'mistral' \(expected 'llama'\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('llama2.c reader: a truncated or implausible file names the problem', { skip: needs }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-llama-'));
  try {
    const buf = readFileSync(sharedData('stories260K.bin'));
    writeFileSync(join(dir, 'cut.bin'), buf.subarray(0, 100000));
    assert.throws(
      () => LlamaForCausalLM.fromLlama2c(join(dir, 'cut.bin')),
      /100000 bytes, but header \[64, 172, 5, 8, 4, 512, 512\] needs 1056540/,
    );
    writeFileSync(join(dir, 'bad.bin'), Buffer.alloc(64));
    assert.throws(() => LlamaForCausalLM.fromLlama2c(join(dir, 'bad.bin')), /implausible header/);
    assert.throws(() => LlamaForCausalLM.fromLlama2c(join(dir, 'missing.bin')), /cannot open/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
