// nb.nn.init and the layers' default initialisation: bounds and moments as PyTorch defines them,
// orthogonality, seeding by nb.manualSeed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from './nb.js';

const { init, nn } = { init: nb.nn.init, nn: nb.nn };

function stats(t: nb.Tensor): { min: number; max: number; mean: number; std: number } {
  const v = Array.from(t.toTypedArray() as Float32Array);
  const mean = v.reduce((p, q) => p + q, 0) / v.length;
  const std = Math.sqrt(v.reduce((p, q) => p + (q - mean) ** 2, 0) / v.length);
  return { min: Math.min(...v), max: Math.max(...v), mean, std };
}

test('calculateGain and fans', () => {
  assert.equal(init.calculateGain('linear'), 1);
  assert.equal(init.calculateGain('relu'), Math.SQRT2);
  assert.equal(init.calculateGain('tanh'), 5 / 3);
  assert.equal(init.calculateGain('leaky_relu', Math.sqrt(5)), Math.sqrt(2 / 6));
  assert.equal(init.calculateGain('selu'), 0.75);
  assert.deepEqual(init.calculateFanInAndFanOut(nb.zeros([16, 3, 5, 5])), [75, 400]);
  assert.throws(() => init.calculateFanInAndFanOut(nb.zeros([4])), /fewer than 2 dimensions/);
});

test('uniform, normal, constant, kaiming, xavier, truncNormal', () => {
  nb.manualSeed(0);
  const w = nb.zeros([200, 100]);
  let s = stats(init.kaimingUniform_(w, { a: Math.sqrt(5) }));
  assert.ok(
    s.max <= 0.1 && s.min >= -0.1 && s.max > 0.099,
    `kaiming_uniform(a=sqrt5) bound 1/sqrt(fan_in): ${s.min} ${s.max}`,
  );
  s = stats(init.kaimingNormal_(w, { mode: 'fan_out', nonlinearity: 'relu' }));
  assert.ok(Math.abs(s.std - Math.sqrt(2 / 200)) < 0.005, `kaiming_normal std ${s.std}`);
  s = stats(init.xavierUniform_(w, 2));
  const b = 2 * Math.sqrt(6 / 300);
  assert.ok(s.max <= b && s.min >= -b && s.max > 0.98 * b);
  s = stats(init.xavierNormal_(w));
  assert.ok(Math.abs(s.std - Math.sqrt(2 / 300)) < 0.003);
  s = stats(init.truncNormal_(w, 0.5, 1, -0.5, 1));
  assert.ok(s.min >= -0.5 && s.max <= 1);
  s = stats(init.normal_(w, 3, 0.5));
  assert.ok(Math.abs(s.mean - 3) < 0.02 && Math.abs(s.std - 0.5) < 0.02);
  s = stats(init.uniform_(w, -2, -1));
  assert.ok(s.min >= -2 && s.max < -1);
  assert.deepEqual(stats(init.ones_(w)), { min: 1, max: 1, mean: 1, std: 0 });
  assert.equal(stats(init.zeros_(w)).max, 0);
  assert.equal(stats(init.constant_(w, 0.25)).min, 0.25);
});

test('orthogonal_ gives orthonormal rows or columns', () => {
  for (const shape of [
    [5, 8],
    [8, 5],
    [4, 2, 3],
  ]) {
    const w = init.orthogonal_(nb.zeros(shape, { dtype: 'float64' }), 1.5);
    const m = w.reshape([shape[0], -1]);
    const g = shape[0] <= m.shape[1] ? m.matmul(m.t()) : m.t().matmul(m);
    const n = g.shape[0];
    const eye = nb.eye(n, n, { dtype: 'float64' }).mul(2.25);
    assert.ok(g.sub(eye).abs().amax().item() < 1e-10, `shape [${shape}]`);
  }
});

test('initialisers draw from the default generator: nb.manualSeed makes layers repeatable', () => {
  nb.manualSeed(42);
  const a = new nn.Conv2d(3, 4, 3);
  nb.manualSeed(42);
  const b = new nn.Conv2d(3, 4, 3);
  assert.deepEqual(a.weight.toArray(), b.weight.toArray());
  assert.deepEqual(a.bias!.toArray(), b.bias!.toArray());
});

test("layers' default initialisation follows PyTorch", () => {
  nb.manualSeed(3);
  const lin = new nn.Linear(400, 50);
  let s = stats(lin.weight);
  assert.ok(s.max <= 0.05 && s.min >= -0.05 && s.max > 0.049);
  assert.ok(Math.abs(s.std - 0.05 / Math.sqrt(3)) < 0.002);
  s = stats(lin.bias!);
  assert.ok(s.max <= 0.05 && s.min >= -0.05);
  const conv = new nn.Conv2d(8, 16, 3, { groups: 2 }); // fan_in = 4 * 9
  s = stats(conv.weight);
  assert.ok(s.max <= 1 / 6 && s.max > 0.15);
  const rnn = new nn.GRU(10, 25);
  for (const p of rnn.parameters()) {
    s = stats(p);
    assert.ok(s.max <= 0.2 && s.min >= -0.2);
  }
  const emb = new nn.Embedding(1000, 20, { paddingIdx: 3 });
  s = stats(emb.weight);
  assert.ok(Math.abs(s.std - 1) < 0.03);
  assert.deepEqual(emb.weight.select(0, 3).toArray(), Array(20).fill(0));
  const bn = new nn.BatchNorm2d(3);
  assert.deepEqual(
    [bn.weight!.toArray(), bn.bias!.toArray(), bn.runningMean!.toArray(), bn.runningVar!.toArray()],
    [
      [1, 1, 1],
      [0, 0, 0],
      [0, 0, 0],
      [1, 1, 1],
    ],
  );
  const mha = new nn.MultiheadAttention(8, 2);
  assert.equal(mha.in_proj_bias!.abs().sum().item(), 0);
  assert.equal(mha.out_proj.bias!.abs().sum().item(), 0);
  s = stats(mha.in_proj_weight!);
  assert.ok(s.max <= Math.sqrt(6 / 32));
});
