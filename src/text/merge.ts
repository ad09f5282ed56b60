// The BPE merge loop shared by the GPT-2 and Llama tokenizers.
//
// Glossary: a *symbol* is one current token id in a word; a *merge* is a rule
// (left id, right id) -> merged id with a priority (lower merges first). GPT-2 priorities are
// merge ranks (line numbers of merges.txt); llama2.c priorities are minus the merged piece's score.
//
// NOTE: the loop always applies the adjacent pair with the lowest (priority, position), i.e. the
// best pair and, among equals, the leftmost one. That is exactly llama2.c's `encode` loop and
// SentencePiece's bpe_model.cc. GPT-2's encoder.py instead merges *every* occurrence of the best
// bigram in one left-to-right pass; the two agree whenever each merge's inputs were produced by
// earlier merges (true for all 50,000 GPT-2 merges, checked in test/text/bpe.test.ts), because then
// no newly formed pair can outrank the one being applied. A binary heap with lazy invalidation
// makes the loop O(n log n) instead of encoder.py's O(n^2) on long words.

/**
 * Merge rules keyed by the pair of input ids, with a priority and the id they produce.
 *
 * @example
 * ```ts
 * import * as nb from 'nabla';
 * const t = new nb.text.MergeTable();   // ids: a=0 b=1 c=2 ab=3 abc=4
 * t.add(0, 1, 3, 0);                    // a b -> ab, priority 0 (first)
 * t.add(3, 2, 4, 1);                    // ab c -> abc, priority 1
 * t.apply([0, 1, 2, 0]);                // [4, 0]
 * ```
 */
export class MergeTable {
  // key = left * 2^21 + right (ids < 2^21, so the key stays an exact double)
  private readonly index = new Map<number, number>();
  private readonly priority: number[] = [];
  private readonly merged: number[] = [];

  /** Adds a rule unless the pair already has one with an equal or better priority. */
  add(left: number, right: number, mergedId: number, priority: number): void {
    const key = pairKey(left, right);
    const at = this.index.get(key);
    if (at !== undefined) {
      if (this.priority[at] <= priority) return;
      this.priority[at] = priority;
      this.merged[at] = mergedId;
      return;
    }
    this.index.set(key, this.priority.length);
    this.priority.push(priority);
    this.merged.push(mergedId);
  }

  /** Rule number for (left, right), or -1. */
  find(left: number, right: number): number {
    return this.index.get(pairKey(left, right)) ?? -1;
  }

  /** Every rule as [left, right, mergedId, priority], in the order added (for writing tokenizer files). */
  rules(): [number, number, number, number][] {
    const out: [number, number, number, number][] = [];
    for (const [key, at] of this.index) {
      out.push([Math.floor(key / 0x200000), key % 0x200000, this.merged[at], this.priority[at]]);
    }
    return out;
  }

  /** Number of rules. */
  get size(): number {
    return this.priority.length;
  }

  /**
   * Applies the rules to `ids` until no adjacent pair has one, best priority first and leftmost
   * among equals. Returns a new array.
   */
  apply(ids: readonly number[]): number[] {
    const n = ids.length;
    if (n < 2) return ids.slice();
    const sym = Int32Array.from(ids);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new PairHeap();
    const push = (i: number): void => {
      const j = next[i];
      if (j < 0) return;
      const r = this.find(sym[i], sym[j]);
      if (r >= 0) heap.push(this.priority[r], i, sym[i], sym[j], r);
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    while (heap.length > 0) {
      const e = heap.pop();
      const i = e.pos;
      const j = next[i];
      // Stale entry: the left symbol was absorbed, or either side has changed since the push.
      if (sym[i] < 0 || j < 0 || sym[i] !== e.left || sym[j] !== e.right) continue;
      sym[i] = this.merged[e.rule];
      sym[j] = -1;
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      if (prev[i] >= 0) push(prev[i]);
      push(i);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(sym[i]);
    return out;
  }
}

function pairKey(left: number, right: number): number {
  return left * 0x200000 + right;
}

interface HeapEntry {
  priority: number;
  pos: number;
  left: number;
  right: number;
  rule: number;
}

/** Min-heap on (priority, pos). */
class PairHeap {
  private readonly a: HeapEntry[] = [];

  get length(): number {
    return this.a.length;
  }

  push(priority: number, pos: number, left: number, right: number, rule: number): void {
    const a = this.a;
    a.push({ priority, pos, left, right, rule });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  pop(): HeapEntry {
    const a = this.a;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(x: HeapEntry, y: HeapEntry): boolean {
  return x.priority < y.priority || (x.priority === y.priority && x.pos < y.pos);
}
