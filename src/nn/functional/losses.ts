// Loss functions (torch.nn.functional.*_loss), composed from differentiable ops so that their
// gradients come from autograd. Dimension glossary: N batch, C classes, d1.. extra dims of
// per-pixel / per-token losses; class dim is 1 for batched inputs and 0 for unbatched (C,).
// Options objects stand in for PyTorch's keyword arguments, with the same names in camelCase.
//
// NOTE: targets for class indices are int32 or int64 (PyTorch's; converted to int32 with a range check).
// Input and target shapes must match where PyTorch only warns about broadcasting them: a silent
// broadcast is the classic bug.

import { Tensor } from '../../tensor/tensor.js';
import { fmtShape } from '../../tensor/layout.js';
import { isFloating } from '../../tensor/dtype.js';
import { maximum, where } from '../../ops/binary.js';
import { log1p, exp, log, int32Indices } from '../../ops/unary.js';
import { record } from '../../ops/util.js';
import { noGrad } from '../../autograd/grad_mode.js';

export type Reduction = 'none' | 'mean' | 'sum';

export interface ReductionOptions {
  reduction?: Reduction;
}

export interface NLLLossOptions extends ReductionOptions {
  /** Per-class rescaling weight, shape (C). */
  weight?: Tensor | null;
  /** Target value that contributes nothing to the loss or the mean's denominator. Default -100. */
  ignoreIndex?: number;
}

export interface CrossEntropyOptions extends NLLLossOptions {
  /** Mixes the target with the uniform distribution: (1 - s) * target + s / C. Default 0. */
  labelSmoothing?: number;
}

function checkReduction(reduction: string, op: string, extra: readonly string[] = []): void {
  const ok = ['none', 'mean', 'sum', ...extra];
  if (!ok.includes(reduction)) {
    throw new Error(`${op}: reduction must be one of ${ok.map((r) => `'${r}'`).join(', ')}, got '${reduction}'`);
  }
}

function reduce(loss: Tensor, reduction: Reduction, op: string): Tensor {
  checkReduction(reduction, op);
  return reduction === 'none' ? loss : reduction === 'sum' ? loss.sum() : loss.mean();
}

function checkTensor(x: unknown, what: string, op: string): asserts x is Tensor {
  if (!(x instanceof Tensor))
    throw new Error(`${op}: expected ${what} to be a Tensor, got ${x === null ? 'null' : typeof x}`);
}

function checkFloatInput(x: Tensor, what: string, op: string): void {
  if (!isFloating(x.dtype))
    throw new Error(
      `${op}: expected ${what} to be a floating point tensor, got ${x.dtype} of shape ${fmtShape(x.shape)}`,
    );
}

function checkSameShape(input: Tensor, target: Tensor, op: string): void {
  if (input.ndim !== target.ndim || input.shape.some((d, i) => d !== target.shape[i])) {
    throw new Error(
      `${op}: target size ${fmtShape(target.shape)} must be the same as input size ${fmtShape(input.shape)}`,
    );
  }
}

/** The two float operands of an elementwise loss, with shapes checked and dtypes promoted. */
function pair(input: Tensor, target: Tensor, op: string): [Tensor, Tensor] {
  checkTensor(input, 'input', op);
  checkTensor(target, 'target', op);
  checkFloatInput(input, 'input', op);
  checkSameShape(input, target, op);
  return [input, target.dtype === input.dtype ? target : target.to(input.dtype)];
}

/** Checks class-index targets of an input (N, C, d1..) or (C): returns C and the class dim. */
function checkClassTarget(
  input: Tensor,
  target: Tensor,
  ignoreIndex: number,
  op: string,
): { C: number; classDim: number } {
  if (input.ndim < 1)
    throw new Error(`${op}: input must have at least 1 dimension (C) or (N, C, ...), got a 0-dim tensor`);
  const classDim = input.ndim === 1 ? 0 : 1;
  const C = input.shape[classDim];
  const expected = input.shape.filter((_, i) => i !== classDim);
  if (target.ndim !== expected.length || target.shape.some((d, i) => d !== expected[i])) {
    throw new Error(
      `${op}: expected target of shape ${fmtShape(expected)} for input of shape ${fmtShape(input.shape)}, got ` +
        `${fmtShape(target.shape)}`,
    );
  }
  const t = target.toTypedArray();
  for (let i = 0; i < t.length; i++) {
    const v = t[i];
    if (v !== ignoreIndex && (v < 0 || v >= C)) {
      throw new Error(
        `${op}: target label ${v} (at flat index ${i}) is out of range for ${C} classes; labels must be in [0, ` +
          `${C - 1}]${ignoreIndex < 0 || ignoreIndex >= C ? ` or equal ignoreIndex ${ignoreIndex}` : ''}`,
      );
    }
  }
  return { C, classDim };
}

