// Per-sample gradients without one backward per sample (Opacus's GradSampleModule): a forward hook on each
// layer that owns parameters keeps its input activation, and a gradient hook on its output receives dL/dout;
// each layer's rule then forms the (B, *param) per-sample gradient from the two in one batched op. The RNN
// family, whose weights act at every time step, captures each projection through a tap (grad_sample_rnn.ts).
//
// Glossary: B = batch (dim 0 of every input), T = the flattened dims between batch and features,
// IN/OUT = Linear features, V/D = Embedding rows/width, C = GroupNorm or conv input channels,
// OC = conv output channels, G = conv groups, KH/KW = kernel size, H/W input size, OH/OW output size.

import { noGrad } from '../autograd/grad_mode.js';
import { conv2dWeight } from '../ops/conv.js';
import { bmm } from '../ops/matmul.js';
import { oneHot } from '../ops/indexing.js';
import { groupNorm, layerNorm } from '../ops/nn_ops.js';
import { Conv1d, Conv2d } from '../nn/conv.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import type { Module, Parameter } from '../nn/module.js';
import { GroupNorm, LayerNorm } from '../nn/normalization.js';
import { tensor } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { RNN_SAMPLERS, type Sampler } from './grad_sample_rnn.js';

/**
 * A parameter's per-sample gradients gs (B, *param), kept factored where a rule can: DP-SGD needs only
 * each sample's norm and a weighted sum over the batch, which are often far cheaper than gs itself.
 */
export interface PerSampleGrad {
  readonly batch: number;
  /** ||gs_b||^2 for each sample: (B). */
  normSq(): Tensor;
  /** sum_b w_b gs_b for weights w (B): the parameter's shape. */
  weightedSum(w: Tensor): Tensor;
  /** gs itself, (B, *param). */
  materialize(): Tensor;
}

/** Per-sample gradients held as the (B, *param) tensor. */
class DenseGrad implements PerSampleGrad {
  constructor(readonly gs: Tensor) {}
  get batch(): number {
    return this.gs.shape[0];
  }
  normSq(): Tensor {
    return this.gs.reshape([this.batch, -1]).square().sum(1);
  }
  weightedSum(w: Tensor): Tensor {
    const B = this.batch; // (1, B) @ (B, P) -> (P)
    return w
      .to(this.gs.dtype)
      .reshape([1, B])
      .matmul(this.gs.reshape([B, -1]))
      .reshape(this.gs.shape.slice(1));
  }
  materialize(): Tensor {
    return this.gs;
  }
}

// g (B, OUT), x (B, IN): gs_b = g_b x_b^T (B, OUT, IN), never formed ("ghost" norms, Goodfellow 2015):
// ||gs_b||^2 = ||g_b||^2 ||x_b||^2 and sum_b w_b gs_b = (w * g)^T x, one (OUT, B) @ (B, IN) matmul
class OuterGrad implements PerSampleGrad {
  constructor(
    readonly g: Tensor,
    readonly x: Tensor,
  ) {}
  get batch(): number {
    return this.g.shape[0];
  }
  normSq(): Tensor {
    return this.g.square().sum(1).mul(this.x.square().sum(1));
  }
  weightedSum(w: Tensor): Tensor {
    return this.g
      .mul(w.to(this.g.dtype).reshape([-1, 1]))
      .t()
      .matmul(this.x);
  }
  materialize(): Tensor {
    return bmm(this.g.unsqueeze(2), this.x.unsqueeze(1));
  }
}

/** One layer's rule: its input, the gradient of its output -> per-sample gradients of its own parameters. */
export type GradSampler = (m: Module, x: Tensor, g: Tensor) => [Parameter | null, Tensor | PerSampleGrad][];

/**
 * Per-sample gradients of a linear map y = x W^T + b from its input x (B, *, IN) and dL/dy (B, *, OUT):
 * weight (B, OUT, IN), bias (B, OUT); kept factored when there are no inner dims. For rules of layers
 * that wrap a linear map (registerGradSampler).
 */
export function linearGradSample(
  weight: Parameter,
  bias: Parameter | null,
  x: Tensor,
  g: Tensor,
): [Parameter | null, Tensor | PerSampleGrad][] {
  const B = x.shape[0];
  const x3 = x.reshape([B, -1, x.shape[x.ndim - 1]]);
  const g3 = g.reshape([B, -1, g.shape[g.ndim - 1]]);
  const w = x3.shape[1] === 1 ? new OuterGrad(g3.squeeze(1), x3.squeeze(1)) : bmm(g3.transpose(1, 2), x3);
  return [
    [weight, w],
    [bias, g3.sum(1)],
  ];
}

function linearRule(m: Module, x: Tensor, g: Tensor): [Parameter | null, Tensor | PerSampleGrad][] {
  const l = m as Linear;
  return linearGradSample(l.weight, l.bias, x, g);
}

