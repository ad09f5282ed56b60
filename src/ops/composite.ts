// Tensor functions a PyTorch user expects, composed of other ops (so autograd gives the gradients):
// roll, meshgrid, lerp, isclose/allclose, and unique (a JS pass over the values; not differentiable).

import { type DType, isFloating } from '../tensor/dtype.js';
import { fmtShape, normDim } from '../tensor/layout.js';
import { Tensor, type TensorLike } from '../tensor/tensor.js';
import { add, eq, le, logicalAnd, logicalOr, lt, mul, sub } from './binary.js';
import { cat, expand, permute, reshape } from './movement.js';
import { abs, isnan } from './unary.js';
import { wrap } from './util.js';

/**
 * Rolls x along dims by shifts (elements pushed past the end come back at the start), as torch.roll.
 * Without dims, x is flattened, rolled and reshaped back.
 *   nb.roll(nb.arange(5), 2)            // [3, 4, 0, 1, 2]
 *   x.roll([1, -1], [0, 1])
 */
export function roll(x: Tensor, shifts: number | readonly number[], dims?: number | readonly number[] | null): Tensor {
  const sh = typeof shifts === 'number' ? [shifts] : [...shifts];
  if (dims === undefined || dims === null || (Array.isArray(dims) && dims.length === 0)) {
    if (sh.length !== 1)
      throw new Error(`roll: shifts must be a single number when dims is not given, got [${sh.join(', ')}]`);
    return roll(x.reshape([-1]), sh[0], 0).reshape([...x.shape]);
  }
  const ds = typeof dims === 'number' ? [dims] : [...dims];
  if (sh.length !== ds.length) {
    throw new Error(`roll: shifts and dimensions must align. shifts: ${sh.length}, dims: ${ds.length}`);
  }
  let out = x;
  for (let i = 0; i < ds.length; i++) {
    if (!Number.isInteger(sh[i])) throw new Error(`roll: shifts must be integers, got ${sh[i]}`);
    const d = normDim(ds[i], x.ndim, 'roll');
    const n = x.ndim === 0 ? 1 : x.shape[d];
    if (x.ndim === 0 || n === 0) continue;
    const s = ((sh[i] % n) + n) % n;
    if (s === 0) continue;
    out = cat([out.narrow(d, n - s, s), out.narrow(d, 0, n - s)], d);
  }
  return out === x ? x.clone() : out;
}

export interface MeshgridOptions {
  indexing?: 'ij' | 'xy';
}

/**
 * Coordinate grids from 1-D (or 0-dim) tensors, as torch.meshgrid: with indexing 'ij' (the default)
 * output k has shape (n0, n1, ...) and varies along dim k; 'xy' swaps the first two dims (NumPy's
 * default). The outputs are expanded views, as in torch.
 *   const [gy, gx] = nb.meshgrid(nb.arange(3), nb.arange(4));          // each (3, 4)
 *   const [X, Y] = nb.meshgrid([x, y], { indexing: 'xy' });           // each (y.numel, x.numel)
 */
export function meshgrid(...args: (Tensor | readonly Tensor[] | MeshgridOptions)[]): Tensor[] {
  let opts: MeshgridOptions = {};
  const last = args[args.length - 1];
  if (args.length && !(last instanceof Tensor) && !Array.isArray(last)) opts = args.pop() as MeshgridOptions;
  const ts: Tensor[] = args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as Tensor[])] : (args as Tensor[]);
  const indexing = opts.indexing ?? 'ij';
  if (indexing !== 'ij' && indexing !== 'xy') {
    throw new Error(`meshgrid: indexing must be one of 'xy' or 'ij', but received: ${String(indexing)}`);
  }
  if (ts.length === 0) throw new Error('meshgrid: expects a non-empty list of tensors');
  ts.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`meshgrid: argument ${i} is not a Tensor (got ${typeof t})`);
    if (t.ndim > 1)
      throw new Error(
        `meshgrid: expected 0D or 1D tensor in the tensor list but got ${fmtShape(t.shape)} for tensor ${i}`,
      );
    if (t.dtype !== ts[0].dtype) {
      throw new Error(`meshgrid: expects all tensors to have the same dtype, got ${ts.map((u) => u.dtype).join(', ')}`);
    }
  });
  const swap = indexing === 'xy' && ts.length >= 2;
  // In 'xy' mode the first two inputs trade places in the grid's dim order.
  const order = ts.map((_, i) => (swap && i < 2 ? 1 - i : i));
  const shape = order.map((i) => ts[i].numel());
  return ts.map((t, i) => {
    const view = shape.map(() => 1);
    view[order.indexOf(i)] = t.numel();
    return expand(reshape(t, view), shape);
  });
}

