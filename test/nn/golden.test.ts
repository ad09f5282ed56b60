// PyTorch parity for every layer: test/golden/nn_layers.safetensors, made by tools/golden/nn_layers.py
// (torch 1.13, float64). Each case loads the PyTorch state dict into the nabla layer, runs the same
// inputs, and compares the outputs, the input gradients and the parameter gradients of
// sum_i sum(out_i * w_i); training-mode batch norms also compare their buffers afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from './nb.js';
import { readSafetensorsFile } from '../../src/io/safetensors.js';
import type { RawTensor } from '../../src/io/raw.js';
import { golden } from '../helpers/data.js';
import { assertClose } from '../helpers/assert.js';

const { nn } = nb;
type T = nb.Tensor;
type Case = { make: () => nb.nn.Module; run?: (m: any, x: T[], extra: Record<string, T>) => unknown; train?: boolean };

const G: Record<string, T> = {};
for (const [k, r] of Object.entries(readSafetensorsFile(golden('nn_layers.safetensors')).tensors)) {
  const raw = r as RawTensor;
  G[k] = nb.fromTypedArray(raw.data, raw.shape);
}

const call = (m: any, x: T[]) => m.forward(...x);
const acts: Record<string, () => nb.nn.Module> = {
  relu: () => new nn.ReLU(),
  leaky_relu: () => new nn.LeakyReLU(0.2),
  gelu: () => new nn.GELU(),
  gelu_tanh: () => new nn.GELU('tanh'),
  silu: () => new nn.SiLU(),
  tanh: () => new nn.Tanh(),
  sigmoid: () => new nn.Sigmoid(),
  softmax: () => new nn.Softmax(1),
  log_softmax: () => new nn.LogSoftmax(-1),
  elu: () => new nn.ELU(0.7),
  softplus: () => new nn.Softplus(2, 5),
};

const CASES: Record<string, Case> = {
  linear: { make: () => new nn.Linear(6, 5) },
  linear_nobias: { make: () => new nn.Linear(6, 5, { bias: false }) },
  bilinear: { make: () => new nn.Bilinear(4, 3, 5) },
  conv1d: { make: () => new nn.Conv1d(3, 4, 3, { stride: 2, padding: 1 }) },
  conv1d_same: { make: () => new nn.Conv1d(2, 3, 4, { padding: 'same' }) },
  conv2d: { make: () => new nn.Conv2d(3, 4, 3, { padding: 1 }) },
  conv2d_groups: {
    make: () => new nn.Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 }),
  },
  conv2d_same: { make: () => new nn.Conv2d(2, 3, 4, { padding: 'same', bias: false }) },
  conv1d_same_reflect: { make: () => new nn.Conv1d(2, 3, 4, { padding: 'same', paddingMode: 'reflect' }) },
  conv2d_reflect: { make: () => new nn.Conv2d(2, 3, 3, { padding: 1, paddingMode: 'reflect' }) },
  conv_transpose2d: { make: () => new nn.ConvTranspose2d(3, 4, 3, { stride: 2, padding: 1, outputPadding: 1 }) },
  conv_transpose2d_groups: {
    make: () => new nn.ConvTranspose2d(4, 6, [2, 3], { stride: [1, 2], groups: 2, dilation: [2, 1] }),
  },
  maxpool1d: { make: () => new nn.MaxPool1d(3, { stride: 2, padding: 1, returnIndices: true }) },
  maxpool2d: { make: () => new nn.MaxPool2d(2) },
  maxpool2d_ceil: { make: () => new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true, returnIndices: true }) },
  avgpool2d: { make: () => new nn.AvgPool2d(3, { stride: 2, padding: 1 }) },
  avgpool2d_nopad: {
    make: () => new nn.AvgPool2d(2, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
  },
  adaptive_avgpool2d: { make: () => new nn.AdaptiveAvgPool2d([3, 2]) },
  batchnorm1d_train: { make: () => new nn.BatchNorm1d(4), train: true },
  batchnorm1d_eval: { make: () => new nn.BatchNorm1d(3) },
  batchnorm2d_train: { make: () => new nn.BatchNorm2d(3, { momentum: 0.3 }), train: true },
  batchnorm2d_cma: { make: () => new nn.BatchNorm2d(3, { momentum: null }), train: true },
  batchnorm2d_eval: { make: () => new nn.BatchNorm2d(3) },
  layernorm: { make: () => new nn.LayerNorm([3, 4]) },
  groupnorm: { make: () => new nn.GroupNorm(2, 6) },
  embedding: { make: () => new nn.Embedding(10, 4, { paddingIdx: 1 }) },
  upsample_nearest: { make: () => new nn.Upsample({ scaleFactor: 2, mode: 'nearest' }) },
  upsample_nearest_size: { make: () => new nn.Upsample({ size: [5, 7], mode: 'nearest' }) },
  upsample_bilinear: { make: () => new nn.Upsample({ scaleFactor: 2, mode: 'bilinear', alignCorners: false }) },
  upsample_bilinear_ac: { make: () => new nn.Upsample({ size: [5, 7], mode: 'bilinear', alignCorners: true }) },
  ...Object.fromEntries(Object.entries(acts).map(([k, f]) => [`act_${k}`, { make: f }])),
  rnn_tanh: { make: () => new nn.RNN(4, 5, { numLayers: 2 }) },
  rnn_relu_bi: { make: () => new nn.RNN(4, 5, { nonlinearity: 'relu', bidirectional: true, batchFirst: true }) },
  lstm: {
    make: () => new nn.LSTM(4, 5, { numLayers: 2, bidirectional: true }),
    run: (m, [x, h, c]) => m.forward(x, [h, c]),
  },
  lstm_batch_first: { make: () => new nn.LSTM(4, 5, { batchFirst: true }) },
  lstm_unbatched: { make: () => new nn.LSTM(4, 5) },
  gru: { make: () => new nn.GRU(4, 5, { numLayers: 2, bidirectional: true, batchFirst: true }) },
  rnn_cell: { make: () => new nn.RNNCell(4, 5) },
  lstm_cell: { make: () => new nn.LSTMCell(4, 5), run: (m, [x, h, c]) => m.forward(x, [h, c]) },
  gru_cell: { make: () => new nn.GRUCell(4, 5) },
  mha: {
    make: () => new nn.MultiheadAttention(8, 2),
    run: (m, [q, k, v], e) => m.forward(q, k, v, { attnMask: e.attn_mask, keyPaddingMask: e.key_padding_mask }),
  },
  mha_self_bool: {
    make: () => new nn.MultiheadAttention(8, 2, { batchFirst: true }),
    run: (m, [x], e) => m.forward(x, x, x, { attnMask: e.attn_mask, averageAttnWeights: false }),
  },
  mha_kdim: { make: () => new nn.MultiheadAttention(8, 2, { kdim: 6, vdim: 5 }) },
  encoder_layer: {
    make: () => new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 }),
    run: (m, [x], e) => m.forward(x, { srcMask: e.src_mask }),
  },
  encoder_layer_norm_first: {
    make: () =>
      new nn.TransformerEncoderLayer(8, 2, {
        dimFeedforward: 16,
        dropout: 0,
        activation: 'gelu',
        batchFirst: true,
        normFirst: true,
      }),
    run: (m, [x], e) => m.forward(x, { srcKeyPaddingMask: e.src_key_padding_mask }),
  },
  decoder_layer: {
    make: () => new nn.TransformerDecoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 }),
    run: (m, [t, mem], e) => m.forward(t, mem, { tgtMask: e.tgt_mask }),
  },
  decoder_layer_norm_first: {
    make: () =>
      new nn.TransformerDecoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, normFirst: true, batchFirst: true }),
  },
  encoder: {
    make: () =>
      new nn.TransformerEncoder(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 }), 2, {
        norm: new nn.LayerNorm(8),
      }),
  },
  transformer: {
    make: () =>
      new nn.Transformer({
        dModel: 8,
        nhead: 2,
        numEncoderLayers: 2,
        numDecoderLayers: 1,
        dimFeedforward: 16,
        dropout: 0,
      }),
    run: (m, [s, t], e) => m.forward(s, t, { tgtMask: e.tgt_mask }),
  },
};

