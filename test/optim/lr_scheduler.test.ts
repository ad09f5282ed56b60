// LR schedulers: the lr (and momentum) sequence of each over 30 steps against PyTorch 1.13
// (test/golden/sched.json from tools/golden/optim_losses.py), stateDict resume, errors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../optim/core.js';
import { SGD, Adam, lrScheduler, type Optimizer } from '../../src/optim/index.js';
import { assertClose } from '../helpers/assert.js';
import { loadGoldenJson } from './golden_util.js';

const {
  StepLR,
  MultiStepLR,
  ExponentialLR,
  CosineAnnealingLR,
  LinearLR,
  LambdaLR,
  SequentialLR,
  OneCycleLR,
  ReduceLROnPlateau,
} = lrScheduler;

interface SchedSpec {
  type: string;
  args?: unknown[];
  opts?: Record<string, unknown>;
  children?: SchedSpec[];
  milestones?: number[];
}
interface SchedCase {
  name: string;
  optimizer: { type: string; groups: Record<string, unknown>[] | null; opts: Record<string, unknown> };
  scheduler: SchedSpec;
  lambda: string | null;
  lrs: number[][];
  momentum: number[];
}
const spec = loadGoldenJson<{ steps: number; metrics: number[]; cases: SchedCase[] }>('sched.json');
const LAMBDAS: Record<string, (e: number) => number> = { inv: (e) => 1 / (1 + 0.5 * e) };
const TOL = { rtol: 1e-4, atol: 1e-12 };

type AnyOpt = Optimizer<any>;
type Sched = {
  step(m?: number): void;
  getLastLr(): number[];
  stateDict(): Record<string, unknown>;
  loadStateDict(s: Record<string, unknown>): void;
};

function makeOpt(c: SchedCase): AnyOpt {
  const p = nb.zeros([2]).requiresGrad_(),
    q = nb.zeros([2]).requiresGrad_();
  const o = c.optimizer;
  const params = o.groups
    ? [
        { params: [p], ...o.groups[0] },
        { params: [q], ...o.groups[1] },
      ]
    : [p, q];
  return o.type === 'SGD' ? new SGD(params, o.opts) : new Adam(params, o.opts);
}

function makeSched(opt: AnyOpt, s: SchedSpec, lam: string | null): Sched {
  const a = s.args ?? [],
    o = s.opts ?? {};
  switch (s.type) {
    case 'StepLR':
      return new StepLR(opt, a[0] as number, o);
    case 'MultiStepLR':
      return new MultiStepLR(opt, a[0] as number[], o);
    case 'ExponentialLR':
      return new ExponentialLR(opt, a[0] as number, o);
    case 'CosineAnnealingLR':
      return new CosineAnnealingLR(opt, a[0] as number, o);
    case 'LinearLR':
      return new LinearLR(opt, o);
    case 'LambdaLR':
      return new LambdaLR(opt, LAMBDAS[lam!]);
    case 'OneCycleLR':
      return new OneCycleLR(opt, a[0] as number, o);
    case 'SequentialLR':
      return new SequentialLR(
        opt,
        s.children!.map((ch) => makeSched(opt, ch, lam) as lrScheduler.LRScheduler),
        s.milestones!,
      );
    case 'ReduceLROnPlateau':
      return new ReduceLROnPlateau(opt, o) as unknown as Sched;
    default:
      throw new Error(`unknown scheduler ${s.type}`);
  }
}

function momentumOf(opt: AnyOpt): number {
  const g = opt.paramGroups[0];
  return Array.isArray(g.betas) ? (g.betas as number[])[0] : (g.momentum as number);
}

function run(c: SchedCase, from: number, to: number, opt: AnyOpt, sch: Sched): void {
  const plateau = c.scheduler.type === 'ReduceLROnPlateau';
  for (let s = from; s < to; s++) {
    for (const g of opt.paramGroups) for (const p of g.params) p.grad = nb.ones([2]);
    opt.step();
    if (plateau) sch.step(spec.metrics[s]);
    else sch.step();
    assertClose(
      opt.paramGroups.map((g) => g.lr),
      c.lrs[s + 1],
      TOL,
      `${c.name} lr after step ${s + 1}`,
    );
    if (!plateau) assertClose(sch.getLastLr(), c.lrs[s + 1], TOL, `${c.name} getLastLr after step ${s + 1}`);
    assertClose(momentumOf(opt), c.momentum[s + 1], TOL, `${c.name} momentum after step ${s + 1}`);
  }
}