/**
 * start + weight * (end - start), as torch.lerp; weight is a number or a tensor (all three broadcast).
 * Gradients: (1 - weight) to start, weight to end, (end - start) to a tensor weight.
 */
export function lerp(start: Tensor, end: Tensor, weight: TensorLike): Tensor {
  if (!(start instanceof Tensor) || !(end instanceof Tensor)) throw new Error('lerp: start and end must be Tensors');
  if (!isFloating(start.dtype)) throw new Error(`lerp: expected a floating point start tensor, got ${start.dtype}`);
  if (end.dtype !== start.dtype) {
    throw new Error(`lerp: expected dtype ${start.dtype} for \`end\` but got dtype ${end.dtype}`);
  }
  if (weight instanceof Tensor && weight.dtype !== start.dtype) {
    throw new Error(`lerp: expected dtype ${start.dtype} for \`weight\` but got dtype ${weight.dtype}`);
  }
  return add(start, mul(sub(end, start), weight));
}

export interface IscloseOptions {
  rtol?: number;
  atol?: number;
  equalNan?: boolean;
}

/**
 * |a - b| <= atol + rtol * |b| elementwise (a bool tensor), as torch.isclose: equal infinities are close,
 * NaNs are close to each other only with equalNan. Defaults rtol 1e-5, atol 1e-8.
 */
export function isclose(a: Tensor, b: TensorLike, opts: IscloseOptions = {}): Tensor {
  const { rtol = 1e-5, atol = 1e-8, equalNan = false } = opts;
  if (!(a instanceof Tensor)) throw new Error(`isclose: expected a Tensor, got ${typeof a}`);
  const bt = b instanceof Tensor ? b : wrapScalar(b, a.dtype);
  if (bt.dtype !== a.dtype) {
    throw new Error(`isclose: expected both tensors to have the same dtype, got ${a.dtype} and ${bt.dtype}`);
  }
  if (!(rtol >= 0)) throw new Error(`isclose: rtol must be greater than or equal to zero, but got ${rtol}`);
  if (!(atol >= 0)) throw new Error(`isclose: atol must be greater than or equal to zero, but got ${atol}`);
  const same = eq(a, bt);
  if (a.dtype === 'bool') return same;
  // NOTE: compare in float64 so int32 differences and the tolerance do not round.
  const af = a.detach().to('float64'),
    bf = bt.detach().to('float64');
  const diff = abs(sub(af, bf));
  // as torch: a non-finite difference (inf vs -inf, inf vs finite) is close only when equal
  let close = logicalOr(same, logicalAnd(lt(diff, Infinity), le(diff, add(mul(abs(bf), rtol), atol))));
  if (equalNan && isFloating(a.dtype)) close = logicalOr(close, logicalAnd(isnan(a), isnan(bt)));
  return close;
}

/** Whether every element of a is close to b (isclose, then all), as torch.allclose. */
export function allclose(a: Tensor, b: TensorLike, opts: IscloseOptions = {}): boolean {
  return isclose(a, b, opts).all().item() !== 0;
}

/** x with dim d moved to the front, and back. */
function toFront(x: Tensor, d: number): Tensor {
  return permute(x, [d, ...x.shape.map((_, k) => k).filter((k) => k !== d)]);
}
function fromFront(x: Tensor, d: number): Tensor {
  const order = x.shape.map((_, k) => (k < d ? k + 1 : k === d ? 0 : k));
  return permute(x, order);
}

function wrapScalar(v: number, dtype: DType): Tensor {
  const t = wrap(new Float64Array([v]), [], 'float64');
  return t.to(dtype);
}