// idx (B, *) integer, g (B, *, D) -> weight (B, V, D); rows at paddingIdx get no gradient, as in torch
function embeddingRule(m: Module, x: Tensor, g: Tensor): [Parameter | null, Tensor][] {
  const e = m as Embedding;
  const B = x.shape[0];
  const V = e.weight.shape[0];
  const hot = oneHot(x.reshape([B, -1]), V).to(g.dtype); // (B, T, V)
  let gs = bmm(hot.transpose(1, 2), g.reshape([B, -1, g.shape[g.ndim - 1]])); // (B, V, D)
  if (e.paddingIdx !== null) {
    const keep = new Float64Array(V).fill(1);
    keep[e.paddingIdx] = 0;
    gs = gs.mul(tensor(keep).to(g.dtype).reshape([1, V, 1]));
  }
  return [[e.weight, gs]];
}

// x (B, *, *normalizedShape), g like x -> weight, bias (B, *normalizedShape)
function layerNormRule(m: Module, x: Tensor, g: Tensor): [Parameter | null, Tensor][] {
  const ln = m as LayerNorm;
  const B = x.shape[0];
  const ns = ln.normalizedShape;
  const xhat = layerNorm(x, ns, null, null, ln.eps);
  const flat = (t: Tensor) => t.reshape([B, -1, ...ns]).sum(1);
  return [
    [ln.weight, flat(g.mul(xhat))],
    [ln.bias, flat(g)],
  ];
}

// x (B, C, *), g like x -> weight, bias (B, C)
function groupNormRule(m: Module, x: Tensor, g: Tensor): [Parameter | null, Tensor][] {
  const gn = m as GroupNorm;
  const [B, C] = x.shape;
  const xhat = groupNorm(x, gn.numGroups, null, null, gn.eps);
  const flat = (t: Tensor) => t.reshape([B, C, -1]).sum(2);
  return [
    [gn.weight, flat(g.mul(xhat))],
    [gn.bias, flat(g)],
  ];
}

// x (B, C, H, W), g (B, OC, OH, OW) -> weight (B, OC, C/G, KH, KW), bias (B, OC).
// NOTE: the batch folds into the groups: as one image of B*C channels with B*G groups, each sample's
// channels meet only its own output gradients, so the one weight-gradient kernel call that a normal
// backward makes yields every per-sample gradient at once (no unfold, no per-sample loop).
function conv2dRule(m: Module, x: Tensor, g: Tensor): [Parameter | null, Tensor][] {
  const c = m as Conv2d;
  if (x.ndim !== 4) throw new Error(`privacy.GradSampleModule: Conv2d needs a batched (B, C, H, W) input`);
  const zeros = c.paddingMode === 'zeros';
  const xp = zeros ? x : c.padInput(x);
  const [B, C, H, W] = xp.shape;
  const [OC, Cg, KH, KW] = c.weight.shape;
  const [, , OH, OW] = g.shape;
  const padding = zeros ? (c.padding as [number, number] | 'same' | 'valid') : 0;
  const gs = conv2dWeight(
    xp.reshape([1, B * C, H, W]),
    [B * OC, Cg, KH, KW],
    g.reshape([1, B * OC, OH, OW]),
    c.stride as [number, number],
    padding,
    c.dilation as [number, number],
    B * c.groups,
  );
  return [
    [c.weight, gs.reshape([B, OC, Cg, KH, KW])],
    [c.bias, g.sum([2, 3])],
  ];
}

// x (B, C, L), g (B, OC, OL) -> weight (B, OC, C/G, K), bias (B, OC): conv2d's rule on height-1 images
function conv1dRule(m: Module, x: Tensor, g: Tensor): [Parameter | null, Tensor][] {
  const c = m as Conv1d;
  if (x.ndim !== 3) throw new Error(`privacy.GradSampleModule: Conv1d needs a batched (B, C, L) input`);
  const xp = c.paddingMode === 'zeros' ? x : c.padInput(x);
  const [B, C, L] = xp.shape;
  const [OC, Cg, K] = c.weight.shape;
  const p = c.paddingMode !== 'zeros' ? 0 : typeof c.padding === 'string' ? c.padding : c.padding[0];
  const gs = conv2dWeight(
    xp.reshape([1, B * C, 1, L]),
    [B * OC, Cg, 1, K],
    g.reshape([1, B * OC, 1, g.shape[2]]),
    [1, c.stride[0]],
    typeof p === 'string' ? p : [0, p],
    [1, c.dilation[0]],
    B * c.groups,
  );
  return [
    [c.weight, gs.reshape([B, OC, Cg, K])],
    [c.bias, g.sum(2)],
  ];
}

