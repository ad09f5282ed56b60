// Indexing ops: gather/scatter, indexSelect/indexAdd, masks, triangles, sort/topk, pad, oneHot and
// NumPy-style index(). Index tensors are int32 and are checked against the indexed size here, so
// kernels never read out of bounds.

import { Layout, fmtShape, normDim, numel } from '../tensor/layout.js';
import { allocate, computeDtype, isKernelDtype } from '../tensor/dtype.js';
import { Tensor, type TensorLike } from '../tensor/tensor.js';
import { be, record, wrap, asTensor, dataOf, zerosOn } from './util.js';
import { where } from './binary.js';
import { cat } from './movement.js';
import { ValuesIndices } from './reduce.js';
import { cast, int32Indices, widen } from './unary.js';

export type IndexItem = number | null | '...' | [number | null, (number | null)?, number?] | Tensor;

/**
 * Checks that index is int32 and every value lies in [0, size) along dim d, and returns its values.
 * NOTE: as torch, a negative index raises here (index_select, gather, scatter, embedding); only
 * NumPy-style index() wraps negatives, before it calls indexSelect.
 */
function checkIndex(index: Tensor, size: number, d: number, op: string, what = 'index', x?: Tensor): Int32Array {
  if (!(index instanceof Tensor)) throw new Error(`${op}: expected ${what} to be a Tensor, got ${typeof index}`);
  if (index.dtype === 'int64') {
    if (index.device !== 'cpu') throw new Error(`${op}: int64 ${what} must be on the CPU (got ${index.device})`);
    index = int32Indices(index, op);
  }
  if (index.dtype !== 'int32')
    throw new Error(
      `${op}: expected ${what} to be an int32 or int64 tensor, got ${index.dtype} of shape ${fmtShape(index.shape)}`,
    );
  if (index.device !== 'cpu') {
    // NOTE: indices on an accelerator stay there (the kernel gets its buffer where the seam says
    // Int32Array) and are bounds-checked by the kernel: a bad one fails the next read-back
    if (x && x.device !== index.device) be(x, index);
    const c = index.contiguous();
    return dataOf(c.layout.offset === 0 ? c : c.clone(), op) as Int32Array;
  }
  const v = index.toTypedArray() as Int32Array;
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] >= size) {
      throw new Error(`${op}: ${what} ${v[i]} is out of bounds for dimension ${d} with size ${size}`);
    }
  }
  return v;
}

function checkGatherShapes(x: Tensor, d: number, index: Tensor, op: string): void {
  if (index.ndim !== x.ndim) {
    throw new Error(
      `${op}: index tensor must have the same number of dimensions as input tensor (index ${fmtShape(index.shape)}, ` +
        `input ${fmtShape(x.shape)})`,
    );
  }
  for (let i = 0; i < x.ndim; i++) {
    if (i !== d && index.shape[i] > x.shape[i]) {
      throw new Error(
        `${op}: size of index ${fmtShape(index.shape)} does not match input ${fmtShape(x.shape)} at dimension ${i} ` +
          `(dim ${d} excepted)`,
      );
    }
  }
}

/** out[i][j] = x[index[i][j]][j] for dim 0: out has index's shape. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim(dim, x.ndim, 'gather');
  checkGatherShapes(x, d, index, 'gather');
  const idx = checkIndex(index, x.ndim ? x.shape[d] : 1, d, 'gather', 'index', x);
  const li = Layout.contiguous(index.shape);
  const out = wrap(be(x).gather(dataOf(x, 'gather', true), x.layout, d, idx, li), index.shape, x.dtype);
  return record(out, 'GatherBackward', [x], (g) => [scatterAddInto(d, index, g, x.shape)]);
}

/** zeros-like(base) + src scattered-added at index (differentiable in src). */
function scatterAddInto(d: number, index: Tensor, src: Tensor, shape: readonly number[]): Tensor {
  const base = wrap(zerosOn(src, src.dtype, numel(shape)), shape, src.dtype);
  return scatterAdd(base, d, index, src);
}

