// nb.vision.ops against torchvision 0.14 (tools/golden/vision_ops.py -> test/golden/vision/ops.*):
// values and input gradients of boxConvert, boxArea, the IoU family, the IoU losses, the focal loss,
// roiAlign (aligned or not, fixed and adaptive sampling, spatial scales) and roiPool; the kept indices
// of nms and batchedNms. Float64 gradchecks of the differentiable ops; clear errors for bad boxes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ops from '../../src/vision/ops/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { tensor } from '../../src/tensor/creation.js';
import { Generator } from '../../src/tensor/random.js';
import { gradcheck } from '../../src/autograd/gradcheck.js';
import { grad } from '../../src/autograd/grad.js';
import { enableGrad } from '../../src/autograd/grad_mode.js';
import { cat } from '../../src/ops/functional.js';
import { assertClose } from '../helpers/assert.js';
import { readSafetensors } from '../helpers/golden.js';
import { golden } from '../helpers/data.js';

interface Case {
  name: string;
  op: string;
  opts: Record<string, unknown>;
  inputs: string[];
  grad: string[];
}
const T = readSafetensors(golden('vision/ops.safetensors'));
const spec = JSON.parse(readFileSync(golden('vision/ops.json'), 'utf8')) as { cases: Case[] };

type Fn = (xs: Tensor[], o: Record<string, unknown>) => Tensor;
const OPS: Record<string, Fn> = {
  boxConvert: ([b], o) => ops.boxConvert(b, o.inFmt as ops.BoxFormat, o.outFmt as ops.BoxFormat),
  boxArea: ([b]) => ops.boxArea(b),
  clipBoxesToImage: ([b], o) => ops.clipBoxesToImage(b, o.size as [number, number]),
  removeSmallBoxes: ([b], o) => ops.removeSmallBoxes(b, o.minSize as number),
  boxIou: ([a, b]) => ops.boxIou(a, b),
  generalizedBoxIou: ([a, b]) => ops.generalizedBoxIou(a, b),
  distanceBoxIou: ([a, b]) => ops.distanceBoxIou(a, b),
  completeBoxIou: ([a, b]) => ops.completeBoxIou(a, b),
  generalizedBoxIouLoss: ([a, b], o) => ops.generalizedBoxIouLoss(a, b, o),
  distanceBoxIouLoss: ([a, b], o) => ops.distanceBoxIouLoss(a, b, o),
  completeBoxIouLoss: ([a, b], o) => ops.completeBoxIouLoss(a, b, o),
  sigmoidFocalLoss: ([x, t], o) => ops.sigmoidFocalLoss(x, t, o),
  nms: ([b, s], o) => ops.nms(b, s, o.iouThreshold as number),
  batchedNms: ([b, s, i], o) => ops.batchedNms(b, s, i, o.iouThreshold as number),
  roiAlign: ([x, r], o) => ops.roiAlign(x, r, o.outputSize as [number, number], o),
  roiPool: ([x, r], o) => ops.roiPool(x, r, o.outputSize as [number, number], o.spatialScale as number),
};

describe('vision.ops: torchvision 0.14 parity (tools/golden/vision_ops.py)', () => {
  for (const c of spec.cases) {
    it(`${c.name}: ${c.op}${c.grad.length ? ' value and gradient' : ''}`, () => {
      const xs = c.inputs.map((k) => {
        const t = T[`${c.name}.${k}`].clone();
        return c.grad.includes(k) ? t.requiresGrad_() : t;
      });
      const y = OPS[c.op](xs, c.opts);
      const want = T[`${c.name}.y`];
      if (want.dtype === 'int32') assert.deepEqual([...y.toTypedArray()], [...want.toTypedArray()], c.name);
      else {
        const tol = want.dtype === 'float32' ? { rtol: 1e-5, atol: 1e-6 } : { rtol: 1e-10, atol: 1e-12 };
        assertClose(y, want, tol, `${c.name} value`);
      }
      if (!c.grad.length) return;
      y.mul(T[`${c.name}.w`]).sum().backward();
      c.grad.forEach((k) => {
        const i = c.inputs.indexOf(k);
        assertClose(xs[i].grad!, T[`${c.name}.g.${k}`], { rtol: 1e-9, atol: 1e-11 }, `${c.name} d/d${k}`);
      });
    });
  }
});

