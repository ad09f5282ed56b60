// Printing tensors the way PyTorch does (torch/_tensor_str.py, default print options):
// tensor([[1.0000, 2.5000], ...], dtype=float64, grad_fn=<...>). One formatter per tensor decides
// between integer-valued floats ("1."), fixed 4 decimals and scientific, from its non-zero finite
// values; tensors over 1000 elements are summarised with "..." (3 items each side, and the
// formatter only sees those); rows wrap at 80 columns.

import type { Tensor } from './tensor.js';
import { convertArray, isIntegral } from './dtype.js';

const THRESHOLD = 1000,
  EDGE = 3,
  LINEWIDTH = 80,
  PRECISION = 4;

type Formatter = { width: number; format: (v: number) => string };

function sci(v: number, width = 0): string {
  let s: string;
  if (!Number.isFinite(v)) s = v !== v ? 'nan' : v > 0 ? 'inf' : '-inf';
  else {
    const [m, e] = v.toExponential(PRECISION).split('e');
    const n = Number(e);
    s = `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return s.padStart(width);
}

const special = (v: number) => (v !== v ? 'nan' : v > 0 ? 'inf' : '-inf');
/** toFixed, keeping the sign of -0 as Python's format does ('-0.', '-0.0000'). */
const fixed = (v: number, d: number) => (Object.is(v, -0) ? '-' : '') + v.toFixed(d);

/** PyTorch's _Formatter: the mode and width come from the non-zero finite values. */
function makeFormatter(vals: number[], dtype: Tensor['dtype']): Formatter {
  if (dtype === 'bool' || isIntegral(dtype)) {
    const str = dtype === 'bool' ? (v: number) => (v ? 'True' : 'False') : (v: number) => String(v);
    const width = vals.reduce((w, v) => Math.max(w, str(v).length), 1);
    return { width, format: (v) => str(v).padStart(width) };
  }
  const nz = vals.filter((v) => Number.isFinite(v) && v !== 0).map(Math.abs);
  let intMode = true,
    sciMode = false,
    width = 1;
  if (nz.length > 0) {
    const lo = Math.min(...nz),
      hi = Math.max(...nz);
    intMode = nz.every(Number.isInteger);
    sciMode = hi / lo > 1000 || hi > 1e8 || (!intMode && lo < 1e-4);
    for (const v of vals) {
      if (!Number.isFinite(v) || v === 0) continue;
      const len = sciMode ? sci(v).length : intMode ? v.toFixed(0).length + 1 : v.toFixed(PRECISION).length;
      width = Math.max(width, len);
    }
  }
  const format = (v: number): string => {
    let s: string;
    if (sciMode) s = sci(v, width);
    else if (intMode) s = Number.isFinite(v) ? `${fixed(v, 0)}.` : special(v);
    else s = Number.isFinite(v) ? fixed(v, PRECISION) : special(v);
    return s.padStart(width);
  };
  return { width, format };
}

/** Row-major values of a contiguous copy, and a reader of sub-blocks by (dim, offset). */
function summarizedValues(data: ArrayLike<number>, shape: readonly number[], summarize: boolean): number[] {
  if (!summarize) return Array.from(data);
  const out: number[] = [];
  const strides: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i];
  }
  const walk = (dim: number, off: number): void => {
    if (dim === shape.length) {
      out.push(data[off]);
      return;
    }
    const n = shape[dim];
    const idx = n > 2 * EDGE ? [0, 1, 2, n - 3, n - 2, n - 1] : [...Array(n).keys()];
    for (const i of idx) walk(dim + 1, off + i * strides[dim]);
  };
  walk(0, 0);
  return out;
}

export function formatTensor(t: Tensor): string {
  const raw = t.toTypedArray();
  // the half types print their values, not their bits
  const data = (
    t.dtype === 'float16' || t.dtype === 'bfloat16' ? convertArray(raw, t.dtype, 'float32') : raw
  ) as ArrayLike<number>;
  const shape = t.shape;
  const summarize = data.length > THRESHOLD;
  const f = makeFormatter(summarizedValues(data, shape, summarize), t.dtype);
  const strides: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i];
  }
  const prefix = 'tensor(';
  const vector = (off: number, indent: number): string => {
    const n = shape[shape.length - 1];
    const items =
      summarize && n > 2 * EDGE
        ? [
            ...[0, 1, 2].map((i) => f.format(data[off + i])),
            ' ...',
            ...[n - 3, n - 2, n - 1].map((i) => f.format(data[off + i])),
          ]
        : Array.from({ length: n }, (_, i) => f.format(data[off + i]));
    const perLine = Math.max(1, Math.floor((LINEWIDTH - indent) / (f.width + 2)));
    const lines: string[] = [];
    for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
    return `[${lines.join(',\n' + ' '.repeat(indent + 1))}]`;
  };
  const render = (dim: number, off: number, indent: number): string => {
    if (dim === shape.length - 1) return vector(off, indent);
    const n = shape[dim];
    const idx = summarize && n > 2 * EDGE ? [0, 1, 2, -1, n - 3, n - 2, n - 1] : [...Array(n).keys()];
    const parts = idx.map((i) => (i < 0 ? '...' : render(dim + 1, off + i * strides[dim], indent + 1)));
    return `[${parts.join(',' + '\n'.repeat(shape.length - 1 - dim) + ' '.repeat(indent + 1))}]`;
  };
  const suffixes: string[] = [];
  let body: string;
  if (data.length === 0) {
    if (shape.length !== 1) suffixes.push(`size=(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`);
    if (t.dtype !== 'float32') suffixes.push(`dtype=${t.dtype}`);
    body = '[]';
  } else {
    body = shape.length === 0 ? f.format(data[0]).trim() : render(0, 0, prefix.length);
    if (t.dtype !== 'float32' && t.dtype !== 'bool') suffixes.push(`dtype=${t.dtype}`);
  }
  if (t.gradFn) suffixes.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) suffixes.push('requires_grad=True');
  // _add_suffixes: a suffix that would pass the line width goes on its own line
  let out = prefix + body;
  let lastLen = out.length - out.lastIndexOf('\n') + 1;
  for (const s of suffixes) {
    if (lastLen + s.length + 2 > LINEWIDTH) {
      out += ',\n' + ' '.repeat(prefix.length) + s;
      lastLen = prefix.length + s.length;
    } else {
      out += ', ' + s;
      lastLen += s.length + 2;
    }
  }
  return out + ')';
}
