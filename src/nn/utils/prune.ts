// nb.nn.utils.prune: torch.nn.utils.prune. Pruning `weight` of a module moves the parameter to
// `weight_orig`, registers a buffer `weight_mask` (1 keep, 0 pruned; state_dict keys as PyTorch's) and
// a forward pre-hook that sets `module.weight = weight_orig * weight_mask` before every call, so the
// gradient reaches weight_orig through the mask. Pruning the same tensor again composes: a
// PruningContainer computes the new method's mask on what is still unpruned (its amount is a
// fraction of the remaining entries or channels) and multiplies it in. remove() makes the pruning
// permanent. Which of equal magnitudes are pruned follows torch.topk on the CPU (topk_torch.ts).
// Glossary: n entries of a tensor; C channels along the pruned dim.
//
// NOTE on `amount`: PyTorch tells a count (int) from a fraction (float) by type; here an integer is a
// count and any other number a fraction in (0, 1), so 1 prunes one entry, as torch's amount=1.

import { noGrad } from '../../autograd/grad_mode.js';
import { vectorNorm } from '../../ops/linalg.js';
import { fromTypedArray, rand } from '../../tensor/creation.js';
import { fmtShape } from '../../tensor/layout.js';
import type { Generator } from '../../tensor/random.js';
import { contiguousValues, Tensor } from '../../tensor/tensor.js';
import { Module, Parameter } from '../module.js';
import { topkIndicesTorch } from './topk_torch.js';

/** What a pruning method removes: single weights, whole slices along a dim, or weights across tensors. */
export type PruningType = 'unstructured' | 'structured' | 'global';
type Values = Float32Array | Float64Array;

/** Python's round (half to even), as torch's _compute_nparams_toprune. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The number of entries (or channels) to prune out of n for an amount: a count or a fraction. */
function nToPrune(amount: number, n: number, op: string): number {
  if (typeof amount !== 'number' || !(amount >= 0)) {
    throw new Error(`${op}: amount must be a non-negative number (a count, or a fraction in [0, 1]), got ${amount}`);
  }
  const k = Number.isInteger(amount) ? amount : amount <= 1 ? roundHalfEven(amount * n) : Number.NaN;
  if (Number.isNaN(k)) throw new Error(`${op}: amount ${amount} is neither a count (integer) nor a fraction in [0, 1]`);
  if (k > n) throw new Error(`${op}: amount=${amount} should be smaller than the number of parameters to prune=${n}`);
  return k;
}

function values(t: Tensor): Values {
  return contiguousValues(t.dtype === 'float64' ? t : t.float()) as Values;
}

/** A tensor of t's dtype holding data, shaped as t or as `shape`. */
function like(t: Tensor, data: ArrayLike<number>, shape: readonly number[] = t.shape): Tensor {
  const out = t.dtype === 'float64' ? Float64Array.from(data) : Float32Array.from(data);
  return fromTypedArray(out, [...shape]);
}

/** torch.nn.utils.prune.BasePruningMethod: computes a mask for a tensor, applied by a forward pre-hook. */
export abstract class BasePruningMethod {
  abstract readonly pruningType: PruningType;
  /** The tensor's name in its module ('weight'). */
  tensorName = '';
  /** The mask for t (same shape), starting from defaultMask (1s, or the mask of earlier pruning). */
  abstract computeMask(t: Tensor, defaultMask: Tensor): Tensor;
  /** orig * mask, from the module's `<name>_orig` and `<name>_mask`. */
  applyMask(module: Module): Tensor {
    const orig = module._parameters.get(`${this.tensorName}_orig`),
      mask = module._buffers.get(`${this.tensorName}_mask`);
    if (!orig || !mask) {
      throw new Error(
        `prune: module ${module.constructor.name} has no '${this.tensorName}_orig' and '${this.tensorName}_mask'`,
      );
    }
    return orig.mul(mask.to(orig.dtype));
  }
}

/** Prunes the `amount` entries of smallest magnitude (torch's L1Unstructured). */
export class L1Unstructured extends BasePruningMethod {
  readonly pruningType = 'unstructured' as const;
  constructor(readonly amount: number) {
    super();
    nToPrune(amount, Number.MAX_SAFE_INTEGER, 'L1Unstructured');
  }
  computeMask(t: Tensor, defaultMask: Tensor): Tensor {
    const v = values(t);
    const k = nToPrune(this.amount, v.length, 'l1Unstructured');
    const mask = values(defaultMask).slice();
    const mag = v.map(Math.abs);
    for (const i of topkIndicesTorch(mag, k, false)) mask[i] = 0;
    return like(t, mask);
  }
}