function checkWeight(weight: Tensor | null | undefined, C: number, op: string): Tensor | null {
  if (weight === undefined || weight === null) return null;
  checkTensor(weight, 'weight', op);
  if (weight.ndim !== 1 || weight.shape[0] !== C) {
    throw new Error(
      `${op}: weight tensor should be defined either for all ${C} classes or no classes but got weight tensor of ` +
        `shape ${fmtShape(weight.shape)}`,
    );
  }
  return weight;
}

/** weight (C) reshaped to broadcast along the class dim of an input with ndim dims. */
function weightAlongClassDim(weight: Tensor, ndim: number, classDim: number): Tensor {
  const shape = Array<number>(ndim).fill(1);
  shape[classDim] = weight.shape[0];
  return weight.reshape(shape);
}

/**
 * Negative log-likelihood of class indices: loss[n] = -weight[t[n]] * input[n, t[n]].
 * input (N, C), (N, C, d1..) or (C) of log-probabilities; target (N), (N, d1..) or () int32.
 * 'mean' divides by the summed weights of the targets that are not ignored.
 * @example nb.nn.functional.nllLoss(logProbs, nb.tensor([1, 0], {dtype: 'int32'}))
 */
export function nllLoss(input: Tensor, target: Tensor, opts: NLLLossOptions = {}): Tensor {
  return nllImpl(input, target, opts, 'nllLoss');
}

function nllImpl(input: Tensor, target: Tensor, opts: NLLLossOptions, op: string): Tensor {
  const reduction = opts.reduction ?? 'mean',
    ignoreIndex = opts.ignoreIndex ?? -100;
  checkReduction(reduction, op);
  checkTensor(input, 'input', op);
  checkTensor(target, 'target', op);
  checkFloatInput(input, 'input', op);
  target = int32Indices(target, op);
  if (target.dtype !== 'int32')
    throw new Error(`${op}: expected target of class indices to be int32 or int64, got ${target.dtype}`);
  const { C, classDim } = checkClassTarget(input, target, ignoreIndex, op);
  const weight = checkWeight(opts.weight, C, op);
  const keep = target.ne(ignoreIndex); // (N, d1..) bool
  const safe = where(keep, target, 0); // ignored labels index class 0, then get weight 0
  // picked (N, d1..) = input[n, t[n, ...], ...]
  const picked = input.gather(classDim, safe.unsqueeze(classDim)).squeeze(classDim);
  // NOTE: class indices may stay on the CPU for input on the GPU (they are checked on the host): the
  // weights made from them join the input on its device
  let w: Tensor = keep.to(input.dtype).to(input.device);
  if (weight)
    w = w.mul(
      weight
        .to(input.dtype)
        .indexSelect(0, safe.reshape([-1]))
        .reshape([...target.shape]),
    );
  const loss = picked.mul(w).neg();
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return loss.sum();
  return loss.sum().div(w.sum());
}