function scatterImpl(x: Tensor, dim: number, index: Tensor, src: TensorLike, accumulate: boolean, op: string): Tensor {
  const d = normDim(dim, x.ndim, op);
  checkGatherShapes(x, d, index, op);
  const s = asTensor(src, x.dtype).expand(src instanceof Tensor ? [...src.shape] : [...index.shape]);
  if (s.ndim !== index.ndim || index.shape.some((n, i) => n > s.shape[i])) {
    throw new Error(
      `${op}: expected index ${fmtShape(index.shape)} to be no larger than src ${fmtShape(s.shape)} in every dimension`,
    );
  }
  const idx = checkIndex(index, x.shape[d], d, op, 'index', x);
  // NOTE: scatterAdd of a storage dtype adds in its compute dtype; scatter only moves elements
  if (accumulate && !isKernelDtype(x.dtype)) {
    const cd = computeDtype(x.dtype);
    return cast(scatterImpl(cast(x, cd), dim, index, cast(s, cd), true, op), x.dtype);
  }
  const data = be(x, s).copy(dataOf(x, op, true), x.layout, x.dtype);
  // NOTE: src may be larger than index; only its index-shaped corner is scattered (same strides).
  const ls = new Layout([...index.shape], s.layout.strides, s.layout.offset);
  be(x, s).scatter(data, x.shape, d, idx, Layout.contiguous(index.shape), dataOf(s, op, true), ls, accumulate);
  const out = wrap(data, x.shape, x.dtype);
  // the rest of src gets a zero gradient: pad the gathered corner back up to src's shape
  const srcPad = index.shape.flatMap((_, i) => [0, s.shape[index.ndim - 1 - i] - index.shape[index.ndim - 1 - i]]);
  return record(
    out,
    accumulate ? 'ScatterAddBackward' : 'ScatterBackward',
    [x, src instanceof Tensor ? s : null],
    (g) => [
      accumulate ? g : scatterImpl(g, d, index, 0, false, op),
      srcPad.some((p) => p > 0) ? pad(gather(g, d, index), srcPad) : gather(g, d, index),
    ],
  );
}

export const scatter = (x: Tensor, dim: number, index: Tensor, src: TensorLike) =>
  scatterImpl(x, dim, index, src, false, 'scatter');
export const scatterAdd = (x: Tensor, dim: number, index: Tensor, src: Tensor) =>
  scatterImpl(x, dim, index, src, true, 'scatterAdd');

/** Entries of x at `index` (1-D) along dim: output shape = x.shape with dim -> index.length. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  return indexSelectAs('indexSelect', x, dim, index);
}

/** @internal indexSelect whose errors name `op` (embedding). */
export function indexSelectAs(op: string, x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim(dim, x.ndim, op);
  if (index.ndim > 1) throw new Error(`${op}: index should have 1 dimension, got shape ${fmtShape(index.shape)}`);
  const n = x.ndim ? x.shape[d] : 1;
  const idx = checkIndex(index, n, d, op, 'index', x);
  const shape = [...x.shape];
  if (x.ndim) shape[d] = idx.length;
  const out = wrap(
    be(x).indexSelect(dataOf(x, op, true), x.ndim ? x.layout : Layout.contiguous([1]), d, idx),
    shape,
    x.dtype,
  );
  return record(out, 'IndexSelectBackward', [x], (g) => [indexAdd(x.shape, d, idx, g)]);
}

/** zeros(shape) with src (shape with dim -> idx.length) added at idx along dim. Differentiable in src. */
function indexAdd(shape: readonly number[], d: number, idx: Int32Array, src: Tensor): Tensor {
  // a storage dtype (a float16 embedding's gradient) accumulates in its compute dtype and rounds once
  if (!isKernelDtype(src.dtype)) return cast(indexAdd(shape, d, idx, cast(src, computeDtype(src.dtype))), src.dtype);
  const data = zerosOn(src, src.dtype, numel(shape));
  be(src).indexAdd(data, shape.length ? shape : [1], d, idx, dataOf(src, 'indexAdd'), src.layout);
  const out = wrap(data, shape, src.dtype);
  const it = wrap(idx, [idx.length], 'int32');
  return record(out, 'IndexAddBackward', [src], (g) => [indexSelect(g, d, it)]);
}

