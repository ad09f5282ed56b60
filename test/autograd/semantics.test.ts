// Autograd semantics (issue 2): .grad accumulation, backward(gradient), retainGraph, noGrad/enableGrad,
// detach, leaf vs non-leaf and retainGrad, hooks, autograd.grad with createGraph, a 100,000-deep
// chain, and the error cases, whose messages must name the op and the shapes or dtypes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/assert.js';

const leaf = (v: number[] | number[][], dtype: nb.DType = 'float64') => nb.tensor(v, { dtype, requiresGrad: true });
const arr = (t: Tensor | null) => Array.from(t!.toTypedArray() as ArrayLike<number>);

describe('gradients accumulate and flow', () => {
  test('.grad accumulates across backward calls, and a zeroed grad restarts', () => {
    const x = leaf([1, 2, 3]);
    x.mul(x).sum().backward();
    assert.deepEqual(arr(x.grad), [2, 4, 6]);
    x.mul(3).sum().backward();
    assert.deepEqual(arr(x.grad), [5, 7, 9]);
    nb.noGrad(() => x.grad!.zero_());
    x.sum().backward();
    assert.deepEqual(arr(x.grad), [1, 1, 1]);
  });

  test('a tensor used twice gets the sum of both paths', () => {
    const x = leaf([2]);
    const y = x.mul(x).add(x.exp()).add(x);
    y.backward();
    assertClose(x.grad!, [4 + Math.exp(2) + 1]);
  });

  test('.grad of a leaf is its own tensor, not an alias of another gradient', () => {
    const a = leaf([1, 2]),
      b = leaf([3, 4]);
    a.add(b).sum().backward();
    nb.noGrad(() => a.grad!.mul_(10));
    assert.deepEqual(arr(b.grad), [1, 1]);
    assert.equal(a.grad!.requiresGrad, false);
  });

  test(
    'a first gradient the pass made for one leaf only becomes .grad without a copy; shared or seen ones are ' +
      'copied',
    () => {
      // fresh and unshared: x.mul(3)'s backward makes a new buffer for x alone
      const x = leaf([1, 2]);
      x.mul(3).sum().backward();
      assert.deepEqual(arr(x.grad), [3, 3]);
      // the caller's gradient reaches a leaf directly: .grad must not be the caller's tensor
      const g = nb.tensor([5, 6], { dtype: 'float64' }),
        y = leaf([1, 2]);
      y.backward(g);
      nb.noGrad(() => y.grad!.mul_(2));
      assert.deepEqual(arr(g), [5, 6]);
      // a hook that keeps what it sees: later in-place changes to .grad do not reach it
      const z = leaf([1, 2]);
      const seen: nb.Tensor[] = [];
      z.registerHook((t) => {
        seen.push(t);
      });
      z.mul(2).sum().backward();
      nb.noGrad(() => z.grad!.add_(100));
      assert.deepEqual(arr(seen[0]), [2, 2]);
      // one buffer viewed by two leaves (cat's backward narrows one gradient): separate copies
      const p = leaf([1, 2]),
        q = leaf([3]);
      nb.cat([p, q]).mul(4).sum().backward();
      nb.noGrad(() => p.grad!.mul_(0));
      assert.deepEqual(arr(q.grad), [4]);
    },
  );

  test('backward(gradient) for non-scalar outputs; shape checked', () => {
    const x = leaf([
      [1, 2],
      [3, 4],
    ]);
    const y = x.mul(2);
    y.backward(
      nb.tensor(
        [
          [1, 0.5],
          [0, -1],
        ],
        { dtype: 'float64' },
      ),
    );
    assert.deepEqual(arr(x.grad), [2, 1, 0, -2]);
    const z = leaf([1, 2, 3]).mul(2);
    assert.throws(
      () => z.backward(),
      /backward: grad can be implicitly created only for scalar outputs \(got shape \[3\]\)/,
    );
    assert.throws(
      () => z.backward(nb.ones([2], { dtype: 'float64' })),
      /backward: gradient has shape \[2\] but the tensor has shape \[3\]/,
    );
    assert.throws(
      () => z.backward(nb.ones([1, 3], { dtype: 'float64' })),
      /backward: gradient has shape \[1, 3\] but the tensor has shape \[3\]/,
    );
    assert.throws(
      () => nb.autograd.grad(z, [x], { gradOutputs: nb.ones([3, 1]) }),
      /autograd.grad: gradOutputs\[0\] has shape \[3, 1\] but output 0 has shape \[3\]/,
    );
    // a float32 gradient for a float64 output still gives float64 leaf gradients
    const w = leaf([1, 2]);
    w.mul(2).backward(nb.ones([2]));
    assert.equal(w.grad!.dtype, 'float64');
    assert.equal(nb.autograd.grad(w.mul(2), [w], { gradOutputs: nb.ones([2]) })[0]!.dtype, 'float64');
  });

  test('gradients of float32 leaves are float32, of float64 leaves float64', () => {
    const a = leaf([1, 2], 'float32'),
      b = leaf([3, 4], 'float64');
    a.mul(b).sum().backward();
    assert.equal(a.grad!.dtype, 'float32');
    assert.equal(b.grad!.dtype, 'float64');
    assert.deepEqual(arr(a.grad), [3, 4]);
  });

  test('casts between float dtypes pass gradients back in the source dtype', () => {
    const x = leaf([1, 2]);
    const [g] = nb.autograd.grad(x.float().mul(3).double().sum(), [x]);
    assert.equal(g!.dtype, 'float64');
    assert.deepEqual(arr(g), [3, 3]);
    const [h] = nb.autograd.grad(x.to('int32').float().sum().add(x.sum()), [x]);
    assert.deepEqual(arr(h), [1, 1], 'a cast to int32 cuts the graph');
  });

  test('integer operands do not need or get gradients', () => {
    const x = leaf([1.5, 2.5]);
    const i = nb.tensor([2, 3], { dtype: 'int32' });
    x.mul(i).sum().backward();
    assert.deepEqual(arr(x.grad), [2, 3]);
    assert.equal(i.grad, null);
  });
});

