// Neural-network functional ops composed from differentiable primitives (so their gradients come
// from autograd): linear, bilinear, normalisations, dropout, embedding and scaled dot-product
// attention. Glossary: N batch, C channels, D features, L target length, S source length,
// E embedding size, G groups.

import { noGrad } from '../autograd/grad_mode.js';
import { fmtShape } from '../tensor/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import { defaultGenerator } from '../tensor/random.js';
import { checkFloat, wrap } from './util.js';
import { where } from './binary.js';
import { indexSelectAs } from './indexing.js';
import { int32Indices } from './unary.js';
import { attentionFused, batchNormFused, layerNormFused, linearFused } from './fused.js';

/**
 * y = x W^T + b (F.linear).
 * @example linear(nb.randn([8, 32]), nb.randn([64, 32])) // -> [8, 64]
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  // x (*, in), weight (out, in), bias (out) -> (*, out)
  const inF = weight.shape[weight.ndim - 1];
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inF) {
    throw new Error(
      `linear: expected input (*, ${inF}) for weight ${fmtShape(weight.shape)}, got ${fmtShape(x.shape)}`,
    );
  }
  if (x.ndim >= 2 && weight.ndim === 2) {
    // inference: one kernel, bias added in place
    const lead = x.shape.slice(0, -1);
    const y = linearFused(x.reshape([-1, inF]), weight.t(), bias, null);
    if (y) return y.reshape([...lead, weight.shape[0]]);
  }
  const y = x.matmul(weight.t());
  return bias ? y.add(bias) : y;
}

/** y_k = x1^T W_k x2 + b_k (F.bilinear). */
export function bilinear(x1: Tensor, x2: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  // x1 (*, in1), x2 (*, in2), weight (out, in1, in2) -> (*, out)
  const [out, in1, in2] = weight.shape;
  if (
    x1.shape[x1.ndim - 1] !== in1 ||
    x2.shape[x2.ndim - 1] !== in2 ||
    fmtShape(x1.shape.slice(0, -1)) !== fmtShape(x2.shape.slice(0, -1))
  ) {
    throw new Error(
      `bilinear: expected inputs (*, ${in1}) and (*, ${in2}) with the same leading dims, got ${fmtShape(x1.shape)} ` +
        `and ${fmtShape(x2.shape)}`,
    );
  }
  const lead = x1.shape.slice(0, -1);
  const a = x1.reshape([-1, in1]),
    b = x2.reshape([-1, in2]);
  // (M, in1) @ (in1, out*in2) -> (M, out, in2), times x2 and summed over in2
  const t = a.matmul(weight.permute(1, 0, 2).reshape([in1, out * in2])).reshape([-1, out, in2]);
  let y = t.mul(b.unsqueeze(1)).sum(2);
  if (bias) y = y.add(bias);
  return y.reshape([...lead, out]);
}

function normShape(s: number | readonly number[]): number[] {
  return typeof s === 'number' ? [s] : [...s];
}

/** Layer normalisation over the trailing normalizedShape dims (F.layer_norm), biased variance. */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  // x (*, *normalizedShape) -> same shape
  const ns = normShape(normalizedShape);
  const k = ns.length;
  if (x.ndim < k || ns.some((d, i) => x.shape[x.ndim - k + i] !== d)) {
    throw new Error(`layerNorm: expected input (*, ${ns.join(', ')}), got ${fmtShape(x.shape)}`);
  }
  checkFloat(x, 'layerNorm');
  if (k === 1) {
    const y = layerNormFused(x, weight, bias, eps);
    if (y) return y;
  }
  const axes = ns.map((_, i) => x.ndim - k + i);
  const mu = x.mean(axes, true);
  const d = x.sub(mu);
  let y = d.mul(d.mul(d).mean(axes, true).add(eps).rsqrt());
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}

/** Root-mean-square normalisation (F.rms_norm): x / sqrt(mean(x^2) + eps) * weight. */
export function rmsNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight: Tensor | null = null,
  eps: number | null = null,
): Tensor {
  // x (*, *normalizedShape) -> same shape
  const ns = normShape(normalizedShape);
  const k = ns.length;
  if (x.ndim < k || ns.some((d, i) => x.shape[x.ndim - k + i] !== d)) {
    throw new Error(`rmsNorm: expected input (*, ${ns.join(', ')}), got ${fmtShape(x.shape)}`);
  }
  checkFloat(x, 'rmsNorm');
  // NOTE: PyTorch's default eps is the dtype's machine epsilon.
  const e = eps ?? (x.dtype === 'float64' ? 2.220446049250313e-16 : 1.1920928955078125e-7);
  const axes = ns.map((_, i) => x.ndim - k + i);
  const y = x.mul(x.mul(x).mean(axes, true).add(e).rsqrt());
  return weight ? y.mul(weight) : y;
}