/** Prunes `amount` entries chosen at random (torch's RandomUnstructured; nabla's generator, not torch's). */
export class RandomUnstructured extends BasePruningMethod {
  readonly pruningType = 'unstructured' as const;
  constructor(
    readonly amount: number,
    readonly generator?: Generator,
  ) {
    super();
    nToPrune(amount, Number.MAX_SAFE_INTEGER, 'RandomUnstructured');
  }
  computeMask(t: Tensor, defaultMask: Tensor): Tensor {
    const n = t.numel();
    const k = nToPrune(this.amount, n, 'randomUnstructured');
    const mask = values(defaultMask).slice();
    const prob = contiguousValues(rand([n], { generator: this.generator }));
    for (const i of topkIndicesTorch(prob, k, true)) mask[i] = 0;
    return like(t, mask);
  }
}

/** Positions along `dim` of a (outer, C, inner) view of a shape. */
function split(shape: readonly number[], dim: number): { outer: number; C: number; inner: number } {
  let outer = 1,
    inner = 1;
  for (let d = 0; d < dim; d++) outer *= shape[d];
  for (let d = dim + 1; d < shape.length; d++) inner *= shape[d];
  return { outer, C: shape[dim], inner };
}

function normDim(dim: number, ndim: number, op: string): number {
  const d = dim < 0 ? dim + ndim : dim;
  if (!Number.isInteger(d) || d < 0 || d >= ndim) {
    throw new Error(`${op}: dim ${dim} is out of range for a tensor of ${ndim} dims`);
  }
  return d;
}

/** Prunes the `amount` channels along `dim` of smallest L`n` norm (torch's LnStructured). */
export class LnStructured extends BasePruningMethod {
  readonly pruningType = 'structured' as const;
  constructor(
    readonly amount: number,
    readonly n: number | 'fro',
    readonly dim = -1,
  ) {
    super();
    nToPrune(amount, Number.MAX_SAFE_INTEGER, 'LnStructured');
  }
  computeMask(t: Tensor, defaultMask: Tensor): Tensor {
    const op = 'lnStructured';
    if (t.ndim <= 1) {
      throw new Error(`${op}: structured pruning needs a tensor of at least 2 dims, got ${fmtShape(t.shape)}`);
    }
    const dim = normDim(this.dim, t.ndim, op);
    const { outer, C, inner } = split(t.shape, dim);
    const k = nToPrune(this.amount, C, op);
    if (k === 0) return defaultMask;
    const others = t.shape.map((_, d) => d).filter((d) => d !== dim);
    // (C): the norm of each channel
    const norms = contiguousValues(noGrad(() => vectorNorm(t.detach(), this.n === 'fro' ? 2 : this.n, others)));
    const keep = new Uint8Array(C);
    for (const c of topkIndicesTorch(norms, C - k, true)) keep[c] = 1;
    const dm = values(defaultMask);
    const mask = new Float64Array(dm.length);
    for (let o = 0; o < outer; o++)
      for (let c = 0; c < C; c++)
        if (keep[c]) for (let j = 0; j < inner; j++) mask[(o * C + c) * inner + j] = dm[(o * C + c) * inner + j];
    return like(t, mask);
  }
}

/** A given mask (torch's CustomFromMask), multiplied into any earlier one. */
export class CustomFromMask extends BasePruningMethod {
  readonly pruningType = 'global' as const;
  constructor(readonly mask: Tensor) {
    super();
  }
  computeMask(t: Tensor, defaultMask: Tensor): Tensor {
    if (fmtShape(this.mask.shape) !== fmtShape(t.shape)) {
      throw new Error(`customFromMask: the mask ${fmtShape(this.mask.shape)} does not match ${fmtShape(t.shape)}`);
    }
    return noGrad(() => defaultMask.mul(this.mask.to(defaultMask.dtype)));
  }
}

/** Leaves every entry (torch's Identity): a mask of ones, for code that expects weight_orig / weight_mask. */
export class Identity extends BasePruningMethod {
  readonly pruningType = 'unstructured' as const;
  computeMask(_t: Tensor, defaultMask: Tensor): Tensor {
    return defaultMask;
  }
}

/**
 * Successive pruning of one tensor (torch's PruningContainer): the newest method computes its mask on
 * the part the earlier ones left (entries with mask 1, or channels not all 0), and the masks multiply.
 */
