// Views and shape ops. Views (view, permute, transpose, expand, squeeze, unsqueeze, narrow, select,
// slice) share storage and only make a new layout; reshape copies only when it must.
// Joins (cat, stack) and flip/repeat copy.

import { Layout, type Shape, checkShape, expandLayout, fmtShape, normDim, numel } from '../tensor/layout.js';
import { isKernelDtype, promoteTypes } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { be, dataOf, needsGrad, record, scalar, sumTo, viewOf, wrap, zerosOn } from './util.js';
import { noGrad } from '../autograd/grad_mode.js';
import { castData } from './unary.js';

export function normDimOf(x: Tensor, dim: number, op: string): number {
  return normDim(dim, x.ndim, op);
}

/** Accepts view(2, 3), view([2, 3]) and view(...[2, 3]). */
export function flatShapeArgs(args: (number | readonly number[])[]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return [...(args[0] as number[])];
  return args as number[];
}

/** Resolves a single -1 and checks the element count. */
function inferShape(x: Tensor, shape: Shape, op: string): number[] {
  const out = [...shape];
  let infer = -1,
    known = 1;
  for (let i = 0; i < out.length; i++) {
    if (out[i] === -1) {
      if (infer >= 0) throw new Error(`${op}: only one dimension can be inferred (shape ${fmtShape(shape)})`);
      infer = i;
    } else {
      if (!Number.isInteger(out[i]) || out[i] < 0)
        throw new Error(`${op}: invalid shape dimension ${out[i]} in ${fmtShape(shape)}`);
      known *= out[i];
    }
  }
  const n = x.numel();
  if (infer >= 0) {
    if (known === 0 || n % known !== 0)
      throw new Error(`${op}: shape ${fmtShape(shape)} is invalid for input of size ${n}`);
    out[infer] = n / known;
  } else if (known !== n) {
    throw new Error(
      `${op}: shape ${fmtShape(shape)} is invalid for input of size ${n} (input shape ${fmtShape(x.shape)})`,
    );
  }
  return out;
}

/** Strides for viewing layout l as `shape` without copying, or null (PyTorch's computeStride). */
function viewStrides(l: Layout, shape: number[]): number[] | null {
  if (l.isContiguous()) {
    const s = Layout.contiguous(shape).strides;
    return [...s];
  }
  // Group old dims into chunks that are contiguous among themselves, then split new dims over them.
  const oldShape = l.shape,
    oldStrides = l.strides;
  const newStrides = new Array<number>(shape.length);
  let viewD = shape.length - 1;
  let chunkBase = oldStrides[oldStrides.length - 1];
  let tensorNumel = 1,
    viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d];
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBase;
        viewNumel *= shape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = oldStrides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return newStrides;
}

export function view(x: Tensor, shape: Shape): Tensor {
  const s = inferShape(x, shape, 'view');
  const strides = viewStrides(x.layout, s);
  if (!strides) {
    throw new Error(
      `view: view size is not compatible with input tensor's size and stride (input shape ` +
        `${fmtShape(x.shape)}, strides ${fmtShape(x.stride())}, requested ${fmtShape(s)}); use .reshape(...) instead`,
    );
  }
  const out = viewOf(x, new Layout(s, strides, x.layout.offset), 'view');
  return record(out, 'ViewBackward', [x], (g) => [g.reshape([...x.shape])]);
}

export function reshape(x: Tensor, shape: Shape): Tensor {
  const s = inferShape(x, shape, 'reshape');
  if (viewStrides(x.layout, s)) return view(x, s);
  return view(contiguous(x), s);
}

export function contiguous(x: Tensor): Tensor {
  // NOTE: checked even when x is returned as is: the caller goes on to read it.
  const data = dataOf(x, 'contiguous', true);
  if (x.layout.isContiguous()) return x;
  const out = wrap(be(x).copy(data, x.layout, x.dtype), x.shape, x.dtype);
  return record(out, 'ContiguousBackward', [x], (g) => [g]);
}

export function permute(x: Tensor, order: readonly number[]): Tensor {
  if (order.length !== x.ndim) {
    throw new Error(`permute: number of dims don't match (input has ${x.ndim} dims, permutation ${fmtShape(order)})`);
  }
  const p = order.map((d) => normDim(d, x.ndim, 'permute'));
  if (new Set(p).size !== p.length) throw new Error(`permute: repeated dim in permutation ${fmtShape(order)}`);
  const l = x.layout;
  const out = viewOf(
    x,
    new Layout(
      p.map((d) => l.shape[d]),
      p.map((d) => l.strides[d]),
      l.offset,
    ),
    'permute',
  );
  const inv = new Array<number>(p.length);
  p.forEach((d, i) => {
    inv[d] = i;
  });
  return record(out, 'PermuteBackward', [x], (g) => [g.permute(inv)]);
}

