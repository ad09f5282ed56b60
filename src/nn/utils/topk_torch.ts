// The k indices torch.topk picks on the CPU, ties included. ATen's topk_impl_loop (TopKImpl.h) fills
// a queue of (value, index) pairs and runs libstdc++'s std::partial_sort when k * 64 <= n, else
// std::nth_element, with a comparator on the values only (NaN counts as the largest). Which of equal
// values win is therefore decided by those two algorithms; they are reproduced here step by step
// (libstdc++ bits/stl_algo.h and bits/stl_heap.h), so that pruning masks on tied magnitudes equal
// torch.nn.utils.prune's. Only the set of the first k positions matters to a mask, so the final
// sorts (sort_heap, sort) are left out.
// Glossary: n values, k picked.

type Less = (a: number, b: number) => boolean;

/** std::__push_heap */
function pushHeap(q: Int32Array, first: number, hole: number, top: number, value: number, less: Less): void {
  let parent = Math.floor((hole - 1) / 2);
  while (hole > top && less(q[first + parent], value)) {
    q[first + hole] = q[first + parent];
    hole = parent;
    parent = Math.floor((hole - 1) / 2);
  }
  q[first + hole] = value;
}

/** std::__adjust_heap */
function adjustHeap(q: Int32Array, first: number, hole: number, len: number, value: number, less: Less): void {
  const top = hole;
  let child = hole;
  while (child < Math.floor((len - 1) / 2)) {
    child = 2 * (child + 1);
    if (less(q[first + child], q[first + child - 1])) child--;
    q[first + hole] = q[first + child];
    hole = child;
  }
  if ((len & 1) === 0 && child === Math.floor((len - 2) / 2)) {
    child = 2 * (child + 1);
    q[first + hole] = q[first + child - 1];
    hole = child - 1;
  }
  pushHeap(q, first, hole, top, value, less);
}

/** std::__heap_select(first, middle, last): the heap [first, middle) ends up holding the smallest (by less). */
function heapSelect(q: Int32Array, first: number, middle: number, last: number, less: Less): void {
  const len = middle - first;
  if (len >= 2) {
    for (let parent = Math.floor((len - 2) / 2); ; parent--) {
      adjustHeap(q, first, parent, len, q[first + parent], less);
      if (parent === 0) break;
    }
  }
  for (let i = middle; i < last; i++) {
    if (less(q[i], q[first])) {
      // std::__pop_heap(first, middle, i)
      const v = q[i];
      q[i] = q[first];
      adjustHeap(q, first, 0, len, v, less);
    }
  }
}

function swap(q: Int32Array, a: number, b: number): void {
  const t = q[a];
  q[a] = q[b];
  q[b] = t;
}

/** std::__move_median_to_first */
function medianToFirst(q: Int32Array, result: number, a: number, b: number, c: number, less: Less): void {
  if (less(q[a], q[b])) {
    if (less(q[b], q[c])) swap(q, result, b);
    else if (less(q[a], q[c])) swap(q, result, c);
    else swap(q, result, a);
  } else if (less(q[a], q[c])) swap(q, result, a);
  else if (less(q[b], q[c])) swap(q, result, c);
  else swap(q, result, b);
}

/** std::__unguarded_partition_pivot */
function partitionPivot(q: Int32Array, first: number, last: number, less: Less): number {
  const mid = first + Math.floor((last - first) / 2);
  medianToFirst(q, first, first + 1, mid, last - 1, less);
  let lo = first + 1,
    hi = last;
  const pivot = first;
  for (;;) {
    while (less(q[lo], q[pivot])) lo++;
    hi--;
    while (less(q[pivot], q[hi])) hi--;
    if (!(lo < hi)) return lo;
    swap(q, lo, hi);
    lo++;
  }
}

/** std::__insertion_sort */
function insertionSort(q: Int32Array, first: number, last: number, less: Less): void {
  if (first === last) return;
  for (let i = first + 1; i < last; i++) {
    const v = q[i];
    if (less(v, q[first])) {
      q.copyWithin(first + 1, first, i);
      q[first] = v;
    } else {
      let j = i;
      while (less(v, q[j - 1])) {
        q[j] = q[j - 1];
        j--;
      }
      q[j] = v;
    }
  }
}

/** std::nth_element (std::__introselect with depth limit 2 * floor(log2(n))). */
function nthElement(q: Int32Array, nth: number, less: Less): void {
  let first = 0,
    last = q.length;
  if (first === last || nth === last) return;
  let depth = 2 * Math.floor(Math.log2(last - first));
  while (last - first > 3) {
    if (depth === 0) {
      heapSelect(q, first, nth + 1, last, less);
      swap(q, first, nth);
      return;
    }
    depth--;
    const cut = partitionPivot(q, first, last, less);
    if (cut <= nth) first = cut;
    else last = cut;
  }
  insertionSort(q, first, last, less);
}

/**
 * The indices of the k largest (or smallest) values as torch.topk on the CPU chooses them, ties
 * resolved as it does; in no particular order. values (n) -> (k).
 */
export function topkIndicesTorch(values: ArrayLike<number>, k: number, largest: boolean): Int32Array {
  const n = values.length;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`topk: k must be in [0, ${n}], got ${k}`);
  if (k === 0) return new Int32Array(0);
  const q = new Int32Array(n);
  for (let j = 0; j < n; j++) q[j] = j;
  const v = values;
  // NOTE: NaN is the largest: first when largest, last when smallest (ATen's comparators)
  const less: Less = largest
    ? (a, b) => (Number.isNaN(v[a]) && !Number.isNaN(v[b])) || v[a] > v[b]
    : (a, b) => (!Number.isNaN(v[a]) && Number.isNaN(v[b])) || v[a] < v[b];
  if (k * 64 <= n) heapSelect(q, 0, k, n, less);
  else nthElement(q, k - 1, less);
  return q.slice(0, k);
}
