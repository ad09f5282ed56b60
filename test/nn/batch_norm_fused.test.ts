// BatchNorm in training on the backend's fused kernel (float32, when the backend has one) against the
// composed float64 path: output, input and parameter gradients, running statistics; and double
// backward, which takes the composed gradient formulas.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as nb from './nb.js';
import { autograd } from './nb.js';

function maxDiff(a: nb.Tensor, b: nb.Tensor): number {
  const p = a.toTypedArray(),
    q = b.toTypedArray();
  let m = 0;
  for (let i = 0; i < p.length; i++) m = Math.max(m, Math.abs(p[i] - q[i]));
  return m;
}

test('BatchNorm2d training, float32 (fused kernel) equals float64 (composed ops): y, grads, running stats', () => {
  nb.manualSeed(3);
  const x64 = nb.randn([4, 6, 5, 3], { dtype: 'float64' }).mul(2).add(3);
  const dy64 = nb.randn([4, 6, 5, 3], { dtype: 'float64' });
  const run = (dtype: 'float32' | 'float64') => {
    const bn = new nb.nn.BatchNorm2d(6, { dtype });
    nb.noGrad(() => {
      bn.weight!.copy_(nb.arange(6).mul(0.3).add(0.5));
      bn.bias!.copy_(nb.arange(6).mul(-0.1));
    });
    const x = x64.to(dtype).requiresGrad_();
    const y = bn.call(x) as nb.Tensor;
    y.backward(dy64.to(dtype));
    return { y, dx: x.grad!, dw: bn.weight!.grad!, db: bn.bias!.grad!, rm: bn.running_mean!, rv: bn.running_var! };
  };
  const a = run('float32'),
    b = run('float64');
  assert.ok(maxDiff(a.y, b.y) < 1e-5, `y ${maxDiff(a.y, b.y)}`);
  assert.ok(maxDiff(a.dx, b.dx) < 1e-5, `dx ${maxDiff(a.dx, b.dx)}`);
  assert.ok(maxDiff(a.dw, b.dw) < 1e-4, `dw ${maxDiff(a.dw, b.dw)}`);
  assert.ok(maxDiff(a.db, b.db) < 1e-4, `db ${maxDiff(a.db, b.db)}`);
  assert.ok(maxDiff(a.rm, b.rm) < 1e-6 && maxDiff(a.rv, b.rv) < 1e-6, 'running statistics');
});

test('BatchNorm training: second derivatives through the fused forward equal the composed ones', () => {
  nb.manualSeed(4);
  const bn32 = new nb.nn.BatchNorm2d(3),
    x = nb.randn([2, 3, 4, 4]).requiresGrad_();
  const y = bn32.call(x) as nb.Tensor;
  const gx = autograd.grad([y.pow(2).sum()], [x], { createGraph: true })[0]!;
  const ggx = autograd.grad([gx.pow(2).sum()], [x])[0]!;
  const bn64 = new nb.nn.BatchNorm2d(3, { dtype: 'float64' }),
    x64 = x.detach().to('float64').requiresGrad_();
  const y64 = bn64.call(x64) as nb.Tensor;
  const gx64 = autograd.grad([y64.pow(2).sum()], [x64], { createGraph: true })[0]!;
  const ggx64 = autograd.grad([gx64.pow(2).sum()], [x64])[0]!;
  assert.ok(maxDiff(gx, gx64) < 1e-4 && maxDiff(ggx, ggx64) < 1e-3, `${maxDiff(gx, gx64)} ${maxDiff(ggx, ggx64)}`);
});
