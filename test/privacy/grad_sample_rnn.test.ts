// Per-sample gradients of the RNN family (one backward for the batch) against a backward per sample, in
// float64: multi-layer, bidirectional, batchFirst, with initial states, the cells over a hand-written loop,
// and an Embedding -> LSTM -> Linear classifier.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GradSampleModule, supportedLayers } from '../../src/privacy/grad_sample.js';
import { assertClose } from '../helpers/assert.js';
import * as nb from '../nn/nb.js';

const { nn } = nb;
type T = nb.Tensor;
/** Picks sample b of a tensor along its batch dim (all of it for b = null). */
type Pick = (t: T, batchDim: number) => T;

/** Checks the per-sample gradients of loss(pick) over the batch against one backward per sample. */
function checkAgainstLoop(model: nb.nn.Module, B: number, loss: (pick: Pick) => T): void {
  const gsm = new GradSampleModule(model);
  model.zeroGrad();
  loss((t) => t).backward();
  const params = model.parameters();
  const whole = params.map((p) => p.grad!.clone());
  const batched = params.map((p) => gsm.gradSample(p));
  gsm.remove();
  params.forEach((p, k) => {
    assert.ok(batched[k], `no per-sample gradient for parameter ${k} (shape [${p.shape}])`);
    assert.deepEqual(batched[k]!.shape, [B, ...p.shape]);
    assertClose(batched[k]!.sum(0), whole[k], { atol: 1e-12, rtol: 1e-10 }, `param ${k}: samples sum to .grad`);
  });
  for (let b = 0; b < B; b++) {
    model.zeroGrad();
    loss((t, d) => t.narrow(d, b, 1)).backward();
    params.forEach((p, k) => {
      assertClose(batched[k]!.select(0, b), p.grad!, { atol: 1e-12, rtol: 1e-10 }, `param ${k}, sample ${b}`);
    });
  }
}

const f64 = (shape: number[]) => nb.randn(shape, { dtype: 'float64' });
const cube = (y: T) => y.pow(3).sum();

describe('privacy: per-sample gradients of the RNN family', () => {
  it('LSTM: 2 layers, bidirectional, (T, N, I), with (h0, c0)', () => {
    nb.manualSeed(1);
    const lstm = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true }).double();
    const x = f64([5, 3, 3]),
      h0 = f64([4, 3, 4]),
      c0 = f64([4, 3, 4]);
    checkAgainstLoop(lstm, 3, (pick) => {
      const [out, [hn, cn]] = lstm.call(pick(x, 1), [pick(h0, 1), pick(c0, 1)]);
      return cube(out).add(hn.pow(2).sum()).add(cn.sum());
    });
  });

  it('GRU: batchFirst, 2 layers, bidirectional, with h0', () => {
    nb.manualSeed(2);
    const gru = new nn.GRU(3, 4, { numLayers: 2, bidirectional: true, batchFirst: true }).double();
    const x = f64([3, 6, 3]),
      h0 = f64([4, 3, 4]);
    checkAgainstLoop(gru, 3, (pick) => {
      const [out, hn] = gru.call(pick(x, 0), pick(h0, 1));
      return cube(out).add(hn.pow(2).sum());
    });
  });

  it('RNN: tanh and relu, batchFirst, 2 layers, no bias', () => {
    nb.manualSeed(3);
    for (const nonlinearity of ['tanh', 'relu'] as const) {
      const rnn = new nn.RNN(2, 3, { numLayers: 2, batchFirst: true, nonlinearity, bias: nonlinearity === 'tanh' });
      rnn.double();
      const x = f64([4, 5, 2]);
      checkAgainstLoop(rnn, 4, (pick) => cube(rnn.call(pick(x, 0))[0]));
    }
  });

  it('cells: LSTMCell, GRUCell, RNNCell over a hand-written loop', () => {
    nb.manualSeed(4);
    const x = f64([4, 3, 2]); // (T, N, I)
    const lstm = new nn.LSTMCell(2, 3).double();
    checkAgainstLoop(lstm, 3, (pick) => {
      let s: [T, T] | null = null;
      for (let t = 0; t < 4; t++) s = lstm.call(pick(x.select(0, t), 0), s);
      return cube(s![0]).add(s![1].sum());
    });
    for (const cell of [new nn.GRUCell(2, 3).double(), new nn.RNNCell(2, 3).double()]) {
      checkAgainstLoop(cell, 3, (pick) => {
        let h: T | null = null;
        for (let t = 0; t < 4; t++) h = (cell.call(pick(x.select(0, t), 0), h) as T).mul(1.5);
        return cube(h!);
      });
    }
  });

  it('an Embedding -> LSTM -> Linear classifier: every parameter, from one backward', () => {
    nb.manualSeed(5);
    class Classifier extends nn.Module {
      declare emb: nb.nn.Embedding;
      declare lstm: nb.nn.LSTM;
      declare fc: nb.nn.Linear;
      constructor() {
        super();
        this.emb = new nn.Embedding(10, 4);
        this.lstm = new nn.LSTM(4, 5, { batchFirst: true });
        this.fc = new nn.Linear(5, 3);
      }
      // ids (N, T) -> logits (N, 3) from the last hidden state
      forward(ids: T): T {
        const [, [hn]] = this.lstm.call(this.emb.call(ids));
        return this.fc.call(hn.select(0, 0));
      }
    }
    const model = new Classifier().double();
    const ids = nb.tensor(
      [
        [1, 2, 3, 4],
        [5, 5, 0, 9],
        [7, 1, 1, 2],
        [3, 8, 6, 0],
      ],
      { dtype: 'int32' },
    );
    const y = nb.tensor([0, 2, 1, 1], { dtype: 'int32' });
    checkAgainstLoop(model, 4, (pick) =>
      nb.nn.functional.crossEntropy(model.call(pick(ids, 0)), pick(y, 0), { reduction: 'sum' }),
    );
  });

  it('the RNN family is listed as supported; a layer without a rule is still refused by name', () => {
    for (const n of ['RNN', 'LSTM', 'GRU', 'RNNCell', 'LSTMCell', 'GRUCell']) assert.ok(supportedLayers().includes(n));
    const lstm = new nn.LSTM(2, 2);
    const model = new nn.Sequential(lstm, new nn.MultiheadAttention(2, 1));
    assert.throws(() => new GradSampleModule(model), /layer '1' \(MultiheadAttention\) has trainable parameters/);
    // the refused wrap left nothing installed on the LSTM; wrapping one LSTM twice at once is refused
    const gsm = new GradSampleModule(lstm);
    assert.throws(() => new GradSampleModule(lstm), /already has a projection tap/);
    gsm.remove();
    new GradSampleModule(lstm).remove();
  });
});