/**
 * Cross entropy between logits and class indices (int32) or class probabilities (float, same
 * shape as input), computed as nllLoss(logSoftmax(input)), so large logits are stable.
 * input (N, C), (N, C, d1..) or (C).
 * @example nb.nn.functional.crossEntropy(logits, labels, {labelSmoothing: 0.1})
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  const reduction = opts.reduction ?? 'mean',
    ls = opts.labelSmoothing ?? 0,
    ignoreIndex = opts.ignoreIndex ?? -100;
  checkReduction(reduction, op);
  checkTensor(input, 'input', op);
  checkTensor(target, 'target', op);
  checkFloatInput(input, 'input', op);
  if (!(ls >= 0 && ls <= 1)) throw new Error(`${op}: labelSmoothing must be between 0.0 and 1.0. Got: ${ls}`);
  if (input.ndim < 1)
    throw new Error(`${op}: input must have at least 1 dimension (C) or (N, C, ...), got a 0-dim tensor`);
  const classDim = input.ndim === 1 ? 0 : 1;
  const C = input.shape[classDim];
  const logp = input.logSoftmax(classDim);
  if (isFloating(target.dtype)) return crossEntropyProbs(logp, target, opts, classDim, C);
  target = int32Indices(target, op);
  if (target.dtype !== 'int32')
    throw new Error(
      `${op}: expected target to be int32 or int64 class indices or float probabilities, got ${target.dtype}`,
    );
  const nll = nllImpl(logp, target, opts, op);
  if (ls === 0) return nll;
  // Smoothing term: -sum_c w_c log p_c per element, zero where ignored, normalised like nll.
  const weight = checkWeight(opts.weight, C, op);
  const wl = weight ? logp.mul(weightAlongClassDim(weight.to(logp.dtype), logp.ndim, classDim)) : logp;
  const keep = target.ne(ignoreIndex);
  const smooth = where(keep.to(logp.device), wl.sum(classDim).neg(), 0);
  let s: Tensor;
  if (reduction === 'none') s = smooth;
  else if (reduction === 'sum') s = smooth.sum();
  else if (weight) {
    const safe = where(keep, target, 0);
    s = smooth.sum().div(
      weight
        .to(logp.dtype)
        .indexSelect(0, safe.reshape([-1]))
        .mul(keep.reshape([-1]).to(logp.dtype))
        .sum(),
    );
  } else {
    s = smooth.sum().div(keep.to(logp.dtype).sum());
  }
  return nll.mul(1 - ls).add(s.mul(ls / C));
}

function crossEntropyProbs(
  logp: Tensor,
  target: Tensor,
  opts: CrossEntropyOptions,
  classDim: number,
  C: number,
): Tensor {
  const op = 'crossEntropy';
  if (target.ndim !== logp.ndim || target.shape.some((d, i) => d !== logp.shape[i])) {
    // issue 23: float class labels (e.g. from a CSV) land here as "probabilities" of the wrong shape
    const labels = logp.shape.filter((_, i) => i !== classDim);
    const asLabels = target.ndim === labels.length && target.shape.every((d, i) => d === labels[i]);
    throw new Error(
      `${op}: target size ${fmtShape(target.shape)} must be the same as input size ` +
        `${fmtShape(logp.shape)}: a ${target.dtype} target holds class probabilities. ` +
        (asLabels
          ? 'It has the shape of class labels: pass integer class indices as an int32 tensor (target.int()).'
          : "For class indices pass an int32 tensor of the input's shape without the class dim " +
            `${fmtShape(labels)}.`),
    );
  }
  if (opts.ignoreIndex !== undefined && opts.ignoreIndex !== -100) {
    throw new Error(`${op}: ignoreIndex is not supported for floating point target (class probabilities)`);
  }
  const reduction = opts.reduction ?? 'mean',
    ls = opts.labelSmoothing ?? 0;
  let t = target.to(logp.dtype);
  if (ls > 0) t = t.mul(1 - ls).add(ls / C);
  let prod = logp.mul(t);
  const weight = checkWeight(opts.weight, C, op);
  if (weight) prod = prod.mul(weightAlongClassDim(weight.to(logp.dtype), logp.ndim, classDim));
  if (reduction === 'none') return prod.sum(classDim).neg();
  if (reduction === 'sum') return prod.sum().neg();
  return prod
    .sum()
    .neg()
    .div(logp.numel() / C);
}

/** Mean squared error: (input - target)^2. */
export function mseLoss(input: Tensor, target: Tensor, opts: ReductionOptions = {}): Tensor {
  const [x, t] = pair(input, target, 'mseLoss');
  const d = x.sub(t);
  return reduce(d.mul(d), opts.reduction ?? 'mean', 'mseLoss');
}

/** Mean absolute error: |input - target|. */
export function l1Loss(input: Tensor, target: Tensor, opts: ReductionOptions = {}): Tensor {
  const [x, t] = pair(input, target, 'l1Loss');
  return reduce(x.sub(t).abs(), opts.reduction ?? 'mean', 'l1Loss');
}

