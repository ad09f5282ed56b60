// Attribution methods with Captum's semantics: Saliency, NoiseTunnel(smoothgrad), IntegratedGradients,
// LayerGradCam and Occlusion. Inputs are batched, x (B, ...); `target` picks the output column whose
// score is explained, f(x)[b, target[b]], and every method returns one attribution per sample.
// Glossary: B batch, C channels, H/W height/width of the input, K/h/w channels/size of a conv layer's output.
import { grad } from '../autograd/grad.js';
import { enableGrad, noGrad } from '../autograd/grad_mode.js';
import type { Module } from '../nn/module.js';
import { interpolate } from '../ops/conv.js';
import { fromTypedArray, randnLike, zerosLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** A model: a Module or a function from a batch (B, ...) to scores (B, classes). */
export type Forward = Module | ((x: Tensor) => Tensor);
/** One class for the whole batch, or one per sample. */
export type Target = number | readonly number[];

function run(model: Forward, x: Tensor): Tensor {
  return typeof model === 'function' ? model(x) : (model.call(x) as Tensor);
}

/** The explained scores f(x)[b, target[b]] as a (B) tensor. */
function scores(op: string, out: Tensor, target: Target): Tensor {
  if (out.ndim !== 2) throw new Error(`explain.${op}: the model must return (B, classes) scores, got [${out.shape}]`);
  const [B, N] = out.shape;
  const t = typeof target === 'number' ? new Array<number>(B).fill(target) : [...target];
  if (t.length !== B) throw new Error(`explain.${op}: ${t.length} targets for a batch of ${B}`);
  const mask = new Float64Array(B * N);
  t.forEach((c, b) => {
    if (!(Number.isInteger(c) && c >= 0 && c < N)) {
      throw new Error(`explain.${op}: target ${c} is not a class index in [0, ${N})`);
    }
    mask[b * N + c] = 1;
  });
  return out.mul(fromTypedArray(mask, [B, N]).to(out.dtype)).sum(1);
}

/** d f(x)[target] / dx, batch-wise (samples are independent in eval mode, so one backward serves the batch). */
function inputGrad(op: string, model: Forward, x: Tensor, target: Target): Tensor {
  return enableGrad(() => {
    const xi = x.detach().requiresGrad_();
    const s = scores(op, run(model, xi), target);
    return grad(s.sum(), xi)[0]!;
  });
}

/** Saliency (Simonyan et al. 2014): |d f / dx| (abs: false keeps the sign). x (B, ...) -> (B, ...). */
export function saliency(model: Forward, x: Tensor, opts: { target: Target; abs?: boolean }): Tensor {
  const g = inputGrad('saliency', model, x, opts.target);
  return opts.abs === false ? g : g.abs();
}

export interface SmoothGradOptions {
  target: Target;
  /** Noisy copies averaged (Captum's nt_samples, default 5). */
  nSamples?: number;
  /** Noise standard deviation, in input units (Captum's stdevs, default 1). */
  stdev?: number;
  /** 'smoothgrad' averages gradients; 'smoothgrad_sq' averages their squares. */
  type?: 'smoothgrad' | 'smoothgrad_sq';
  abs?: boolean;
}

/** SmoothGrad (Smilkov et al. 2017): the gradient averaged over x + N(0, stdev^2) copies. x (B, ...) -> (B, ...). */
export function smoothGrad(model: Forward, x: Tensor, opts: SmoothGradOptions): Tensor {
  const n = opts.nSamples ?? 5,
    sd = opts.stdev ?? 1;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`explain.smoothGrad: nSamples must be >= 1, got ${n}`);
  if (!(sd >= 0)) throw new Error(`explain.smoothGrad: stdev must be >= 0, got ${sd}`);
  let acc = zerosLike(x);
  for (let k = 0; k < n; k++) {
    const g = inputGrad('smoothGrad', model, x.add(randnLike(x).mul(sd)), opts.target);
    acc = acc.add(opts.type === 'smoothgrad_sq' ? g.square() : g);
  }
  const m = acc.div(n);
  return opts.abs ? m.abs() : m;
}

export type StepMethod = 'riemann_left' | 'riemann_right' | 'riemann_middle' | 'riemann_trapezoid' | 'gausslegendre';

/** Gauss-Legendre nodes and weights on [-1, 1] (Newton on P_n, as numpy.polynomial.legendre.leggauss). */
function legendre(n: number): { x: number[]; w: number[] } {
  const x = new Array<number>(n),
    w = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1,
        p1 = z;
      for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * z * p1 - (k - 1) * p0) / k];
      dp = (n * (z * p1 - p0)) / (z * z - 1);
      const dz = p1 / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-15) break;
    }
    if (n === 1) dp = 1;
    x[n - 1 - i] = z; // ascending, as leggauss
    w[n - 1 - i] = 2 / ((1 - z * z) * dp * dp);
  }
  return { x, w };
}

