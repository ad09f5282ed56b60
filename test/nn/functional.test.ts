// nb.nn.functional: float64 gradient checks (central differences) for every op this family adds,
// second derivatives for the conv and avg-pool kernel families, and exact-value checks where
// PyTorch 1.13 has no counterpart (rmsNorm, scaledDotProductAttention) or randomness is involved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from './nb.js';
import { Generator } from '../../src/tensor/random.js';
import { assertClose } from '../helpers/assert.js';

const F = nb.nn.functional;
const { gradcheck, gradgradcheck } = nb.autograd;
type T = nb.Tensor;

let seed = 1;
/** A float64 leaf with values in [-1, 1) whose entries are at least 1e-3 apart (no max-pool ties). */
function inp(shape: number[], grad = true): T {
  const g = new Generator(seed++);
  const n = shape.reduce((p, q) => p * q, 1);
  const vals = Array.from({ length: n }, (_, i) => -1 + (2 * (i + 0.5)) / n);
  const p = g.permutation(n);
  const t = nb.tensor(
    Float64Array.from(p, (i) => vals[i]),
    { shape, dtype: 'float64' },
  );
  return grad ? t.requiresGrad_(true) : t;
}

const check = (fn: (...x: T[]) => T | T[], xs: T[]) => assert.ok(gradcheck(fn, xs, { atol: 1e-6, rtol: 1e-4 }));

test('conv2d: stride, padding, dilation, groups, bias', () => {
  check((x, w, b) => F.conv2d(x, w, b, [2, 1], [1, 2], [1, 2], 2), [inp([2, 4, 5, 6]), inp([6, 2, 3, 2]), inp([6])]);
  check((x, w) => F.conv2d(x, w, null, 1, 'same'), [inp([1, 2, 4, 5]), inp([3, 2, 2, 3])]);
  check((x, w) => F.conv2d(x, w, null, 1, 'valid'), [inp([2, 5, 5]), inp([3, 2, 3, 3])]);
});

test('conv2d: second derivatives run on the conv kernel family', () => {
  assert.ok(
    gradgradcheck((x, w) => F.conv2d(x, w, null, 2, 1, 1, 1), [inp([1, 2, 5, 5]), inp([2, 2, 3, 3])], {
      atol: 1e-6,
      rtol: 1e-4,
    }),
  );
});

test('conv1d and convTranspose2d', () => {
  check((x, w, b) => F.conv1d(x, w, b, 2, 1, 2), [inp([2, 3, 9]), inp([4, 3, 3]), inp([4])]);
  check((x, w) => F.conv1d(x, w, null, 1, 'same'), [inp([1, 2, 6]), inp([2, 2, 4])]);
  check((x, w, b) => F.convTranspose2d(x, w, b, 2, 1, 1), [inp([2, 3, 3, 3]), inp([3, 2, 3, 3]), inp([2])]);
  check((x, w) => F.convTranspose2d(x, w, null, [1, 2], 0, 0, 2, [2, 1]), [inp([1, 4, 3, 3]), inp([4, 3, 2, 3])]);
  assert.ok(
    gradgradcheck((x, w) => F.convTranspose2d(x, w, null, 2), [inp([1, 2, 2, 2]), inp([2, 2, 2, 2])], {
      atol: 1e-6,
      rtol: 1e-4,
    }),
  );
});

test('convTranspose2d is the adjoint of conv2d in its input', () => {
  const x = inp([2, 3, 7, 6], false),
    w = inp([4, 3, 3, 3], false),
    y = inp([2, 4, 4, 3], false);
  // <conv(x, w), y> == <x, convT(y, w)>
  const lhs = F.conv2d(x, w, null, 2, 1).mul(y).sum().item();
  const rhs = x
    .mul(F.convTranspose2d(y, w, null, 2, 1, [0, 1]))
    .sum()
    .item();
  assert.ok(Math.abs(lhs - rhs) < 1e-9 * Math.max(1, Math.abs(lhs)));
});

