// The ops that run on fused kernels (layer norm, causal attention) on the native backend against
// the same ops on the JS backend, which runs the kernels' JS references: forward, first derivatives,
// and second derivatives, which both take through the composite formulas.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../../src/index.js';
import { layerNorm, scaledDotProductAttention } from '../../src/ops/nn_ops.js';
import { attentionBias, causalAttention } from '../../src/models/attention.js';
import { backends, withBackend } from '../helpers/backends.js';
import { assertClose } from '../helpers/assert.js';

const skip = !backends().includes('native') && 'the native addon is not built';
const TOL = { rtol: 2e-4, atol: 2e-5 };

/** Runs fn on both backends with fresh leaves made from the same values; returns [native, js] results. */
function both(make: () => nb.Tensor[], fn: (...xs: nb.Tensor[]) => nb.Tensor[]): [nb.Tensor[], nb.Tensor[]] {
  const vals = make();
  const run = (name: string) => withBackend(name, () => fn(...vals.map((v) => v.detach().clone().requiresGrad_(true))));
  return [run('native'), run('js')];
}

function grads(y: nb.Tensor, xs: nb.Tensor[], g: nb.Tensor, createGraph = false): nb.Tensor[] {
  return nb.autograd.grad(y, xs, { gradOutputs: g, createGraph }) as nb.Tensor[];
}

test('layerNorm on the fused kernel: forward, gradients of x, weight and bias', { skip }, () => {
  nb.manualSeed(1);
  for (const shape of [[3, 17], [2, 5, 33], [127]]) {
    const C = shape[shape.length - 1];
    const [a, b] = both(
      () => [nb.randn(shape).mul(3).add(1), nb.randn([C]), nb.randn([C]), nb.randn(shape)],
      (x, w, bias, g) => {
        const y = layerNorm(x, C, w, bias, 1e-5);
        return [y, ...grads(y, [x, w, bias], g.detach())];
      },
    );
    a.forEach((t, i) => {
      assertClose(t, b[i], TOL, `shape ${shape} output ${i}`);
    });
    assert.equal(
      withBackend('native', () => layerNorm(nb.randn(shape, { requiresGrad: true }), C).gradFn!.name),
      'NativeLayerNormBackward',
    );
  }
});

test('layerNorm double backward goes through the composite formula', { skip }, () => {
  nb.manualSeed(2);
  const [a, b] = both(
    () => [nb.randn([4, 9]), nb.randn([9]), nb.randn([4, 9])],
    (x, w, g) => {
      const [dx] = grads(layerNorm(x, 9, w, null), [x], g.detach(), true);
      return grads(dx.square().sum(), [x, w], nb.tensor(1));
    },
  );
  a.forEach((t, i) => {
    assertClose(t, b[i], { rtol: 1e-3, atol: 1e-4 }, `second derivative ${i}`);
  });
});

test('causal attention on the fused kernel equals the composite one, values and gradients', { skip }, () => {
  nb.manualSeed(3);
  for (const [B, H, T, D] of [
    [1, 1, 1, 8],
    [2, 3, 17, 16],
    [1, 2, 65, 32],
    [1, 1, 130, 64],
  ]) {
    const shape = [B, H, T, D];
    const [a, b] = both(
      () => [nb.randn(shape), nb.randn(shape), nb.randn(shape), nb.randn(shape)],
      (q, k, v, g) => {
        const y = scaledDotProductAttention(q, k, v, { isCausal: true });
        return [y, ...grads(y, [q, k, v], g.detach())];
      },
    );
    a.forEach((t, i) => {
      assertClose(t, b[i], TOL, `shape ${shape} output ${i}`);
    });
  }
});

test('decoder attention uses the fused kernel only for a pure causal mask without past', { skip }, () => {
  nb.manualSeed(4);
  const q = nb.randn([1, 2, 5, 8]),
    k = nb.randn([1, 2, 5, 8]),
    v = nb.randn([1, 2, 5, 8]);
  withBackend('native', () => {
    const qq = q.clone().requiresGrad_(true);
    const pure = causalAttention(qq, k, v, attentionBias(5, 5));
    assert.equal(pure.gradFn!.name, 'NativeAttentionBackward');
    const padded = causalAttention(qq, k, v, attentionBias(5, 5, nb.tensor([[0, 1, 1, 1, 1]], { dtype: 'int32' })));
    assert.notEqual(padded.gradFn!.name, 'NativeAttentionBackward');
    assertClose(
      pure,
      withBackend('js', () => causalAttention(q, k, v, attentionBias(5, 5))),
      TOL,
    );
  });
});