/** 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0 gives l1Loss). Default beta 1. */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: ReductionOptions & { beta?: number } = {}): Tensor {
  const op = 'smoothL1Loss';
  const beta = opts.beta ?? 1;
  if (!(beta >= 0)) throw new Error(`${op}: beta must be non-negative, got ${beta}`);
  const [x, t] = pair(input, target, op);
  const d = x.sub(t),
    a = d.abs();
  if (beta === 0) return reduce(a, opts.reduction ?? 'mean', op);
  const loss = where(a.lt(beta), d.mul(d).mul(0.5 / beta), a.sub(0.5 * beta));
  return reduce(loss, opts.reduction ?? 'mean', op);
}

/** 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta). Default delta 1. */
export function huberLoss(input: Tensor, target: Tensor, opts: ReductionOptions & { delta?: number } = {}): Tensor {
  const op = 'huberLoss';
  const delta = opts.delta ?? 1;
  if (!(delta > 0)) throw new Error(`${op}: delta must be positive, got ${delta}`);
  const [x, t] = pair(input, target, op);
  const d = x.sub(t),
    a = d.abs();
  const loss = where(a.le(delta), d.mul(d).mul(0.5), a.sub(0.5 * delta).mul(delta));
  return reduce(loss, opts.reduction ?? 'mean', op);
}

function checkElementWeight(
  weight: Tensor | null | undefined,
  shape: readonly number[],
  what: string,
  op: string,
): Tensor | null {
  if (weight === undefined || weight === null) return null;
  checkTensor(weight, what, op);
  try {
    weight.broadcastTo([...shape]);
  } catch {
    throw new Error(
      `${op}: ${what} of shape ${fmtShape(weight.shape)} cannot be broadcast to the input shape ${fmtShape(shape)}`,
    );
  }
  return weight;
}

/**
 * Binary cross entropy of probabilities: -w (t log x + (1 - t) log(1 - x)), with each log
 * clamped at -100 as PyTorch does, so x = 0 or 1 gives a finite loss. input in [0, 1].
 */
export function binaryCrossEntropy(
  input: Tensor,
  target: Tensor,
  opts: ReductionOptions & { weight?: Tensor | null } = {},
): Tensor {
  const op = 'binaryCrossEntropy';
  const [x, t] = pair(input, target, op);
  const xs = x.toTypedArray();
  for (let i = 0; i < xs.length; i++) {
    if (!(xs[i] >= 0 && xs[i] <= 1))
      throw new Error(`${op}: all elements of input should be between 0 and 1 (got ${xs[i]} at flat index ${i})`);
  }
  const weight = checkElementWeight(opts.weight, x.shape, 'weight', op);
  const w = weight ? weight.to(x.dtype) : null;
  const [logx, log1mx] = noGrad(() => [log(x).clamp(-100), log(x.neg().add(1)).clamp(-100)]);
  const raw = noGrad(() => t.mul(logx).add(t.neg().add(1).mul(log1mx)).neg());
  const out = noGrad(() => (w ? raw.mul(w) : raw));
  // NOTE: PyTorch's own backward, w (x - t) / max(x (1 - x), 1e-12), stays finite at x = 0 or 1
  // where the chain rule through the clamped logs would give 0 * inf.
  const loss = record(
    out,
    'BinaryCrossEntropyBackward',
    [x, t, w],
    (g) => {
      const gw = w ? g.mul(w) : g;
      return [
        gw.mul(x.sub(t)).div(maximum(x.mul(x.neg().add(1)), 1e-12)),
        t.requiresGrad ? gw.mul(log1mx.sub(logx)) : null,
        w?.requiresGrad ? g.mul(raw) : null,
      ];
    },
    w ? [x, t, w] : [x, t],
  );
  return reduce(loss, opts.reduction ?? 'mean', op);
}

export interface BCEWithLogitsOptions extends ReductionOptions {
  /** Per-element rescaling, broadcast to the input. */
  weight?: Tensor | null;
  /** Weight of positive examples per class, broadcast along the last dim. */
  posWeight?: Tensor | null;
}