export class PruningContainer extends BasePruningMethod {
  readonly pruningType = 'unstructured' as const;
  readonly methods: BasePruningMethod[] = [];
  constructor(...methods: BasePruningMethod[]) {
    super();
    for (const m of methods) this.add(m);
  }
  add(m: BasePruningMethod): void {
    if (this.methods.length && m.tensorName !== this.tensorName) {
      throw new Error(`PruningContainer: can only add methods for '${this.tensorName}', got one for '${m.tensorName}'`);
    }
    if (!this.methods.length) this.tensorName = m.tensorName;
    this.methods.push(m);
  }
  computeMask(t: Tensor, defaultMask: Tensor): Tensor {
    const method = this.methods[this.methods.length - 1];
    const dm = values(defaultMask),
      tv = values(t);
    const mask = Float64Array.from(dm);
    if (method.pruningType === 'unstructured') {
      // the entries still kept, as a 1-D tensor
      const idx: number[] = [];
      for (let i = 0; i < dm.length; i++) if (dm[i] === 1) idx.push(i);
      const sub = like(
        t,
        idx.map((i) => tv[i]),
        [idx.length],
      );
      const part = values(
        method.computeMask(
          sub,
          like(
            sub,
            idx.map(() => 1),
          ),
        ),
      );
      idx.forEach((i, j) => {
        mask[i] = part[j];
      });
    } else if (method.pruningType === 'structured') {
      const dim = normDim((method as LnStructured).dim, t.ndim, 'PruningContainer');
      const { outer, C, inner } = split(t.shape, dim);
      const kept: number[] = [];
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) s += dm[(o * C + c) * inner + j];
        if (s !== 0) kept.push(c);
      }
      const at = (o: number, i: number, j: number) => (o * C + kept[i]) * inner + j;
      const gather = (src: ArrayLike<number>) => {
        const out: number[] = [];
        for (let o = 0; o < outer; o++)
          for (let i = 0; i < kept.length; i++) for (let j = 0; j < inner; j++) out.push(src[at(o, i, j)]);
        return out;
      };
      const shape = t.shape.map((d, k) => (k === dim ? kept.length : d));
      const part = values(method.computeMask(like(t, gather(tv), shape), like(t, gather(dm), shape)));
      let p = 0;
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < kept.length; i++) for (let j = 0; j < inner; j++) mask[at(o, i, j)] = part[p++];
    } else {
      return method.computeMask(t, defaultMask);
    }
    return like(t, mask);
  }
}

/** A forward pre-hook that carries its pruning method (torch registers the method itself as the hook). */
type PruningHook = ((m: Module) => void) & { pruning: BasePruningMethod };

function pruningHooks(module: Module): [symbol, PruningHook][] {
  return [...module._preHooks].filter(([, h]) => (h as Partial<PruningHook>).pruning instanceof BasePruningMethod) as [
    symbol,
    PruningHook,
  ][];
}

/** Sets `module[name]` as a plain attribute (not a parameter), as torch's setattr after del _parameters[name]. */
function setTensor(module: Module, name: string, t: Tensor): void {
  (module as unknown as Record<string, Tensor>)[name] = t;
}

/** BasePruningMethod.apply: prunes module[name] with `method`, composing with earlier pruning. */
function applyMethod(module: Module, name: string, method: BasePruningMethod, importanceScores?: Tensor): Module {
  const op = `prune(${name})`;
  if (!(module instanceof Module)) throw new Error(`${op}: expected an nn.Module, got ${typeof module}`);
  method.tensorName = name;
  let m = method;
  const old = pruningHooks(module).filter(([, h]) => h.pruning.tensorName === name);
  const orig = (module as unknown as Record<string, unknown>)[name];
  if (!(orig instanceof Tensor)) {
    throw new Error(`${op}: ${module.constructor.name} has no tensor '${name}' to prune`);
  }
  if (importanceScores && fmtShape(importanceScores.shape) !== fmtShape(orig.shape)) {
    throw new Error(
      `${op}: importance scores ${fmtShape(importanceScores.shape)} do not match '${name}' ${fmtShape(orig.shape)}`,
    );
  }
  let defaultMask: Tensor;
  if (old.length) {
    const prev = old[0][1].pruning;
    m = prev instanceof PruningContainer ? prev : new PruningContainer(prev);
    (m as PruningContainer).add(method);
    defaultMask = module._buffers.get(`${name}_mask`)!.detach().clone();
  } else {
    if (!(orig instanceof Parameter) || module._parameters.get(name) !== orig) {
      throw new Error(`${op}: '${name}' of ${module.constructor.name} is not a parameter`);
    }
    defaultMask = noGrad(() => orig.detach().mul(0).add(1));
  }
  // NOTE: the mask comes first, so that a bad amount leaves the module as it was
  const mask = noGrad(() => m.computeMask((importanceScores ?? orig).detach(), defaultMask));
  for (const [id] of old) module._preHooks.delete(id);
  if (!old.length) {
    module._parameters.delete(name);
    module.registerParameter(`${name}_orig`, orig as Parameter);
  }
  module.registerBuffer(`${name}_mask`, mask);
  setTensor(module, name, m.applyMask(module));
  const hook = Object.assign((mod: Module) => setTensor(mod, name, m.applyMask(mod)), { pruning: m });
  module.registerForwardPreHook(hook);
  return module;
}