export function maskedFill(x: Tensor, mask: Tensor, value: TensorLike): Tensor {
  if (!(mask instanceof Tensor) || mask.dtype !== 'bool') {
    throw new Error(
      `maskedFill: expected mask to be a bool tensor, got ${mask instanceof Tensor ? mask.dtype : typeof mask}`,
    );
  }
  return where(mask, asTensor(value, x.dtype), x);
}

/** The elements of x where mask is true, as a 1-D tensor. */
export function maskedSelect(x: Tensor, mask: Tensor): Tensor {
  const m = mask.expand([...x.shape]).toTypedArray();
  const pos: number[] = [];
  for (let i = 0; i < m.length; i++) if (m[i]) pos.push(i);
  return indexSelect(x.reshape([-1]), 0, wrap(Int32Array.from(pos), [pos.length], 'int32'));
}

function triangle(x: Tensor, diagonal: number, lower: boolean, op: string): Tensor {
  if (x.ndim < 2)
    throw new Error(`${op}: input tensor must have at least 2 dimensions, got shape ${fmtShape(x.shape)}`);
  const R = x.shape[x.ndim - 2],
    C = x.shape[x.ndim - 1];
  const m = new Uint8Array(R * C);
  for (let i = 0; i < R; i++)
    for (let j = 0; j < C; j++) m[i * C + j] = (lower ? j - i <= diagonal : j - i >= diagonal) ? 1 : 0;
  // the zero is x's dtype, so bool and int32 inputs keep their dtype
  return where(wrap(m, [R, C], 'bool'), x, asTensor(0, x.dtype));
}

export const tril = (x: Tensor, diagonal = 0) => triangle(x, diagonal, true, 'tril');
export const triu = (x: Tensor, diagonal = 0) => triangle(x, diagonal, false, 'triu');

/** Stable sort along dim; values carry gradient (a gather of x). */
export function sort(x: Tensor, dim = -1, descending = false): ValuesIndices {
  if (x.ndim === 0) return new ValuesIndices(x.clone(), wrap(new Int32Array(1), [], 'int32'));
  const d = normDim(dim, x.ndim, 'sort');
  const w = widen(x);
  const r = be(w).sort(dataOf(w, 'sort'), w.layout, d, descending);
  const indices = wrap(r.indices, x.shape, 'int32');
  const values = x.requiresGrad || w !== x ? gather(x, d, indices) : wrap(r.values, x.shape, x.dtype);
  return new ValuesIndices(values, indices);
}

export function topk(x: Tensor, k: number, dim = -1, largest = true, _sorted = true): ValuesIndices {
  const d = normDim(dim, x.ndim, 'topk');
  const n = x.ndim ? x.shape[d] : 1;
  if (!Number.isInteger(k) || k < 0 || k > n)
    throw new Error(`topk: k (${k}) is out of range for dimension ${dim} of size ${n} (shape ${fmtShape(x.shape)})`);
  const s = sort(x, d, largest);
  const indices = x.ndim ? s.indices.narrow(d, 0, k).contiguous() : s.indices;
  return new ValuesIndices(x.ndim ? gather(x, d, indices) : s.values, indices);
}

