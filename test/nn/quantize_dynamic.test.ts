// quantizeDynamic against Debian PyTorch's torch.ao.quantization.quantize_dynamic (qint8, QNNPACK engine):
// goldens from tools/golden/quantize_dynamic.py. The int8 weight codes and scale must be equal; the
// outputs within one quantization step of the output (x_scale * w_scale * max|w_q|) for a linear layer
// (measured: equal), and within 1e-5 for the RNNs, whose gates add float rounding (measured: 6e-8), so
// that every activation's quantization parameters and codes must be torch's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadGolden } from '../helpers/golden.js';
import { noGrad } from '../../src/autograd/grad_mode.js';
import { Linear } from '../../src/nn/linear.js';
import { Conv2d } from '../../src/nn/conv.js';
import { Sequential } from '../../src/nn/containers.js';
import { GRU, LSTM } from '../../src/nn/rnn.js';
import type { Module } from '../../src/nn/module.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../../src/tensor/creation.js';
import {
  DynamicQuantizedGRU,
  DynamicQuantizedLSTM,
  DynamicQuantizedLinear,
  quantizeDynamic,
} from '../../src/nn/quantized/dynamic.js';
import { chooseQParams } from '../../src/util/quant.js';

const g = loadGolden('quantize_dynamic');

function load(m: Module, name: string): void {
  const sd: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(g)) if (k.startsWith(`${name}/sd/`)) sd[k.slice(name.length + 4)] = v;
  m.loadStateDict(sd);
}

function maxDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  const x = a.toArray() as unknown as number[],
    y = b.toArray() as unknown as number[];
  const fx = x.flat(4) as number[],
    fy = y.flat(4) as number[];
  let m = 0;
  for (let i = 0; i < fx.length; i++) m = Math.max(m, Math.abs(fx[i] - fy[i]));
  return m;
}

for (const [name, K, N, bias] of [
  ['linear', 37, 23, true],
  ['linear_3d', 64, 17, false],
  ['linear_positive', 20, 9, true],
] as const) {
  test(`quantizeDynamic Linear(${K}, ${N}) equals torch qnnpack (${name})`, () => {
    const float = new Sequential(new Linear(K, N, { bias }));
    load(float, name);
    const q = quantizeDynamic(float, { dtype: 'qint8' });
    const ql = q.at(0) as DynamicQuantizedLinear;
    assert.ok(ql instanceof DynamicQuantizedLinear);
    const w = ql.weight();
    assert.deepEqual(w.intRepr.toArray(), g[`${name}/wq`].toArray(), 'int8 weight codes');
    assert.ok(maxDiff(g[`${name}/out0`], g[`${name}/float_out0`]) > 0, 'the golden is quantized');
    assert.equal(w.scale, g[`${name}/wscale`].item());
    const x = g[`${name}/in`];
    const y = noGrad(() => q.call(x) as Tensor);
    const xp = chooseQParams(x.min().item() as number, x.max().item() as number);
    let wmax = 0;
    for (const v of (w.intRepr.toArray() as number[][]).flat()) wmax = Math.max(wmax, Math.abs(v));
    const step = xp.scale * w.scale * wmax;
    const d = maxDiff(y, g[`${name}/out0`]);
    assert.ok(d <= step, `max |nabla - torch| = ${d}, one step = ${step}`);
  });
}

for (const [name, make, nOut] of [
  ['lstm', () => new LSTM(10, 12, { numLayers: 2, bidirectional: true }), 3],
  ['lstm_batch_first', () => new LSTM(6, 8, { batchFirst: true }), 3],
  ['gru', () => new GRU(10, 12, { numLayers: 2 }), 2],
] as const) {
  test(`quantizeDynamic ${name} matches torch qnnpack to float rounding`, () => {
    const float = new Sequential(make());
    load(float, name);
    const q = quantizeDynamic(float).at(0);
    assert.ok(q instanceof DynamicQuantizedLSTM || q instanceof DynamicQuantizedGRU);
    assert.equal([...q.parameters()].length, 0, 'no float weights left');
    const out = q.call(g[`${name}/in`]) as [Tensor, Tensor | [Tensor, Tensor]];
    const flat = [out[0], ...(Array.isArray(out[1]) ? out[1] : [out[1]])];
    assert.equal(flat.length, nOut);
    flat.forEach((t, i) => {
      const want = g[`${name}/out${i}`];
      const d = maxDiff(t, want);
      assert.ok(d <= 1e-5, `${name} output ${i}: max |nabla - torch| = ${d}`);
      assert.ok(maxDiff(want, g[`${name}/float_out${i}`]) > 1e-4, 'the golden is quantized');
    });
  });
}

test('quantizeDynamic copies the model, names a module type without a quantized version, keeps it when asked', () => {
  const model = new Sequential(new Conv2d(1, 2, 3), new Linear(4, 3));
  assert.throws(
    () => quantizeDynamic(model, { modules: [Linear, Conv2d] }),
    /quantizeDynamic: Conv2d has no dynamic quantized version \(supported: Linear, LSTM, GRU\); pass keepUnsupported: true/,
  );
  const q = quantizeDynamic(model, { modules: [Linear, Conv2d], keepUnsupported: true });
  assert.ok(q.at(0) instanceof Conv2d, 'the Conv2d stays float');
  assert.ok(q.at(1) instanceof DynamicQuantizedLinear);
  assert.ok(model.at(1) instanceof Linear, 'the original model is unchanged');
  assert.throws(() => quantizeDynamic(model, { dtype: 'float16' as 'qint8' }), /dtype 'float16' is not supported/);
  const x = randn([2, 4]).requiresGrad_();
  assert.throws(() => q.at(1).call(x), /linearInt8Dynamic: quantized layers are for inference/);
});