export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  if (x.ndim === 0) return x;
  const a = normDim(d0, x.ndim, 'transpose'),
    b = normDim(d1, x.ndim, 'transpose');
  const order = [...Array(x.ndim).keys()];
  order[a] = b;
  order[b] = a;
  return permute(x, order);
}

/** 2-D transpose; 0-D and 1-D tensors are returned as is (torch.t). */
export function t(x: Tensor): Tensor {
  if (x.ndim > 2) throw new Error(`t: expects a tensor with <= 2 dimensions, but self is ${x.ndim}D`);
  return x.ndim < 2 ? x : transpose(x, 0, 1);
}

export function expand(x: Tensor, shape: Shape): Tensor {
  const s = [...shape];
  const lead = s.length - x.ndim;
  if (lead < 0)
    throw new Error(
      `expand: the number of sizes provided (${s.length}) must be greater or equal to the number of dimensions in ` +
        `the tensor (${x.ndim})`,
    );
  for (let i = 0; i < s.length; i++)
    if (s[i] === -1) {
      if (i < lead)
        throw new Error(`expand: -1 is not allowed in a leading, non-existing dimension (shape ${fmtShape(shape)})`);
      s[i] = x.shape[i - lead];
    }
  checkShape(s, 'expand');
  const out = viewOf(x, expandLayout(x.layout, s, 'expand'), 'expand');
  return record(out, 'ExpandBackward', [x], (g) => [sumTo(g, x.shape)]);
}

export function squeeze(x: Tensor, dim?: number | number[]): Tensor {
  let drop: number[];
  if (dim === undefined) drop = x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
  else
    drop = (typeof dim === 'number' ? [dim] : dim)
      .map((d) => normDim(d, x.ndim, 'squeeze'))
      .filter((d) => x.shape[d] === 1);
  if (drop.length === 0) return view(x, x.shape);
  const l = x.layout;
  const keep = (_: number, i: number) => !drop.includes(i);
  const out = viewOf(x, new Layout(l.shape.filter(keep), l.strides.filter(keep), l.offset), 'squeeze');
  return record(out, 'SqueezeBackward', [x], (g) => [g.reshape([...x.shape])]);
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim(dim, x.ndim + 1, 'unsqueeze');
  const l = x.layout;
  const shape = [...l.shape],
    strides = [...l.strides];
  const st = d < l.shape.length ? l.strides[d] * l.shape[d] : 1;
  shape.splice(d, 0, 1);
  strides.splice(d, 0, st);
  const out = viewOf(x, new Layout(shape, strides, l.offset), 'unsqueeze');
  return record(out, 'UnsqueezeBackward', [x], (g) => [g.squeeze(d)]);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const a = normDim(startDim, x.ndim, 'flatten'),
    b = normDim(endDim, x.ndim, 'flatten');
  if (a > b) throw new Error(`flatten: start_dim (${startDim}) cannot come after end_dim (${endDim})`);
  const shape = [...x.shape.slice(0, a), numel(x.shape.slice(a, b + 1)), ...x.shape.slice(b + 1)];
  return reshape(x, shape);
}

export function unflatten(x: Tensor, dim: number, sizes: Shape): Tensor {
  const d = normDim(dim, x.ndim, 'unflatten');
  const shape = [...x.shape.slice(0, d), ...sizes, ...x.shape.slice(d + 1)];
  const known = sizes.filter((s) => s !== -1).reduce((p, q) => p * q, 1);
  if (!sizes.includes(-1) && known !== x.shape[d]) {
    throw new Error(
      `unflatten: provided sizes ${fmtShape(sizes)} don't multiply up to the size of dim ${dim} (${x.shape[d]}) in ` +
        `the input tensor`,
    );
  }
  return reshape(x, shape);
}

/** Elements start, start+step, ... < end along dim (a view). Python-style negative start/end. */
export function slice(x: Tensor, dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
  const d = normDim(dim, x.ndim, 'slice');
  if (!Number.isInteger(step) || step <= 0) throw new Error(`slice: step must be a positive integer, got ${step}`);
  const n = x.shape[d];
  let s = start ?? 0,
    e = end ?? n;
  if (s < 0) s += n;
  if (e < 0) e += n;
  s = Math.min(Math.max(s, 0), n);
  e = Math.min(Math.max(e, s), n);
  const len = Math.ceil((e - s) / step);
  const l = x.layout;
  const shape = [...l.shape],
    strides = [...l.strides];
  shape[d] = len;
  strides[d] = l.strides[d] * step;
  const out = viewOf(x, new Layout(shape, strides, l.offset + s * l.strides[d]), 'slice');
  return record(out, 'SliceBackward', [x], (g) => [sliceBackward(g, x.shape, d, s, step)]);
}

