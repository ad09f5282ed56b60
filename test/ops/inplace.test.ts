// Conformance: in-place ops on every backend (add_, sub_, mul_, div_, clamp_, copy_, fill_, zero_,
// uniform_, normal_, maskedFill_): values, broadcasting into self, dtype casting, writes through
// views, version counters, and seeded reproducibility of the random fills.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import { backends, withBackend } from '../helpers/backends.js';

const F = (v: unknown) => nb.tensor(v as number[]);

for (const be of backends()) {
  describe(`in-place ops [${be}]`, () => {
    const run = (fn: () => void) => () => withBackend(be, fn);

    test(
      'arithmetic in place returns self, broadcasts the other operand and bumps the version',
      run(() => {
        const x = F([
          [1, 2],
          [3, 4],
        ]);
        const v0 = x.version;
        assert.equal(x.add_(F([10, 20])), x);
        assert.deepEqual(x.toArray(), [
          [11, 22],
          [13, 24],
        ]);
        x.sub_(1, 2);
        assert.deepEqual(x.toArray(), [
          [9, 20],
          [11, 22],
        ]);
        x.mul_(F([[2], [0.5]]));
        assert.deepEqual(x.toArray(), [
          [18, 40],
          [5.5, 11],
        ]);
        x.div_(2);
        assert.deepEqual(x.toArray(), [
          [9, 20],
          [2.75, 5.5],
        ]);
        x.clamp_(3, 10);
        assert.deepEqual(x.toArray(), [
          [9, 10],
          [3, 5.5],
        ]);
        x.add_(
          F([
            [1, 1],
            [1, 1],
          ]),
          -1,
        );
        assert.deepEqual(x.toArray(), [
          [8, 9],
          [2, 4.5],
        ]);
        assert.equal(x.version, v0 + 6);
        assert.throws(
          () =>
            F([1, 2]).add_(
              F([
                [1, 2],
                [3, 4],
              ]),
            ),
          /add_: output with shape \[2\] doesn't match the broadcast shape \[2, 2\]/,
        );
      }),
    );

    test(
      'in-place results keep self dtype (int32 += float truncates like a cast)',
      run(() => {
        const i = nb.tensor([1, 2], { dtype: 'int32' });
        i.add_(1);
        assert.deepEqual(i.toArray(), [2, 3]);
        assert.equal(i.dtype, 'int32');
        const d = nb.tensor([1, 2], { dtype: 'float64' });
        d.mul_(F([0.1, 0.1]));
        assert.equal(d.dtype, 'float64');
      }),
    );

    test(
      'writes through views reach the base, including strided and transposed views',
      run(() => {
        const base = nb.zeros([3, 4]);
        base.select(1, 2).fill_(7);
        base.narrow(0, 1, 1).add_(1);
        base.slice(1, 0, null, 3).mul_(2);
        base
          .t()
          .select(0, 1)
          .copy_(F([5, 6, 7]));
        assert.deepEqual(base.toArray(), [
          [0, 5, 7, 0],
          [2, 6, 8, 2],
          [0, 7, 7, 0],
        ]);
        const v = base.view(12);
        v.zero_();
        assert.deepEqual(base.sum().item(), 0);
        assert.equal(v.version, base.version, 'views share the version counter');
      }),
    );

    test(
      'copy_ broadcasts and casts; fill_ and zero_',
      run(() => {
        const x = nb.zeros([2, 3]);
        x.copy_(F([1, 2, 3]));
        assert.deepEqual(x.toArray(), [
          [1, 2, 3],
          [1, 2, 3],
        ]);
        x.copy_(nb.tensor([[true], [false]]));
        assert.deepEqual(x.toArray(), [
          [1, 1, 1],
          [0, 0, 0],
        ]);
        const i = nb.zeros([2], { dtype: 'int32' });
        i.copy_(F([1.7, -1.7]));
        assert.deepEqual(i.toArray(), [1, -1]);
        x.fill_(2.5);
        assert.deepEqual(x.toArray(), [
          [2.5, 2.5, 2.5],
          [2.5, 2.5, 2.5],
        ]);
        x.copy_(4);
        assert.deepEqual(x.toArray(), [
          [4, 4, 4],
          [4, 4, 4],
        ]);
        assert.equal(x.zero_(), x);
        assert.deepEqual(x.toArray(), [
          [0, 0, 0],
          [0, 0, 0],
        ]);
        assert.throws(() => x.copy_(F([1, 2])), /copy_: cannot expand shape \[2\] to \[2, 3\]/);
        const m = F([1, 2, 3]);
        m.maskedFill_(nb.tensor([true, false, true]), 0);
        assert.deepEqual(m.toArray(), [0, 2, 0]);
      }),
    );

    test(
      'uniform_ and normal_: range, moments, and reproducible with manualSeed',
      run(() => {
        nb.manualSeed(3);
        const u = nb.empty([20000]).uniform_(-2, 3);
        const uv = Array.from(u.toTypedArray());
        assert.ok(uv.every((v) => v >= -2 && v < 3));
        assert.ok(Math.abs(u.mean().item() - 0.5) < 0.05);
        const n = nb.empty([20000], { dtype: 'float64' }).normal_(1, 2);
        assert.ok(Math.abs(n.mean().item() - 1) < 0.06);
        assert.ok(Math.abs(n.std().item() - 2) < 0.06);
        nb.manualSeed(3);
        assert.deepEqual(Array.from(nb.empty([20000]).uniform_(-2, 3).toTypedArray()), uv);
        const view = nb.zeros([4, 4]);
        view.t().narrow(0, 1, 2).normal_();
        const cols = view.toArray() as number[][];
        assert.ok(
          cols.every((r) => r[0] === 0 && r[3] === 0 && r[1] !== 0 && r[2] !== 0),
          'only the view is filled',
        );
        assert.throws(
          () => nb.zeros([2], { dtype: 'int32' }).normal_(),
          /normal: expected a floating point dtype, got int32/,
        );
      }),
    );

    test(
      'optimiser-style update under noGrad on leaves that require grad',
      run(() => {
        const w = F([1, 2]).requiresGrad_();
        w.mul(w).sum().backward();
        nb.noGrad(() => {
          w.sub_(w.grad!, 0.5);
          w.grad!.zero_();
        });
        assert.deepEqual(w.toArray(), [0, 0]);
        assert.equal(w.requiresGrad, true);
        assert.equal(w.isLeaf, true);
        assert.deepEqual(w.grad!.toArray(), [0, 0]);
      }),
    );
  });
}