/** The k-th smallest value (k from 1) along dim and its index, as torch.kthvalue; values carry gradient. */
export function kthvalue(x: Tensor, k: number, dim = -1, keepdim = false): ValuesIndices {
  const d = normDim(dim, x.ndim, 'kthvalue');
  const n = x.ndim ? x.shape[d] : 1;
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new Error(
      `kthvalue(): selected number k (${k}) out of range for dimension ${dim} of size ${n} ` +
        `(shape ${fmtShape(x.shape)})`,
    );
  }
  if (x.ndim === 0) return new ValuesIndices(x.clone(), wrap(new Int32Array(1), [], 'int32'));
  const idx = sort(x, d)
    .indices.narrow(d, k - 1, 1)
    .contiguous();
  const values = gather(x, d, idx);
  return keepdim ? new ValuesIndices(values, idx) : new ValuesIndices(values.squeeze(d), idx.squeeze(d));
}

/**
 * The most frequent value along dim (the smallest of those tied) and the index of its last occurrence,
 * as torch.mode; values carry gradient to that element.
 */
export function mode(x: Tensor, dim = -1, keepdim = false): ValuesIndices {
  if (x.ndim === 0) return new ValuesIndices(x.clone(), wrap(new Int32Array(1), [], 'int32'));
  const d = normDim(dim, x.ndim, 'mode');
  const n = x.shape[d];
  if (n === 0) {
    throw new Error(`mode(): Expected reduction dim ${d} to have non-zero size (input shape ${fmtShape(x.shape)})`);
  }
  // rows of the dim, last: (R, n)
  const order = [...x.shape.keys()].filter((k) => k !== d);
  const v = x
    .detach()
    .permute([...order, d])
    .contiguous()
    .toTypedArray();
  const rows = v.length / n;
  const idx = new Int32Array(rows);
  const pos = Array.from({ length: n }, (_, i) => i);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    pos.sort((i, j) => (v[o + i] < v[o + j] ? -1 : v[o + i] > v[o + j] ? 1 : i - j));
    let best = -1,
      bestCount = 0;
    for (let a = 0; a < n; ) {
      let b = a + 1;
      while (b < n && v[o + pos[b]] === v[o + pos[a]]) b++;
      if (b - a > bestCount) {
        bestCount = b - a;
        best = pos[b - 1];
      }
      a = b;
    }
    idx[r] = best;
  }
  const kept = x.shape.map((s, k) => (k === d ? 1 : s));
  const index = wrap(idx, [...order.map((k) => x.shape[k]), 1], 'int32')
    .permute([...kept.keys()].map((k) => (k === d ? order.length : order.indexOf(k))))
    .contiguous();
  const values = gather(x, d, index);
  return keepdim ? new ValuesIndices(values, index) : new ValuesIndices(values.squeeze(d), index.squeeze(d));
}

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/** Pads the last dims: pad = [left, right] for the last dim, then [top, bottom] for the one before, ... */
export function pad(x: Tensor, padding: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  if (padding.length % 2 !== 0 || padding.length / 2 > x.ndim) {
    throw new Error(
      `pad: padding length must be even and at most 2*ndim (got ${padding.length} for shape ${fmtShape(x.shape)})`,
    );
  }
  let out = x;
  for (let i = 0; i < padding.length / 2; i++) {
    const d = x.ndim - 1 - i;
    const lo = padding[2 * i],
      hi = padding[2 * i + 1];
    if (lo === 0 && hi === 0) continue;
    const n = out.shape[d];
    if (mode === 'constant') {
      if (lo < 0 || hi < 0) {
        out = out.narrow(d, Math.max(0, -lo), n + Math.min(0, lo) + Math.min(0, hi));
        if (lo >= 0 && hi >= 0) continue;
      }
      const parts: Tensor[] = [];
      const block = (len: number) => {
        const shape = [...out.shape];
        shape[d] = len;
        const data = allocate(out.dtype, numel(shape));
        data.fill(value);
        // the padding is made on the host: it joins x on x's device (a no-op on the CPU)
        return wrap(data, shape, out.dtype).to(out.device);
      };
      if (lo > 0) parts.push(block(lo));
      parts.push(out);
      if (hi > 0) parts.push(block(hi));
      out = cat(parts, d);
      continue;
    }
    if (mode === 'reflect' && (lo >= n || hi >= n)) {
      throw new Error(
        `pad: padding size should be less than the corresponding input dimension, but got padding (${lo}, ${hi}) at ` +
          `dimension ${d} of input ${fmtShape(x.shape)}`,
      );
    }
    const idx = new Int32Array(n + lo + hi);
    for (let j = 0; j < idx.length; j++) {
      const p = j - lo;
      idx[j] =
        mode === 'reflect'
          ? p < 0
            ? -p
            : p >= n
              ? 2 * (n - 1) - p
              : p
          : mode === 'replicate'
            ? Math.min(Math.max(p, 0), n - 1)
            : ((p % n) + n) % n;
    }
    out = indexSelect(out, d, wrap(idx, [idx.length], 'int32'));
  }
  return out;
}