describe('LR schedulers: PyTorch 1.13 parity over 30 steps', () => {
  for (const c of spec.cases) {
    it(c.name, () => {
      const opt = makeOpt(c);
      const sch = makeSched(opt, c.scheduler, c.lambda);
      assertClose(
        opt.paramGroups.map((g) => g.lr),
        c.lrs[0],
        TOL,
        `${c.name} initial lr`,
      );
      assertClose(momentumOf(opt), c.momentum[0], TOL, `${c.name} initial momentum`);
      run(c, 0, spec.steps, opt, sch);
    });
  }
  it('covers every scheduler', () => {
    const types = new Set(
      spec.cases.flatMap((c) => [c.scheduler.type, ...(c.scheduler.children ?? []).map((x) => x.type)]),
    );
    assert.deepEqual([...types].sort(), [
      'CosineAnnealingLR',
      'ExponentialLR',
      'LambdaLR',
      'LinearLR',
      'MultiStepLR',
      'OneCycleLR',
      'ReduceLROnPlateau',
      'SequentialLR',
      'StepLR',
    ]);
  });
});

describe('LR schedulers: stateDict resume', () => {
  for (const c of spec.cases) {
    it(`${c.name}: 12 steps, save optimiser + scheduler, rebuild, load, continue`, () => {
      const opt = makeOpt(c);
      const sch = makeSched(opt, c.scheduler, c.lambda);
      run(c, 0, 12, opt, sch);
      const osd = opt.stateDict(),
        ssd = JSON.parse(JSON.stringify(sch.stateDict())) as Record<string, unknown>;
      const opt2 = makeOpt(c);
      const sch2 = makeSched(opt2, c.scheduler, c.lambda);
      opt2.loadStateDict(osd);
      sch2.loadStateDict(ssd);
      run(c, 12, spec.steps, opt2, sch2);
    });
  }
});

describe('LR schedulers: behaviour and errors', () => {
  const opt = () => new SGD([nb.zeros([1]).requiresGrad_()], { lr: 0.1, momentum: 0.9 });
  it('step(epoch) uses the closed form', () => {
    const o = opt();
    const s = new CosineAnnealingLR(o, 10);
    s.step(5);
    assertClose(s.getLastLr(), [0.05], TOL);
    const e = new StepLR(opt(), 3, { gamma: 0.5 });
    e.step(7);
    assertClose(e.getLastLr(), [0.025], TOL);
  });
  it('errors', () => {
    assert.throws(
      () => new OneCycleLR(opt(), 1),
      /OneCycleLR: you must define either totalSteps OR \(epochs AND stepsPerEpoch\)/,
    );
    assert.throws(() => new OneCycleLR(opt(), [1, 2], { totalSteps: 10 }), /expected 1 values for maxLr, got 2/);
    const oc = new OneCycleLR(opt(), 1, { totalSteps: 2 });
    oc.step();
    oc.step();
    assert.throws(() => oc.step(), /OneCycleLR: tried to step 4 times. The specified number of total steps is 2/);
    assert.throws(() => new LinearLR(opt(), { startFactor: 2 }), /LinearLR: starting multiplicative factor/);
    assert.throws(() => new ReduceLROnPlateau(opt(), { factor: 1 }), /factor should be < 1.0/);
    assert.throws(() => new ReduceLROnPlateau(opt(), { mode: 'up' as 'min' }), /mode up is unknown/);
    assert.throws(
      () => new StepLR(opt(), 3, { lastEpoch: 4 }),
      /param 'initialLr' is not specified in paramGroups\[0\] when resuming an optimizer/,
    );
    const o = opt();
    assert.throws(
      () => new SequentialLR(o, [new StepLR(o, 2), new StepLR(opt(), 2)], [3]),
      /schedulers at index 1 to be different than the optimizer passed in/,
    );
    assert.throws(
      () => new SequentialLR(o, [new StepLR(o, 2)], [3]),
      /number of schedulers 1 and the number of milestones to be equal to 1/,
    );
  });
  it('LambdaLR takes one function per group', () => {
    const o = new SGD(
      [{ params: [nb.zeros([1]).requiresGrad_()] }, { params: [nb.zeros([1]).requiresGrad_()], lr: 1 }],
      { lr: 0.1 },
    );
    const s = new LambdaLR(o, [(e) => e + 1, () => 0.5]);
    s.step();
    assertClose(s.getLastLr(), [0.2, 0.5], TOL);
    assert.throws(() => new LambdaLR(o, [() => 1]), /expected 2 lr_lambdas, but got 1/);
  });
  it('ReduceLROnPlateau state survives JSON before its first step (best = Infinity)', () => {
    const a = new ReduceLROnPlateau(opt(), { patience: 0 });
    const b = new ReduceLROnPlateau(opt(), { patience: 0 });
    b.loadStateDict(JSON.parse(JSON.stringify(a.stateDict())) as Record<string, unknown>);
    b.step(5);
    b.step(4);
    assertClose(b.getLastLr(), [0.1], TOL);
  });
  it('ReduceLROnPlateau accepts a one-element tensor metric', () => {
    const o = opt();
    const s = new ReduceLROnPlateau(o, { patience: 0 });
    s.step(nb.tensor(1));
    s.step(nb.tensor([2]));
    assertClose(s.getLastLr(), [0.01], TOL);
  });
});