test('pools: maxPool1d/2d, avgPool2d, adaptiveAvgPool2d', () => {
  check((x) => F.maxPool2d(x, 2), [inp([2, 2, 4, 4])]);
  check((x) => F.maxPool2d(x, 3, 2, 1, 1, true), [inp([1, 2, 6, 6])]);
  check((x) => F.maxPool2d(x, [2, 3], [1, 2], 0, [2, 1]), [inp([1, 1, 6, 7])]);
  check((x) => F.maxPool1d(x, 3, 2, 1), [inp([2, 3, 8])]);
  check((x) => F.avgPool2d(x, 3, 2, 1, false, true), [inp([2, 2, 5, 5])]);
  check((x) => F.avgPool2d(x, 2, 2, 1, true, false), [inp([1, 2, 5, 5])]);
  assert.ok(gradgradcheck((x) => F.avgPool2d(x, 2, 1), [inp([1, 1, 3, 3])], { atol: 1e-6, rtol: 1e-4 }));
  check((x) => F.adaptiveAvgPool2d(x, [3, 2]), [inp([2, 2, 7, 5])]);
  check((x) => F.adaptiveAvgPool2d(x, 1), [inp([2, 3, 3, 3])]);
});

test('maxPool2d returns PyTorch-style flat indices', () => {
  const x = nb.tensor([
    [
      [
        [1, 5, 2, 0],
        [3, 4, 9, 1],
        [0, 0, 0, 7],
        [8, 1, 2, 3],
      ],
    ],
  ]);
  const [v, i] = F.maxPool2d(x, 2, null, 0, 1, false, true);
  assert.deepEqual(v.toArray(), [
    [
      [
        [5, 9],
        [8, 7],
      ],
    ],
  ]);
  assert.deepEqual(i.toArray(), [
    [
      [
        [1, 6],
        [12, 11],
      ],
    ],
  ]);
});

test('interpolate: nearest, linear, bilinear with and without alignCorners', () => {
  check((x) => F.interpolate(x, { scaleFactor: 2 }), [inp([1, 2, 3, 3])]);
  check((x) => F.interpolate(x, { size: [5, 7] }), [inp([1, 1, 3, 4])]);
  check((x) => F.interpolate(x, { size: 7, mode: 'linear' }), [inp([2, 2, 4])]);
  check((x) => F.interpolate(x, { scaleFactor: 2, mode: 'bilinear' }), [inp([1, 2, 3, 4])]);
  check((x) => F.interpolate(x, { size: [5, 2], mode: 'bilinear', alignCorners: true }), [inp([1, 1, 3, 4])]);
  const y = F.interpolate(nb.tensor([[[0, 1, 2]]]), { size: 5, mode: 'linear', alignCorners: true });
  assertClose(y, [[[0, 0.5, 1, 1.5, 2]]]);
});

test('linear, bilinear, embedding', () => {
  check((x, w, b) => F.linear(x, w, b), [inp([2, 3, 4]), inp([5, 4]), inp([5])]);
  check((a, b, w, bias) => F.bilinear(a, b, w, bias), [inp([3, 4]), inp([3, 2]), inp([5, 4, 2]), inp([5])]);
  const idx = nb.tensor(
    [
      [0, 2, 1],
      [2, 2, 3],
    ],
    { dtype: 'int32' },
  );
  check((w) => F.embedding(idx, w), [inp([4, 3])]);
  const w = inp([4, 3]);
  F.embedding(idx, w, 2).sum().backward();
  assert.deepEqual(w.grad!.toArray(), [
    [1, 1, 1],
    [1, 1, 1],
    [0, 0, 0],
    [1, 1, 1],
  ]);
});

test('layerNorm, groupNorm, rmsNorm, batchNorm', () => {
  check((x, w, b) => F.layerNorm(x, [3, 4], w, b), [inp([2, 3, 4]), inp([3, 4]), inp([3, 4])]);
  check((x, w, b) => F.groupNorm(x, 2, w, b), [inp([2, 4, 3]), inp([4]), inp([4])]);
  check((x, w) => F.rmsNorm(x, 4, w, 1e-6), [inp([3, 4]), inp([4])]);
  check(
    (x, w, b) => F.batchNorm(x, null, null, { weight: w, bias: b, training: true }),
    [inp([4, 3, 2]), inp([3]), inp([3])],
  );
  const rm = nb.tensor([0.1, -0.2, 0.3], { dtype: 'float64' }),
    rv = nb.tensor([1.5, 0.5, 2], { dtype: 'float64' });
  check((x, w) => F.batchNorm(x, rm, rv, { weight: w, training: false }), [inp([4, 3]), inp([3])]);
});

test('rmsNorm matches x / sqrt(mean(x^2) + eps) * w', () => {
  const x = nb.tensor(
      [
        [1, 2, 3, 4],
        [-1, 0, 0, 1],
      ],
      { dtype: 'float64' },
    ),
    w = nb.tensor([1, 2, 3, 4], { dtype: 'float64' });
  const y = F.rmsNorm(x, [4], w, 1e-5);
  const r0 = Math.sqrt((1 + 4 + 9 + 16) / 4 + 1e-5),
    r1 = Math.sqrt(0.5 + 1e-5);
  assertClose(
    y,
    [
      [1 / r0, 4 / r0, 9 / r0, 16 / r0],
      [-1 / r1, 0, 0, 4 / r1],
    ],
    { rtol: 1e-12 },
  );
});

