// Scalar special functions the JS backend needs beyond Math: erf to ~1e-15 (float64 gradchecks of
// gelu need it), Python-style remainder and floor division; round-half-to-even (torch.round) lives in
// src/util/math.ts, since vision uses it too.

import { roundHalfEven } from '../../util/math.js';

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** erf(x): a positive series for |x| < 3, a continued fraction for erfc beyond; |error| < 1e-15. */
export function erf(x: number): number {
  if (x !== x) return x;
  const ax = Math.abs(x);
  if (ax >= 6) return x > 0 ? 1 : -1;
  if (ax < 3) {
    // erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (2n+1)!!
    const x2 = x * x;
    let term = x,
      sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  }
  const r = 1 - erfcLarge(ax);
  return x > 0 ? r : -r;
}

/** erfc(x) for x >= 3 by the Laplace continued fraction, evaluated bottom-up. */
function erfcLarge(x: number): number {
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** Python-style remainder: the result takes the divisor's sign (torch.remainder). */
export function remainder(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}

/**
 * Floor division as torch.div(rounding_mode='floor') (c10 div_floor_floating): from fmod, so that
 * a / b rounding never moves the result across an integer and inf // b is NaN, as in Python.
 */
export function floorDivide(a: number, b: number): number {
  if (b === 0) return a / b;
  const mod = a % b;
  let div = (a - mod) / b;
  if (mod !== 0 && b < 0 !== mod < 0) div -= 1;
  if (div === 0) return Math.sign(a / b) < 0 || Object.is(a / b, -0) ? -0 : 0;
  let fl = Math.floor(div);
  if (div - fl > 0.5) fl += 1;
  return fl;
}

export const helpers = { erf, roundHalfEven, remainder, floorDivide };
