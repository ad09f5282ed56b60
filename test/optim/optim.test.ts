// Optimisers: parameters over 5 steps of a fixed gradient sequence against PyTorch 1.13
// (test/golden/optim.safetensors from tools/golden/optim_losses.py), constructor validation,
// lazy state, stateDict resume, param groups, zeroGrad, version bumps, and clipGrad utilities.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../optim/core.js';
import { SGD, Adam, AdamW, RMSprop, Adagrad, type Optimizer, type ParamsInput } from '../../src/optim/index.js';
import { clipGradNorm_, clipGradValue_ } from '../../src/nn/utils/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/assert.js';
import { loadGoldenJson, loadGoldenTensors } from './golden_util.js';

type Ctor = new (params: ParamsInput, opts: any) => Optimizer<any>;
const CTORS: Record<string, Ctor> = { SGD, Adam, AdamW, RMSprop, Adagrad };
interface OptCase {
  name: string;
  optimizer: string;
  opts: Record<string, unknown>;
  groups: Record<string, unknown>[] | null;
}

const T = loadGoldenTensors('optim.safetensors');
const spec = loadGoldenJson<{ steps: number; cases: OptCase[] }>('optim.json');
const TOL = { rtol: 1e-4, atol: 1e-10 };

function make(
  c: OptCase,
  dtype: 'float64' | 'float32' = 'float64',
): { opt: Optimizer<object>; p0: Tensor; p1: Tensor } {
  const p0 = T['p0.init'].to(dtype).clone().requiresGrad_(),
    p1 = T['p1.init'].to(dtype).clone().requiresGrad_();
  const params = c.groups
    ? [
        { params: [p0], ...c.groups[0] },
        { params: [p1], ...c.groups[1] },
      ]
    : [p0, p1];
  return { opt: new CTORS[c.optimizer](params, c.opts), p0, p1 };
}

function setGrads(p0: Tensor, p1: Tensor, s: number): void {
  p0.grad = T['p0.grads'].select(0, s).to(p0.dtype);
  p1.grad = T['p1.grads'].select(0, s).to(p1.dtype);
}

describe('optimisers: PyTorch 1.13 parity over 5 steps', () => {
  for (const c of spec.cases) {
    it(`${c.name} (${c.optimizer})`, () => {
      const { opt, p0, p1 } = make(c);
      for (let s = 0; s < spec.steps; s++) {
        setGrads(p0, p1, s);
        opt.step();
        assertClose(p0, T[`${c.name}.p0`].select(0, s), TOL, `${c.name} p0 step ${s + 1}`);
        assertClose(p1, T[`${c.name}.p1`].select(0, s), TOL, `${c.name} p1 step ${s + 1}`);
      }
    });
  }
  it('float32 parameters track the float64 goldens', () => {
    for (const c of spec.cases) {
      const { opt, p0, p1 } = make(c, 'float32');
      for (let s = 0; s < spec.steps; s++) {
        setGrads(p0, p1, s);
        opt.step();
      }
      assert.equal(p0.dtype, 'float32');
      assertClose(p0, T[`${c.name}.p0`].select(0, spec.steps - 1), { rtol: 1e-4, atol: 1e-5 }, c.name);
    }
  });
});

