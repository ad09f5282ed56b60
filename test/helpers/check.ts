// Forward + backward checks for ops (tinygrad's helper_test_op, adapted): random float64 inputs in a
// chosen layout (contiguous, transposed view, strided slice), an optional scalar reference for
// elementwise forwards, then nb.autograd.gradcheck (and gradgradcheck) on every input.
import assert from 'node:assert/strict';
import * as nb from '../../src/index.js';
import { Generator } from '../../src/tensor/random.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose, type Tol } from './assert.js';

export type LayoutKind = 'contiguous' | 'transposed' | 'sliced';

export interface InputSpec {
  shape: number[];
  /** Values are uniform in [lo, hi) (default [-2, 2)). */
  lo?: number;
  hi?: number;
  /** Kinks to keep at least `margin` (0.1) away from, e.g. [0] for relu/abs. */
  avoid?: number[];
  margin?: number;
  layout?: LayoutKind;
  requiresGrad?: boolean;
  dtype?: nb.DType;
}

/**
 * A leaf tensor of spec.shape. 'transposed' stores the last two dims swapped and returns the .mT view,
 * 'sliced' stores twice the last dim and returns every second element; both are non-contiguous leaves.
 */
export function makeInput(gen: Generator, spec: InputSpec): Tensor {
  const { shape, lo = -2, hi = 2, avoid = [], margin = 0.1, dtype = 'float64' } = spec;
  let layout = spec.layout ?? 'contiguous';
  if (layout === 'transposed' && shape.length < 2) layout = 'sliced';
  if (layout === 'sliced' && shape.length < 1) layout = 'contiguous';
  const store = [...shape];
  if (layout === 'transposed') {
    const n = store.length;
    [store[n - 2], store[n - 1]] = [store[n - 1], store[n - 2]];
  }
  if (layout === 'sliced') store[store.length - 1] *= 2;
  const size = store.reduce((p, q) => p * q, 1);
  const data = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    let v: number;
    do {
      v = lo + (hi - lo) * gen.random();
    } while (avoid.some((k) => Math.abs(v - k) < margin));
    data[i] = v;
  }
  let t = nb.tensor(data, { shape: store, dtype });
  if (layout === 'transposed') t = t.mT;
  if (layout === 'sliced') t = t.slice(-1, 0, null, 2);
  if (spec.requiresGrad !== false && (dtype === 'float64' || dtype === 'float32')) t.requiresGrad_(true);
  return t;
}

/** Expected output of an elementwise op: f applied over the broadcast of the inputs' values. */
export function elementwiseRef(inputs: Tensor[], f: (...v: number[]) => number): { shape: number[]; values: number[] } {
  const shape = inputs.reduce<number[]>((s, t) => broadcast(s, [...t.shape]), []);
  const vals = inputs.map((t) => Array.from(t.expand(shape).toTypedArray() as ArrayLike<number>));
  const n = shape.reduce((p, q) => p * q, 1);
  const values: number[] = [];
  for (let i = 0; i < n; i++) values.push(f(...vals.map((v) => v[i])));
  return { shape, values };
}

function broadcast(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1,
      y = b[b.length - n + i] ?? 1;
    out.push(x === 1 ? y : x);
  }
  return out;
}

export interface CheckOptions {
  /** Scalar reference for the forward (elementwise ops). */
  ref?: (...v: number[]) => number;
  /** Expected forward values (nested arrays or flat), when no scalar reference fits. */
  expected?: unknown;
  tol?: Tol;
  /** Also check second derivatives. */
  gradgrad?: boolean;
  seed?: number;
  atol?: number;
  rtol?: number;
}

/** Builds inputs from specs, checks the forward against opts.ref/expected, then gradcheck (and gradgradcheck). */
export function checkOp(
  name: string,
  fn: (...xs: Tensor[]) => Tensor | Tensor[],
  specs: InputSpec[],
  opts: CheckOptions = {},
): void {
  const gen = new Generator(opts.seed ?? hash(name));
  const inputs = specs.map((s) => makeInput(gen, s));
  const out = fn(...inputs);
  if (opts.ref) {
    const r = elementwiseRef(inputs, opts.ref);
    const o = out as Tensor;
    assert.deepEqual([...o.shape], r.shape, `${name}: output shape`);
    assertClose(o, r.values, opts.tol ?? { rtol: 1e-12, atol: 1e-12 }, `${name} forward:`);
  }
  if (opts.expected !== undefined)
    assertClose(out as Tensor, opts.expected as number[], opts.tol ?? {}, `${name} forward:`);
  const gopts = { atol: opts.atol ?? 1e-6, rtol: opts.rtol ?? 1e-4 };
  try {
    nb.autograd.gradcheck(fn, inputs, gopts);
    if (opts.gradgrad) nb.autograd.gradgradcheck(fn, inputs, gopts);
  } catch (e) {
    const shapes = specs
      .map((s) => `[${s.shape}]${s.layout && s.layout !== 'contiguous' ? ' ' + s.layout : ''}`)
      .join(', ');
    throw new Error(`${name} on ${shapes}: ${(e as Error).message}`);
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
