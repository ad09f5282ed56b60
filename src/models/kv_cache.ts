// KV cache for causal decoders: per layer, preallocated key and value buffers that each forward
// appends to in place, so decoding a token costs one step instead of recomputing the sequence.
//
// Glossary: B batch, KVH key/value heads, S cached positions, T new positions, D head size,
// L layers, maxLen the capacity (prompt + new tokens).

import type { Tensor } from '../tensor/tensor.js';
import { fromTypedArray, zeros } from '../tensor/creation.js';

export interface KVCacheOptions {
  numLayers: number;
  batchSize: number;
  numKVHeads: number;
  headDim: number;
  maxLength: number;
}

/**
 * Keys and values of every layer: buffers (B, KVH, maxLen, D). A forward reads `length` (the
 * positions already cached), calls `update(layer, k, v)` in each layer and `advance(T)` at the end.
 *
 * @example
 * const cache = model.createCache(1, 64);
 * model.forward(promptIds, { cache });            // fills positions 0..T-1
 * model.forward(nextId, { cache });               // one step: reads them, appends position T
 */
export class KVCache {
  /** Positions already cached (the same for every row; padding is handled by the attention mask). */
  length = 0;
  readonly maxLength: number;
  readonly batchSize: number;
  private keys: Tensor[] = [];
  private values: Tensor[] = [];

  constructor(readonly options: KVCacheOptions) {
    const { numLayers, batchSize, numKVHeads, headDim, maxLength } = options;
    for (const [k, v] of Object.entries(options)) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`KVCache: ${k} must be a positive integer, got ${v}`);
    }
    this.maxLength = maxLength;
    this.batchSize = batchSize;
    for (let i = 0; i < numLayers; i++) {
      this.keys.push(zeros([batchSize, numKVHeads, maxLength, headDim]));
      this.values.push(zeros([batchSize, numKVHeads, maxLength, headDim]));
    }
  }

  get numLayers(): number {
    return this.keys.length;
  }

  /**
   * Writes k, v (B, KVH, T, D) at positions [length, length+T) of `layer` and returns views of
   * everything cached so far, (B, KVH, length+T, D) each. No copy beyond the write itself.
   */
  update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    let kb = this.keys[layer],
      vb = this.values[layer];
    if (!kb) throw new Error(`KVCache.update: layer ${layer} out of range (the cache has ${this.keys.length})`);
    // the buffers are made on the host: they move to the model's device on its first write
    if (kb.device !== k.device && this.length === 0) {
      this.keys[layer] = kb = kb.to(k.device);
      this.values[layer] = vb = vb.to(k.device);
    }
    const T = k.shape[2];
    const want = [kb.shape[0], kb.shape[1], T, kb.shape[3]];
    for (const [name, t] of [
      ['k', k],
      ['v', v],
    ] as const) {
      if (t.ndim !== 4 || t.shape.some((d, i) => d !== want[i])) {
        throw new Error(`KVCache.update: ${name} has shape [${t.shape.join(', ')}], expected [${want.join(', ')}]`);
      }
    }
    const end = this.length + T;
    if (end > this.maxLength) {
      throw new Error(`KVCache.update: ${end} positions exceed the cache capacity ${this.maxLength}`);
    }
    kb.narrow(2, this.length, T).copy_(k.detach());
    vb.narrow(2, this.length, T).copy_(v.detach());
    return [kb.narrow(2, 0, end), vb.narrow(2, 0, end)];
  }

  /** Marks T more positions as cached; call once per forward, after every layer's update. */
  advance(T: number): void {
    if (this.length + T > this.maxLength) {
      throw new Error(`KVCache.advance: ${this.length + T} positions exceed the cache capacity ${this.maxLength}`);
    }
    this.length += T;
  }

  /**
   * Keeps the rows `rows` (B, int32 indices, repeats allowed) in that order, as beam search needs
   * after choosing each beam's parent (transformers' _reorder_cache).
   */
  reorder(rows: Int32Array): void {
    if (rows.length !== this.batchSize || rows.some((r) => !Number.isInteger(r) || r < 0 || r >= this.batchSize)) {
      throw new Error(
        `KVCache.reorder: expected ${this.batchSize} row indices in [0, ${this.batchSize}), got [${rows}]`,
      );
    }
    const idx = fromTypedArray(rows, [rows.length]);
    for (let i = 0; i < this.keys.length; i++) {
      this.keys[i] = this.keys[i].indexSelect(0, idx);
      this.values[i] = this.values[i].indexSelect(0, idx);
    }
  }

  /** Forgets everything (the buffers are reused). */
  reset(): void {
    this.length = 0;
  }
}