describe('optimisers: stateDict resume', () => {
  for (const c of spec.cases) {
    it(`${c.name}: 2 steps, save, fresh optimiser, load, 3 steps = 5 uninterrupted steps`, () => {
      const a = make(c);
      for (let s = 0; s < 2; s++) {
        setGrads(a.p0, a.p1, s);
        a.opt.step();
      }
      const saved = a.opt.stateDict();
      const b = make(c);
      b.p0.detach().copy_(a.p0);
      b.p1.detach().copy_(a.p1);
      b.opt.loadStateDict(saved);
      for (let s = 2; s < spec.steps; s++) {
        setGrads(a.p0, a.p1, s);
        a.opt.step();
        setGrads(b.p0, b.p1, s);
        b.opt.step();
      }
      assert.deepEqual(Array.from(b.p0.toTypedArray()), Array.from(a.p0.toTypedArray()));
      assert.deepEqual(Array.from(b.p1.toTypedArray()), Array.from(a.p1.toTypedArray()));
      assertClose(b.p0, T[`${c.name}.p0`].select(0, spec.steps - 1), TOL);
    });
  }
  it('the snapshot is a copy: later steps do not change it', () => {
    const { opt, p0, p1 } = make(spec.cases.find((c) => c.name === 'adam')!);
    setGrads(p0, p1, 0);
    opt.step();
    const sd = opt.stateDict();
    const before = Array.from((sd.state[0].expAvg as Tensor).toTypedArray());
    setGrads(p0, p1, 1);
    opt.step();
    assert.deepEqual(Array.from((sd.state[0].expAvg as Tensor).toTypedArray()), before);
    assert.deepEqual(
      sd.paramGroups.map((g) => g.params),
      [[0, 1]],
    );
    assert.equal(sd.state[0].step, 1);
  });
  it('loadStateDict restores hyper-parameters and rejects mismatched groups', () => {
    const p = nb.zeros([2]).requiresGrad_(),
      q = nb.zeros([3]).requiresGrad_();
    const a = new SGD([p, q], { lr: 0.5 });
    const b = new SGD([nb.zeros([2]).requiresGrad_(), nb.zeros([3]).requiresGrad_()], { lr: 0.1 });
    b.loadStateDict(a.stateDict());
    assert.equal(b.paramGroups[0].lr, 0.5);
    const c = new SGD([nb.zeros([2]).requiresGrad_()], { lr: 0.1 });
    assert.throws(
      () => c.loadStateDict(a.stateDict()),
      /doesn't match the size of optimizer's group \(group 0: 2 vs 1 parameters\)/,
    );
    const d = new SGD([{ params: [nb.zeros([2]).requiresGrad_()] }, { params: [nb.zeros([3]).requiresGrad_()] }], {
      lr: 0.1,
    });
    assert.throws(() => d.loadStateDict(a.stateDict()), /different number of parameter groups \(1, optimizer has 2\)/);
  });
});