/** Group normalisation (F.group_norm): statistics over each group of C/G channels and all positions. */
export function groupNorm(
  x: Tensor,
  numGroups: number,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  // x (N, C, *) -> same shape
  if (x.ndim < 2) throw new Error(`groupNorm: expected an input (N, C, *), got ${fmtShape(x.shape)}`);
  const [N, C] = x.shape;
  if (C % numGroups !== 0)
    throw new Error(
      `groupNorm: expected number of channels in input (${C}) to be divisible by numGroups (${numGroups})`,
    );
  checkFloat(x, 'groupNorm');
  const g = x.reshape([N, numGroups, -1]);
  const d = g.sub(g.mean(2, true));
  let y = d.mul(d.mul(d).mean(2, true).add(eps).rsqrt()).reshape([...x.shape]);
  const bshape = [1, C, ...Array(x.ndim - 2).fill(1)];
  if (weight) y = y.mul(weight.reshape(bshape));
  if (bias) y = y.add(bias.reshape(bshape));
  return y;
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  training?: boolean;
  /** Running-average factor; null gives a cumulative average (the caller passes 1/numBatchesTracked). */
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation (F.batch_norm). In training, normalises with the batch statistics (biased
 * variance) and updates runningMean/runningVar in place (unbiased variance), when given; in eval,
 * normalises with the running statistics.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: BatchNormOptions = {},
): Tensor {
  return batchNormAct(x, runningMean, runningVar, opts, null, false);
}

/**
 * act(batchNorm(x) + residual), act relu or identity: one fused pass forward and backward in training
 * where the backend has the kernel (fused ResNet blocks, nn.utils.fuse), else the composed ops.
 */
export function batchNormAct(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: BatchNormOptions,
  residual: Tensor | null,
  relu: boolean,
): Tensor {
  // x (N, C, *), residual like x -> same shape; statistics per channel over N and *
  const { weight = null, bias = null, training = false, momentum = 0.1, eps = 1e-5 } = opts;
  if (x.ndim < 2) throw new Error(`batchNorm: expected an input (N, C, *), got ${fmtShape(x.shape)}`);
  checkFloat(x, 'batchNorm');
  const C = x.shape[1];
  const bshape = [1, C, ...Array(x.ndim - 2).fill(1)];
  const axes = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
  // NOTE: the per-channel factors are folded first (C values), so the big tensor is touched by one
  // multiply and one add: y = (x - mean) * (rstd * weight) + bias, or in eval x * scale + shift.
  const w = weight ? weight.reshape(bshape) : null,
    b = bias ? bias.reshape(bshape) : null;
  if (training) {
    const n = x.numel() / C;
    if (n <= 1)
      throw new Error(
        `batchNorm: expected more than 1 value per channel when training, got input size ${fmtShape(x.shape)}`,
      );
    const f = batchNormFused(x, weight, bias, eps, residual, relu);
    if (f) {
      noGrad(() => {
        if (runningMean) runningMean.mul_(1 - momentum).add_(wrap(f.mean, [C], 'float32').mul(momentum));
        if (runningVar) runningVar.mul_(1 - momentum).add_(wrap(f.var, [C], 'float32').mul((momentum * n) / (n - 1)));
      });
      return f.y;
    }
    const mu = x.mean(axes, true);
    const d = x.sub(mu);
    const v = d.mul(d).mean(axes, true);
    noGrad(() => {
      if (runningMean) runningMean.mul_(1 - momentum).add_(mu.detach().reshape([C]).mul(momentum));
      if (runningVar)
        runningVar.mul_(1 - momentum).add_(
          v
            .detach()
            .reshape([C])
            .mul((momentum * n) / (n - 1)),
        );
    });
    const rstd = v.add(eps).rsqrt();
    const y = d.mul(w ? rstd.mul(w) : rstd);
    return act(b ? y.add(b) : y, residual, relu);
  }
  if (!runningMean || !runningVar)
    throw new Error('batchNorm: runningMean and runningVar must be given when training is false');
  let scale = runningVar.reshape(bshape).add(eps).rsqrt();
  if (w) scale = scale.mul(w);
  let shift = runningMean.reshape(bshape).mul(scale).neg();
  if (b) shift = shift.add(b);
  return act(x.mul(scale).add(shift), residual, relu);
}

