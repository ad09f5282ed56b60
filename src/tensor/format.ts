// Printing tensors the way PyTorch does: tensor([[1.0000, 2.5000], ...], dtype=float64, grad_fn=<...>).
// Floats share one format per tensor (integer-valued "1.", fixed 4 decimals, or scientific);
// tensors over 1000 elements are summarised with "..." (3 items each side).

import type { Tensor } from './tensor.js';

const THRESHOLD = 1000, EDGE = 3;

function floatFormatter(vals: number[]): (v: number) => string {
  const finite = vals.filter((v) => Number.isFinite(v));
  const allInt = finite.every((v) => Number.isInteger(v));
  const absMax = finite.length ? Math.max(...finite.map(Math.abs)) : 0;
  const absMin = finite.filter((v) => v !== 0).reduce((m, v) => Math.min(m, Math.abs(v)), Infinity);
  const special = (v: number) => (v !== v ? 'nan' : v > 0 ? 'inf' : '-inf');
  if (allInt && absMax < 1e8) return (v) => (Number.isFinite(v) ? `${v.toFixed(0)}.` : special(v));
  const sci = absMax >= 1e8 || (absMin < 1e-4 && absMin !== Infinity) || absMax / absMin > 1000 && absMax >= 1e3;
  if (sci) {
    return (v) => {
      if (!Number.isFinite(v)) return special(v);
      const [m, e] = v.toExponential(4).split('e');
      const n = Number(e);
      return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
    };
  }
  return (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
}

export function formatTensor(t: Tensor): string {
  const data = Array.from(t.toTypedArray() as ArrayLike<number>);
  const summarize = data.length > THRESHOLD;
  let fmt: (v: number) => string;
  if (t.dtype === 'bool') fmt = (v) => (v ? 'True' : 'False');
  else if (t.dtype === 'int32') fmt = (v) => String(v);
  else fmt = floatFormatter(data);
  const strs = data.map(fmt);
  const width = strs.reduce((w, s) => Math.max(w, s.length), 0);
  const shape = t.shape;
  const strides: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { strides[i] = acc; acc *= shape[i]; }
  const indent = 'tensor('.length;
  const render = (dim: number, off: number): string => {
    if (dim === shape.length) return strs[off].padStart(width);
    const n = shape[dim];
    const idx = summarize && n > 2 * EDGE
      ? [...Array(EDGE).keys(), -1, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)]
      : [...Array(n).keys()];
    const parts = idx.map((i) => (i < 0 ? '...' : render(dim + 1, off + i * strides[dim])));
    if (dim === shape.length - 1) return `[${parts.join(', ')}]`;
    const sep = ',' + '\n'.repeat(shape.length - 1 - dim) + ' '.repeat(indent + dim + 1);
    return `[${parts.join(sep)}]`;
  };
  let body = shape.length === 0 ? strs[0] : render(0, 0);
  if (data.length === 0) body = `[]`;
  const extras: string[] = [];
  if (data.length === 0 && shape.length > 1) extras.push(`size=(${shape.join(', ')})`);
  if (t.dtype !== 'float32' && !(t.dtype === 'bool' && data.length > 0)) extras.push(`dtype=${t.dtype}`);
  if (t.gradFn) extras.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) extras.push('requires_grad=True');
  return `tensor(${body}${extras.length ? ', ' + extras.join(', ') : ''})`;
}