function boxes(g: Generator, n: number): Tensor {
  const xy = g.uniform([n, 2], 0, 10, 'float64');
  return cat([xy, xy.add(g.uniform([n, 2], 1, 6, 'float64'))], 1);
}

describe('vision.ops: float64 gradchecks', () => {
  const g = new Generator(7);
  const a = boxes(g, 4).requiresGrad_(),
    b = boxes(g, 3).requiresGrad_();
  // NOTE: completeBoxIou and completeBoxIouLoss are left out: their alpha is computed under no_grad (as
  // in torchvision), so finite differences see a term the analytic gradient drops by definition; the
  // goldens above check their gradients against torchvision's.
  const pairwise = { boxIou: ops.boxIou, generalizedBoxIou: ops.generalizedBoxIou, distanceBoxIou: ops.distanceBoxIou };
  for (const [name, f] of Object.entries(pairwise))
    it(name, () => assert.ok(gradcheck((x, y) => f(x, y), [a, b], { atol: 1e-6, rtol: 1e-4 })));
  const p = boxes(g, 5).requiresGrad_(),
    q = boxes(g, 5).requiresGrad_();
  const losses = { generalizedBoxIouLoss: ops.generalizedBoxIouLoss, distanceBoxIouLoss: ops.distanceBoxIouLoss };
  for (const [name, f] of Object.entries(losses))
    it(name, () => assert.ok(gradcheck((x, y) => f(x, y), [p, q], { atol: 1e-6, rtol: 1e-4 })));
  it('sigmoidFocalLoss', () => {
    const x = g.normal([3, 4], 0, 1, 'float64').requiresGrad_();
    const t = g.uniform([3, 4], 0, 1, 'float64').gt(0.5).to('float64');
    assert.ok(gradcheck((z) => ops.sigmoidFocalLoss(z, t), [x], { atol: 1e-6, rtol: 1e-4 }));
  });
  const feat = g.normal([2, 2, 6, 7], 0, 1, 'float64').requiresGrad_();
  const rois = tensor([
    [0, 0.5, 1.2, 5.1, 4.3],
    [1, 1.7, 0.4, 6.2, 5.9],
  ]).to('float64');
  it('roiAlign (and its backward, twice differentiable)', () => {
    for (const aligned of [false, true])
      assert.ok(gradcheck((x) => ops.roiAlign(x, rois, [2, 3], { samplingRatio: 2, aligned }), [feat]));
    const w = g.normal([2, 2, 2, 3], 0, 1, 'float64');
    // d/dx of <w, roiAlign(x)> is linear in w; its own gradient with respect to w is the forward
    const wr = w.clone().requiresGrad_();
    // (gradcheck evaluates f under noGrad for the finite differences; enableGrad restores the graph)
    const f = (ww: Tensor) =>
      enableGrad(() => {
        const x = feat.detach().clone().requiresGrad_();
        const y = ops.roiAlign(x, rois, [2, 3], { samplingRatio: 2 }).mul(ww).sum();
        const [gx] = grad(y, x, { createGraph: true });
        return gx!.square().sum();
      });
    assert.ok(gradcheck(f, [wr]));
  });
  it('roiPool (away from ties)', () => {
    assert.ok(gradcheck((x) => ops.roiPool(x, rois, [2, 2]), [feat]));
  });
});