const act = (y: Tensor, residual: Tensor | null, relu: boolean): Tensor => {
  const z = residual ? y.add(residual) : y;
  return relu ? z.relu() : z;
};

/** Zeroes each element with probability p and scales the rest by 1/(1-p), in training (F.dropout). Seeded by the
 * default generator. */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  // x (*) -> (*)
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability has to be between 0 and 1, but got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  // NOTE: the mask is drawn on the host from the default generator and joins x on its device, so a
  // seeded run draws the same mask on every device
  const keep = defaultGenerator()
    .uniform([...x.shape], 0, 1, x.dtype)
    .lt(1 - p);
  return x.mul(
    keep
      .to(x.dtype)
      .mul(1 / (1 - p))
      .to(x.device),
  );
}

/** Rows of weight at the int32 indices (F.embedding); rows at paddingIdx get no gradient. */
export function embedding(input: Tensor, weight: Tensor, paddingIdx: number | null = null): Tensor {
  // input (*) int32 (or int64), weight (V, D) -> (*, D)
  input = int32Indices(input, 'embedding');
  if (input.dtype !== 'int32')
    throw new Error(`embedding: expected int32 indices, got ${input.dtype} of shape ${fmtShape(input.shape)}`);
  if (weight.ndim !== 2)
    throw new Error(`embedding: expected a 2-D weight (num_embeddings, embedding_dim), got ${fmtShape(weight.shape)}`);
  const V = weight.shape[0];
  const flat = input.reshape([-1]);
  let out = indexSelectAs('embedding', weight, 0, flat);
  if (paddingIdx !== null && paddingIdx !== undefined) {
    const pi = paddingIdx < 0 ? paddingIdx + V : paddingIdx;
    // the padding rows read the (usually zero) weight but send no gradient back
    out = where(flat.eq(pi).unsqueeze(1), out.detach(), out);
  }
  return out.reshape([...input.shape, weight.shape[1]]);
}

export interface SdpaOptions {
  /** bool: true = may attend (PyTorch 2 semantics); float: added to the scores. Broadcast to (*, L, S). */
  attnMask?: Tensor | null;
  dropoutP?: number;
  isCausal?: boolean;
  /** Defaults to 1/sqrt(E). */
  scale?: number | null;
}

/** A bool (L, S) mask that is true on and below the diagonal. */
export function causalMask(L: number, S: number): Tensor {
  const m = new Uint8Array(L * S);
  for (let i = 0; i < L; i++) for (let j = 0; j <= Math.min(i, S - 1); j++) m[i * S + j] = 1;
  return wrap(m, [L, S], 'bool');
}

/**
 * softmax(q k^T * scale + mask) v (F.scaled_dot_product_attention).
 * @example scaledDotProductAttention(q, k, v, {isCausal: true})
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: SdpaOptions = {}): Tensor {
  // q (*, L, E), k (*, S, E), v (*, S, Ev) -> (*, L, Ev)
  const { attnMask = null, dropoutP = 0, isCausal = false } = opts;
  if (
    q.ndim < 2 ||
    k.ndim < 2 ||
    v.ndim < 2 ||
    q.shape[q.ndim - 1] !== k.shape[k.ndim - 1] ||
    k.shape[k.ndim - 2] !== v.shape[v.ndim - 2]
  ) {
    throw new Error(
      `scaledDotProductAttention: expected q (*, L, E), k (*, S, E), v (*, S, Ev), got ${fmtShape(q.shape)}, ` +
        `${fmtShape(k.shape)}, ${fmtShape(v.shape)}`,
    );
  }
  if (isCausal && attnMask) throw new Error('scaledDotProductAttention: attnMask and isCausal cannot both be set');
  const L = q.shape[q.ndim - 2],
    S = k.shape[k.ndim - 2],
    E = q.shape[q.ndim - 1];
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  if (!attnMask && dropoutP === 0 && L === S) {
    const out = attentionFused(q, k, v, scale, isCausal);
    if (out) return out;
  }
  let scores = q.matmul(k.mT).mul(scale);
  // the causal mask is made on the host: it joins the scores on their device
  const mask = isCausal ? causalMask(L, S).to(scores.device) : attnMask;
  if (mask) scores = mask.dtype === 'bool' ? scores.maskedFill(mask.logicalNot(), -Infinity) : scores.add(mask);
  let attn = scores.softmax(-1);
  if (dropoutP > 0) attn = dropout(attn, dropoutP, true);
  return attn.matmul(v);
}
