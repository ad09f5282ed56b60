// Renyi-DP accountant for the subsampled Gaussian mechanism (DP-SGD with Poisson sampling).
//
// Glossary: q = sampling rate (expected batch / dataset size), sigma = noise multiplier (noise std over the
// clipping norm), steps = optimiser steps, alpha = Renyi order, rdp = RDP epsilon at each order.
// Formulas: Mironov, Talwar, Zhang 2019, "Renyi Differential Privacy of the Sampled Gaussian Mechanism",
// as TF Privacy's rdp_accountant.compute_rdp implements them (an exact binomial sum for integer orders,
// a two-sided series with erfc tails for fractional ones), and the RDP -> (eps, delta) conversion of
// Canonne, Kamath, Steinke 2020 (Prop. 12) that TF Privacy's get_privacy_spent and Opacus use.
// Goldens: tools/golden/privacy_rdp.py -> test/golden/privacy_rdp.json.

/** TF Privacy's default orders: 1.1..10.9 by 0.1, 11..63, 128, 256, 512. */
export const DEFAULT_ORDERS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 53 }, (_, x) => 11 + x),
  128,
  256,
  512,
];

function logAdd(logx: number, logy: number): number {
  const a = Math.min(logx, logy),
    b = Math.max(logx, logy);
  if (a === -Infinity) return b;
  return Math.log1p(Math.exp(a - b)) + b;
}

function logSub(logx: number, logy: number): number {
  if (logx < logy) throw new Error(`privacy.computeRdp: log-space subtraction went negative (${logx} < ${logy})`);
  if (logy === -Infinity) return logx;
  if (logx === logy) return -Infinity;
  const d = Math.expm1(logx - logy);
  // NOTE: expm1 overflows only when logy is negligible beside logx, so logx is the answer (TF Privacy too).
  return Number.isFinite(d) ? Math.log(d) + logy : logx;
}

const SQRT_PI = Math.sqrt(Math.PI);

/** erfc(x) for x >= 3 as exp(-x^2) / (sqrt(pi) * f), f the Laplace continued fraction; returns log(erfc). */
function logErfcTail(x: number): number {
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + k / 2 / f;
  return -x * x - Math.log(SQRT_PI * f);
}

/** log(erfc(x)) in float64 with relative accuracy in the tails, where erfc itself underflows. */
export function logErfc(x: number): number {
  if (x >= 3) return logErfcTail(x);
  if (x <= -3) return Math.log(2 - Math.exp(logErfcTail(-x)));
  // erf(|x|) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (2n+1)!!, a positive series
  const ax = Math.abs(x),
    x2 = x * x;
  let term = ax,
    sum = ax;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  const erfAbs = (2 / SQRT_PI) * Math.exp(-x2) * sum;
  return Math.log(x >= 0 ? 1 - erfAbs : 1 + erfAbs);
}

/** log C(n, k) for integers 0 <= k <= n, exact enough: a sum of logs (n stays in the hundreds). */
function logBinomInt(n: number, k: number): number {
  let s = 0;
  const m = Math.min(k, n - k);
  for (let i = 1; i <= m; i++) s += Math.log(n - m + i) - Math.log(i);
  return s;
}

// log A_alpha for integer alpha: A = sum_i C(alpha,i) q^i (1-q)^(alpha-i) exp((i^2 - i) / (2 sigma^2))
function logAInt(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  for (let i = 0; i <= alpha; i++) {
    const logCoef = logBinomInt(alpha, i) + i * Math.log(q) + (alpha - i) * Math.log(1 - q);
    logA = logAdd(logA, logCoef + (i * i - i) / (2 * sigma * sigma));
  }
  return logA;
}

