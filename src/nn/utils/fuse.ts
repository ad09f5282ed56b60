// nn.utils.fuse: the inference fusion pass. It walks a model and swaps runs of modules for fused
// modules (nn/fusion.ts) through a small pattern table: generic runs inside Sequential containers,
// and per-architecture entries (ResNet's blocks, the MLPs of GPT-2 and Llama) that live next to each model
// and register themselves (registerFusionRule). Models never choose kernels: their forwards stay the
// plain composition of their modules.

import type { Module } from '../module.js';
import { Sequential } from '../containers.js';
import { ReLU } from '../activations.js';
import { Identity, Linear } from '../linear.js';
import { ConvBn2d, canFuseConvBn, canFuseLinearAct, fuseConvBnAct, fuseLinearAct } from '../fusion.js';

/**
 * A pattern-table entry: given a module of its class (children already fused), it either swaps some
 * of the module's children in place and returns null, or returns a module to take its place.
 */
export type FusionRule = (m: Module) => Module | null;
/** A Module subclass, the key of a fusion rule (whatever its constructor takes). */
export type ModuleClass = abstract new (...args: never[]) => Module;

/** Conv2d -> BatchNorm2d (-> ReLU), Conv2d -> ReLU and Linear -> activation runs inside a Sequential. */
function fuseSequential(seq: Module): null {
  const names = [...seq._modules.keys()];
  for (let i = 0; i < names.length; i++) {
    const [a, b, c] = [0, 1, 2].map((k) => (i + k < names.length ? seq._modules.get(names[i + k]) : undefined));
    if (c instanceof ReLU && canFuseConvBn(a, b, c)) {
      fuseConvBnAct(seq, names[i], names[i + 1], names[i + 2]);
      i += 2;
    } else if (canFuseConvBn(a, b)) {
      fuseConvBnAct(seq, names[i], names[i + 1]);
      i += 1;
    } else if (b instanceof ReLU && canFuseConvBn(a, null, b)) {
      seq.registerModule(names[i], new ConvBn2d(a, null, b));
      seq.registerModule(names[i + 1], new Identity());
      i += 1;
    } else if (a?.constructor === Linear && canFuseLinearAct(a, b)) {
      fuseLinearAct(seq, names[i], names[i + 1], 'out_in');
      i += 1;
    }
  }
  return null;
}

const RULES = new Map<ModuleClass, FusionRule>([[Sequential, fuseSequential]]);

/**
 * Adds an architecture's entry to the pass's table: modules of class `cls` are fused by `rule`.
 * NOTE: nn sits below the model families, so it cannot name their classes; each family registers its
 * entries next to the model (vision/models/resnet_fuse.ts, models/gpt2_fuse.ts, models/llama_fuse.ts),
 * loaded with nb.vision.models and nb.models.
 */
export function registerFusionRule(cls: ModuleClass, rule: FusionRule): void {
  RULES.set(cls, rule);
}

/**
 * Fuses a model for inference, in place, and returns it: Conv2d + BatchNorm2d (+ ReLU) runs in
 * Sequential containers and ResNet stems become one convolution with the BatchNorm folded in (the
 * ReLU and a residual addition too, in ResNet's BasicBlock and Bottleneck), Linear + activation runs
 * and the MLPs of GPT-2 and Llama one matmul with the activation applied as it stores. Like torchvision's
 * `fuse_model`, but the state_dict keys stay the same: a fused module keeps the tensors of the
 * modules it replaces under their names (a folded BatchNorm keeps its place, as a stand-in).
 *
 * The fused modules are exact wherever fusing would change a result: in training, with gradients to
 * record, or where the backend has no fused kernel, they run the modules' own composition (training
 * keeps the one-pass BatchNorm-add-ReLU kernel). Modules with forward hooks are left unfused; hooks
 * registered afterwards go on the fused modules (a folded BatchNorm refuses them). Run it after
 * loading weights or before, in eval mode or not; a second call changes nothing.
 * @example
 * const model = nb.nn.utils.fuse(nb.vision.models.resnet18().eval());
 * const logits = nb.noGrad(() => model.call(x));
 */
export function fuse<M extends Module>(model: M): M {
  return visit(model) as M;
}

function visit(m: Module): Module {
  for (const [name, child] of [...m._modules]) {
    if (!child) continue;
    const fused = visit(child);
    if (fused !== child) m.registerModule(name, fused);
  }
  const rule = RULES.get(m.constructor as ModuleClass);
  return rule?.(m) ?? m;
}
