// Loss modules: same values as the functional forms, PyTorch defaults, weights as buffers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../optim/core.js';
import * as L from '../../src/nn/losses.js';
import * as F from '../../src/nn/functional/losses.js';
import { Module } from '../../src/nn/module.js';
import { assertClose } from '../helpers/assert.js';

describe('loss modules', () => {
  const g = new nb.Generator(5);
  const x = g.normal([4, 3]),
    t = g.uniform([4, 3]);
  const labels = nb.tensor([0, 2, 1, 2], { dtype: 'int32' });
  const w = nb.tensor([1, 2, 0.5]);
  it('each module equals its functional form', () => {
    const pairs: [Module & { forward(a: nb.Tensor, b: nb.Tensor): nb.Tensor }, nb.Tensor][] = [
      [
        new L.CrossEntropyLoss({ weight: w, labelSmoothing: 0.1 }),
        F.crossEntropy(x, labels, { weight: w, labelSmoothing: 0.1 }),
      ],
      [new L.NLLLoss({ reduction: 'sum', ignoreIndex: 2 }), F.nllLoss(x, labels, { reduction: 'sum', ignoreIndex: 2 })],
      [new L.MSELoss(), F.mseLoss(x, t)],
      [new L.L1Loss({ reduction: 'none' }), F.l1Loss(x, t, { reduction: 'none' })],
      [new L.SmoothL1Loss({ beta: 0.3 }), F.smoothL1Loss(x, t, { beta: 0.3 })],
      [new L.HuberLoss({ delta: 0.4 }), F.huberLoss(x, t, { delta: 0.4 })],
      [new L.BCELoss({ weight: w }), F.binaryCrossEntropy(t, t.mul(0.5), { weight: w })],
      [new L.BCEWithLogitsLoss({ posWeight: w }), F.binaryCrossEntropyWithLogits(x, t, { posWeight: w })],
      [new L.KLDivLoss({ reduction: 'batchmean' }), F.klDiv(x, t, { reduction: 'batchmean' })],
    ];
    for (const [m, want] of pairs) {
      assert.ok(m instanceof Module);
      const isBce = m instanceof L.BCELoss,
        isCe = m instanceof L.CrossEntropyLoss || m instanceof L.NLLLoss;
      const got = m.forward(isBce ? t : x, isBce ? t.mul(0.5) : isCe ? labels : t);
      assertClose(got, want, {}, m.constructor.name);
    }
  });
  it('defaults and buffers follow PyTorch', () => {
    const ce = new L.CrossEntropyLoss({ weight: w });
    assert.equal(ce.reduction, 'mean');
    assert.equal(ce.ignoreIndex, -100);
    assert.equal(ce.labelSmoothing, 0);
    assert.deepEqual(Object.keys(ce.stateDict()), ['weight']);
    assert.deepEqual(Object.keys(new L.CrossEntropyLoss().stateDict()), []);
    assert.deepEqual(Object.keys(new L.BCEWithLogitsLoss({ posWeight: w }).stateDict()), ['pos_weight']);
    assert.equal(new L.SmoothL1Loss().beta, 1);
    assert.equal(new L.HuberLoss().delta, 1);
    assert.equal(String(new L.MSELoss()), 'MSELoss()');
  });
  it('trains: a gradient reaches the logits through the module', () => {
    const logits = x.clone().requiresGrad_();
    new L.CrossEntropyLoss().forward(logits, labels).backward();
    assert.deepEqual(logits.grad!.shape, [4, 3]);
  });
});
