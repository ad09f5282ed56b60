// Layout: shape + strides + offset (in elements). Views are new layouts over the same storage, so
// transpose, slice, expand and friends never copy. Every kernel receives the layout of each input.

export type Shape = readonly number[];

export class Layout {
  constructor(
    readonly shape: Shape,
    readonly strides: readonly number[],
    readonly offset: number = 0,
  ) {}

  static contiguous(shape: Shape, offset = 0): Layout {
    return new Layout(shape.slice(), contiguousStrides(shape), offset);
  }

  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return numel(this.shape);
  }

  /** Row-major contiguous, starting anywhere. Size-1 dims may carry any stride. */
  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      const n = this.shape[i];
      if (n === 1) continue;
      if (this.strides[i] !== expected) return false;
      expected *= n;
    }
    return true;
  }

  /** The largest storage index this layout touches, plus one (0 for an empty tensor). */
  extent(): number {
    let hi = this.offset;
    for (let i = 0; i < this.shape.length; i++) {
      if (this.shape[i] === 0) return 0;
      if (this.strides[i] > 0) hi += (this.shape[i] - 1) * this.strides[i];
    }
    return hi + 1;
  }

  toString(): string {
    return `Layout(shape=[${this.shape}], strides=[${this.strides}], offset=${this.offset})`;
  }
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Storage index of every element of a layout, in row-major order. */
export function offsets(l: Layout): Float64Array {
  const n = l.numel;
  const out = new Float64Array(n);
  if (n === 0) return out;
  const nd = l.shape.length;
  if (nd === 0) {
    out[0] = l.offset;
    return out;
  }
  const idx = new Int32Array(nd);
  let p = l.offset;
  for (let i = 0; i < n; i++) {
    out[i] = p;
    for (let d = nd - 1; d >= 0; d--) {
      p += l.strides[d];
      if (++idx[d] < l.shape[d]) break;
      p -= l.strides[d] * l.shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

export function shapeEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function fmtShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

/** NumPy/PyTorch broadcasting of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(a: Shape, b: Shape, op = 'broadcast'): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together ` +
          `(size ${da} vs ${db} at dim ${i - n})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** A layout expanded (stride 0 on broadcast dims) to `shape`, which must be a broadcast of it. */
export function expandLayout(l: Layout, shape: Shape, op = 'expand'): Layout {
  const n = shape.length;
  if (l.shape.length > n) {
    throw new Error(`${op}: cannot expand shape ${fmtShape(l.shape)} to ${fmtShape(shape)}`);
  }
  const strides = new Array<number>(n);
  const lead = n - l.shape.length;
  for (let i = 0; i < n; i++) {
    if (i < lead) {
      strides[i] = 0;
      continue;
    }
    const d = l.shape[i - lead];
    if (d === shape[i]) strides[i] = l.strides[i - lead];
    else if (d === 1) strides[i] = 0;
    else {
      throw new Error(
        `${op}: cannot expand shape ${fmtShape(l.shape)} to ${fmtShape(shape)} ` +
          `(size ${d} at dim ${i - lead} must be 1 or ${shape[i]})`,
      );
    }
  }
  return new Layout(shape.slice(), strides, l.offset);
}

/** Normalises a possibly negative dim; throws like PyTorch's "Dimension out of range". */
export function normDim(dim: number, ndim: number, op: string): number {
  const n = Math.max(ndim, 1);
  if (!Number.isInteger(dim) || dim < -n || dim >= n) {
    throw new Error(`${op}: dimension out of range (expected to be in range of [${-n}, ${n - 1}], but got ${dim})`);
  }
  return dim < 0 ? dim + n : dim;
}

export function checkShape(shape: Shape, op: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${op}: invalid shape ${fmtShape(shape)}: sizes must be non-negative integers`);
    }
  }
}