test('batchNorm updates running statistics with the unbiased variance', () => {
  const x = nb.tensor(
    [
      [1, 10],
      [3, 20],
      [5, 60],
    ],
    { dtype: 'float64' },
  );
  const rm = nb.zeros([2], { dtype: 'float64' }),
    rv = nb.ones([2], { dtype: 'float64' });
  F.batchNorm(x, rm, rv, { training: true, momentum: 0.5 });
  assertClose(rm, [1.5, 15]);
  assertClose(rv, [0.5 + 0.5 * 4, 0.5 + 0.5 * 700]);
});

test('scaledDotProductAttention: gradients and masks', () => {
  check((q, k, v) => F.scaledDotProductAttention(q, k, v), [inp([2, 3, 4]), inp([2, 5, 4]), inp([2, 5, 2])]);
  check(
    (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true }),
    [inp([1, 4, 3]), inp([1, 4, 3]), inp([1, 4, 2])],
  );
  const fm = inp([3, 5], false);
  check(
    (q, k, v) => F.scaledDotProductAttention(q, k, v, { attnMask: fm, scale: 0.3 }),
    [inp([3, 4]), inp([5, 4]), inp([5, 2])],
  );
  // a bool mask keeps the true positions; isCausal equals the lower-triangular bool mask
  const q = inp([2, 4, 3], false),
    k = inp([2, 4, 3], false),
    v = inp([2, 4, 2], false);
  const causal = F.scaledDotProductAttention(q, k, v, { isCausal: true });
  assertClose(causal, F.scaledDotProductAttention(q, k, v, { attnMask: F.causalMask(4, 4) }));
  // by hand for one row: the first query sees only the first key
  assertClose(causal.index(null, [0, 2], 0), v.index(null, [0, 2], 0), { rtol: 1e-12 });
  const s = q.matmul(k.mT).div(Math.sqrt(3)).softmax(-1).matmul(v);
  assertClose(F.scaledDotProductAttention(q, k, v), s, { rtol: 1e-12 });
  assert.throws(() => F.scaledDotProductAttention(q, k, v, { isCausal: true, attnMask: fm }), /cannot both be set/);
});

test('dropout: seeded by the default generator, scaled by 1/(1-p), identity in eval', () => {
  const x = nb.ones([1000], { dtype: 'float64' });
  nb.manualSeed(5);
  const a = F.dropout(x, 0.3);
  nb.manualSeed(5);
  assert.deepEqual(a.toArray(), F.dropout(x, 0.3).toArray());
  const v = a.toTypedArray();
  const zeros = v.filter((e) => e === 0).length;
  assert.ok(zeros > 240 && zeros < 360, `zeroed ${zeros} of 1000`);
  assert.ok(v.every((e) => e === 0 || Math.abs(e - 1 / 0.7) < 1e-12));
  assert.equal(F.dropout(x, 0.3, false), x);
  check(
    (x) => {
      nb.manualSeed(9);
      return F.dropout(x, 0.4);
    },
    [inp([3, 4])],
  );
});

test('clear errors name the op and the shapes', () => {
  assert.throws(
    () => F.conv2d(nb.randn([1, 3, 5, 5]), nb.randn([4, 2, 3, 3])),
    /conv2d: input \[1, 3, 5, 5\] has 3 channels, but weight \[4, 2, 3, 3\] with groups=1 expects 2/,
  );
  assert.throws(
    () => F.conv2d(nb.randn([1, 2, 5, 5]), nb.randn([4, 2, 3, 3]), null, 2, 'same'),
    /'same' is not supported for strided/,
  );
  assert.throws(() => F.maxPool2d(nb.randn([1, 1, 4, 4]), 2, 2, 2), /pad should be at most half/);
  assert.throws(
    () => F.linear(nb.randn([2, 3]), nb.randn([4, 5])),
    /linear: expected input \(\*, 5\) for weight \[4, 5\], got \[2, 3\]/,
  );
  assert.throws(() => F.layerNorm(nb.randn([2, 3]), [4]), /layerNorm: expected input \(\*, 4\), got \[2, 3\]/);
  assert.throws(
    () => F.interpolate(nb.randn([1, 1, 4]), { size: 3, mode: 'bilinear' }),
    /mode 'bilinear' expects a 4-D input/,
  );
});