function flatOut(o: unknown): T[] {
  if (o instanceof nb.Tensor) return [o];
  if (Array.isArray(o)) return o.flatMap(flatOut);
  return [];
}

function entries(prefix: string): [string, T][] {
  return Object.entries(G)
    .filter(([k]) => k.startsWith(prefix))
    .map(([k, v]) => [k.slice(prefix.length), v]);
}

const TOL = { rtol: 1e-6, atol: 1e-9 };

test('every golden case has a nabla case and vice versa', () => {
  const inFile = new Set(Object.keys(G).map((k) => k.split('/')[0]));
  assert.deepEqual([...inFile].sort(), Object.keys(CASES).sort());
});

for (const [name, c] of Object.entries(CASES)) {
  test(`parity with PyTorch: ${name}`, () => {
    const m = c.make().double();
    m.train(c.train ?? false);
    const sd = Object.fromEntries(entries(`${name}/sd/`));
    assert.deepEqual(Object.keys(m.stateDict()), Object.keys(sd), 'state-dict keys and order');
    m.loadStateDict(sd);
    const inputs: T[] = [];
    for (let i = 0; G[`${name}/in${i}`]; i++) {
      const x = G[`${name}/in${i}`].clone();
      inputs.push(x.isFloatingPoint() ? x.requiresGrad_(true) : x);
    }
    const extra = Object.fromEntries(entries(`${name}/x/`));
    const outs = flatOut((c.run ?? call)(m, inputs, extra));
    let loss: T | null = null;
    outs.forEach((o, i) => {
      const want = G[`${name}/out${i}`];
      assert.ok(want, `${name}: unexpected output ${i}`);
      assertClose(o, want, TOL, `${name} out${i}`);
      if (o.isFloatingPoint()) {
        const term = o.mul(G[`${name}/w${i}`]).sum();
        loss = loss ? loss.add(term) : term;
      }
    });
    assert.equal(G[`${name}/out${outs.length}`], undefined, `${name}: missing outputs`);
    (loss as T | null)?.backward();
    inputs.forEach((x, i) => {
      const want = G[`${name}/gin${i}`];
      if (want) assertClose(x.grad ?? nb.zerosLike(x), want, TOL, `${name} grad of input ${i}`);
    });
    for (const [k, p] of m.namedParameters()) {
      const want = G[`${name}/grad/${k}`];
      assert.ok(want, `${name}: no golden gradient for ${k}`);
      assertClose(p.grad ?? nb.zerosLike(p), want, TOL, `${name} grad of ${k}`);
    }
    const after = entries(`${name}/after/`);
    const now = m.stateDict();
    for (const [k, v] of after) assertClose(now[k], v, TOL, `${name} ${k} after forward`);
  });
}
