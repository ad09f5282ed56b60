// hardswish and mish (issue #15's ops through the kernel seam) against PyTorch 1.13 goldens made by
// tools/golden/activations.py (CI never imports torch), on every backend: values and gradients over
// kinks, ±inf, NaN and a sweep, in float32 and float64; exact values at hardswish's kinks; the
// module, functional and Keras names. Gradient checks away from kinks: test/autograd/gradcheck.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import { getActivation } from '../../src/keras/activations.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/assert.js';
import { backends, withBackend } from '../helpers/backends.js';
import { loadGolden } from '../helpers/golden.js';

const G = loadGolden('activations');
const F = nb.nn.functional;
const OPS: Record<string, (x: Tensor) => Tensor> = { hardswish: F.hardswish, mish: F.mish };
// float32: native and torch round differently inside exp/log1p/tanh (a few ulp), and mish' cancels near its zero
// (x = -1.19), hence an absolute 1e-7 on values of order 1; float64: the same formulas in double, a few ulp apart.
const TOL = { f32: { rtol: 2e-6, atol: 1e-7 }, f64: { rtol: 1e-13, atol: 1e-300 } };

/** y = op(x) and d sum(y * gy) / dx on x in dtype. */
function run(op: (x: Tensor) => Tensor, x: Tensor, gy: Tensor): [Tensor, Tensor] {
  const xx = x.detach().requiresGrad_();
  const y = op(xx);
  y.mul(gy).sum().backward();
  return [y, xx.grad!];
}

for (const be of backends()) {
  describe(`hardswish and mish [${be}]`, () => {
    for (const [name, op] of Object.entries(OPS)) {
      for (const dt of ['f32', 'f64'] as const) {
        test(`${name} ${dt}: values and gradients match torch 1.13`, () =>
          withBackend(be, () => {
            const dtype = dt === 'f32' ? 'float32' : 'float64';
            const x = G[`${name}.${dt}.x`].to(dtype),
              gy = G[`${name}.${dt}.gy`].to(dtype);
            const [y, gx] = run(op, x, gy);
            assert.equal(y.dtype, dtype);
            assertClose(y, G[`${name}.${dt}.y`], TOL[dt], `${name} ${dt} output:`);
            assertClose(gx, G[`${name}.${dt}.gx`], TOL[dt], `${name} ${dt} gradient:`);
          }));
      }
    }

    test('hardswish at its kinks: -0 at -3, gradient -0.5 at -3 and 1 at 3 (torch 1.13, vectorised)', () =>
      withBackend(be, () => {
        for (const dtype of ['float32', 'float64'] as const) {
          const x = nb.tensor([-4, -3, 3, 4, -Infinity, Infinity, NaN], { dtype, requiresGrad: true });
          const y = F.hardswish(x);
          y.sum().backward();
          const yv = y.toArray() as number[],
            gv = x.grad!.toArray() as number[];
          assert.ok(Object.is(yv[0], -0) && Object.is(yv[1], -0), `hardswish(-4), hardswish(-3) are -0: ${yv}`);
          assert.deepEqual(yv.slice(2), [3, 4, NaN, Infinity, NaN], `${dtype} hardswish`);
          assert.deepEqual(gv, [0, -0.5, 1, 1, 0, 1, NaN], `${dtype} hardswish gradient`);
        }
      }));

    test('mish at ±inf and NaN as torch: NaN at -inf, inf at inf, gradient NaN at both', () =>
      withBackend(be, () => {
        const x = nb.tensor([-Infinity, Infinity, NaN, 0], { requiresGrad: true });
        const y = F.mish(x);
        y.sum().backward();
        assert.deepEqual(y.toArray(), [NaN, Infinity, NaN, 0]);
        assertClose(x.grad!, [NaN, NaN, NaN, 0.6], { rtol: 1e-7 }, 'mish gradient');
      }));
  });
}

test('nn.Hardswish, nn.Mish and the Keras names apply the same functions', () => {
  const x = nb.tensor([-3.5, -1, 0, 0.5, 2.75, 5]);
  assert.equal(String(new nb.nn.Hardswish()), 'Hardswish()');
  assert.equal(String(new nb.nn.Mish()), 'Mish()');
  assertClose(new nb.nn.Hardswish().call(x), F.hardswish(x), { rtol: 0, atol: 0 });
  assertClose(new nb.nn.Mish().call(x), F.mish(x), { rtol: 0, atol: 0 });
  for (const name of ['hard_silu', 'hard_swish', 'hardSwish'])
    assertClose(getActivation(name)(x), F.hardswish(x), { rtol: 0, atol: 0 }, name);
  assertClose(getActivation('mish')(x), F.mish(x), { rtol: 0, atol: 0 });
});