/** Captum's approximation_methods: the points alpha in [0, 1] and their weights for n steps. */
export function stepRule(method: StepMethod, n: number): { alphas: number[]; weights: number[] } {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`explain.integratedGradients: nSteps must be >= 1, got ${n}`);
  const idx = Array.from({ length: n }, (_, i) => i);
  switch (method) {
    case 'riemann_left':
      return { alphas: idx.map((i) => i / n), weights: idx.map(() => 1 / n) };
    case 'riemann_right':
      return { alphas: idx.map((i) => (i + 1) / n), weights: idx.map(() => 1 / n) };
    case 'riemann_middle':
      return { alphas: idx.map((i) => (i + 0.5) / n), weights: idx.map(() => 1 / n) };
    case 'riemann_trapezoid': {
      if (n < 2) throw new Error('explain.integratedGradients: riemann_trapezoid needs nSteps >= 2');
      const w = idx.map((i) => (i === 0 || i === n - 1 ? 0.5 : 1) / (n - 1));
      return { alphas: idx.map((i) => i / (n - 1)), weights: w };
    }
    case 'gausslegendre': {
      const { x, w } = legendre(n);
      return { alphas: x.map((v) => 0.5 * (1 + v)), weights: w.map((v) => 0.5 * v) };
    }
    default:
      throw new Error(
        `explain.integratedGradients: unknown method '${method}'; expected riemann_left, riemann_right, ` +
          'riemann_middle, riemann_trapezoid or gausslegendre',
      );
  }
}

export interface IntegratedGradientsOptions {
  target: Target;
  /** The reference input: a tensor of x's shape, one of (1, ...) broadcast over the batch, or a number (default 0). */
  baselines?: Tensor | number;
  /** Integration points (default 50, as Captum). */
  nSteps?: number;
  /** Quadrature rule (default 'gausslegendre', as Captum). */
  method?: StepMethod;
}

/**
 * Integrated Gradients (Sundararajan et al. 2017): (x - x') * integral over alpha of df(x' + alpha (x - x'))/dx.
 * Attributions of a sample sum to f(x) - f(x') up to the quadrature error (see convergenceDelta).
 * x (B, ...) -> (B, ...).
 * @example const attr = nb.explain.integratedGradients(model, x, { target: 3, baselines: 0 });
 */
export function integratedGradients(model: Forward, x: Tensor, opts: IntegratedGradientsOptions): Tensor {
  const base = baselineOf('integratedGradients', x, opts.baselines);
  const { alphas, weights } = stepRule(opts.method ?? 'gausslegendre', opts.nSteps ?? 50);
  const diff = x.sub(base);
  let acc = zerosLike(x);
  alphas.forEach((a, k) => {
    const g = inputGrad('integratedGradients', model, base.add(diff.mul(a)), opts.target);
    acc = acc.add(g.mul(weights[k]));
  });
  return acc.mul(diff);
}

/** f(x) - f(x') - sum(attributions) per sample: how far an IG result is from completeness. (B). */
export function convergenceDelta(
  model: Forward,
  x: Tensor,
  attributions: Tensor,
  opts: { target: Target; baselines?: Tensor | number },
): Tensor {
  const base = baselineOf('convergenceDelta', x, opts.baselines);
  return noGrad(() => {
    const d = scores('convergenceDelta', run(model, x), opts.target).sub(
      scores('convergenceDelta', run(model, base), opts.target),
    );
    return d.sub(attributions.reshape(x.shape[0], -1).sum(1));
  });
}

function baselineOf(op: string, x: Tensor, b: Tensor | number | undefined): Tensor {
  if (b === undefined || typeof b === 'number') return zerosLike(x).add(b ?? 0);
  const ok = b.ndim === x.ndim && b.shape.every((d, i) => d === x.shape[i] || (i === 0 && d === 1 && x.shape[0] >= 1));
  if (!ok) {
    throw new Error(
      `explain.${op}: baselines of shape [${b.shape.join(', ')}] do not match the input's [${x.shape.join(', ')}] ` +
        '(expected the same shape, or 1 in the batch dimension)',
    );
  }
  return b.to(x.dtype).expand(...x.shape);
}

/** The dotted name of `layer` inside `model`, for messages. */
function layerName(model: Forward, layer: Module): string {
  if (typeof model !== 'function') for (const [n, m] of model.namedModules()) if (m === layer) return `'${n}'`;
  return `(${layer.constructor.name})`;
}

export interface GradCamOptions {
  target: Target;
  /** Applies ReLU to the map, as the paper and pytorch-grad-cam (Captum's relu_attributions; default true). */
  relu?: boolean;
  /** Bilinear upsampling of the (B, h, w) map to the input's (H, W) (default false). */
  upsample?: boolean;
}

/**
 * Grad-CAM (Selvaraju et al. 2017) on any layer with a (B, K, h, w) output, captured by a forward hook:
 * alpha_k = mean over (h, w) of d score / d A_k, map = ReLU(sum_k alpha_k A_k). Returns (B, h, w), or
 * (B, H, W) with upsample.
 */