// log A_alpha for fractional alpha: two series split at z0, each term weighted by a Gaussian tail (erfc)
function logAFrac(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity,
    logA1 = -Infinity,
    coef = 1;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const s2 = 2 * sigma * sigma;
  for (let i = 0; ; i++) {
    if (i > 0) coef *= (alpha - i + 1) / i; // C(alpha, i) by the product formula; its sign alternates past alpha
    const logCoef = Math.log(Math.abs(coef));
    const j = alpha - i;
    const logT0 = logCoef + i * Math.log(q) + j * Math.log(1 - q);
    const logT1 = logCoef + j * Math.log(q) + i * Math.log(1 - q);
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / s2 + logE0;
    const logS1 = logT1 + (j * j - j) / s2 + logE1;
    if (coef > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30) break;
    if (i > 100000)
      throw new Error(`privacy.computeRdp: series did not converge (q=${q}, sigma=${sigma}, alpha=${alpha})`);
  }
  return logAdd(logA0, logA1);
}

function rdpOne(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (!Number.isFinite(alpha)) return Infinity;
  const logA = Number.isInteger(alpha) ? logAInt(q, sigma, alpha) : logAFrac(q, sigma, alpha);
  return logA / (alpha - 1);
}

function checkOrders(op: string, orders: readonly number[]): void {
  if (orders.length === 0) throw new Error(`${op}: orders is empty`);
  for (const a of orders) {
    if (!(a > 1)) throw new Error(`${op}: every Renyi order must be > 1, got ${a}`);
  }
}

/**
 * RDP of `steps` compositions of the Poisson-subsampled Gaussian mechanism at each order (TF Privacy's
 * compute_rdp). q in [0, 1], noiseMultiplier >= 0, steps >= 0.
 *
 * ```ts
 * const rdp = nb.privacy.computeRdp(256 / 60000, 1.1, 14062);
 * nb.privacy.getPrivacySpent(rdp, { delta: 1e-5 }).eps; // ~2.6
 * ```
 */
export function computeRdp(
  q: number,
  noiseMultiplier: number,
  steps: number,
  orders: readonly number[] = DEFAULT_ORDERS,
): number[] {
  const op = 'privacy.computeRdp';
  if (!(q >= 0 && q <= 1)) throw new Error(`${op}: sampling rate q must lie in [0, 1], got ${q}`);
  if (!(noiseMultiplier >= 0)) throw new Error(`${op}: noiseMultiplier must be >= 0, got ${noiseMultiplier}`);
  if (!(steps >= 0) || !Number.isInteger(steps)) throw new Error(`${op}: steps must be an integer >= 0, got ${steps}`);
  checkOrders(op, orders);
  return orders.map((a) => rdpOne(q, noiseMultiplier, a) * steps);
}

export interface PrivacySpent {
  eps: number;
  delta: number;
  /** The Renyi order that gave the tightest bound. */
  order: number;
}

/**
 * Converts RDP to (eps, delta)-DP (TF Privacy's get_privacy_spent): give `delta` to get the smallest eps,
 * or `eps` to get the smallest delta. delta must lie in (0, 1).
 */
export function getPrivacySpent(
  rdp: readonly number[],
  target: { delta?: number; eps?: number },
  orders: readonly number[] = DEFAULT_ORDERS,
): PrivacySpent {
  const op = 'privacy.getPrivacySpent';
  checkOrders(op, orders);
  if (rdp.length !== orders.length) {
    throw new Error(`${op}: rdp has ${rdp.length} entries but orders has ${orders.length}`);
  }
  for (const r of rdp) if (!(r >= 0)) throw new Error(`${op}: RDP values must be >= 0, got ${r}`);
  const { delta, eps } = target;
  if ((delta === undefined) === (eps === undefined)) throw new Error(`${op}: give exactly one of delta and eps`);
  if (delta !== undefined) {
    if (!(delta > 0 && delta < 1)) {
      throw new Error(`${op}: delta must lie in (0, 1), got ${delta}; delta >= 1 promises no privacy at all`);
    }
    let best = Infinity,
      bestOrder = orders[0];
    for (let k = 0; k < orders.length; k++) {
      const a = orders[k],
        r = rdp[k];
      let e: number;
      if (delta * delta + Math.expm1(-r) >= 0) e = 0;
      else if (a > 1.01) e = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1);
      else e = Infinity;
      if (e < best) {
        best = e;
        bestOrder = a;
      }
    }
    return { eps: Math.max(0, best), delta, order: bestOrder };
  }
  const e = eps as number;
  if (!(e >= 0)) throw new Error(`${op}: eps must be >= 0, got ${e}`);
  let best = Infinity,
    bestOrder = orders[0];
  for (let k = 0; k < orders.length; k++) {
    const a = orders[k],
      r = rdp[k];
    let logDelta = r > 0 ? 0.5 * Math.log1p(-Math.exp(-r)) : -Infinity;
    if (a > 1.01) logDelta = Math.min(logDelta, (a - 1) * (r - e + Math.log1p(-1 / a)) - Math.log(a));
    if (logDelta < best) {
      best = logDelta;
      bestOrder = a;
    }
  }
  return { eps: e, delta: Math.min(Math.exp(best), 1), order: bestOrder };
}