describe('optimisers: construction and bookkeeping', () => {
  const p = () => nb.zeros([2]).requiresGrad_();
  it('validates like PyTorch', () => {
    assert.throws(() => new SGD([p()], { lr: -1 }), /^Error: Invalid learning rate: -1$/);
    assert.throws(() => new SGD([p()], {}), /SGD: lr is a required argument/);
    assert.throws(() => new SGD([p()], { lr: 0.1, momentum: -0.5 }), /Invalid momentum value: -0.5/);
    assert.throws(
      () => new SGD([p()], { lr: 0.1, nesterov: true }),
      /Nesterov momentum requires a momentum and zero dampening/,
    );
    assert.throws(() => new Adam([p()], { betas: [1.5, 0.999] }), /^Error: Invalid beta parameter at index 0: 1.5$/);
    assert.throws(() => new Adam([p()], { betas: [0.9, 1] }), /Invalid beta parameter at index 1: 1/);
    assert.throws(() => new AdamW([p()], { eps: -1e-8 }), /^Error: Invalid epsilon value: -1e-8$/);
    assert.throws(() => new Adam([p()], { weightDecay: -1 }), /Invalid weight_decay value: -1/);
    assert.throws(() => new RMSprop([p()], { alpha: -1 }), /Invalid alpha value: -1/);
    assert.throws(() => new Adagrad([p()], { lrDecay: -1 }), /Invalid lr_decay value: -1/);
    assert.throws(
      () => new Adagrad([p()], { initialAccumulatorValue: -1 }),
      /Invalid initial_accumulator_value value: -1/,
    );
    assert.throws(() => new Adam([], {}), /Adam: optimizer got an empty parameter list/);
    assert.throws(
      () => new Adam([nb.zeros([2], { dtype: 'int32' })], {}),
      /can only optimize floating point Tensors, got int32/,
    );
    const x = p();
    assert.throws(
      () => new Adam([{ params: [x] }, { params: [x] }], {}),
      /some parameters appear in more than one parameter group/,
    );
    assert.throws(() => new Adam([{ params: [p()], lr: -2 }], {}), /Invalid learning rate: -2/);
  });
  it('defaults match PyTorch', () => {
    assert.deepEqual(
      { ...new Adam([p()]).defaults },
      { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false },
    );
    assert.equal(new AdamW([p()]).defaults.weightDecay, 1e-2);
    assert.deepEqual(
      { ...new RMSprop([p()]).defaults },
      { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false },
    );
    assert.deepEqual(
      { ...new Adagrad([p()]).defaults },
      { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false },
    );
  });
  it('creates state lazily, skips parameters without gradients, and bumps the storage version', () => {
    const a = p(),
      b = p();
    const opt = new Adam([a, b], { lr: 0.1 });
    assert.equal(opt.state.size, 0);
    a.grad = nb.ones([2]);
    const v = a.version;
    opt.step();
    assert.equal(opt.state.size, 1);
    assert.ok(opt.state.has(a));
    assert.equal(a.version, v + 1);
    assert.deepEqual(Array.from(b.toTypedArray()), [0, 0]);
    assertClose(a, [-0.1, -0.1]);
  });
  it('an in-place update after a forward that saved the parameter is caught by backward', () => {
    const w = nb.tensor([1, 2]).requiresGrad_();
    const opt = new SGD([w], { lr: 0.1 });
    const y = w.mul(w).sum();
    w.grad = nb.ones([2]);
    opt.step();
    assert.throws(() => y.backward(), /modified by an inplace operation/);
  });
  it('addParamGroup and per-group lr', () => {
    const a = p(),
      b = p();
    const opt = new SGD([a], { lr: 1 });
    opt.addParamGroup({ params: [b], lr: 0.5 });
    a.grad = nb.ones([2]);
    b.grad = nb.ones([2]);
    opt.step();
    assertClose(a, [-1, -1]);
    assertClose(b, [-0.5, -0.5]);
    assert.equal(opt.paramGroups[1].momentum, 0);
  });
  it('zeroGrad sets gradients to null, or to zeros with setToNone=false', () => {
    const a = p();
    const opt = new SGD([a], { lr: 1 });
    a.grad = nb.ones([2]);
    opt.zeroGrad(false);
    assert.deepEqual(Array.from(a.grad!.toTypedArray()), [0, 0]);
    opt.zeroGrad();
    assert.equal(a.grad, null);
  });
  it('step(closure) returns the loss', () => {
    const w = nb.tensor([3]).requiresGrad_();
    const opt = new SGD([w], { lr: 0.25 });
    const loss = opt.step(() => {
      opt.zeroGrad();
      const l = w.mul(w).sum();
      l.backward();
      return l;
    });
    assert.equal(loss, 9);
    assertClose(w, [1.5]);
  });
  it('a non-contiguous parameter view is updated through copy_', () => {
    const base = nb.zeros([2, 3]);
    const w = base.t();
    w.requiresGrad_();
    const opt = new SGD([w], { lr: 1 });
    w.grad = nb.tensor([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    opt.step();
    assert.deepEqual(w.toArray(), [
      [-1, -2],
      [-3, -4],
      [-5, -6],
    ]);
  });
});

describe('nn.utils.clipGradNorm_ / clipGradValue_', () => {
  for (const [key, nt] of [
    ['2.0', 2],
    ['1.0', 1],
    ['inf', Infinity],
    ['3.0', 3],
  ] as const) {
    it(`normType ${key} matches PyTorch (total norm and clipped gradients)`, () => {
      const a = nb.zeros([3, 4], { dtype: 'float64' }).requiresGrad_(),
        b = nb.zeros([5], { dtype: 'float64' }).requiresGrad_();
      a.grad = T['p0.grads'].select(0, 0).clone();
      b.grad = T['p1.grads'].select(0, 0).clone();
      const total = clipGradNorm_([a, b], 1.5, nt);
      assertClose(total.item(), T[`clip_${key}.total`].item(), TOL);
      assertClose(a.grad, T[`clip_${key}.g0`], TOL);
      assertClose(b.grad, T[`clip_${key}.g1`], TOL);
    });
  }
  it('leaves small gradients alone, skips parameters without gradients, errors on non-finite norms if asked', () => {
    const a = nb.zeros([2]).requiresGrad_(),
      b = nb.zeros([2]).requiresGrad_();
    a.grad = nb.tensor([0.3, 0.4]);
    assertClose(clipGradNorm_([a, b], 1), 0.5);
    assertClose(a.grad, [0.3, 0.4]);
    a.grad = nb.tensor([Infinity, 0]);
    assert.throws(
      () => clipGradNorm_([a], 1, 2, { errorIfNonfinite: true }),
      /clipGradNorm_: the total norm of order 2 .* is non-finite/,
    );
  });
  it('clipGradValue_ clamps in place', () => {
    const a = nb.zeros([3]).requiresGrad_();
    a.grad = nb.tensor([-5, 0.5, 7]);
    clipGradValue_([a], 1);
    assert.deepEqual(Array.from(a.grad.toTypedArray()), [-1, 0.5, 1]);
  });
});
