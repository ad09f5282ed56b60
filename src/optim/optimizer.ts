// The optimiser base (torch.optim.Optimizer): parameter groups with their own hyper-parameters,
// lazily created per-parameter state, zeroGrad, and stateDict/loadStateDict so training resumes.
// Subclasses keep the math in pure update functions over typed arrays (see adamUpdate), which a
// native backend may later fuse; the helpers here hand those functions contiguous buffers and
// write the result back into the parameter's storage, bumping its version like an in-place op.

import { Tensor, contiguousValues } from '../tensor/tensor.js';
import { type TypedArray, isFloating } from '../tensor/dtype.js';
import { be, dataOf } from '../ops/util.js';
import { fmtShape } from '../tensor/layout.js';
import { noGrad } from '../autograd/grad_mode.js';
import { zerosLike, tensor as makeTensor } from '../tensor/creation.js';

export type Float = Float32Array | Float64Array;

/** One parameter group: its parameters and its hyper-parameters (lr, momentum, betas, ...). */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
  [option: string]: unknown;
}

/** What an optimiser accepts: parameters, or groups of them with per-group options. */
export type ParamsInput = Iterable<Tensor> | Array<{ params: Iterable<Tensor> | Tensor } & Record<string, unknown>>;

/** Per-parameter state: numbers (step) and tensors (moment buffers). */
export type ParamState = Record<string, Tensor | number | null>;

/** A plain-object snapshot, as PyTorch's: state keyed by the parameter's index over all groups. */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: Array<Record<string, unknown> & { params: number[] }>;
}

export abstract class Optimizer<G extends object = Record<string, unknown>> {
  paramGroups: Array<ParamGroup & G> = [];
  /** Per-parameter state, created on a parameter's first step. */
  state = new Map<Tensor, ParamState>();

  constructor(
    params: ParamsInput,
    readonly defaults: G & { lr: number },
  ) {
    const list = [...params] as unknown[];
    if (list.length === 0) throw new Error(`${this.constructor.name}: optimizer got an empty parameter list`);
    const groups =
      list[0] instanceof Tensor
        ? [{ params: list as Tensor[] }]
        : (list as Array<{ params: Iterable<Tensor> | Tensor } & Record<string, unknown>>);
    for (const g of groups) this.addParamGroup(g);
  }

  /** Adds a group; options it leaves out come from the constructor's defaults. */
  addParamGroup(group: { params: Iterable<Tensor> | Tensor } & Record<string, unknown>): void {
    const name = this.constructor.name;
    if (typeof group !== 'object' || group === null || !('params' in group)) {
      throw new Error(`${name}: param group must be an object with a 'params' entry`);
    }
    const params = group.params instanceof Tensor ? [group.params] : [...group.params];
    params.forEach((p, i) => {
      if (!(p instanceof Tensor))
        throw new Error(`${name}: optimizer can only optimize Tensors, but parameter ${i} of the group is ${typeof p}`);
      if (!isFloating(p.dtype))
        throw new Error(
          `${name}: can only optimize floating point Tensors, got ${p.dtype} of shape ${fmtShape(p.shape)}`,
        );
      if (!p.isLeaf) throw new Error(`${name}: can't optimize a non-leaf Tensor (shape ${fmtShape(p.shape)})`);
    });
    if (new Set(params).size !== params.length) {
      console.warn(`${name}: a parameter group contains duplicate parameters; this may be an error`);
    }
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    if (params.some((p) => seen.has(p)))
      throw new Error(`${name}: some parameters appear in more than one parameter group`);
    const full = { ...this.defaults, ...group, params } as unknown as ParamGroup & G;
    // NOTE: arrays (betas) are copied so a scheduler cycling one group's betas leaves the others alone.
    for (const [k, v] of Object.entries(full))
      if (k !== 'params' && Array.isArray(v)) (full as Record<string, unknown>)[k] = [...v];
    this.validateGroup(full);
    this.paramGroups.push(full);
  }

  /** Throws for out-of-range hyper-parameters, with PyTorch's messages. */
  protected validateGroup(_group: ParamGroup & G): void {}