describe('retainGraph', () => {
  test('a second backward without retainGraph throws naming the op; with it, grads add up', () => {
    const x = leaf([1, 2]);
    const y = x.exp().sum();
    y.backward(undefined, { retainGraph: true });
    y.backward(undefined, { retainGraph: true });
    assertClose(x.grad!, [2 * Math.E, 2 * Math.exp(2)]);
    y.backward();
    assert.throws(
      () => y.backward(),
      (e: Error) =>
        /SumBackward|ExpBackward/.test(e.message) &&
        /backward through the graph a second time/.test(e.message) &&
        /retainGraph/.test(e.message),
    );
  });

  test('the failed second backward leaves .grad untouched', () => {
    const x = leaf([1, 2]);
    const y = x.mul(x).sum();
    y.backward();
    const before = arr(x.grad);
    assert.throws(() => y.backward());
    assert.deepEqual(arr(x.grad), before);
  });
});

describe('grad mode, detach, leaves', () => {
  test('noGrad records nothing; enableGrad inside noGrad records again; the mode is restored after a throw', () => {
    const x = leaf([1, 2]);
    const y = nb.noGrad(() => x.mul(2));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.gradFn, null);
    const z = nb.noGrad(() => nb.enableGrad(() => x.mul(2)));
    assert.equal(z.requiresGrad, true);
    assert.equal(z.gradFn?.name, 'MulBackward');
    assert.throws(
      () =>
        nb.noGrad(() => {
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.equal(nb.isGradEnabled(), true);
  });

  test('detach shares storage, requires no grad and cuts the graph', () => {
    const x = leaf([1, 2]);
    const y = x.mul(3);
    const d = y.detach();
    assert.equal(d.requiresGrad, false);
    assert.equal(d.gradFn, null);
    assert.equal(d.storage, y.storage);
    const z = d.mul(x).sum();
    z.backward();
    assert.deepEqual(arr(x.grad), [3, 6]);
  });

  test('leaf and non-leaf: only leaves get .grad unless retainGrad', () => {
    const x = leaf([1, 2]);
    const h = x.mul(2),
      k = x.mul(3).retainGrad();
    assert.equal(x.isLeaf, true);
    assert.equal(h.isLeaf, false);
    h.add(k).mul(h).sum().backward();
    assert.equal(h.grad, null);
    assert.deepEqual(arr(k.grad), arr(h));
    assert.equal(nb.tensor([1]).isLeaf, true);
    assert.throws(
      () => h.requiresGrad_(false),
      /requiresGrad_: you can only change requiresGrad flags of leaf variables/,
    );
  });

  test('requiresGrad on an integer tensor is refused naming the dtype', () => {
    assert.throws(
      () => nb.tensor([1, 2], { dtype: 'int32', requiresGrad: true }),
      /requiresGrad_: only Tensors of floating point dtype can require gradients \(got int32\)/,
    );
  });
});

describe('hooks', () => {
  test('a hook on a leaf sees and can replace its gradient', () => {
    const x = leaf([1, 2]);
    const seen: number[][] = [];
    x.registerHook((g) => {
      seen.push(arr(g));
      return g.mul(10);
    });
    x.mul(x).sum().backward();
    assert.deepEqual(seen, [[2, 4]]);
    assert.deepEqual(arr(x.grad), [20, 40]);
  });

  test('a hook on a non-leaf changes what flows to its inputs; remove() detaches it', () => {
    const x = leaf([1, 2]);
    const y = x.mul(3);
    const h = y.registerHook((g) => g.mul(0.5));
    y.sum().backward();
    assert.deepEqual(arr(x.grad), [1.5, 1.5]);
    h.remove();
    x.grad = null;
    x.mul(3).sum().backward();
    assert.deepEqual(arr(x.grad), [3, 3]);
  });

  test('a hook that returns nothing observes only', () => {
    const x = leaf([1, 2]);
    let calls = 0;
    x.registerHook(() => {
      calls++;
    });
    x.sum().backward();
    assert.equal(calls, 1);
    assert.deepEqual(arr(x.grad), [1, 1]);
  });

  test('registerHook on a tensor that does not require grad throws', () => {
    assert.throws(
      () => nb.tensor([1]).registerHook((g) => g),
      /registerHook: cannot register a hook on a tensor that doesn't require gradient/,
    );
  });

  test('gradcheck catches a wrong gradient (a hook doubling it)', () => {
    const x = leaf([0.5, -1, 2]);
    const bad = (t: Tensor) => {
      const y = t.mul(2);
      if (y.requiresGrad) y.registerHook((g) => g.mul(2));
      return y;
    };
    assert.throws(() => nb.autograd.gradcheck(bad, [x]), /gradcheck: Jacobian mismatch for input 0 \(shape \[3\]\)/);
    assert.equal(nb.autograd.gradcheck(bad, [x], { raiseException: false }), false);
  });

  test('gradgradcheck catches a first derivative whose graph was cut (a detaching hook)', () => {
    const x = leaf([0.5, -1, 2]);
    const cut = (t: Tensor) => {
      const h = t.mul(t);
      if (h.requiresGrad) h.registerHook((g) => g.detach());
      return h.mul(t);
    };
    nb.autograd.gradcheck(cut, [x]); // first derivatives are still right
    assert.throws(() => nb.autograd.gradgradcheck(cut, [x]), /gradcheck: Jacobian mismatch for input 0/);
    nb.autograd.gradgradcheck((t: Tensor) => t.mul(t).mul(t), [x]);
  });
});

describe('autograd.grad', () => {
  test('returns gradients without touching .grad', () => {
    const x = leaf([1, 2]),
      w = leaf([3, 4]);
    const [gx, gw] = nb.autograd.grad(x.mul(w).sum(), [x, w]);
    assert.deepEqual(arr(gx), [3, 4]);
    assert.deepEqual(arr(gw), [1, 2]);
    assert.equal(x.grad, null);
    assert.equal(w.grad, null);
  });

  test('createGraph gives differentiable gradients (second and third derivatives of x^4)', () => {
    const x = leaf([2]);
    const [g1] = nb.autograd.grad(x.pow(4).sum(), [x], { createGraph: true });
    assert.deepEqual(arr(g1), [32]);
    assert.equal(g1!.requiresGrad, true);
    const [g2] = nb.autograd.grad(g1!.sum(), [x], { createGraph: true });
    assert.deepEqual(arr(g2), [48]);
    const [g3] = nb.autograd.grad(g2!.sum(), [x]);
    assert.deepEqual(arr(g3), [48]);
  });

  test('gradient penalty style: backward through a createGraph gradient into .grad', () => {
    const x = leaf([1, -2, 0.5]);
    const y = x.tanh().mul(x).sum();
    const [g] = nb.autograd.grad(y, [x], { createGraph: true });
    g!.mul(g!).sum().backward();
    // d/dx (f'(x))^2 = 2 f'(x) f''(x), f = x tanh x
    const xs = [1, -2, 0.5];
    const want = xs.map((v) => {
      const t = Math.tanh(v),
        s = 1 - t * t;
      const f1 = t + v * s,
        f2 = 2 * s - 2 * v * t * s;
      return 2 * f1 * f2;
    });
    assertClose(x.grad!, want, { rtol: 1e-10 });
  });

  test('an unused input throws unless allowUnused', () => {
    const x = leaf([1]),
      u = leaf([1]);
    assert.throws(
      () => nb.autograd.grad(x.mul(2).sum(), [x, u]),
      /autograd.grad: one of the differentiated Tensors \(input 1\) appears to not have been used/,
    );
    const [, gu] = nb.autograd.grad(x.mul(2).sum(), [x, u], { allowUnused: true });
    assert.equal(gu, null);
  });

  test('gradients w.r.t. a non-leaf', () => {
    const x = leaf([1, 2]);
    const h = x.mul(x);
    const [gh] = nb.autograd.grad(h.mul(3).sum(), [h]);
    assert.deepEqual(arr(gh), [3, 3]);
  });
});

describe('deep graphs', () => {
  test('a chain 100,000 nodes deep neither overflows the stack nor goes quadratic', () => {
    const x = leaf([1]);
    let y: Tensor = x;
    for (let i = 0; i < 100_000; i++) y = y.mul(1.0000001);
    const cpu0 = process.cpuUsage();
    y.sum().backward();
    assertClose(x.grad!, [1.0000001 ** 100_000], { rtol: 1e-9 });
    const cpu = process.cpuUsage(cpu0);
    assert.ok(cpu.user + cpu.system < 10e6, `backward took ${(cpu.user + cpu.system) / 1000} ms of CPU`);
  });

  test('a wide fan-in (one leaf used 10,000 times) sums every path', () => {
    const x = leaf([1, 2]);
    const ys: Tensor[] = [];
    for (let i = 0; i < 10_000; i++) ys.push(x.mul(1));
    nb.stack(ys).sum().backward();
    assert.deepEqual(arr(x.grad), [10_000, 10_000]);
  });
});

describe('errors name the op and the shapes or dtypes', () => {
  test('backward through an integer result', () => {
    const x = leaf([1.5, 2.5]);
    const i = x.argmax();
    assert.throws(
      () => i.backward(),
      /backward: element 0 of tensors does not require grad and does not have a grad_fn \(shape \[\], int32\)/,
    );
    const c = x.mul(2).to('int32');
    assert.equal(c.requiresGrad, false);
    assert.throws(() => c.sum().backward(), /backward: .*does not require grad.*\(shape \[\], int32\)/);
  });

  test('in-place op on a leaf that requires grad', () => {
    const w = leaf([
      [1, 2],
      [3, 4],
    ]);
    assert.throws(
      () => w.add_(1),
      /add_: a leaf Variable that requires grad \(shape \[2, 2\]\) is being used in an in-place operation/,
    );
    assert.throws(() => w.mul_(2), /mul_: a leaf Variable that requires grad \(shape \[2, 2\]\)/);
    assert.throws(() => w.zero_(), /copy_|fill_|zero_/);
    assert.deepEqual(arr(w), [1, 2, 3, 4], 'state untouched');
    nb.noGrad(() => w.add_(1));
    assert.deepEqual(arr(w), [2, 3, 4, 5]);
  });

  test('in-place change of a saved tensor makes backward throw (version counter), naming op, shape and dtype', () => {
    const x = leaf([1, 2, 3]);
    const a = x.mul(1);
    const y = a.sin();
    nb.noGrad(() => a.mul_(2));
    assert.throws(
      () => y.sum().backward(),
      (e: Error) =>
        /SinBackward/.test(e.message) &&
        /modified by an inplace operation/.test(e.message) &&
        /\[3\]/.test(e.message) &&
        /float64/.test(e.message) &&
        /version 1/.test(e.message),
    );
    assert.equal(x.grad, null, 'no partial gradient written');
    // exp saves its output: changing the output in place is caught, changing its input is harmless
    const b = x.mul(1);
    const e = b.exp();
    nb.noGrad(() => b.mul_(2));
    e.sum().backward(undefined, { retainGraph: true });
    nb.noGrad(() => e.add_(1));
    assert.throws(
      () => e.sum().backward(),
      /ExpBackward: one of the variables needed for gradient computation has been modified/,
    );
  });

  test('in-place change of a tensor saved through a view is caught too', () => {
    const base = nb.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'float64' },
    );
    const x = leaf([1, 1]);
    const row = base.select(0, 1);
    const y = x.mul(row).sum();
    base.add_(1);
    assert.throws(
      () => y.backward(),
      /MulBackward: one of the variables needed for gradient computation has been modified by an inplace operation: tensor of shape \[2\] \(float64\)/,
    );
  });

  test('an in-place op on a non-leaf is recorded and differentiable', () => {
    const x = leaf([1, 2]);
    const y = x.mul(2);
    y.add_(x);
    y.sum().backward();
    assert.deepEqual(arr(x.grad), [3, 3]);
  });

  test('in-place ops that save self (mul_, div_, clamp_, maskedFill_) on non-leaves stay differentiable', () => {
    const x = leaf([0.5, -1.5, 2]),
      w = leaf([3, -0.5, 1.5]);
    nb.autograd.gradcheck(
      (a, b) => {
        const y = a.mul(1);
        y.mul_(b);
        y.div_(b.add(4));
        y.sub_(a, 0.5);
        y.clamp_(-0.3, null);
        y.maskedFill_(nb.tensor([false, false, true]), 0.25);
        return y;
      },
      [x, w],
    );
    const c = nb.tensor([1, 2], { dtype: 'float64' }); // no grad of its own
    c.mul_(w.narrow(0, 0, 2));
    assert.equal(c.requiresGrad, true);
    c.sum().backward();
    assert.deepEqual(arr(w.grad), [1, 2, 0]);
  });

  test('copy_ and fill_ under grad: gradient flows to src, and not into overwritten values', () => {
    const src = leaf([1, 2]);
    const x = nb.zeros([3, 2], { dtype: 'float32' });
    x.copy_(src);
    assert.equal(x.requiresGrad, true);
    x.mul(x).sum().backward();
    assert.equal(src.grad!.dtype, 'float64');
    assert.deepEqual(arr(src.grad), [6, 12]);
    const a = leaf([1, 2]);
    const y = a.mul(3);
    y.fill_(5);
    y.sum().backward();
    assert.deepEqual(arr(a.grad), [0, 0]);
    assert.equal(y.gradFn?.name, 'FillBackward');
  });

  test("gradients come back in each input's dtype after promotion (cat, binary ops)", () => {
    const a = leaf([1, 2], 'float32'),
      b = leaf([3], 'float64');
    nb.cat([a, b]).mul(2).sum().backward();
    assert.equal(a.grad!.dtype, 'float32');
    assert.equal(b.grad!.dtype, 'float64');
    assert.deepEqual(arr(a.grad), [2, 2]);
  });

  test('norm has a zero (sub)gradient at zero, not NaN', () => {
    const x = leaf([
      [0, 0],
      [3, 4],
    ]);
    x.norm(2, 1).sum().backward();
    assertClose(x.grad!, [0, 0, 0.6, 0.8], { rtol: 1e-12 });
    const z = leaf([0, 0, 0]);
    z.norm().backward();
    assert.deepEqual(arr(z.grad), [0, 0, 0]);
  });

  test('shape, dtype and index errors', () => {
    const a = nb.zeros([2, 3]),
      b = nb.zeros([4]);
    assert.throws(() => a.add(b), /add: shapes \[2, 3\] and \[4\] cannot be broadcast together/);
    assert.throws(() => a.matmul(nb.zeros([2, 3])), /matmul: mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3/);
    assert.throws(
      () => a.matmul(nb.zeros([3, 2], { dtype: 'float64' })),
      /matmul: expected both operands to have the same dtype, but got float32 and float64/,
    );
    assert.throws(() => a.sum(2), /sum: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)/);
    assert.throws(() => a.view(4), /view: shape \[4\] is invalid for input of size 6/);
    assert.throws(
      () => a.t().view(6),
      /view: view size is not compatible with input tensor's size and stride \(input shape \[3, 2\]/,
    );
    assert.throws(
      () => a.select(1, 3),
      /select: index 3 is out of bounds for dimension 1 with size 3 \(shape \[2, 3\]\)/,
    );
    assert.throws(
      () => a.gather(1, nb.tensor([[0, 3]], { dtype: 'int32' })),
      /gather: index 3 is out of bounds for dimension 1 with size 3/,
    );
    assert.throws(
      () => a.gather(1, nb.tensor([[0, 1]])),
      /gather: expected index to be an int32 or int64 tensor, got float32 of shape \[1, 2\]/,
    );
    assert.throws(() => a.indexSelect(0, nb.tensor([2], { dtype: 'int32' })), /indexSelect: index 2 is out of bounds/);
    assert.throws(
      () => nb.cat([a, b.view(1, 4)]),
      /cat: sizes of tensors must match except in dimension 0: expected \[2, 3\] but got \[1, 4\]/,
    );
    assert.throws(
      () => nb.stack([a, b]),
      /stack: expects each tensor to be equal size, but got \[2, 3\] at entry 0 and \[4\] at entry 1/,
    );
    assert.throws(() => nb.where(a, a, a), /where: expected condition to be a bool tensor, got float32/);
    assert.throws(() => a.expand(3, 3), /expand: cannot expand shape \[2, 3\] to \[3, 3\]/);
    assert.throws(
      () =>
        nb
          .zeros([2])
          .mean(0)
          .add(nb.tensor([1], { dtype: 'int32' }).mean()),
      /mean: .*got int32/,
    );
    assert.throws(() => a.item(), /item: a Tensor with 6 elements cannot be converted to a scalar \(shape \[2, 3\]\)/);
  });

  test('a failed op leaves its inputs and the graph usable', () => {
    const x = leaf([1, 2, 3]);
    const y = x.mul(2);
    assert.throws(() => y.add(nb.zeros([2])));
    y.sum().backward();
    assert.deepEqual(arr(x.grad), [2, 2, 2]);
  });
});

