// The registry's composition of an accelerated backend with the JS one: a kernel the backend lacks,
// or declines for a call (returns undefined), runs on JS; BACKEND_VALIDATE (validate: true) shadow-runs
// every call it accepts on JS and catches a wrong result, for a single-output, a multi-output and an
// in-place kernel alike, without applying an in-place update twice.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AdamParams, PartialBackend } from '../../src/backend/backend.js';
import { jsBackend } from '../../src/backend/js/index.js';
import { UnaryOp } from '../../src/backend/op_codes.js';
import { KERNEL_NAMES, composeBackend } from '../../src/backend/registry.js';
import { Layout } from '../../src/tensor/layout.js';

const lx = Layout.contiguous([3, 5]);
const x = Float32Array.from({ length: 15 }, (_, i) => Math.sin(i + 1) * 3);
const adam: AdamParams = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled: true, step: 3 };

/** Fresh p, g, m, v (n = 15) for an Adam step. */
function adamBuffers() {
  return [x.slice(), x.map((v) => v * 0.1 - 0.2), x.map((v) => v * 0.01), x.map((v) => v * v * 1e-3)];
}

test('the seam is one contract: every kernel, fused ones included, has a JS reference', () => {
  for (const k of [
    'unary',
    'matmul',
    'conv2d',
    'linear',
    'sgdStep',
    'adamStep',
    'batchNorm',
    'batchNormBackward',
    'conv2dFused',
    'layerNorm',
    'layerNormBackward',
    'attention',
    'attentionKv',
    'attentionBackward',
  ] as const) {
    assert.ok(KERNEL_NAMES.includes(k), `${k} is a kernel`);
    assert.equal(typeof jsBackend[k], 'function', `${k} has a JS reference`);
  }
  assert.ok(!KERNEL_NAMES.includes('nextStamp' as never), 'nextStamp is a capability, not a kernel');
});

test('a kernel that is absent or declines runs on JS, call by call', () => {
  const calls: string[] = [];
  const partial: PartialBackend = {
    name: 'test-decline',
    info: {},
    // accepts exp only; declines everything else
    unary: (op, xs, l, dt) => {
      calls.push(`unary ${op}`);
      return op === UnaryOp.EXP ? jsBackend.unary(op, xs, l, dt) : undefined;
    },
    layerNorm: () => {
      calls.push('layerNorm');
      return undefined;
    },
    adamStep: () => {
      calls.push('adamStep');
      return undefined;
    },
    nextStamp: () => 42,
  };
  const b = composeBackend(partial);
  assert.deepEqual(b.unary(UnaryOp.TANH, x, lx, 'float32'), jsBackend.unary(UnaryOp.TANH, x, lx, 'float32'));
  assert.deepEqual(b.unary(UnaryOp.EXP, x, lx, 'float32'), jsBackend.unary(UnaryOp.EXP, x, lx, 'float32'));
  assert.deepEqual(b.layerNorm(x, lx, null, null, 1e-5), jsBackend.layerNorm(x, lx, null, null, 1e-5));
  const [p, g, m, v] = adamBuffers(),
    [p2, g2, m2, v2] = adamBuffers();
  assert.equal(b.adamStep(p, g, m, v, adam), true);
  jsBackend.adamStep(p2, g2, m2, v2, adam);
  assert.deepEqual([p, m, v], [p2, m2, v2], 'a declined in-place kernel is applied once, by JS');
  assert.deepEqual(calls, [`unary ${UnaryOp.TANH}`, `unary ${UnaryOp.EXP}`, 'layerNorm', 'adamStep']);
  // absent kernels are JS's own
  assert.equal(b.matmul, jsBackend.matmul);
  assert.equal(b.nextStamp?.(), 42);
});

/** A backend whose kernels are JS's, with one wrong in the way `wrong` says. */
function wrongBackend(wrong: 'unary' | 'layerNorm.rstd' | 'adamStep.p' | 'adamStep.v' | 'none'): PartialBackend {
  return {
    name: `test-wrong-${wrong}`,
    info: {},
    unary: (op, xs, l, dt, p0, p1) => {
      const y = jsBackend.unary(op, xs, l, dt, p0, p1);
      if (wrong === 'unary') y[7] += 0.01;
      return y;
    },
    layerNorm: (xs, l, w, b, eps) => {
      const r = jsBackend.layerNorm(xs, l, w, b, eps);
      if (wrong === 'layerNorm.rstd') r.rstd[2] *= 1.01;
      return r;
    },
    adamStep: (p, g, m, v, o) => {
      jsBackend.adamStep(p, g, m, v, o);
      if (wrong === 'adamStep.p') p[4] += 1e-3;
      if (wrong === 'adamStep.v') v[0] = -1;
      return true;
    },
  };
}

test('BACKEND_VALIDATE catches a wrong single-output, multi-output and in-place kernel', () => {
  const ok = composeBackend(wrongBackend('none'), { validate: true });
  ok.unary(UnaryOp.SIGMOID, x, lx, 'float32');
  ok.layerNorm(x, lx, null, null, 1e-5);
  const [p, g, m, v] = adamBuffers(),
    [p2, g2, m2, v2] = adamBuffers();
  ok.adamStep(p, g, m, v, adam);
  jsBackend.adamStep(p2, g2, m2, v2, adam);
  assert.deepEqual([p, m, v], [p2, m2, v2], 'a validated in-place kernel is applied once, and JS ran on copies');

  const bad = (w: Parameters<typeof wrongBackend>[0]) => composeBackend(wrongBackend(w), { validate: true });
  assert.throws(
    () => bad('unary').unary(UnaryOp.SIGMOID, x, lx, 'float32'),
    /BACKEND_VALIDATE: unary differs from js at element 7/,
  );
  assert.throws(
    () => bad('layerNorm.rstd').layerNorm(x, lx, null, null, 1e-5),
    /BACKEND_VALIDATE: layerNorm \(rstd\) differs from js at element 2/,
  );
  assert.throws(
    () =>
      bad('adamStep.p').adamStep(...(adamBuffers() as [Float32Array, Float32Array, Float32Array, Float32Array]), adam),
    /BACKEND_VALIDATE: adamStep \(argument 0, written in place\) differs from js at element 4/,
  );
  assert.throws(
    () =>
      bad('adamStep.v').adamStep(...(adamBuffers() as [Float32Array, Float32Array, Float32Array, Float32Array]), adam),
    /BACKEND_VALIDATE: adamStep \(argument 3, written in place\) differs from js at element 0/,
  );
  // without validation the same wrong kernels go unnoticed: the check is what catches them
  const r = composeBackend(wrongBackend('unary')).unary(UnaryOp.SIGMOID, x, lx, 'float32');
  assert.notDeepEqual(r, jsBackend.unary(UnaryOp.SIGMOID, x, lx, 'float32'));
});

test(
  'BACKEND_VALIDATE: an in-place kernel whose input is also its output is checked against the input as it ' + 'was',
  () => {
    // assign(dst, src) with src the same array as dst, shifted by one: JS must read the old values
    const dst = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const partial: PartialBackend = {
      name: 'test-alias',
      info: {},
      assign: (d, ld, s, ls) => {
        const src = s.slice();
        return jsBackend.assign(d, ld, src, ls);
      },
    };
    const b = composeBackend(partial, { validate: true });
    b.assign(dst, new Layout([5], [1], 1), dst, new Layout([5], [1], 0));
    assert.deepEqual([...dst], [1, 1, 2, 3, 4, 5]);
  },
);