/** eps after `steps` steps of DP-SGD at sampling rate q and noise multiplier sigma, for a given delta. */
export function computeEpsilon(q: number, noiseMultiplier: number, steps: number, delta: number): number {
  return getPrivacySpent(computeRdp(q, noiseMultiplier, steps), { delta }).eps;
}

/**
 * The smallest noise multiplier (within `tolerance` in eps) whose eps after `steps` steps at sampling rate
 * q stays at or below `targetEpsilon` (Opacus's get_noise_multiplier): doubles an upper bound, then bisects.
 */
export function getNoiseMultiplier(opts: {
  targetEpsilon: number;
  targetDelta: number;
  sampleRate: number;
  steps: number;
  tolerance?: number;
}): number {
  const op = 'privacy.getNoiseMultiplier';
  const { targetEpsilon, targetDelta, sampleRate, steps, tolerance = 0.01 } = opts;
  if (!(targetEpsilon > 0)) throw new Error(`${op}: targetEpsilon must be > 0, got ${targetEpsilon}`);
  if (!(tolerance > 0)) throw new Error(`${op}: tolerance must be > 0, got ${tolerance}`);
  const epsAt = (sigma: number) => computeEpsilon(sampleRate, sigma, steps, targetDelta);
  let lo = 0,
    hi = 10,
    epsHi = epsAt(hi);
  while (epsHi > targetEpsilon) {
    lo = hi;
    hi *= 2;
    if (hi > 1e6) throw new Error(`${op}: no noise multiplier up to 1e6 reaches eps ${targetEpsilon}`);
    epsHi = epsAt(hi);
  }
  while (targetEpsilon - epsHi > tolerance && hi - lo > 1e-9) {
    const mid = (lo + hi) / 2;
    const e = epsAt(mid);
    if (e < targetEpsilon) {
      hi = mid;
      epsHi = e;
    } else lo = mid;
  }
  return hi;
}

/**
 * Accumulates RDP over a run whose sampling rate or noise may change between steps (Opacus's RDPAccountant).
 */
export class RDPAccountant {
  private readonly rdp: number[];
  constructor(readonly orders: readonly number[] = DEFAULT_ORDERS) {
    checkOrders('privacy.RDPAccountant', orders);
    this.rdp = orders.map(() => 0);
  }
  /** Records `steps` steps at noise multiplier sigma and sampling rate q. */
  step(noiseMultiplier: number, sampleRate: number, steps = 1): this {
    const r = computeRdp(sampleRate, noiseMultiplier, steps, this.orders);
    for (let k = 0; k < r.length; k++) this.rdp[k] += r[k];
    return this;
  }
  getEpsilon(delta: number): number {
    return getPrivacySpent(this.rdp, { delta }, this.orders).eps;
  }
  getPrivacySpent(target: { delta?: number; eps?: number }): PrivacySpent {
    return getPrivacySpent(this.rdp, target, this.orders);
  }
}