describe('vision.ops: errors and edge cases', () => {
  const good = tensor([[0, 0, 2, 2]]);
  it('boxes with x2 < x1 name the op, the index and the values', () => {
    const bad = tensor([
      [0, 0, 2, 2],
      [5, 1, 3, 4],
    ]);
    assert.throws(() => ops.boxIou(good, bad), /boxIou: boxes2\[1\] = \(5, 1, 3, 4\) has x2 < x1/);
    assert.throws(() => ops.nms(bad, tensor([1, 2]), 0.5), /nms: boxes\[1\] = \(5, 1, 3, 4\) has x2 < x1/);
    assert.throws(() => ops.boxArea(tensor([[0, 3, 1, 2]])), /boxArea: boxes\[0\] = \(0, 3, 1, 2\) has y2 < y1/);
    assert.throws(() => ops.boxIou(tensor([[0, 0, Number.NaN, 1]]), good), /boxIou: boxes1\[0\].*NaN/);
    const x = new Generator(1).normal([1, 1, 4, 4], 0, 1, 'float64');
    assert.throws(
      () => ops.roiAlign(x, [tensor([[3, 0, 1, 2]])], 2),
      /roiAlign: boxes\[0\] = \(3, 0, 1, 2\) has x2 < x1/,
    );
  });
  it('wrong shapes are refused with the shape', () => {
    assert.throws(
      () => ops.boxIou(tensor([[0, 0, 1]]), good),
      /boxIou: expected boxes1 of shape \(N, 4\), got \[1, 3\]/,
    );
    assert.throws(() => ops.nms(good, tensor([1, 2]), 0.5), /nms: expected scores \(N\)/);
    assert.throws(
      () => ops.boxConvert(good, 'xyxy', 'yxyx' as ops.BoxFormat),
      /boxConvert: unsupported formats 'xyxy' -> 'yxyx'/,
    );
    const x = new Generator(1).normal([1, 1, 4, 4], 0, 1, 'float64');
    assert.throws(() => ops.roiAlign(x, tensor([[0, 1, 1, 2]]), 2), /roiAlign: expected boxes \(K, 5\)/);
    assert.throws(() => ops.roiAlign(x, tensor([[3, 0, 0, 1, 1]]), 2), /roiAlign: boxes\[0\] has batch index 3/);
    assert.throws(() => ops.roiPool(x, [good], 2, 0), /roiPool: spatialScale must be a positive number, got 0/);
    assert.throws(() => ops.roiPool(x.reshape([4, 4]), [good], 2), /roiPool: expected input \(N, C, H, W\)/);
  });
  it('an empty image list is an error; no boxes give an empty result', () => {
    const x = new Generator(1).normal([1, 1, 4, 4], 0, 1, 'float64');
    assert.throws(() => ops.roiAlign(x, [], 2), /roiAlign: boxes is an empty image list/);
    assert.throws(() => ops.roiPool(x, [], 2), /roiPool: boxes is an empty image list/);
    assert.deepEqual(ops.roiAlign(x, [tensor([]).reshape([0, 4])], 2).shape, [0, 1, 2, 2]);
    assert.deepEqual(ops.nms(tensor([]).reshape([0, 4]), tensor([]), 0.5).shape, [0]);
  });
  it('a list of per-image boxes equals the (K, 5) form', () => {
    const x = new Generator(2).normal([2, 1, 5, 5], 0, 1, 'float64');
    const a = ops.roiAlign(x, [tensor([[0.5, 0.5, 3, 4]]), tensor([[1, 1, 4, 4]])], 2, { aligned: true });
    const b = ops.roiAlign(
      x,
      tensor([
        [0, 0.5, 0.5, 3, 4],
        [1, 1, 1, 4, 4],
      ]),
      2,
      { aligned: true },
    );
    assertClose(a, b);
  });
  it('hand-computed IoUs', () => {
    assertClose(ops.boxIou(good, tensor([[1, 1, 3, 3]])), tensor([[1 / 7]]));
    assertClose(ops.generalizedBoxIou(good, tensor([[3, 0, 4, 2]])), tensor([[-1 / 4]]));
    assertClose(ops.boxConvert(tensor([[10, 20, 4, 6]]), 'cxcywh', 'xyxy'), tensor([[8, 17, 12, 23]]));
  });
});
