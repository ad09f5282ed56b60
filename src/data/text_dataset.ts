// A character-level language-modelling dataset (char-rnn / nanoGPT style). Dimension glossary:
// T blockSize, V vocabulary size. Item i = [x, y], both int32 (T): x = ids[i, i+T),
// y = ids[i+1, i+T+1), the next character at every position.

import { readFileSync } from '../platform/node.js';
import type { Tensor } from '../tensor/tensor.js';
import { Dataset, checkIndex } from './dataset.js';
import { fromBuffer } from './util.js';

export class CharDataset extends Dataset<[Tensor, Tensor]> {
  /** The distinct characters (code points), sorted by code point: id -> char. */
  readonly itos: string[];
  /** char -> id. */
  readonly stoi: Map<string, number>;
  /** The whole text as ids. */
  readonly ids: Int32Array;

  constructor(
    text: string,
    readonly blockSize: number,
  ) {
    super();
    if (!Number.isInteger(blockSize) || blockSize <= 0)
      throw new Error(`CharDataset: blockSize must be a positive integer, got ${blockSize}`);
    const chars = Array.from(text);
    if (chars.length < blockSize + 1) {
      throw new Error(
        `CharDataset: the text has ${chars.length} characters; blockSize ${blockSize} needs at least ${blockSize + 1}`,
      );
    }
    this.itos = [...new Set(chars)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    this.stoi = new Map(this.itos.map((c, i) => [c, i]));
    this.ids = Int32Array.from(chars, (c) => this.stoi.get(c)!);
  }

  /** Reads a UTF-8 text file. */
  static fromFile(path: string, blockSize: number): CharDataset {
    return new CharDataset(readFileSync(path, 'utf8'), blockSize);
  }

  get vocabSize(): number {
    return this.itos.length;
  }
  get length(): number {
    return this.ids.length - this.blockSize;
  }

  /** Ids of a string; throws on a character outside the vocabulary. */
  encode(s: string): Int32Array {
    return Int32Array.from(Array.from(s), (c, i) => {
      const id = this.stoi.get(c);
      if (id === undefined)
        throw new Error(`CharDataset.encode: character ${JSON.stringify(c)} at position ${i} is not in the vocabulary`);
      return id;
    });
  }

  decode(ids: ArrayLike<number> | Tensor): string {
    const a = 'toTypedArray' in ids ? ids.toTypedArray() : ids;
    let s = '';
    for (let i = 0; i < a.length; i++) {
      const c = this.itos[a[i]];
      if (c === undefined)
        throw new Error(`CharDataset.decode: id ${a[i]} is out of range for a vocabulary of ${this.vocabSize}`);
      s += c;
    }
    return s;
  }

  getItem(index: number): [Tensor, Tensor] {
    const i = checkIndex(index, this.length, 'CharDataset');
    const T = this.blockSize;
    return [
      fromBuffer(this.ids.slice(i, i + T), [T], 'int32'),
      fromBuffer(this.ids.slice(i + 1, i + T + 1), [T], 'int32'),
    ];
  }

  /** x, y (B, T) int32. */
  override getBatch(indices: readonly number[]): [Tensor, Tensor] {
    const T = this.blockSize,
      B = indices.length;
    const x = new Int32Array(B * T),
      y = new Int32Array(B * T);
    indices.forEach((index, b) => {
      const i = checkIndex(index, this.length, 'CharDataset');
      x.set(this.ids.subarray(i, i + T), b * T);
      y.set(this.ids.subarray(i + 1, i + T + 1), b * T);
    });
    return [fromBuffer(x, [B, T], 'int32'), fromBuffer(y, [B, T], 'int32')];
  }
}
