// Reader for llama2.c checkpoints (karpathy/llama2.c run.c): a header of 7 little-endian int32
// (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len), then float32 weights,
// row-major (out, in):
//   tok_embeddings (V,C), rms_att (L,C), wq (L,C,C), wk (L,KV,C), wv (L,KV,C), wo (L,C,C),
//   rms_ffn (L,C), w1 (L,F,C), w2 (L,C,F), w3 (L,F,C), rms_final (C),
//   freq_cis_real (seq_len, D/2), freq_cis_imag (seq_len, D/2), [wcls (V,C) when vocab_size < 0].
// A positive vocab_size means the classifier shares the embedding.
//
// Glossary: C dim, F hidden_dim, L layers, V vocab, D head size = C / n_heads, KV = n_kv_heads * D.
//
// NOTE on rotary embeddings: llama2.c rotates adjacent pairs (x[2i], x[2i+1]); Hugging Face Llama
// rotates halves (x[i], x[i + D/2]) and its convert script permutes the rows of wq and wk to match.
// We apply the same row permutation here, so one model (HF convention) runs both checkpoints.

import type { Tensor } from '../tensor/tensor.js';
import { fromTypedArray } from '../tensor/creation.js';
import { BufferSource, FileSource, type ByteSource } from '../io/source.js';
import { asBytes, type Bytes } from '../util/bytes.js';

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKVHeads: number;
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
}

/**
 * Reads a llama2.c .bin: its header and a state dict with Hugging Face Llama names. `file` is a path
 * (Node; read by position) or the file's bytes (fetched with nb.io.fetchBytes in the browser).
 */
