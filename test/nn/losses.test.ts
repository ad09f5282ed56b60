// Losses: PyTorch parity (values and input gradients, every reduction and option) against
// test/golden/losses.safetensors from tools/golden/optim_losses.py; gradcheck in float64;
// stability at extreme logits; clear errors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../optim/core.js';
import * as F from '../../src/nn/functional/index.js';
import { CrossEntropyLoss } from '../../src/nn/losses.js';
import { gradcheck } from '../../src/autograd/gradcheck.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/assert.js';
import { loadGoldenJson, loadGoldenTensors } from '../optim/golden_util.js';

interface LossCase {
  name: string;
  fn: keyof typeof FNS;
  opts: Record<string, unknown>;
  tensors: string[];
  targetGrad: boolean;
}

const FNS = {
  crossEntropy: F.crossEntropy,
  nllLoss: F.nllLoss,
  mseLoss: F.mseLoss,
  l1Loss: F.l1Loss,
  smoothL1Loss: F.smoothL1Loss,
  huberLoss: F.huberLoss,
  binaryCrossEntropy: F.binaryCrossEntropy,
  binaryCrossEntropyWithLogits: F.binaryCrossEntropyWithLogits,
  klDiv: F.klDiv,
} as const;
type AnyLoss = (x: Tensor, t: Tensor, o: Record<string, unknown>) => Tensor;

const T = loadGoldenTensors('losses.safetensors');
const spec = loadGoldenJson<{ cases: LossCase[] }>('losses.json');
const TOL = { rtol: 1e-4, atol: 1e-9 };

function resolveOpts(c: LossCase): Record<string, unknown> {
  const o: Record<string, unknown> = { ...c.opts };
  for (const k of c.tensors) o[k] = T[`${c.name}.${k}`];
  return o;
}

describe('losses: PyTorch 1.13 parity (tools/golden/optim_losses.py)', () => {
  for (const c of spec.cases) {
    it(`${c.name}: value and input gradient`, () => {
      const x = T[`${c.name}.x`].clone().requiresGrad_();
      const t0 = T[`${c.name}.target`];
      const t = c.targetGrad ? t0.clone().requiresGrad_() : t0;
      const out = (FNS[c.fn] as unknown as AnyLoss)(x, t, resolveOpts(c));
      assertClose(out, T[`${c.name}.out`], TOL, `${c.name} value`);
      out.mul(T[`${c.name}.gy`]).sum().backward();
      assertClose(x.grad!, T[`${c.name}.gx`], TOL, `${c.name} grad input`);
      if (c.targetGrad) assertClose(t.grad!, T[`${c.name}.gtarget`], TOL, `${c.name} grad target`);
    });
  }
  it('covers every loss', () => {
    assert.deepEqual([...new Set(spec.cases.map((c) => c.fn))].sort(), Object.keys(FNS).sort());
  });
});

describe('losses: gradcheck (float64)', () => {
  const g = new nb.Generator(3);
  const x = () => g.normal([4, 3], 0, 1, 'float64').requiresGrad_();
  const labels = nb.tensor([2, 0, -100, 1], { dtype: 'int32' });
  const w = nb.tensor([0.5, 1.5, 2], { dtype: 'float64' });
  const prob = () => g.uniform([4, 3], 0.1, 0.9, 'float64').requiresGrad_();
  const cases: [string, () => Tensor[], (...a: Tensor[]) => Tensor][] = [
    [
      'crossEntropy indices+weight+smoothing',
      () => [x()],
      (a) => F.crossEntropy(a, labels, { weight: w, labelSmoothing: 0.1 }),
    ],
    ['crossEntropy probabilities', () => [x(), prob()], (a, b) => F.crossEntropy(a, b, { reduction: 'sum' })],
    [
      'crossEntropy (N,C,d)',
      () => [g.normal([2, 3, 4], 0, 1, 'float64').requiresGrad_()],
      (a) =>
        F.crossEntropy(
          a,
          nb.tensor(
            [
              [0, 1, 2, 1],
              [2, 2, 0, 1],
            ],
            { dtype: 'int32' },
          ),
          { reduction: 'none' },
        ),
    ],
    ['nllLoss', () => [x()], (a) => F.nllLoss(a, labels, { weight: w, reduction: 'none' })],
    ['mseLoss', () => [x(), x()], (a, b) => F.mseLoss(a, b)],
    ['l1Loss', () => [x(), x()], (a, b) => F.l1Loss(a, b, { reduction: 'sum' })],
    ['smoothL1Loss', () => [x(), x()], (a, b) => F.smoothL1Loss(a, b, { beta: 0.5 })],
    ['huberLoss', () => [x(), x()], (a, b) => F.huberLoss(a, b, { delta: 0.8, reduction: 'none' })],
    ['binaryCrossEntropy', () => [prob(), prob()], (a, b) => F.binaryCrossEntropy(a, b, { weight: w })],
    [
      'binaryCrossEntropyWithLogits',
      () => [x(), prob()],
      (a, b) => F.binaryCrossEntropyWithLogits(a, b, { posWeight: w, weight: w }),
    ],
    ['klDiv', () => [x(), prob()], (a, b) => F.klDiv(a, b, { reduction: 'batchmean' })],
    ['klDiv logTarget', () => [x(), x()], (a, b) => F.klDiv(a, b, { reduction: 'sum', logTarget: true })],
  ];
  for (const [name, mk, fn] of cases) {
    it(name, () => {
      assert.ok(gradcheck(fn, mk()));
    });
  }
});