/** The adjoint of slice: g placed into zeros of the input's shape. Differentiable (its backward is slice). */
function sliceBackward(g: Tensor, shape: readonly number[], d: number, start: number, step: number): Tensor {
  const data = zerosOn(g, g.dtype, numel(shape));
  const out = wrap(data, shape, g.dtype);
  const tl = out.layout;
  const s2 = [...tl.shape],
    st2 = [...tl.strides];
  s2[d] = g.shape[d];
  st2[d] = tl.strides[d] * step;
  be(out, g).assign(data, new Layout(s2, st2, start * tl.strides[d]), dataOf(g, 'slice backward', true), g.layout);
  return record(out, 'SliceBackwardBackward', [g], (gg) => [
    slice(gg, d, start, start + step * (g.shape[d] - 1) + 1, step),
  ]);
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim(dim, x.ndim, 'narrow');
  const n = x.shape[d];
  const s = start < 0 ? start + n : start;
  if (s < 0 || length < 0 || s + length > n) {
    throw new Error(
      `narrow: start (${start}) + length (${length}) exceeds dimension size (${n}) of dim ${dim} in shape ` +
        `${fmtShape(x.shape)}`,
    );
  }
  return slice(x, d, s, s + length);
}

export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normDim(dim, x.ndim, 'select');
  const n = x.shape[d];
  if (!Number.isInteger(index) || index < -n || index >= n) {
    throw new Error(
      `select: index ${index} is out of bounds for dimension ${dim} with size ${n} (shape ${fmtShape(x.shape)})`,
    );
  }
  const i = index < 0 ? index + n : index;
  return squeeze(slice(x, d, i, i + 1), d);
}

export function split(x: Tensor, sizeOrSections: number | number[], dim = 0): Tensor[] {
  const d = normDim(dim, x.ndim, 'split');
  const n = x.shape[d];
  let sizes: number[];
  if (typeof sizeOrSections === 'number') {
    if (!(sizeOrSections > 0)) throw new Error(`split: split_size must be positive, got ${sizeOrSections}`);
    sizes = [];
    for (let s = 0; s < n; s += sizeOrSections) sizes.push(Math.min(sizeOrSections, n - s));
    if (n === 0) sizes = [0];
  } else {
    sizes = sizeOrSections;
    const total = sizes.reduce((p, q) => p + q, 0);
    if (total !== n)
      throw new Error(
        `split: split_with_sizes expects split_sizes to sum exactly to ${n} (dim ${dim} of ${fmtShape(x.shape)}), ` +
          `but got ${fmtShape(sizes)}`,
      );
  }
  const pieces = noGrad(() => {
    const out: Tensor[] = [];
    let s = 0;
    for (const len of sizes) {
      out.push(narrow(x, d, s, len));
      s += len;
    }
    return out;
  });
  return gathered(x, pieces, 'SplitBackward', (gs) => cat(gs, d));
}

export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0)
    throw new Error(`chunk: chunks must be a positive integer, got ${chunks}`);
  const d = normDim(dim, x.ndim, 'chunk');
  return split(x, Math.max(1, Math.ceil(x.shape[d] / chunks)), d);
}

export function unbind(x: Tensor, dim = 0): Tensor[] {
  const d = normDim(dim, x.ndim, 'unbind');
  const pieces = noGrad(() => Array.from({ length: x.shape[d] }, (_, i) => select(x, d, i)));
  return gathered(x, pieces, 'UnbindBackward', (gs) => stack(gs, d));
}

/**
 * Gives views of x's pieces one shared backward node, as PyTorch's multi-output SplitBackward and
 * UnbindBackward: each piece's backward only files its gradient, and the shared node assembles x's gradient
 * once. Selecting T pieces one by one would cost T full-size zero tensors in backward (T² for an RNN's steps).
 * NOTE: graph nodes here have one output, so each piece hands the shared node a 0-d zero (which the engine
 * sums and counts as that node's gradient) and the real gradients travel through `got`. Pieces no gradient
 * reached are zeros. The shared node runs after every piece that the backward reaches, as the engine orders
 * nodes by their consumers.
 */
