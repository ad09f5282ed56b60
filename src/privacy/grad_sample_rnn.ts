// Per-sample gradients of the RNN family (nn.RNN, nn.LSTM, nn.GRU and their cells) in the same one backward as
// the batch gradient. Their weights act at every time step, so a forward hook on the module's output (the rule
// of grad_sample.ts) does not see them; instead a projection tap (nn/rnn.ts) reports each projection with its
// input, and a gradient hook on the projection's output forms that use's per-sample contribution:
//   weight_ih[n] = sum_t gih[t,n]^T x[t,n]     one batched product per layer and direction (all steps at once)
//   weight_hh[n] = sum_t ghh_t[n]^T h_{t-1}[n]  one outer product per step, summed
//   bias_ih[n] = sum_t gih[t,n], bias_hh[n] = sum_t ghh_t[n]
// where gih (T, N, G) and ghh_t (N, G) are the gradients of the gate pre-activations x W_ih^T + b_ih and
// h W_hh^T + b_hh (they differ for GRU's n gate, where r multiplies the hidden part). As Opacus's DPLSTM, but on
// the unmodified layers.
//
// Glossary: T time steps, N batch (the samples), I input size, H hidden size, G gates * H.

import { noGrad } from '../autograd/grad_mode.js';
import type { Module, Parameter } from '../nn/module.js';
import { GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell, registerProjectionTap } from '../nn/rnn.js';
import { bmm } from '../ops/matmul.js';
import type { Tensor } from '../tensor/tensor.js';

/** Adds a (N, *p.shape) per-sample gradient of p. */
export type AddSample = (p: Parameter, gs: Tensor) => void;

/** Installs per-sample gradient capture on a layer whose parameters act more than once per forward. */
export type Sampler = (m: Module, add: AddSample) => { remove(): void };

// the per-sample weight and bias gradients of one projection y = x W^T + b:
// x (T, N, IN) or (N, IN), g like y with OUT -> weight (N, OUT, IN), bias (N, OUT)
function projectionSamples(x: Tensor, g: Tensor): [Tensor, Tensor] {
  if (x.ndim === 2) return [bmm(g.unsqueeze(2), x.unsqueeze(1)), g];
  return [bmm(g.permute(1, 2, 0), x.transpose(0, 1)), g.sum(0)];
}

function rnnSampler(m: Module, add: AddSample): { remove(): void } {
  const params = new Map(m.namedParameters('', false));
  return registerProjectionTap(m, (kind, sfx, input, output) => {
    if (!output.requiresGrad) return; // under noGrad, or frozen: no gradient will come
    const w = params.get(`weight_${kind}${sfx}`),
      b = params.get(`bias_${kind}${sfx}`);
    if (!w?.requiresGrad && !b?.requiresGrad) return;
    const x = input.detach();
    output.registerHook((g: Tensor) => {
      noGrad(() => {
        const [gw, gb] = projectionSamples(x, g.detach());
        if (w?.requiresGrad) add(w, gw);
        if (b?.requiresGrad) add(b, gb);
      });
    });
  });
}

/** The RNN family's samplers, by class. */
export const RNN_SAMPLERS: [{ name: string }, Sampler][] = [RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell].map((c) => [
  c,
  rnnSampler,
]);