/** int32 one-hot encoding: (*) -> (*, numClasses). */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  indices = int32Indices(indices, 'oneHot');
  if (indices.dtype !== 'int32')
    throw new Error(`oneHot: expected an int32 tensor of class indices, got ${indices.dtype}`);
  const v = indices.toTypedArray();
  let n = numClasses;
  if (n < 0) {
    n = 0;
    for (const c of v) n = Math.max(n, c + 1);
  }
  const out = new Int32Array(v.length * n);
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] >= n) throw new Error(`oneHot: class values must be in [0, ${n}), got ${v[i]}`);
    out[i * n + v[i]] = 1;
  }
  return wrap(out, [...indices.shape, n], 'int32');
}

/** An int32 index tensor with negatives counted from the end (NumPy/torch advanced indexing), range-checked. */
function wrapNegative(it: Tensor, size: number, d: number): Tensor {
  const v = checkIndexType(it);
  if (!v.some((x) => x < 0)) return it;
  const w = v.map((x) => {
    if (x < -size) throw new Error(`index: index ${x} is out of bounds for dimension ${d} with size ${size}`);
    return x < 0 ? x + size : x;
  });
  return wrap(w, [...it.shape], 'int32');
}

function checkIndexType(it: Tensor): Int32Array {
  it = int32Indices(it, 'index');
  if (it.dtype !== 'int32') {
    throw new Error(`index: expected an int32 or bool index tensor, got ${it.dtype} of shape ${fmtShape(it.shape)}`);
  }
  return it.toTypedArray() as Int32Array;
}

/** NumPy-style indexing: t.index(0, [1, null], null, '...', idxTensor). */
export function index(x: Tensor, items: IndexItem[]): Tensor {
  const ell = items.filter((i) => i === '...').length;
  if (ell > 1) throw new Error('index: an index can only have a single ellipsis (...)');
  const consumed = items.filter((i) => i !== null && i !== '...').length;
  if (consumed > x.ndim) throw new Error(`index: too many indices for tensor of dimension ${x.ndim} (got ${consumed})`);
  let out = x,
    d = 0;
  for (const it of items) {
    if (it === '...') {
      d += x.ndim - consumed;
      continue;
    }
    if (it === null) {
      out = out.unsqueeze(d);
      d++;
      continue;
    }
    if (typeof it === 'number') {
      out = out.select(d, it);
      continue;
    }
    if (it instanceof Tensor) {
      if (it.dtype === 'bool') {
        if (items.length !== 1) throw new Error('index: a bool mask index must be the only index');
        return maskedSelect(out, it);
      }
      const ix = wrapNegative(it, out.ndim ? out.shape[d] : 1, d);
      if (ix.ndim !== 1) {
        const flat = indexSelect(out, d, ix.reshape([-1]));
        out = flat.unflatten(d, [...ix.shape]);
        d += ix.ndim;
        continue;
      }
      out = indexSelect(out, d, ix);
      d++;
      continue;
    }
    if (Array.isArray(it)) {
      out = out.slice(d, it[0], it[1], it[2] ?? 1);
      d++;
      continue;
    }
    throw new Error(`index: unsupported index item ${String(it)}`);
  }
  return out;
}