export interface PruneOptions {
  /** Scores to rank the entries by instead of the tensor itself (same shape). */
  importanceScores?: Tensor;
}

/**
 * Prunes the `amount` entries of module[name] of smallest absolute value (or importance score):
 * torch.nn.utils.prune.l1_unstructured. Returns the module.
 * @example nb.nn.utils.prune.l1Unstructured(model.fc1, 'weight', 0.3); // 30% of fc1.weight
 */
export function l1Unstructured(module: Module, name: string, amount: number, opts: PruneOptions = {}): Module {
  return applyMethod(module, name, new L1Unstructured(amount), opts.importanceScores);
}

/** Prunes `amount` entries of module[name] at random: torch.nn.utils.prune.random_unstructured. */
export function randomUnstructured(
  module: Module,
  name: string,
  amount: number,
  opts: { generator?: Generator } = {},
): Module {
  return applyMethod(module, name, new RandomUnstructured(amount, opts.generator));
}

/**
 * Prunes the `amount` channels of module[name] along `dim` with the smallest L`n` norm (n: 1, 2,
 * Infinity, -Infinity, any p, or 'fro'): torch.nn.utils.prune.ln_structured.
 * @example nb.nn.utils.prune.lnStructured(conv, 'weight', 0.5, 2, 0); // half the output filters
 */
export function lnStructured(
  module: Module,
  name: string,
  amount: number,
  n: number | 'fro',
  dim: number,
  opts: PruneOptions = {},
): Module {
  return applyMethod(module, name, new LnStructured(amount, n, dim), opts.importanceScores);
}

/** Prunes module[name] with a given 0/1 mask: torch.nn.utils.prune.custom_from_mask. */
export function customFromMask(module: Module, name: string, mask: Tensor): Module {
  return applyMethod(module, name, new CustomFromMask(mask));
}

/** Adds weight_orig / weight_mask and the hook without pruning anything: torch.nn.utils.prune.identity. */
export function identity(module: Module, name: string): Module {
  return applyMethod(module, name, new Identity());
}

export interface GlobalPruneOptions {
  /** How much to prune over all the tensors together: a count, or a fraction. */
  amount: number;
  /** Per (module, name) scores instead of the tensors. */
  importanceScores?: Map<Module, Record<string, Tensor>>;
  /** RandomUnstructured's generator. */
  generator?: Generator;
}

/**
 * Prunes all the tensors together, ranking their entries against each other:
 * torch.nn.utils.prune.global_unstructured(parameters, pruning_method, amount=...). The method is
 * L1Unstructured or RandomUnstructured (the class).
 * @example
 * nb.nn.utils.prune.globalUnstructured([[m.fc1, 'weight'], [m.fc2, 'weight']], nb.nn.utils.prune.L1Unstructured,
 *   { amount: 0.2 });
 */
