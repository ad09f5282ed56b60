// The RDP accountant against TF Privacy's compute_rdp / get_privacy_spent, reimplemented in
// tools/golden/privacy_rdp.py (goldens in test/golden/privacy_rdp.json).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_ORDERS,
  RDPAccountant,
  computeEpsilon,
  computeRdp,
  getNoiseMultiplier,
  getPrivacySpent,
  logErfc,
} from '../../src/privacy/accountant.js';
import { loadGoldenJson } from '../optim/golden_util.js';

interface Case {
  q: number;
  sigma: number;
  steps: number;
  rdp: number[];
  eps: number;
  epsOrder: number;
  delta: number;
  deltaOrder: number;
}
const G = loadGoldenJson<{ orders: number[]; delta: number; eps: number; cases: Case[] }>('privacy_rdp.json');

function close(a: number, b: number, rtol: number, what: string, atol = 1e-300): void {
  if (a === b) return;
  assert.ok(Math.abs(a - b) <= rtol * Math.abs(b) + atol, `${what}: ${a} vs golden ${b}`);
}

describe('privacy: RDP accountant', () => {
  it('uses TF Privacy default orders', () => {
    assert.deepEqual([...DEFAULT_ORDERS], G.orders);
  });

  for (const c of G.cases) {
    it(`matches compute_rdp and get_privacy_spent at q=${c.q.toFixed(5)} sigma=${c.sigma} steps=${c.steps}`, () => {
      const rdp = computeRdp(c.q, c.sigma, c.steps);
      // integer orders (binomial sum) and fractional ones (erfc series) both checked at every order
      // NOTE: rdp = steps * log(A) / (alpha - 1), and log(A) near 0 comes out of a sum of O(1) terms, so both
      // implementations carry an absolute error of a few ulps of 1 in log(A): hence the atol.
      for (let k = 0; k < rdp.length; k++) {
        const atol = (1e-13 * c.steps) / (G.orders[k] - 1);
        close(rdp[k], c.rdp[k], 1e-9, `rdp at order ${G.orders[k]}`, atol);
      }
      const s = getPrivacySpent(rdp, { delta: G.delta });
      close(s.eps, c.eps, 1e-9, 'eps');
      assert.equal(s.order, c.epsOrder);
      const d = getPrivacySpent(rdp, { eps: G.eps });
      close(d.delta, c.delta, 1e-9, 'delta');
      if (c.delta > 0) assert.equal(d.order, c.deltaOrder);
    });
  }

  it('logErfc agrees with erfc in the body and stays finite deep in the tail', () => {
    close(Math.exp(logErfc(0)), 1, 1e-15, 'erfc(0)');
    close(Math.exp(logErfc(0.5)), 0.4795001221869535, 1e-14, 'erfc(0.5)');
    close(Math.exp(logErfc(-1)), 1.8427007929497148, 1e-14, 'erfc(-1)');
    close(Math.exp(logErfc(3)), 2.209049699858544e-5, 1e-13, 'erfc(3)');
    // erfc(30) underflows in float64; its log is -x^2 - log(x sqrt(pi)) - 1/(2x^2) + ...
    close(
      logErfc(30),
      -900 - Math.log(30 * Math.sqrt(Math.PI)) - 1 / 1800 + 0.625 / 30 ** 4 - 37 / 24 / 30 ** 6,
      1e-12,
      'log erfc(30)',
    );
  });

  it('RDPAccountant composes steps additively', () => {
    const acc = new RDPAccountant().step(1.1, 0.01, 300).step(1.1, 0.01, 700);
    close(acc.getEpsilon(1e-5), computeEpsilon(0.01, 1.1, 1000, 1e-5), 1e-12, 'composed eps');
    const mixed = new RDPAccountant().step(1.0, 0.01, 100).step(2.0, 0.02, 100);
    assert.ok(mixed.getEpsilon(1e-5) > computeEpsilon(0.02, 2.0, 100, 1e-5));
  });

  it('getNoiseMultiplier finds the sigma for a target eps', () => {
    const q = 256 / 60000,
      steps = 30 * 235;
    const sigma = getNoiseMultiplier({ targetEpsilon: 3, targetDelta: 1e-5, sampleRate: q, steps });
    const eps = computeEpsilon(q, sigma, steps, 1e-5);
    assert.ok(eps <= 3 && eps > 3 - 0.01, `eps ${eps} at sigma ${sigma}`);
    // a little less noise would overspend the budget
    assert.ok(computeEpsilon(q, sigma * 0.98, steps, 1e-5) > 3);
  });

  it('refuses delta >= 1 and other bad input, naming the op', () => {
    const rdp = computeRdp(0.01, 1, 10);
    assert.throws(
      () => getPrivacySpent(rdp, { delta: 1 }),
      /privacy.getPrivacySpent: delta must lie in \(0, 1\), got 1/,
    );
    assert.throws(() => getPrivacySpent(rdp, { delta: 2 }), /delta must lie in \(0, 1\)/);
    assert.throws(() => getPrivacySpent(rdp, { delta: 0 }), /delta must lie in \(0, 1\)/);
    assert.throws(() => computeEpsilon(0.01, 1, 10, 1.5), /delta must lie in \(0, 1\)/);
    assert.throws(() => getPrivacySpent(rdp, {}), /exactly one of delta and eps/);
    assert.throws(() => getPrivacySpent(rdp.slice(1), { delta: 1e-5 }), /rdp has 154 entries but orders has 155/);
    assert.throws(() => computeRdp(1.5, 1, 10), /privacy.computeRdp: sampling rate q must lie in \[0, 1\], got 1.5/);
    assert.throws(() => computeRdp(0.1, -1, 10), /noiseMultiplier must be >= 0/);
    assert.throws(() => computeRdp(0.1, 1, 10, [1, 2]), /every Renyi order must be > 1, got 1/);
    assert.throws(
      () => getNoiseMultiplier({ targetEpsilon: 0, targetDelta: 1e-5, sampleRate: 0.01, steps: 10 }),
      /privacy.getNoiseMultiplier: targetEpsilon must be > 0/,
    );
  });
});
