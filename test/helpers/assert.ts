// Numeric assertions for tensors: allclose with PyTorch's rule |a - b| <= atol + rtol * |b|, NaN == NaN.
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';

export interface Tol {
  rtol?: number;
  atol?: number;
}

function flat(x: Tensor | ArrayLike<number> | number | unknown[]): number[] {
  if (x instanceof Tensor) return Array.from(x.toTypedArray() as ArrayLike<number>);
  if (typeof x === 'number') return [x];
  if (Array.isArray(x)) return (x as unknown[]).flat(Infinity as 1) as number[];
  return Array.from(x as ArrayLike<number>);
}

export function assertClose(
  actual: Tensor | ArrayLike<number> | number,
  expected: Tensor | ArrayLike<number> | number | unknown[],
  tol: Tol = {},
  msg = '',
): void {
  const rtol = tol.rtol ?? 1e-5,
    atol = tol.atol ?? 1e-6;
  if (actual instanceof Tensor && expected instanceof Tensor) {
    assert.deepEqual([...actual.shape], [...expected.shape], `${msg} shape mismatch`);
  }
  const a = flat(actual),
    b = flat(expected);
  assert.equal(a.length, b.length, `${msg} length ${a.length} vs ${b.length}`);
  let worst = -1,
    worstErr = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Number(a[i]),
      y = Number(b[i]);
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    const err = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(err <= 0) && (worst < 0 || err > worstErr)) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    assert.fail(`${msg} not close at element ${worst}: ${a[worst]} vs ${b[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}