export interface UniqueOptions {
  /** Results are always sorted ascending (torch's CPU unique sorts too; sorted=false is accepted). */
  sorted?: boolean;
  returnInverse?: boolean;
  returnCounts?: boolean;
  /** The dim whose slices are compared; null (default) flattens x first. */
  dim?: number | null;
}

/**
 * The distinct values (or, with dim, distinct slices along dim) of x in ascending order, as torch.unique.
 * With returnInverse / returnCounts it returns [output, inverse?, counts?] in that order (int32 indices).
 *   nb.unique(nb.tensor([3, 1, 3]))                                   // [1, 3]
 *   const [u, inv, cnt] = nb.unique(x, { returnInverse: true, returnCounts: true });
 * Not differentiable (as in torch). NaNs are all distinct and sort last.
 */
export function unique(
  x: Tensor,
  opts: UniqueOptions & { returnInverse: true; returnCounts: true },
): [Tensor, Tensor, Tensor];
export function unique(
  x: Tensor,
  opts: UniqueOptions & { returnInverse: true; returnCounts?: false },
): [Tensor, Tensor];
export function unique(
  x: Tensor,
  opts: UniqueOptions & { returnInverse?: false; returnCounts: true },
): [Tensor, Tensor];
export function unique(x: Tensor, opts?: UniqueOptions & { returnInverse?: false; returnCounts?: false }): Tensor;
export function unique(x: Tensor, opts?: UniqueOptions): Tensor | Tensor[];
export function unique(x: Tensor, opts: UniqueOptions = {}): Tensor | Tensor[] {
  if (!(x instanceof Tensor)) throw new Error(`unique: expected a Tensor, got ${typeof x}`);
  const dim = opts.dim ?? null;
  const src = dim === null ? x.detach().reshape([-1]) : x.detach();
  const d = dim === null ? 0 : normDim(dim, x.ndim, 'unique');
  if (dim !== null && x.ndim === 0) throw new Error('unique: dim given but the input is 0-dimensional');
  // Slices along d, each flattened: (n, rest).
  const moved = src.ndim === 0 ? src.reshape([1, 1]) : toFront(src, d);
  const n = moved.shape[0];
  const rest = n === 0 ? 0 : moved.numel() / n;
  if (dim !== null && n > 0 && rest === 0 && x.numel() === 0) {
    throw new Error(
      `unique: the dim ${dim} has size ${n} but the slices along it are empty (shape ${fmtShape(x.shape)})`,
    );
  }
  const v = moved.reshape([n, rest]).toTypedArray();
  const cmp = (i: number, j: number): number => {
    for (let k = 0; k < rest; k++) {
      const p = v[i * rest + k],
        q = v[j * rest + k];
      if (p !== q) {
        if (p !== p) return q !== q ? i - j : 1; // NaN sorts last; NaN != NaN, so each NaN stays distinct
        if (q !== q) return -1;
        return p < q ? -1 : 1;
      }
    }
    return 0;
  };
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => cmp(i, j) || i - j);
  const firsts: number[] = [];
  const inverse = new Int32Array(n);
  const counts: number[] = [];
  for (let r = 0; r < n; r++) {
    const i = order[r];
    if (r === 0 || cmp(order[r - 1], i) !== 0) {
      firsts.push(i);
      counts.push(0);
    }
    inverse[i] = firsts.length - 1;
    counts[counts.length - 1]++;
  }
  const idx = wrap(Int32Array.from(firsts), [firsts.length], 'int32');
  let output = moved.reshape([n, rest]).indexSelect(0, idx);
  if (dim === null) output = output.reshape([-1]);
  else {
    const shape = [...x.shape];
    shape[d] = firsts.length;
    const movedShape = [shape[d], ...shape.filter((_, k) => k !== d)];
    output = fromFront(output.reshape(movedShape), d);
  }
  const res = [output.contiguous()];
  if (opts.returnInverse) res.push(wrap(inverse, dim === null ? [...x.shape] : [n], 'int32'));
  if (opts.returnCounts) res.push(wrap(Int32Array.from(counts), [counts.length], 'int32'));
  return res.length === 1 ? res[0] : res;
}
