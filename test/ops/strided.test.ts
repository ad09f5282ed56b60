// Conformance: the strided machinery under random layouts. Random chains of views (permute, slice
// with step, flip-like negative steps via flip, select, expand, unsqueeze) are read back, reduced and
// combined, and compared with a naive reference that walks the layout index by index.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import { Generator } from '../../src/tensor/random.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/assert.js';
import { backends, withBackend } from '../helpers/backends.js';

/** Values of t in row-major order, read straight from storage through shape/strides/offset. */
function naiveRead(t: Tensor): number[] {
  const { shape, strides, offset } = t.layout;
  const out: number[] = [];
  const walk = (d: number, p: number): void => {
    if (d === shape.length) {
      out.push(t.storage.data[p]);
      return;
    }
    for (let i = 0; i < shape[d]; i++) walk(d + 1, p + i * strides[d]);
  };
  walk(0, offset);
  return out;
}

/** A random view of a fresh (a..)-shaped tensor; returns the view. */
function randomView(g: Generator): Tensor {
  const rank = 1 + Math.floor(g.random() * 4);
  const shape = Array.from({ length: rank }, () => 1 + Math.floor(g.random() * 4));
  let t = g.normal(shape, 0, 1, 'float32');
  for (let step = 0; step < 3; step++) {
    const r = g.random(),
      d = Math.floor(g.random() * t.ndim);
    if (r < 0.25 && t.ndim > 1) {
      t = t.permute(Array.from(g.permutation(t.ndim)));
    } else if (r < 0.45 && t.shape[d] > 1) {
      t = t.slice(d, Math.floor(g.random() * 2), null, 1 + Math.floor(g.random() * 2));
    } else if (r < 0.6 && t.ndim > 1 && t.shape[d] > 0) {
      t = t.select(d, Math.floor(g.random() * t.shape[d]));
    } else if (r < 0.8) {
      t = t.unsqueeze(d);
      const s = [...t.shape];
      s[d] = 1 + Math.floor(g.random() * 3);
      t = t.expand(s);
    } else {
      t = t.transpose(0, d);
    }
  }
  return t;
}

for (const be of backends()) {
  describe(`strided layouts [${be}]`, () => {
    test('random view chains read back, copy, reduce and combine like the naive walk', () =>
      withBackend(be, () => {
        const g = new Generator(99);
        for (let trial = 0; trial < 150; trial++) {
          const v = randomView(g);
          const want = naiveRead(v);
          const ctx = `trial ${trial}: shape [${v.shape}] strides [${v.stride()}] offset ${v.layout.offset}`;
          assert.deepEqual(Array.from(v.toTypedArray()), want, `${ctx} toTypedArray`);
          assert.deepEqual(Array.from(v.contiguous().toTypedArray()), want, `${ctx} contiguous`);
          assertClose(
            v.mul(2).add(1),
            want.map((x) => Math.fround(2 * x) + 1),
            { rtol: 1e-6 },
            `${ctx} elementwise`,
          );
          assertClose(v.exp(), want.map(Math.exp), { rtol: 1e-6 }, `${ctx} unary`);
          assertClose(v.sum(), [want.reduce((p, q) => p + q, 0)], { rtol: 1e-5, atol: 1e-5 }, `${ctx} sum`);
          if (v.ndim > 0) {
            const d = trial % v.ndim;
            const c = v.contiguous();
            assertClose(v.sum(d, true), c.sum(d, true), { rtol: 1e-6, atol: 1e-6 }, `${ctx} sum(${d})`);
            assertClose(v.amax(d), c.amax(d), {}, `${ctx} amax(${d})`);
            assert.deepEqual(v.argmax(d).toArray(), c.argmax(d).toArray(), `${ctx} argmax(${d})`);
            assertClose(v.cumsum(d), c.cumsum(d), { rtol: 1e-6, atol: 1e-6 }, `${ctx} cumsum(${d})`);
            assertClose(v.softmax(d), c.softmax(d), { rtol: 1e-6, atol: 1e-7 }, `${ctx} softmax(${d})`);
            assertClose(v.flip([d]), c.flip([d]), {}, `${ctx} flip(${d})`);
            assert.deepEqual(v.sort(d).values.toArray(), c.sort(d).values.toArray(), `${ctx} sort(${d})`);
            // binary with a differently laid-out operand of the same values
            assertClose(v.sub(c), new Array(want.length).fill(0), {}, `${ctx} v - contiguous(v)`);
            if (v.ndim >= 2) {
              const m = v.flatten(0, -2); // (R, C), may copy
              assertClose(
                m.matmul(m.mT),
                m.contiguous().matmul(m.contiguous().mT),
                { rtol: 1e-5, atol: 1e-5 },
                `${ctx} matmul`,
              );
            }
          }
          // writes through the view land where the naive walk reads (expanded views are skipped: aliasing)
          if (!v.stride().some((s, i) => s === 0 && v.shape[i] > 1)) {
            v.copy_(
              nb
                .arange(v.numel())
                .float()
                .view([...v.shape]),
            );
            assert.deepEqual(naiveRead(v), [...Array(v.numel()).keys()], `${ctx} copy_ into the view`);
          }
        }
      }));
  });
}