/**
 * Sigmoid + binary cross entropy in one stable expression:
 * loss = (1 - t) x + (1 + (pw - 1) t) (log1p(exp(-|x|)) + max(-x, 0)).
 * The softplus(-x) term never exponentiates a positive number, so x = ±1000 stays finite.
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BCEWithLogitsOptions = {}): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  const [x, t] = pair(input, target, op);
  const weight = checkElementWeight(opts.weight, x.shape, 'weight', op);
  const posWeight = checkElementWeight(opts.posWeight, x.shape, 'posWeight', op);
  // softplus(-x) = log(1 + exp(-x)); maximum splits the gradient at x = 0, giving the exact -1/2
  const softplusNeg = log1p(exp(x.abs().neg())).add(maximum(x.neg(), 0));
  const logWeight = posWeight ? posWeight.to(x.dtype).sub(1).mul(t).add(1) : null;
  let loss = t
    .neg()
    .add(1)
    .mul(x)
    .add(logWeight ? logWeight.mul(softplusNeg) : softplusNeg);
  if (weight) loss = loss.mul(weight.to(x.dtype));
  return reduce(loss, opts.reduction ?? 'mean', op);
}

export interface KLDivOptions {
  /** 'batchmean' divides the sum by the batch size (input.shape[0]): the true KL divergence. */
  reduction?: Reduction | 'batchmean';
  /** Whether target holds log-probabilities. */
  logTarget?: boolean;
}

/**
 * Kullback-Leibler divergence with input as log-probabilities:
 * t (log t - input), taken as 0 where t = 0; or exp(t) (t - input) with logTarget.
 * PyTorch's default 'mean' averages over every element; 'batchmean' gives KL per sample.
 */
export function klDiv(input: Tensor, target: Tensor, opts: KLDivOptions = {}): Tensor {
  const op = 'klDiv';
  const reduction = opts.reduction ?? 'mean';
  checkReduction(reduction, op, ['batchmean']);
  const [x, t] = pair(input, target, op);
  let loss: Tensor;
  if (opts.logTarget) {
    loss = t.exp().mul(t.sub(x));
  } else {
    const pos = t.gt(0);
    const xlogy = where(pos, t.mul(log(where(pos, t, 1))), 0); // xlogy(t, t)
    loss = xlogy.sub(t.mul(x));
  }
  if (reduction === 'batchmean') return x.ndim === 0 ? loss.sum() : loss.sum().div(x.shape[0]);
  return reduce(loss, reduction, op);
}

export interface DistillationOptions {
  /** Softens both distributions: softmax(logits / T) (default 3, as the Keras example). */
  temperature?: number;
  /** Weight of the hard-label cross entropy; the soft term gets 1 - alpha (default 0.1, as Keras). */
  alpha?: number;
}

/**
 * Knowledge distillation (Hinton et al. 2015): alpha * CE(student, target) + (1 - alpha) * T^2 *
 * KL(softmax(teacher / T) || softmax(student / T)), the KL per sample ('batchmean'). The T^2 keeps the
 * soft term's gradients on the scale of the hard one's as T changes. No gradient reaches the teacher.
 * studentLogits, teacherLogits (N, C); target (N) int32 class indices -> scalar.
 * @example const loss = nb.nn.functional.distillationLoss(student.call(x), teacherLogits, y, { temperature: 4 });
 */
export function distillationLoss(
  studentLogits: Tensor,
  teacherLogits: Tensor,
  target: Tensor,
  opts: DistillationOptions = {},
): Tensor {
  const op = 'distillationLoss';
  const T = opts.temperature ?? 3,
    alpha = opts.alpha ?? 0.1;
  if (!(T > 0) || !Number.isFinite(T)) throw new Error(`${op}: temperature must be a positive number, got ${T}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`${op}: alpha must be in [0, 1], got ${alpha}`);
  if (studentLogits.ndim !== 2 || fmtShape(studentLogits.shape) !== fmtShape(teacherLogits.shape)) {
    throw new Error(
      `${op}: expected student and teacher logits of the same shape (N, C), got ${fmtShape(studentLogits.shape)} ` +
        `and ${fmtShape(teacherLogits.shape)}`,
    );
  }
  const soft = klDiv(studentLogits.div(T).logSoftmax(1), teacherLogits.detach().div(T).softmax(1), {
    reduction: 'batchmean',
  }).mul(T * T);
  if (alpha === 0) return soft;
  return crossEntropy(studentLogits, target)
    .mul(alpha)
    .add(soft.mul(1 - alpha));
}