const RULES = new Map<{ name: string }, GradSampler>([
  [Linear, linearRule],
  [Conv2d, conv2dRule],
  [Conv1d, conv1dRule],
  [Embedding, embeddingRule],
  [LayerNorm, layerNormRule],
  [GroupNorm, groupNormRule],
]);

/** Layers whose parameters act more than once per forward (the RNN family) capture through their own taps. */
const SAMPLERS = new Map<{ name: string }, Sampler>(RNN_SAMPLERS);
/**
 * Teaches GradSampleModule a layer class (Opacus's register_grad_sampler): rule(layer, input, dL/doutput)
 * returns [parameter, per-sample gradient (B, *param.shape)] pairs for the layer's own parameters.
 */
export function registerGradSampler(layerClass: { name: string }, rule: GradSampler): void {
  RULES.set(layerClass, rule);
}

/** The layer kinds that have a per-sample gradient rule. */
export function supportedLayers(): string[] {
  return [...RULES.keys(), ...SAMPLERS.keys()].map((k) => k.name);
}

function ruleFor(m: Module): GradSampler | undefined {
  return RULES.get(m.constructor);
}

/**
 * Wraps a model so that every backward also leaves per-sample gradients, read with gradSample(param).
 * Refuses (rather than silently leaking through an unclipped gradient) a model with a trainable parameter
 * in a layer that has no per-sample rule, naming that layer.
 *
 * ```ts
 * const gsm = new nb.privacy.GradSampleModule(model);
 * model.call(x).sum().backward();
 * gsm.gradSample(model.weight); // (B, OUT, IN)
 * ```
 */
export class GradSampleModule {
  private readonly samples = new Map<Parameter, PerSampleGrad>();
  private readonly handles: { remove(): void }[] = [];

  constructor(readonly module: Module) {
    // every layer is checked before any hook goes in, so a refused model is left as it was
    const installs: (() => { remove(): void })[] = [];
    for (const [name, m] of module.namedModules()) {
      const own = [...m.namedParameters('', false)].filter(([, p]) => p.requiresGrad);
      if (own.length === 0) continue;
      const sampler = SAMPLERS.get(m.constructor);
      if (sampler) {
        installs.push(() => sampler(m, (p, gs) => this.add(p, gs)));
        continue;
      }
      const rule = ruleFor(m);
      if (!rule) {
        throw new Error(
          `privacy.GradSampleModule: layer '${name || '(root)'}' (${m.constructor.name}) has trainable ` +
            `parameters [${own.map(([n]) => n).join(', ')}] but no per-sample gradient rule; supported: ` +
            `${supportedLayers().join(', ')}. Freeze it (requiresGrad = false) or replace it.`,
        );
      }
      installs.push(() => m.registerForwardHook((mod, inputs, out) => this.capture(mod, name, rule, inputs, out)));
    }
    for (const install of installs) this.handles.push(install());
  }

  private capture(m: Module, name: string, rule: GradSampler, inputs: unknown[], out: unknown): void {
    const x = inputs[0];
    if (!(x instanceof Tensor) || !(out instanceof Tensor)) {
      throw new Error(
        `privacy.GradSampleModule: layer '${name}' (${m.constructor.name}) must take and return a Tensor`,
      );
    }
    if (x.ndim < 1)
      throw new Error(`privacy.GradSampleModule: layer '${name}' got a 0-d input; dim 0 must be the batch`);
    if (!out.requiresGrad) return; // under noGrad or with frozen inputs and parameters: no gradient will come
    const xd = x.detach();
    out.registerHook((g: Tensor) => {
      noGrad(() => {
        for (const [p, gs] of rule(m, xd, g.detach())) if (p?.requiresGrad) this.add(p, gs);
      });
    });
  }

  private add(p: Parameter, r: Tensor | PerSampleGrad): void {
    const gs = r instanceof Tensor ? new DenseGrad(r) : r;
    const prev = this.samples.get(p);
    // NOTE: a layer called twice in one forward contributes twice, as its .grad does
    this.samples.set(p, prev ? new DenseGrad(prev.materialize().add(gs.materialize())) : gs);
  }

  /** The (B, *param.shape) per-sample gradient of p from the backward passes since the last zeroGradSample. */
  gradSample(p: Parameter): Tensor | undefined {
    return this.samples.get(p)?.materialize();
  }

  /** p's per-sample gradients in the form its rule left them (factored or not); DP-SGD reads these. */
  perSample(p: Parameter): PerSampleGrad | undefined {
    return this.samples.get(p);
  }

  /** Forgets the stored per-sample gradients (call with optimizer.zeroGrad()). */
  zeroGradSample(): void {
    this.samples.clear();
  }

  /** Removes the hooks; the model runs as before. */
  remove(): void {
    for (const h of this.handles) h.remove();
    this.handles.length = 0;
    this.samples.clear();
  }
}
