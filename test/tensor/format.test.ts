// toString beyond the PyTorch goldens in test/ops/golden.test.ts: grad_fn and requires_grad suffixes,
// views, negative zero and mixed magnitudes, each checked against what torch 1.13 prints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as nb from '../../src/index.js';

test('grad_fn and requires_grad suffixes', () => {
  const x = nb.tensor([1, 2], { requiresGrad: true });
  assert.equal(x.mul(2).toString(), 'tensor([2., 4.], grad_fn=<MulBackward>)');
  assert.equal(
    nb.tensor([0.5], { dtype: 'float64', requiresGrad: true }).toString(),
    'tensor([0.5000], dtype=float64, requires_grad=True)',
  );
  assert.equal(nb.noGrad(() => x.mul(2)).toString(), 'tensor([2., 4.])');
});

test('views print their own elements; 0-dim and bool', () => {
  const x = nb.arange(6).float().view(2, 3);
  assert.equal(x.t().toString(), 'tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])');
  assert.equal(x.select(1, 1).toString(), 'tensor([1., 4.])');
  assert.equal(nb.tensor(true).toString(), 'tensor(True)');
  assert.equal(nb.tensor(-0.5).toString(), 'tensor(-0.5000)');
  assert.equal(nb.zeros([0], { dtype: 'int32' }).toString(), 'tensor([], dtype=int32)');
});

test('fixed and scientific choices follow torch (ratio > 1000 or extremes)', () => {
  // torch: tensor([1.0000e-03, 2.0000e+00]) and tensor([   0.0010, 1000.0000]) at ratio exactly 1e6 / 1e3 boundaries
  assert.equal(nb.tensor([0.001, 2]).toString(), 'tensor([1.0000e-03, 2.0000e+00])');
  assert.equal(nb.tensor([0.01, 2]).toString(), 'tensor([0.0100, 2.0000])');
  assert.equal(nb.tensor([1, 2000]).toString(), 'tensor([1.0000e+00, 2.0000e+03])');
  assert.equal(nb.tensor([0, 1000]).toString(), 'tensor([   0., 1000.])');
  assert.equal(nb.tensor([0, 0]).toString(), 'tensor([0., 0.])');
  assert.equal(nb.tensor([NaN, 0]).toString(), 'tensor([nan, 0.])');
  assert.equal(nb.tensor([-1e-5, 0.5]).toString(), 'tensor([-1.0000e-05,  5.0000e-01])');
  assert.equal(nb.tensor([-0, 1]).toString(), 'tensor([-0., 1.])');
  assert.equal(nb.tensor([-0, 1.5]).toString(), 'tensor([-0.0000, 1.5000])');
  assert.equal(
    String(
      nb.tensor(
        [
          [1, -2],
          [3, 4],
        ],
        { dtype: 'int32' },
      ),
    ),
    'tensor([[ 1, -2],\n        [ 3,  4]], dtype=int32)',
  );
});