export function gradCam(model: Forward, x: Tensor, layer: Module, opts: GradCamOptions): Tensor {
  let act: Tensor | undefined;
  const h = layer.registerForwardHook((_m, _inputs, out) => {
    act = out as Tensor;
  });
  let g: Tensor;
  try {
    g = enableGrad(() => {
      // NOTE: the input requires grad so that the activation is on the tape even when the weights are frozen
      const s = scores('gradCam', run(model, x.detach().requiresGrad_()), opts.target);
      if (!act) {
        throw new Error(
          `explain.gradCam: layer ${layerName(model, layer)} (${layer.constructor.name}) was never reached by the ` +
            'forward pass, so it has no activation to explain; pick a layer the model calls',
        );
      }
      if (act.ndim !== 4) {
        throw new Error(
          `explain.gradCam: layer ${layerName(model, layer)} returned [${act.shape}]; expected (B, K, h, w)`,
        );
      }
      return grad(s.sum(), act)[0]!;
    });
  } finally {
    h.remove();
  }
  const A = act!.detach();
  const alpha = g.mean([2, 3], true); // (B, K, 1, 1)
  let cam = A.mul(alpha).sum(1); // (B, h, w)
  if (opts.relu !== false) cam = cam.relu();
  if (opts.upsample) {
    const [H, W] = x.shape.slice(-2);
    cam = interpolate(cam.unsqueeze(1), { size: [H, W], mode: 'bilinear', alignCorners: false }).squeeze(1);
  }
  return cam;
}

export interface OcclusionOptions {
  target: Target;
  /** Window over the trailing dims of one sample, e.g. [C, 4, 4] or [4, 4] for the last two. */
  slidingWindowShapes: readonly number[];
  /** Steps per windowed dim (default 1). */
  strides?: number | readonly number[];
  /** Value the window is filled with (default 0). */
  baselines?: number;
}

/**
 * Occlusion (Zeiler & Fergus 2014), as Captum: each feature gets the mean drop f(x) - f(x occluded) over the
 * windows that cover it. x (B, ...) -> (B, ...).
 */
export function occlusion(model: Forward, x: Tensor, opts: OcclusionOptions): Tensor {
  const win = [...opts.slidingWindowShapes];
  const dims = x.shape.slice(x.ndim - win.length);
  if (
    win.length === 0 ||
    win.length > x.ndim - 1 ||
    win.some((w, i) => !(Number.isInteger(w) && w >= 1 && w <= dims[i]))
  ) {
    throw new Error(
      `explain.occlusion: window [${win}] does not fit the trailing dims of input [${x.shape.join(', ')}]`,
    );
  }
  const st =
    typeof opts.strides === 'number' || opts.strides === undefined
      ? win.map(() => (opts.strides as number | undefined) ?? 1)
      : [...opts.strides];
  if (st.length !== win.length || st.some((s) => !(Number.isInteger(s) && s >= 1))) {
    throw new Error(`explain.occlusion: strides [${st}] must be positive integers, one per window dim [${win}]`);
  }
  const B = x.shape[0];
  const inner = x.numel() / B;
  const lead = inner / dims.reduce((a, b) => a * b, 1); // features per window position outside the windowed dims
  const starts = dims.map((d, i) => {
    const s: number[] = [];
    for (let o = 0; o + win[i] <= d; o += st[i]) s.push(o);
    if (s[s.length - 1] + win[i] < d) s.push(d - win[i]); // NOTE: cover the tail, as Captum's last window does
    return s;
  });
  const xv = x.toTypedArray();
  const ref = noGrad(() => scores('occlusion', run(model, x), opts.target)).toTypedArray();
  const sum = new Float64Array(x.numel()),
    cnt = new Float64Array(x.numel());
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const inWin = (flat: number, pos: number[]) =>
    dims.every((_, i) => {
      const c = Math.floor(flat / strides[i]) % dims[i];
      return c >= pos[i] && c < pos[i] + win[i];
    });
  const total = starts.reduce((a, s) => a * s.length, 1);
  for (let w = 0; w < total; w++) {
    const pos: number[] = [];
    let r = w;
    for (let i = dims.length - 1; i >= 0; i--) {
      pos[i] = starts[i][r % starts[i].length];
      r = Math.floor(r / starts[i].length);
    }
    const occ = xv.slice();
    const hit: number[] = [];
    for (let f = 0; f < inner / lead; f++) if (inWin(f, pos)) hit.push(f);
    for (let b = 0; b < B; b++)
      for (let l = 0; l < lead; l++) for (const f of hit) occ[b * inner + l * (inner / lead) + f] = opts.baselines ?? 0;
    const s = noGrad(() => scores('occlusion', run(model, fromTypedArray(occ, x.shape)), opts.target)).toTypedArray();
    for (let b = 0; b < B; b++)
      for (let l = 0; l < lead; l++)
        for (const f of hit) {
          const k = b * inner + l * (inner / lead) + f;
          sum[k] += ref[b] - s[b];
          cnt[k] += 1;
        }
  }
  for (let k = 0; k < sum.length; k++) sum[k] = cnt[k] ? sum[k] / cnt[k] : 0;
  return fromTypedArray(sum, x.shape).to(x.dtype);
}