describe('losses: stability and edge cases', () => {
  it('crossEntropy with logits of ±1e4 is finite and exact', () => {
    const x = nb
      .tensor(
        [
          [1e4, -1e4, 0],
          [-1e4, 1e4, 1e4],
        ],
        { dtype: 'float64' },
      )
      .requiresGrad_();
    const l = F.crossEntropy(x, nb.tensor([0, 1], { dtype: 'int32' }), { reduction: 'none' });
    assertClose(l, [0, Math.LN2], { atol: 1e-6 });
    l.sum().backward();
    assert.ok(Array.from(x.grad!.toTypedArray()).every(Number.isFinite));
  });
  it('binaryCrossEntropyWithLogits at ±1000 stays finite; its gradient at 0 is sigmoid(0) - t', () => {
    const x = nb.tensor([1000, -1000, 0]).requiresGrad_();
    const l = F.binaryCrossEntropyWithLogits(x, nb.tensor([0, 1, 1]), { reduction: 'none' });
    assertClose(l, [1000, 1000, Math.LN2], { rtol: 1e-6 });
    l.sum().backward();
    assertClose(x.grad!, [1, -1, -0.5], { atol: 1e-7 });
  });
  it('binaryCrossEntropy clamps log at -100 (PyTorch)', () => {
    assertClose(F.binaryCrossEntropy(nb.tensor([0, 1]), nb.tensor([1, 0]), { reduction: 'none' }), [100, 100]);
  });
  it('mean with every target ignored is NaN, as in PyTorch', () => {
    const l = F.crossEntropy(nb.tensor([[1, 2]]), nb.tensor([-100], { dtype: 'int32' }));
    assert.ok(Number.isNaN(l.item()));
  });
  it('float32 inputs give float32 losses', () => {
    assert.equal(F.mseLoss(nb.tensor([1, 2]), nb.tensor([0, 0])).dtype, 'float32');
    assert.equal(F.crossEntropy(nb.tensor([[1, 2]]), nb.tensor([1], { dtype: 'int32' })).dtype, 'float32');
  });
});

describe('losses: errors', () => {
  const x = nb.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  it('a label out of range names the loss, the label and the number of classes', () => {
    assert.throws(
      () => F.crossEntropy(x, nb.tensor([0, 3], { dtype: 'int32' })),
      /crossEntropy: target label 3 .*out of range for 3 classes/,
    );
    assert.throws(() => F.nllLoss(x, nb.tensor([-1, 0], { dtype: 'int32' })), /nllLoss: target label -1 .*3 classes/);
  });
  it('wrong target shapes and dtypes', () => {
    assert.throws(
      () => F.crossEntropy(x, nb.tensor([0, 1, 2], { dtype: 'int32' })),
      /crossEntropy: expected target of shape \[2\] for input of shape \[2, 3\], got \[3\]/,
    );
    assert.throws(
      () => F.crossEntropy(x, nb.tensor([[0.5, 0.5]])),
      /crossEntropy: target size \[1, 2\] must be the same as input size \[2, 3\]/,
    );
    assert.throws(
      () => F.mseLoss(x, nb.tensor([1, 2, 3])),
      /mseLoss: target size \[3\] must be the same as input size \[2, 3\]/,
    );
    assert.throws(
      () => F.crossEntropy(x, nb.tensor([true, false])),
      /crossEntropy: expected target to be int32 or int64 class indices or float probabilities, got bool/,
    );
    // issue 23: float labels of the labels' shape get a hint towards int32 class indices
    const hint = (want: RegExp[]) => (e: Error) => want.every((r) => r.test(e.message));
    assert.throws(
      () => new CrossEntropyLoss().forward(nb.zeros([2, 3]), nb.tensor([0, 2])),
      hint([
        /crossEntropy: target size \[2\] must be the same as input size \[2, 3\]: a float32 target holds class/,
        /It has the shape of class labels: pass integer class indices as an int32 tensor/,
      ]),
    );
    assert.throws(
      () => F.crossEntropy(nb.zeros([2, 3]), nb.zeros([3, 2])),
      hint([
        /target size \[3, 2\] must be the same as input size \[2, 3\]/,
        /For class indices pass an int32 tensor of the input's shape without the class dim \[2\]/,
      ]),
    );
  });
  it('bad options', () => {
    assert.throws(
      () => F.mseLoss(x, x, { reduction: 'avg' as 'mean' }),
      /mseLoss: reduction must be one of 'none', 'mean', 'sum', got 'avg'/,
    );
    assert.throws(
      () => F.crossEntropy(x, nb.tensor([0, 1], { dtype: 'int32' }), { weight: nb.tensor([1, 2]) }),
      /weight tensor should be defined either for all 3 classes/,
    );
    assert.throws(
      () => F.crossEntropy(x, nb.tensor([0, 1], { dtype: 'int32' }), { labelSmoothing: 1.5 }),
      /labelSmoothing must be between 0.0 and 1.0/,
    );
    assert.throws(
      () => F.binaryCrossEntropy(nb.tensor([1.5]), nb.tensor([1])),
      /binaryCrossEntropy: all elements of input should be between 0 and 1/,
    );
    assert.throws(
      () => F.klDiv(x, x, { reduction: 'batch' as 'sum' }),
      /klDiv: reduction must be one of 'none', 'mean', 'sum', 'batchmean'/,
    );
  });
});