function gathered(x: Tensor, pieces: Tensor[], name: string, assemble: (gs: Tensor[]) => Tensor): Tensor[] {
  if (!needsGrad(x)) return pieces;
  const got: (Tensor | null)[] = pieces.map(() => null);
  const hub = record(viewOf(x, x.layout, name), name, [x], () => {
    const gs = got.map((g, i) => g ?? wrap(zerosOn(x, x.dtype, pieces[i].numel()), pieces[i].shape, x.dtype));
    got.fill(null);
    return [assemble(gs)];
  });
  return pieces.map((p, i) =>
    record(p, name, [hub], (g) => {
      got[i] = got[i] ? got[i]!.add(g) : g;
      return [scalar(0, g.dtype)];
    }),
  );
}

/** Concatenates along dim; every other dim must match. Inputs are promoted to a common dtype. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('cat: expected a non-empty list of Tensors');
  // NOTE: 1-D empty tensors are skipped, as PyTorch's legacy behaviour allows.
  const ts = tensors.filter((t) => !(t.ndim === 1 && t.shape[0] === 0));
  if (ts.length === 0) return tensors[0];
  const ref = ts[0];
  const d = normDim(dim, ref.ndim, 'cat');
  const dtype = ts.map((t) => t.dtype).reduce(promoteTypes);
  let total = 0;
  ts.forEach((t, i) => {
    if (t.ndim !== ref.ndim || t.shape.some((s: number, j: number) => j !== d && s !== ref.shape[j])) {
      throw new Error(
        `cat: sizes of tensors must match except in dimension ${d}: expected ${fmtShape(ref.shape)} but got ` +
          `${fmtShape(t.shape)} for tensor number ${i} in the list`,
      );
    }
    total += t.shape[d];
  });
  const shape = [...ref.shape];
  shape[d] = total;
  const data = zerosOn(ref, dtype, numel(shape));
  const out = wrap(data, shape, dtype);
  let off = 0;
  for (const t of ts) {
    const part = out.layout;
    const s2 = [...shape];
    s2[d] = t.shape[d];
    // NOTE: a storage dtype is converted by a cast, not by the assign kernel (which moves its bits)
    const tc = t.dtype === dtype || (isKernelDtype(t.dtype) && isKernelDtype(dtype)) ? t : castData(t, dtype);
    be(out, tc).assign(data, new Layout(s2, part.strides, off * part.strides[d]), dataOf(tc, 'cat', true), tc.layout);
    off += t.shape[d];
  }
  return record(out, 'CatBackward', ts, (g) => {
    let o = 0;
    // each input gets its slice back in its own dtype (cat promoted them)
    return ts.map((t) => {
      const r = narrow(g, d, o, t.shape[d]);
      o += t.shape[d];
      return r.dtype === t.dtype ? r : r.to(t.dtype);
    });
  });
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('stack: expected a non-empty list of Tensors');
  const ref = tensors[0];
  tensors.forEach((t, i) => {
    if (t.ndim !== ref.ndim || t.shape.some((s: number, j: number) => s !== ref.shape[j])) {
      throw new Error(
        `stack: expects each tensor to be equal size, but got ${fmtShape(ref.shape)} at entry 0 and ` +
          `${fmtShape(t.shape)} at entry ${i}`,
      );
    }
  });
  const d = normDim(dim, ref.ndim + 1, 'stack');
  return cat(
    tensors.map((t) => unsqueeze(t, d)),
    d,
  );
}

/** Reverses the order of elements along dims (a copy, as in PyTorch). */
export function flip(x: Tensor, dimsList: number[]): Tensor {
  const ds = dimsList.map((d) => normDim(d, x.ndim, 'flip'));
  const l = x.layout;
  let offset = l.offset;
  const strides = [...l.strides];
  for (const d of ds) {
    if (l.shape[d] > 0) offset += (l.shape[d] - 1) * l.strides[d];
    strides[d] = -strides[d];
  }
  const src = new Layout(l.shape, strides, offset);
  const out = wrap(be(x).copy(dataOf(x, 'flip', true), src, x.dtype), x.shape, x.dtype);
  return record(out, 'FlipBackward', [x], (g) => [flip(g, ds)]);
}

/** Tiles the tensor (torch.Tensor.repeat). */
export function repeat(x: Tensor, sizes: number[]): Tensor {
  if (sizes.length < x.ndim)
    throw new Error(
      `repeat: number of repeat dims (${sizes.length}) can not be smaller than number of dimensions of tensor ` +
        `(${x.ndim})`,
    );
  const lead = sizes.length - x.ndim;
  const xs = [...Array(lead).fill(1), ...x.shape];
  // (s0, x0, s1, x1, ...) expanded then reshaped to (s0*x0, s1*x1, ...)
  const inter: number[] = [],
    expanded: number[] = [];
  xs.forEach((d, i) => {
    inter.push(1, d);
    expanded.push(sizes[i], d);
  });
  return reshape(
    expand(reshape(x, inter), expanded),
    xs.map((d, i) => d * sizes[i]),
  );
}
