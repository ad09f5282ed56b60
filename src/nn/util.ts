// Helpers shared by the layers: PyTorch-style repr formatting and input-shape errors that name the layer.

import { fmtShape } from '../tensor/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from './module.js';

/** Python's repr of a bool. */
export function pyBool(b: boolean): string {
  return b ? 'True' : 'False';
}

/** Python's repr of a float: 1e-05, 0.1, 1.0. */
export function pyFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) {
    const [m, e] = x.toExponential().split('e');
    const exp = Number(e);
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

/** Python's repr of a tuple of ints: (3, 3) or (3,). */
export function pyTuple(xs: readonly number[]): string {
  return xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(', ')})`;
}

/** Python's repr of a value for extra_repr: numbers stay as they are, strings are quoted, null is None. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return pyBool(v);
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return pyTuple(v as number[]);
  return String(v);
}

/**
 * The error for a wrong input: "Linear(in_features=32, out_features=64): expected input (*, 32), got [8, 31]".
 * The layer is named by its repr line, or by `label` when that says it better.
 */
export function inputError(m: Module, expected: string, x: Tensor | readonly number[], label?: string): Error {
  const shape = Array.isArray(x) ? x : (x as Tensor).shape;
  return new Error(
    `${label ?? `${m.constructor.name}(${m.extraRepr()})`}: expected input ${expected}, got ${fmtShape(shape)}`,
  );
}

/** n -> [n, n, ...] (length k); a tuple is checked for length. */
export function ntuple(v: number | readonly number[], k: number, what: string): number[] {
  if (typeof v === 'number') return Array(k).fill(v);
  if (v.length !== k) throw new Error(`${what}: expected ${k} values, got ${JSON.stringify(v)}`);
  return [...v];
}
