// Per-sample gradients without one backward per sample (Opacus's GradSampleModule): a forward hook on each
// layer that owns parameters keeps its input activation, and a gradient hook on its output receives dL/dout;
// each layer's rule then forms the (B, *param) per-sample gradient from the two in one batched op. The RNN
// family, whose weights act at every time step, captures each projection through a tap (grad_sample_rnn.ts).
//
// Glossary: B = batch (dim 0 of every input), T = the flattened dims between batch and features,
// IN/OUT = Linear features, V/D = Embedding rows/width, C = GroupNorm channels.

import { noGrad } from '../autograd/grad_mode.js';
import { bmm } from '../ops/matmul.js';
import { oneHot } from '../ops/indexing.js';
import { groupNorm, layerNorm } from '../ops/nn_ops.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import type { Module, Parameter } from '../nn/module.js';
import { GroupNorm, LayerNorm } from '../nn/normalization.js';
import { tensor } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { RNN_SAMPLERS, type Sampler } from './grad_sample_rnn.js';

/** One layer's rule: its input, the gradient of its output -> per-sample gradients of its own parameters. */
type Rule = (m: Module, x: Tensor, g: Tensor) => [Parameter | null, Tensor][];

// x (B, *, IN), g (B, *, OUT) -> weight (B, OUT, IN), bias (B, OUT)
function linearRule(m: Module, x: Tensor, g: Tensor): [Parameter | null, Tensor][] {
  const l = m as Linear;
  const B = x.shape[0];
  const x3 = x.reshape([B, -1, x.shape[x.ndim - 1]]);
  const g3 = g.reshape([B, -1, g.shape[g.ndim - 1]]);
  return [
    [l.weight, bmm(g3.transpose(1, 2), x3)],
    [l.bias, g3.sum(1)],
  ];
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

const RULES = new Map<{ name: string }, Rule>([
  [Linear, linearRule],
  [Embedding, embeddingRule],
  [LayerNorm, layerNormRule],
  [GroupNorm, groupNormRule],
]);

/** Layers whose parameters act more than once per forward (the RNN family) capture through their own taps. */
const SAMPLERS = new Map<{ name: string }, Sampler>(RNN_SAMPLERS);

/** The layer kinds that have a per-sample gradient rule. */
export function supportedLayers(): string[] {
  return [...RULES.keys(), ...SAMPLERS.keys()].map((k) => k.name);
}

function ruleFor(m: Module): Rule | undefined {
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
  private readonly samples = new Map<Parameter, Tensor>();
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

  private capture(m: Module, name: string, rule: Rule, inputs: unknown[], out: unknown): void {
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

  private add(p: Parameter, gs: Tensor): void {
    const prev = this.samples.get(p);
    // NOTE: a layer called twice in one forward contributes twice, as its .grad does
    this.samples.set(p, prev ? prev.add(gs) : gs);
  }

  /** The (B, *param.shape) per-sample gradient of p from the backward passes since the last zeroGradSample. */
  gradSample(p: Parameter): Tensor | undefined {
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