  /** Clears gradients: sets them to null (default) or fills them with zeros. */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (p.grad === null) continue;
        if (setToNone) {
          p.grad = null;
          continue;
        }
        // as PyTorch: cut the gradient from any graph (createGraph), then zero it in place
        const g = p.grad.detach();
        noGrad(() => g.zero_());
        p.grad = g;
      }
    }
  }

  /**
   * One update of every parameter that has a gradient. With a closure, it is called first (under
   * grad mode, e.g. to recompute the loss) and its value returned.
   */
  step(closure?: () => number | Tensor): number | undefined {
    let loss: number | undefined;
    if (closure) {
      const r = closure();
      loss = r instanceof Tensor ? r.item() : r;
    }
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          if (p.grad === null) continue;
          let st = this.state.get(p);
          if (!st) {
            st = this.initState(p, group);
            this.state.set(p, st);
          }
          this.updateParam(p, p.grad, st, group);
        }
      }
    });
    return loss;
  }

  /** The state of a parameter at its first step. */
  protected abstract initState(p: Tensor, group: ParamGroup & G): ParamState;
  /** Updates one parameter in place from its gradient and state (under noGrad). */
  protected abstract updateParam(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup & G): void;

  /** A snapshot (tensors cloned) that loadStateDict accepts, here or in a fresh optimiser. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...opts } = g;
      const ids = params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return { ...cloneOpts(opts), params: ids };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, st] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      state[i] = Object.fromEntries(Object.entries(st).map(([k, v]) => [k, v instanceof Tensor ? v.clone() : v]));
    }
    return { state, paramGroups };
  }

  /**
   * Restores hyper-parameters and state; groups must have the same sizes as this optimiser's. Also takes
   * PyTorch's layout, as `torch.optim.Optimizer.state_dict()` writes it and io.load reads it from a .pth
   * checkpoint: `param_groups`, snake_case names (exp_avg, weight_decay) and `step` as a tensor.
   */
  loadStateDict(input: OptimizerStateDict | TorchOptimizerStateDict): void {
    const name = this.constructor.name;
    const sd =
      input && 'param_groups' in input && !('paramGroups' in input)
        ? fromTorchLayout(input, this.paramGroups)
        : (input as OptimizerStateDict);
    if (!sd || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object') {
      throw new Error(`${name}.loadStateDict: expected an object with 'state' and 'paramGroups'`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(
        `${name}.loadStateDict: loaded state dict has a different number of parameter groups ` +
          `(${sd.paramGroups.length}, optimizer has ${this.paramGroups.length})`,
      );
    }
    const byIndex: Tensor[] = [];
    sd.paramGroups.forEach((g, gi) => {
      const mine = this.paramGroups[gi];
      if (g.params.length !== mine.params.length) {
        throw new Error(
          `${name}.loadStateDict: loaded state dict contains a parameter group that doesn't match the size of ` +
            `optimizer's group (group ${gi}: ${g.params.length} vs ${mine.params.length} parameters)`,
        );
      }
      g.params.forEach((id, k) => {
        byIndex[id] = mine.params[k];
      });
    });
    const state = new Map<Tensor, ParamState>();
    for (const [key, st] of Object.entries(sd.state)) {
      const p = byIndex[Number(key)];
      if (!p) throw new Error(`${name}.loadStateDict: state for parameter ${key} has no matching parameter`);
      state.set(
        p,
        Object.fromEntries(
          Object.entries(st).map(([k, v]) => {
            if (!(v instanceof Tensor)) return [k, v];
            if (v.numel() !== p.numel() && v.numel() !== 1) {
              throw new Error(
                `${name}.loadStateDict: state '${k}' of parameter ${key} has shape ${fmtShape(v.shape)}, but the ` +
                  `parameter has shape ${fmtShape(p.shape)}`,
              );
            }
            return [k, makeTensor(v, { dtype: p.dtype }).reshape([...v.shape])];
          }),
        ),
      );
    }
    this.state = state;
    this.paramGroups = this.paramGroups.map((mine, gi) => {
      const { params: _ids, ...opts } = sd.paramGroups[gi];
      return { ...mine, ...cloneOpts(opts), params: mine.params } as ParamGroup & G;
    });
  }
}

/** PyTorch's optimizer state dict, as io.load reads it from a .pth checkpoint. */
export interface TorchOptimizerStateDict {
  state: Record<number, Record<string, unknown>>;
  param_groups: Array<Record<string, unknown> & { params: number[] }>;
}

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * PyTorch's names in nabla's: group options are kept where this optimiser has the same option (torch-only
 * switches such as foreach or fused are dropped), state entries are renamed and `step` becomes a number.
 */
