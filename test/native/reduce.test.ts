// Native reduce (sum, prod, max, min over any axes) and softmax / log-softmax vs the JS backend.
import { test } from 'node:test';
import { ReduceOp } from '../../src/backend/op_codes.js';
import { Layout } from '../../src/tensor/layout.js';
import { KINDS, SIZES, assertClose, fill, input, js, native, rng, skip } from './helpers.js';

const OPS = [ReduceOp.SUM, ReduceOp.PROD, ReduceOp.MAX, ReduceOp.MIN];
const AXES = [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2], []];

test('reduce: every op over every axis set of (n,5,3), every layout kind, ±1e4/0/NaN', { skip }, () => {
  const r = rng(20);
  for (const op of OPS) {
    const rtol = op === ReduceOp.PROD ? 1e-5 : 1e-6;
    for (const n of SIZES)
      for (const kind of KINDS)
        for (const axes of AXES) {
          // prod over many elements under/overflows; keep its values near 1
          const X = input([n, 5, 3], kind, r, (k) =>
            op === ReduceOp.PROD ? fill(k, r, 1).map((v) => 1 + v / 8) : fill(k, r, 4, true),
          );
          const got = native!.reduce(op, X.data, X.layout, axes, 'float32')!;
          const want = js.reduce(op, X.data, X.layout, axes, 'float32');
          assertClose(got, want, rtol, 1e-6, `${ReduceOp[op]} [${n},5,3] ${kind} axes=[${axes}]`);
        }
  }
});

test('reduce: column sums of a large contiguous matrix (bias-gradient shape) and a long row', { skip }, () => {
  const r = rng(21);
  const x = fill(1000 * 777, r);
  for (const op of OPS.filter((o) => o !== ReduceOp.PROD)) {
    for (const axes of [[0], [1]]) {
      const l = Layout.contiguous([1000, 777]);
      assertClose(
        native!.reduce(op, x, l, axes, 'float32')!,
        js.reduce(op, x, l, axes, 'float32'),
        1e-6,
        1e-5,
        `${ReduceOp[op]} big axes=[${axes}]`,
      );
    }
  }
});

test('softmax and log-softmax along every axis, every layout kind, ±1e4/0/NaN', { skip }, () => {
  const r = rng(22);
  for (const log of [false, true])
    for (const n of SIZES)
      for (const kind of KINDS)
        for (const axis of [0, 1, 2]) {
          const X = input([n, 6, 4], kind, r, (k) => fill(k, r, 5, true));
          const got = native!.softmax(X.data, X.layout, axis, log)!;
          const want = js.softmax(X.data, X.layout, axis, log);
          assertClose(got, want, 2e-6, log ? 1e-5 : 1e-7, `softmax log=${log} [${n},6,4] ${kind} axis=${axis}`);
        }
});

test('softmax: rows longer than the gather buffer (5000), strided', { skip }, () => {
  const r = rng(23);
  const x = fill(2 * 5000 * 3, r, 10);
  for (const l of [new Layout([3, 5000], [1, 6]), Layout.contiguous([3, 5000])]) {
    for (const log of [false, true]) {
      assertClose(native!.softmax(x, l, 1, log)!, js.softmax(x, l, 1, log), 2e-6, 1e-6, `softmax long log=${log}`);
    }
  }
});