describe('multi-output views (split, chunk, unbind): one shared backward node', () => {
  const x0 = () =>
    nb.tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { dtype: 'float64', requiresGrad: true },
    );

  test('pieces no gradient reaches get zeros; a piece used twice gets both paths', () => {
    const x = x0();
    const [u0, u1] = x.unbind(0);
    assert.equal(u0.gradFn!.next[0], u1.gradFn!.next[0], 'the pieces share one node (linear-time backward)');
    assert.equal(u0.gradFn!.next[0]!.name, 'UnbindBackward');
    const [a, , c] = x.unbind(1);
    a.mul(2).add(a).sum().add(c.mul(c).sum()).backward();
    assert.deepEqual(arr(x.grad), [3, 0, 6, 3, 0, 12]);
    const y = x0();
    const [p, q] = y.split([1, 2], 1);
    q.sum().backward();
    assert.deepEqual(arr(y.grad), [0, 1, 1, 0, 1, 1]);
    assert.equal(p.requiresGrad, true);
  });

  test('retainGraph: a second backward gets the same gradient, not the first one again', () => {
    const x = x0();
    const [r0, r1] = x.unbind(0);
    const y = r0.mul(r1).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    assert.deepEqual(arr(x.grad), [8, 10, 12, 2, 4, 6]);
  });

  test('autograd.grad of one piece, double backward, and hooks on the pieces', () => {
    const x = x0();
    const [g0] = nb.autograd.grad([x.unbind(1)[1].pow(2).sum()], [x]);
    assert.deepEqual(arr(g0), [0, 4, 0, 0, 10, 0]);
    nb.autograd.gradgradcheck(
      (t: Tensor) =>
        nb.stack(
          t.unbind(0).map((r, i) => r.pow(i + 2)),
          1,
        ),
      [x0()],
    );
    nb.autograd.gradgradcheck((t: Tensor) => t.chunk(3, 1)[2].mul(t.chunk(3, 1)[0]), [x0()]);
    const x2 = x0();
    const ps = x2.unbind(0);
    ps[1].registerHook((g) => g.mul(10));
    nb.stack(ps, 0).sum().backward();
    assert.deepEqual(arr(x2.grad), [1, 1, 1, 10, 10, 10]);
  });
});