function fromTorchLayout(sd: TorchOptimizerStateDict, mine: Array<Record<string, unknown>>): OptimizerStateDict {
  if (!Array.isArray(sd.param_groups) || typeof sd.state !== 'object' || sd.state === null) {
    throw new Error(`loadStateDict: expected PyTorch's layout, an object with 'state' and 'param_groups'`);
  }
  const paramGroups = sd.param_groups.map((g, gi) => {
    const opts: Record<string, unknown> & { params: number[] } = { params: g.params };
    for (const [k, v] of Object.entries(g)) if (k !== 'params' && camel(k) in (mine[gi] ?? {})) opts[camel(k)] = v;
    return opts;
  });
  const state: Record<number, ParamState> = {};
  for (const [i, st] of Object.entries(sd.state)) {
    state[Number(i)] = Object.fromEntries(
      Object.entries(st).map(([k, v]) => {
        if (k === 'step' && v instanceof Tensor) return [k, Number(v.item())];
        return [camel(k), v ?? null] as [string, Tensor | number | null];
      }),
    );
  }
  return { state, paramGroups };
}

function cloneOpts(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? [...v] : v]));
}

// ---- helpers for the update functions ----

/**
 * The contiguous values of t, without a copy when t is contiguous (a subarray of its storage). The
 * update functions compute on float32/float64 storage: a float16 or bfloat16 parameter (whose storage
 * holds bit patterns) is refused, naming the dtype.
 */
export function contiguousFloat(t: Tensor): Float {
  checkUpdatable(t);
  return contiguousValues(t) as Float;
}

function checkUpdatable(t: Tensor): void {
  if (t.dtype !== 'float32' && t.dtype !== 'float64') {
    throw new Error(
      `optimizer: the update has no path for ${t.dtype} parameters or gradients (shape ${fmtShape(t.shape)}); ` +
        'keep float32 master weights (train in float32 and cast the model for inference)',
    );
  }
}

/**
 * Runs fn on the parameter's values as a writable contiguous buffer and stores the result back,
 * bumping the storage version as an in-place Tensor op does (so stale saved tensors are caught).
 */
export function updateInPlace(p: Tensor, fn: (values: Float) => void): void {
  checkUpdatable(p);
  if (p.isContiguous()) {
    fn(contiguousFloat(p));
    p.storage.version++;
    return;
  }
  const copy = p.toTypedArray() as Float;
  fn(copy);
  p.copy_(makeTensor(copy, { dtype: p.dtype, shape: [...p.shape] }));
}

/** Gradient values as a contiguous array the update functions can read (a copy only if strided). */
export function gradValues(p: Tensor, g: Tensor): ArrayLike<number> {
  if (g.numel() !== p.numel()) {
    throw new Error(
      `optimizer: gradient of shape ${fmtShape(g.shape)} does not match its parameter of shape ${fmtShape(p.shape)}`,
    );
  }
  return contiguousFloat(g);
}

/** A zero state buffer shaped and typed like the parameter. */
export function zerosState(p: Tensor, fill = 0): Tensor {
  const z = zerosLike(p).contiguous();
  if (fill !== 0) z.storage.data.fill(fill);
  return z;
}

/** Shared constructor checks, with PyTorch's wording. */
export function checkNonNegative(value: unknown, what: string): void {
  if (typeof value !== 'number' || !(value >= 0)) throw new Error(`Invalid ${what}: ${String(value)}`);
}

/**
 * The buffers of a fused optimiser step on an accelerator: the parameter's, its gradient's (made
 * contiguous there) and the state tensors', with the backend that owns them. Refuses what the GPU
 * kernels do not cover: a parameter that is not contiguous float32, or an option named in `unsupported`.
 */
export function deviceStepArgs(
  op: string,
  param: Tensor,
  grad: Tensor,
  states: (Tensor | null)[],
  unsupported: string | null,
): { b: ReturnType<typeof be>; p: TypedArray; g: TypedArray; s: (TypedArray | null)[] } {
  if (unsupported) throw new Error(`${op}: ${unsupported} is not supported for parameters on ${param.device}`);
  if (param.dtype !== 'float32' || !param.isContiguous() || param.layout.offset !== 0) {
    throw new Error(
      `${op}: a parameter on ${param.device} must be contiguous float32 ` +
        `(got ${param.dtype} of shape ${fmtShape(param.shape)})`,
    );
  }
  if (grad.numel() !== param.numel()) {
    throw new Error(
      `optimizer: gradient of shape ${fmtShape(grad.shape)} does not match its parameter of shape ` +
        fmtShape(param.shape),
    );
  }
  let g = grad.dtype === 'float32' ? grad.contiguous() : grad.to('float32').contiguous();
  // the kernels index buffers from 0: a contiguous view further in gets a copy of its own
  if (g.layout.offset !== 0) g = g.clone();
  const b = be(param, g, ...states);
  return { b, p: dataOf(param, op), g: dataOf(g, op), s: states.map((t) => t && dataOf(t, op)) };
}