export function readLlama2c(file: string | Bytes): { header: Llama2cHeader; tensors: Map<string, Tensor> } {
  const bytes = typeof file === 'string' ? undefined : asBytes(file);
  const path = typeof file === 'string' ? file : '<bytes>';
  if (typeof file !== 'string' && !bytes) {
    throw new TypeError(`llama2.c checkpoint: expected a path or the file's bytes, got ${typeof file}`);
  }
  let src: ByteSource;
  try {
    src = bytes ? new BufferSource(bytes, path) : new FileSource(path);
  } catch (e) {
    const why = ((e as Error).cause as Error | undefined) ?? (e as Error);
    throw new Error(`llama2.c checkpoint ${path}: cannot open: ${why.message}`);
  }
  try {
    const size = src.size;
    if (size < 28) throw new Error(`llama2.c checkpoint ${path}: ${size} bytes, shorter than the 28-byte header`);
    const hb = new DataView(src.read(0, 28).slice().buffer);
    const h = [0, 1, 2, 3, 4, 5, 6].map((i) => hb.getInt32(4 * i, true));
    const [dim, hiddenDim, nLayers, nHeads, nKVHeads, vocab, seqLen] = h;
    const header: Llama2cHeader = {
      dim,
      hiddenDim,
      nLayers,
      nHeads,
      nKVHeads,
      vocabSize: Math.abs(vocab),
      seqLen,
      sharedClassifier: vocab > 0,
    };
    const bad = [dim, hiddenDim, nLayers, nHeads, nKVHeads, Math.abs(vocab), seqLen].some(
      (v) => !(v > 0 && v < 1 << 24),
    );
    if (bad || dim % nHeads !== 0 || nHeads % nKVHeads !== 0 || (dim / nHeads) % 2 !== 0) {
      throw new Error(
        `llama2.c checkpoint ${path}: implausible header [${h.join(', ')}] (dim, hidden_dim, n_layers, n_heads, ` +
          `n_kv_heads, vocab_size, seq_len)`,
      );
    }
    const D = dim / nHeads,
      KV = nKVHeads * D,
      V = header.vocabSize,
      C = dim,
      F = hiddenDim,
      L = nLayers;
    const plan: [string, number[]][] = [
      ['tok', [V, C]],
      ['rms_att', [L, C]],
      ['wq', [L, C, C]],
      ['wk', [L, KV, C]],
      ['wv', [L, KV, C]],
      ['wo', [L, C, C]],
      ['rms_ffn', [L, C]],
      ['w1', [L, F, C]],
      ['w2', [L, C, F]],
      ['w3', [L, F, C]],
      ['rms_final', [C]],
      ['freq_real', [seqLen, D / 2]],
      ['freq_imag', [seqLen, D / 2]],
    ];
    if (!header.sharedClassifier) plan.push(['wcls', [V, C]]);
    const need = 28 + 4 * plan.reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0);
    if (size !== need) {
      const what = size < need ? ' (the file is truncated)' : '';
      throw new Error(`llama2.c checkpoint ${path}: ${size} bytes, but header [${h.join(', ')}] needs ${need}${what}`);
    }
    // Byte offset of each chunk; each (chunk, layer) slab is then read by itself into its own array,
    // so the tensors own their storage and the file is held in memory once.
    const start = new Map<string, number>();
    let pos = 28;
    for (const [name, shape] of plan) {
      start.set(name, pos);
      pos += 4 * shape.reduce((a, b) => a * b, 1);
    }
    const slab = (name: string, i: number, rows: number, cols: number): Float32Array => {
      const data = new Float32Array(rows * cols);
      src.readInto(start.get(name)! + 4 * i * data.length, new Uint8Array(data.buffer));
      return data;
    };
    const out = new Map<string, Tensor>();
    const raw = (name: string, rows: number, cols: number) => slab(name, 0, rows, cols);
    out.set('model.embed_tokens.weight', fromTypedArray(raw('tok', V, C), [V, C]));
    for (let i = 0; i < L; i++) {
      const p = `model.layers.${i}.`;
      out.set(p + 'input_layernorm.weight', fromTypedArray(slab('rms_att', i, 1, C), [C]));
      out.set(p + 'self_attn.q_proj.weight', fromTypedArray(permuteRotary(slab('wq', i, C, C), nHeads, C, C), [C, C]));
      out.set(
        p + 'self_attn.k_proj.weight',
        fromTypedArray(permuteRotary(slab('wk', i, KV, C), nKVHeads, KV, C), [KV, C]),
      );
      out.set(p + 'self_attn.v_proj.weight', fromTypedArray(slab('wv', i, KV, C), [KV, C]));
      out.set(p + 'self_attn.o_proj.weight', fromTypedArray(slab('wo', i, C, C), [C, C]));
      out.set(p + 'post_attention_layernorm.weight', fromTypedArray(slab('rms_ffn', i, 1, C), [C]));
      out.set(p + 'mlp.gate_proj.weight', fromTypedArray(slab('w1', i, F, C), [F, C]));
      out.set(p + 'mlp.down_proj.weight', fromTypedArray(slab('w2', i, C, F), [C, F]));
      out.set(p + 'mlp.up_proj.weight', fromTypedArray(slab('w3', i, F, C), [F, C]));
    }
    out.set('model.norm.weight', fromTypedArray(raw('rms_final', 1, C), [C]));
    if (!header.sharedClassifier) out.set('lm_head.weight', fromTypedArray(raw('wcls', V, C), [V, C]));
    return { header, tensors: out };
  } finally {
    if (src instanceof FileSource) src.close();
  }
}

/**
 * Rows of a q/k projection (heads*D, C) reordered from adjacent-pair rotary order to half-split
 * order: within each head, row 2i goes to i and row 2i+1 to i + D/2 (HF convert_llama_weights'
 * `permute`). The attention scores are unchanged, since q and k are permuted alike.
 * `inverse` undoes it (half-split back to adjacent pairs, for writing llama2.c files).
 */
export function permuteRotary(
  w: Float32Array,
  heads: number,
  rows: number,
  cols: number,
  inverse = false,
): Float32Array {
  const D = rows / heads,
    half = D / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (const [pair, split] of [
        [2 * i, i],
        [2 * i + 1, i + half],
      ]) {
        const [src, dst] = inverse ? [split, pair] : [pair, split];
        out.set(w.subarray((h * D + src) * cols, (h * D + src + 1) * cols), (h * D + dst) * cols);
      }
    }
  }
  return out;
}