export function globalUnstructured(
  parameters: [Module, string][],
  method: typeof L1Unstructured | typeof RandomUnstructured,
  opts: GlobalPruneOptions,
): void {
  const op = 'globalUnstructured';
  if (!Array.isArray(parameters) || parameters.length === 0) {
    throw new Error(`${op}: parameters must be a non-empty array of [module, name] pairs`);
  }
  if (method !== L1Unstructured && method !== RandomUnstructured) {
    throw new Error(`${op}: only the unstructured methods L1Unstructured and RandomUnstructured can prune globally`);
  }
  const scores: number[] = [],
    masks: number[] = [],
    sizes: number[] = [];
  for (const [mod, name] of parameters) {
    const t = (mod as unknown as Record<string, unknown>)[name];
    if (!(t instanceof Tensor)) throw new Error(`${op}: ${mod?.constructor?.name} has no tensor '${name}'`);
    const s = opts.importanceScores?.get(mod)?.[name] ?? t;
    if (fmtShape(s.shape) !== fmtShape(t.shape)) {
      throw new Error(
        `${op}: the importance scores of '${name}' ${fmtShape(s.shape)} do not match ${fmtShape(t.shape)}`,
      );
    }
    for (const v of values(s.detach())) scores.push(v);
    const m = mod._buffers.get(`${name}_mask`);
    for (const v of m ? values(m) : new Float32Array(t.numel()).fill(1)) masks.push(v);
    sizes.push(t.numel());
  }
  const all = fromTypedArray(Float32Array.from(scores), [scores.length]);
  const inner =
    method === L1Unstructured ? new L1Unstructured(opts.amount) : new RandomUnstructured(opts.amount, opts.generator);
  inner.tensorName = 'temp';
  const final = values(
    new PruningContainer(inner).computeMask(all, fromTypedArray(Float32Array.from(masks), [masks.length])),
  );
  let off = 0;
  parameters.forEach(([mod, name], i) => {
    const t = (mod as unknown as Record<string, Tensor>)[name];
    customFromMask(mod, name, like(t, final.subarray(off, off + sizes[i])));
    off += sizes[i];
  });
}

/**
 * Makes the pruning of module[name] permanent: `name` becomes a parameter again holding orig * mask,
 * and `<name>_orig`, `<name>_mask` and the hook go (torch.nn.utils.prune.remove).
 */
export function remove(module: Module, name: string): Module {
  const hooks = pruningHooks(module).filter(([, h]) => h.pruning.tensorName === name);
  if (!hooks.length) {
    throw new Error(`prune.remove: parameter '${name}' of module ${module.constructor.name} has to be pruned first`);
  }
  const [id, hook] = hooks[0];
  const orig = module._parameters.get(`${name}_orig`)!;
  noGrad(() => orig.copy_(hook.pruning.applyMask(module)));
  module._preHooks.delete(id);
  module._parameters.delete(`${name}_orig`);
  module._buffers.delete(`${name}_mask`);
  delete (module as unknown as Record<string, unknown>)[`${name}_orig`];
  delete (module as unknown as Record<string, unknown>)[`${name}_mask`];
  module.registerParameter(name, orig);
  return module;
}

/** Whether any submodule of `module` has a pruned tensor (torch.nn.utils.prune.is_pruned). */
export function isPruned(module: Module): boolean {
  return module.modules().some((m) => pruningHooks(m).length > 0);
}

/** One row of a sparsity report: a weight, its size and how many of its entries are zero. */
export interface SparsityRow {
  name: string;
  numel: number;
  zeros: number;
  sparsity: number;
}

/**
 * The zeros of every weight of the model's Conv and Linear layers (the pruned `weight`, or the
 * parameter), one row each and a last row 'total'; `toString` prints them as a table.
 * @example console.log(nb.nn.utils.prune.sparsityReport(model).toString());
 */
export function sparsityReport(
  model: Module,
  names: readonly string[] = ['weight'],
): SparsityRow[] & { toString(): string } {
  const rows: SparsityRow[] = [];
  for (const [prefix, m] of model.namedModules()) {
    for (const name of names) {
      const pruned = m._buffers.has(`${name}_mask`);
      const t = pruned ? (m as unknown as Record<string, unknown>)[name] : m._parameters.get(name);
      if (!(t instanceof Tensor) || t.ndim < 2) continue;
      const v = values(t.detach());
      let zeros = 0;
      for (let i = 0; i < v.length; i++) if (v[i] === 0) zeros++;
      rows.push({ name: prefix ? `${prefix}.${name}` : name, numel: v.length, zeros, sparsity: zeros / v.length });
    }
  }
  const numel = rows.reduce((a, r) => a + r.numel, 0),
    zeros = rows.reduce((a, r) => a + r.zeros, 0);
  rows.push({ name: 'total', numel, zeros, sparsity: numel ? zeros / numel : 0 });
  const w = Math.max(6, ...rows.map((r) => r.name.length));
  const text = [
    `${'weight'.padEnd(w)}  ${'entries'.padStart(9)}  ${'zeros'.padStart(9)}  sparsity`,
    ...rows.map(
      (r) =>
        `${r.name.padEnd(w)}  ${String(r.numel).padStart(9)}  ${String(r.zeros).padStart(9)}  ` +
        `${(100 * r.sparsity).toFixed(2).padStart(7)}%`,
    ),
  ].join('\n');
  return Object.assign(rows, { toString: () => text });
}
