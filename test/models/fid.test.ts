// The Fréchet distance against torch (tools/golden/fid.py: eigh for sqrtm, a general eigensolver for
// tr sqrtm(S1 S2)), the symmetric eigensolver on a known case, and the FID classifier's shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadGolden } from '../helpers/golden.js';
import { FIDClassifier, featureStats, fid, frechetDistance, sqrtmPsd, symmetricEig } from '../../src/models/fid.js';
import { zeros, rand } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const g = loadGolden('fid');

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const name of ['full', 'lowrank', 'same']) {
  test(`fid golden '${name}': statistics, sqrtm and the distance match torch (float64)`, () => {
    const s1 = featureStats(g[`${name}.x1`]);
    const s2 = featureStats(g[`${name}.x2`]);
    const scale = Math.max(1, ...Array.from(g[`${name}.sigma1`].toTypedArray() as Float64Array, Math.abs));
    assert.ok(maxDiff(s1.mu, g[`${name}.mu1`].toTypedArray() as Float64Array) < 1e-12);
    assert.ok(maxDiff(s1.sigma, g[`${name}.sigma1`].toTypedArray() as Float64Array) < 1e-12 * scale);
    const r = sqrtmPsd(s1.sigma, s1.d);
    const dr = maxDiff(r, g[`${name}.sqrtm1`].toTypedArray() as Float64Array);
    // NOTE: a singular covariance's square root is defined only up to the clipped null space: compare loosely there.
    assert.ok(dr < (name === 'lowrank' ? 1e-6 : 1e-9) * scale, `sqrtm differs by ${dr}`);
    const want = (g[`${name}.fid`].toTypedArray() as Float64Array)[0];
    const got = frechetDistance(s1, s2);
    assert.ok(Math.abs(got - want) < 1e-7 * Math.max(1, want), `fid ${got} vs torch ${want}`);
  });
}

test('symmetricEig: eigenpairs of a known matrix; errors name the function', () => {
  // [[2, 1], [1, 2]] has eigenvalues 1 and 3
  const { values, vectors } = symmetricEig([2, 1, 1, 2], 2);
  assert.deepEqual(Array.from(values, (v) => Math.round(v * 1e12) / 1e12).sort(), [1, 3]);
  for (let k = 0; k < 2; k++) {
    const v = [vectors[k], vectors[2 + k]];
    const av = [2 * v[0] + v[1], v[0] + 2 * v[1]];
    assert.ok(Math.abs(av[0] - values[k] * v[0]) < 1e-12 && Math.abs(av[1] - values[k] * v[1]) < 1e-12);
  }
  assert.throws(() => symmetricEig([1, 2, 3], 2), /symmetricEig: expected 2x2/);
  assert.throws(() => symmetricEig([1, 2, 0, 1], 2), /not symmetric/);
  assert.throws(() => featureStats(zeros([1, 4])), /featureStats: expected features \(N, D\) with N >= 2/);
});

test('FIDClassifier: features (B, D) and logits (B, classes); fid of a set with itself is 0', () => {
  const m = new FIDClassifier(8, 12, 10);
  const x = rand([6, 1, 8, 8]);
  assert.deepEqual(m.features(x).shape, [6, 12]);
  assert.deepEqual((m.call(x) as Tensor).shape, [6, 10]);
  assert.ok(Math.abs(fid(m, x, x)) < 1e-6);
  assert.throws(() => m.features(rand([2, 1, 28, 28])), /FIDClassifier: expected images \(B, 1, 8, 8\)/);
});
