// Module: the base class of every layer (torch.nn.Module), and Parameter.
//
// Registration works as in PyTorch's __setattr__: assigning a Parameter to a property registers a
// parameter, assigning a Module registers a submodule, and assigning a Tensor (or null) to a name
// registered with registerBuffer updates that buffer. Registration order (first assignment) is the
// order of namedParameters(), stateDict() and the printed tree. The constructor returns a Proxy of
// the instance whose only trap is defineProperty, so every assignment (`this.fc1 = new Linear(...)`,
// class field initialisers included) is seen; reads go straight to the object.
// Class fields with initialisers (`fc = new Linear(2, 3)`) register like assignments; a field
// declared without one defines `undefined`, which never unregisters anything (prefer `declare`).
// NOTE: do not use `#private` fields in modules: they do not work through a Proxy.
//
// Modules are not callable functions in JS: call `m.call(x)` (PyTorch's `m(x)`: forward with the
// forward hooks around it) or `m.forward(x)` (no hooks). Layers call their children with call().
//
// Property names of parameters and buffers are their state-dict keys, so layers keep PyTorch's
// names there (`running_mean`, `weight_ih_l0`, `in_proj_weight`); options and methods are camelCase.

import { noGrad } from '../autograd/grad_mode.js';
import type { DType } from '../tensor/dtype.js';
import { type Device, isDevice } from '../tensor/device.js';
import { fmtShape } from '../tensor/layout.js';
import { Tensor } from '../tensor/tensor.js';

/** A Tensor that a Module registers as a parameter; requiresGrad by default (torch.nn.Parameter). */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    const d = data.detach();
    super(d.storage, d.layout, d.dtype);
    if (requiresGrad) this.requiresGrad_(true);
  }
  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }
}

export type StateDict = Record<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

// biome-ignore lint/suspicious/noExplicitAny: the output is whatever forward returns; a hook may replace it
export type ForwardHook = (module: Module, inputs: unknown[], output: any) => any;
export type ForwardPreHook = (module: Module, inputs: unknown[]) => unknown[] | void;

const RAW = Symbol('nabla.module.raw');

function makeProxy<T extends Module>(m: T): T {
  return new Proxy(m, {
    defineProperty(target, prop, desc) {
      if (typeof prop === 'string' && 'value' in desc) {
        if (desc.value === undefined) {
          // NOTE: a subclass re-declaring an inherited field (`weight: Parameter;`) defines it as
          // undefined after the base constructor registered it; keep the registered value.
          const v = target._parameters.get(prop) ?? target._buffers.get(prop) ?? target._modules.get(prop);
          if (v) desc = { ...desc, value: v };
        } else target._register(prop, desc.value);
      }
      return Reflect.defineProperty(target, prop, desc);
    },
    deleteProperty(target, prop) {
      if (typeof prop === 'string') {
        target._parameters.delete(prop);
        target._buffers.delete(prop);
        target._modules.delete(prop);
      }
      return Reflect.deleteProperty(target, prop);
    },
  });
}

/** Sets a own property like a class field would (bypassing the proxy). */
function setOwn(obj: object, key: string | symbol, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * The base class of layers and models (torch.nn.Module).
 * @example
 * class Net extends nb.nn.Module {
 *   fc1 = new nb.nn.Linear(32, 64);
 *   fc2 = new nb.nn.Linear(64, 10);
 *   forward(x: nb.Tensor): nb.Tensor { return this.fc2.call(this.fc1.call(x).relu()); }
 * }
 * const net = new Net();
 * Object.keys(net.stateDict()); // ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
 */
export abstract class Module {
  /** Whether the module is in training mode (see train()/eval()). */
  training = true;
  /** @internal */ _parameters!: Map<string, Parameter | null>;
  /** @internal */ _buffers!: Map<string, Tensor | null>;
  /** @internal */ _nonPersistent!: Set<string>;
  /** @internal */ _modules!: Map<string, Module | null>;
  /** @internal */ _hooks!: Map<symbol, ForwardHook>;
  /** @internal */ _preHooks!: Map<symbol, ForwardPreHook>;

  constructor() {
    // NOTE: set on the raw object before the proxy exists; enumerable false keeps them out of copies.
    for (const [k, v] of [
      ['_parameters', new Map()],
      ['_buffers', new Map()],
      ['_nonPersistent', new Set()],
      ['_modules', new Map()],
      ['_hooks', new Map()],
      ['_preHooks', new Map()],
    ] as const) {
      Object.defineProperty(this, k, { value: v, writable: true, enumerable: false, configurable: true });
    }
    Object.defineProperty(this, RAW, { value: this, enumerable: false });
    // biome-ignore lint/correctness/noConstructorReturn: the proxy is the module (attribute assignment registers)
    return makeProxy(this);
  }

  /** @internal called for every property definition on the module. */
  _register(name: string, value: unknown): void {
    // NOTE: undefined is what a class field declaration without initialiser defines; it never unregisters.
    if (name.startsWith('_') || name === 'training' || value === undefined) return;
    if (value instanceof Parameter) {
      this._buffers.delete(name);
      this._modules.delete(name);
      this._parameters.set(name, value);
    } else if (value instanceof Module) {
      this._parameters.delete(name);
      this._buffers.delete(name);
      this._modules.set(name, value);
    } else if (this._buffers.has(name)) {
      if (value !== null && !(value instanceof Tensor))
        throw new Error(
          `${this.constructor.name}: cannot assign ${typeof value} as buffer '${name}' (Tensor or null expected)`,
        );
      this._buffers.set(name, value as Tensor | null);
    } else if (this._parameters.has(name)) {
      if (value !== null && value !== undefined) {
        throw new Error(
          `${this.constructor.name}: cannot assign ${value instanceof Tensor ? 'a Tensor' : typeof value} as ` +
            `parameter '${name}' (Parameter or null expected)`,
        );
      }
      this._parameters.set(name, null);
    } else if (this._modules.has(name)) {
      if (value !== null && value !== undefined)
        throw new Error(
          `${this.constructor.name}: cannot assign ${typeof value} as child module '${name}' (Module or null expected)`,
        );
      this._modules.set(name, null);
    }
  }

  // ---- explicit registration ----

  /** Registers a parameter (null registers a missing one, like bias=False) and sets the property. */
  registerParameter(name: string, param: Parameter | null): void {
    if (param !== null && !(param instanceof Parameter))
      throw new Error(`registerParameter: '${name}' must be a Parameter or null`);
    this._parameters.set(name, param);
    (this as unknown as Record<string, unknown>)[name] = param;
  }

  /** Registers a buffer: state that is not a parameter (running statistics). Non-persistent buffers stay out of
   * stateDict. */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    if (tensor !== null && !(tensor instanceof Tensor))
      throw new Error(`registerBuffer: '${name}' must be a Tensor or null`);
    this._buffers.set(name, tensor);
    if (persistent) this._nonPersistent.delete(name);
    else this._nonPersistent.add(name);
    (this as unknown as Record<string, unknown>)[name] = tensor;
  }

  /** Registers a child module under name (containers use numeric names "0", "1", ...). */
  registerModule(name: string, module: Module | null): void {
    if (module !== null && !(module instanceof Module))
      throw new Error(`registerModule: '${name}' must be a Module or null`);
    this._modules.set(name, module);
    // NOTE: a name that is a method (a ModuleDict key 'keys') stays reachable through getSubmodule only.
    if (typeof (this as unknown as Record<string, unknown>)[name] !== 'function')
      (this as unknown as Record<string, unknown>)[name] = module;
  }
  addModule(name: string, module: Module | null): void {
    this.registerModule(name, module);
  }

  getSubmodule(target: string): Module {
    let m: Module = this;
    for (const part of target ? target.split('.') : []) {
      const c = m._modules.get(part);
      if (!c) throw new Error(`getSubmodule: ${m.constructor.name} has no attribute '${part}' (in '${target}')`);
      m = c;
    }
    return m;
  }

  // ---- forward ----

  // biome-ignore lint/suspicious/noExplicitAny: each Module declares its own forward; call() types itself from it
  abstract forward(...args: any[]): any;

  /** Whether call() runs forward pre-hooks or hooks (fused paths that skip call() must not then). */
  hasForwardHooks(): boolean {
    return this._hooks.size > 0 || this._preHooks.size > 0;
  }

  /** Runs forward (PyTorch's `module(x)`), with the forward pre-hooks and hooks around it. */
  call(...args: Parameters<this['forward']>): ReturnType<this['forward']> {
    if (!this.hasForwardHooks()) return this.forward(...args);
    let a: unknown[] = args;
    for (const h of this._preHooks.values()) {
      const r = h(this, a);
      if (r !== undefined) a = r;
    }
    let out = this.forward(...a);
    for (const h of this._hooks.values()) {
      const r = h(this, a, out);
      if (r !== undefined) out = r;
    }
    return out;
  }

  /** fn(module, inputs, output) runs after every call(); a returned value replaces the output. */
  registerForwardHook(fn: ForwardHook): { remove(): void } {
    const id = Symbol('hook');
    this._hooks.set(id, fn);
    return {
      remove: () => {
        this._hooks.delete(id);
      },
    };
  }
  /** fn(module, inputs) runs before every call(); a returned array replaces the inputs. */
  registerForwardPreHook(fn: ForwardPreHook): { remove(): void } {
    const id = Symbol('prehook');
    this._preHooks.set(id, fn);
    return {
      remove: () => {
        this._preHooks.delete(id);
      },
    };
  }

  // ---- iteration ----

  *namedModules(prefix = '', memo: Set<Module> = new Set()): Generator<[string, Module]> {
    if (memo.has(this)) return;
    memo.add(this);
    yield [prefix, this];
    for (const [name, m] of this._modules) {
      if (m) yield* m.namedModules(prefix ? `${prefix}.${name}` : name, memo);
    }
  }
  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }
  *namedChildren(): Generator<[string, Module]> {
    const seen = new Set<Module>();
    for (const [name, m] of this._modules)
      if (m && !seen.has(m)) {
        seen.add(m);
        yield [name, m];
      }
  }
  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  private *namedMembers<T>(
    get: (m: Module) => Iterable<[string, T | null]>,
    prefix: string,
    recurse: boolean,
  ): Generator<[string, T]> {
    const seen = new Set<T>();
    const mods: [string, Module][] = recurse ? [...this.namedModules(prefix)] : [[prefix, this]];
    for (const [mp, m] of mods) {
      for (const [k, v] of get(m)) {
        if (v === null || v === undefined || seen.has(v)) continue;
        seen.add(v);
        yield [mp ? `${mp}.${k}` : k, v];
      }
    }
  }

  /** (name, parameter) pairs, each shared parameter once, in registration order. */
  namedParameters(prefix = '', recurse = true): Generator<[string, Parameter]> {
    return this.namedMembers((m) => m._parameters, prefix, recurse);
  }
  parameters(recurse = true): Parameter[] {
    return [...this.namedParameters('', recurse)].map(([, p]) => p);
  }
  namedBuffers(prefix = '', recurse = true): Generator<[string, Tensor]> {
    return this.namedMembers((m) => m._buffers, prefix, recurse);
  }
  buffers(recurse = true): Tensor[] {
    return [...this.namedBuffers('', recurse)].map(([, b]) => b);
  }

  /** Number of parameter elements (only those requiring grad when trainableOnly). */
  numParameters(trainableOnly = false): number {
    let n = 0;
    for (const p of this.parameters()) if (!trainableOnly || p.requiresGrad) n += p.numel();
    return n;
  }

  // ---- modes and gradients ----

  /** Calls fn on every submodule (children first) and then on this module. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }
  train(mode = true): this {
    this.training = mode;
    for (const c of this.children()) c.train(mode);
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  requiresGrad_(on = true): this {
    for (const p of this.parameters()) p.requiresGrad_(on);
    return this;
  }
  /** Clears the gradients (to null by default, as PyTorch 2 does). */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (!p.grad) continue;
      if (setToNone) p.grad = null;
      else p.grad = p.grad.detach().mul(0);
    }
  }

  /**
   * Casts floating parameters and buffers to dtype, or moves all of them to a device ('webgpu'), in
   * place (module.to(dtype | device)); shared tensors stay shared.
   */
  to(dtype: DType | Device): this {
    const memo = new Map<Tensor, Tensor>();
    // NOTE: a device move takes every parameter and buffer (int ones too), a cast only floating ones
    const skip = isDevice(dtype)
      ? (t: Tensor) => t.device === dtype
      : (t: Tensor) => !t.isFloatingPoint() || t.dtype === dtype;
    noGrad(() => {
      for (const m of this.modules()) {
        const set = m as unknown as Record<string, unknown>;
        for (const [k, p] of m._parameters) {
          if (!p || skip(p)) continue;
          if (!memo.has(p)) memo.set(p, new Parameter(p.to(dtype), p.requiresGrad));
          set[k] = memo.get(p);
        }
        for (const [k, b] of m._buffers) {
          if (!b || skip(b)) continue;
          if (!memo.has(b)) memo.set(b, b.to(dtype));
          set[k] = memo.get(b);
        }
      }
    });
    return this;
  }
  double(): this {
    return this.to('float64');
  }
  float(): this {
    return this.to('float32');
  }
  /** Floating parameters and buffers to float16 (torch's Module.half()); they compute by widening to float32. */
  half(): this {
    return this.to('float16');
  }
  bfloat16(): this {
    return this.to('bfloat16');
  }

  // ---- state ----

  /** Parameters and persistent buffers by dotted name ("features.0.weight", "bn1.running_mean"), detached. */
  stateDict(opts: { prefix?: string; keepVars?: boolean } = {}): StateDict {
    const out: StateDict = {};
    const visit = (m: Module, prefix: string): void => {
      for (const [k, p] of m._parameters) if (p) setOwn(out, prefix + k, opts.keepVars ? p : p.detach());
      for (const [k, b] of m._buffers)
        if (b && !m._nonPersistent.has(k)) setOwn(out, prefix + k, opts.keepVars ? b : b.detach());
      for (const [k, c] of m._modules) if (c) visit(c, `${prefix}${k}.`);
    };
    visit(this, opts.prefix ?? '');
    return out;
  }

  /**
   * Copies tensors from sd into this module's parameters and buffers (values cast to their dtype).
   * strict (default): missing or unexpected keys throw; mis-shaped keys always throw, with all three lists.
   */
  loadStateDict(sd: StateDict, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    const own = this.stateDict({ keepVars: true });
    const missingKeys: string[] = [],
      unexpectedKeys: string[] = [],
      mismatched: string[] = [];
    for (const k of Object.keys(own)) {
      if (!Object.hasOwn(sd, k)) {
        missingKeys.push(k);
        continue;
      }
      const src = sd[k];
      if (!(src instanceof Tensor)) {
        mismatched.push(`${k}: expected a Tensor, got ${typeof src}`);
        continue;
      }
      const dst = own[k];
      if (fmtShape(src.shape) !== fmtShape(dst.shape)) {
        mismatched.push(
          `${k}: copying a param with shape ${fmtShape(src.shape)} from checkpoint, the shape in current model is ` +
            `${fmtShape(dst.shape)}`,
        );
      }
    }
    for (const k of Object.keys(sd)) if (!Object.hasOwn(own, k)) unexpectedKeys.push(k);
    if (mismatched.length || (strict && (missingKeys.length || unexpectedKeys.length))) {
      const parts: string[] = [];
      if (missingKeys.length)
        parts.push(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`);
      if (unexpectedKeys.length)
        parts.push(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`);
      if (mismatched.length) parts.push(`size mismatch for ${mismatched.join('; size mismatch for ')}.`);
      throw new Error(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${parts.join('\n\t')}`);
    }
    noGrad(() => {
      for (const k of Object.keys(own)) if (Object.hasOwn(sd, k)) own[k].copy_(sd[k]);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- printing ----

  /** The text inside the parentheses of this module's line, e.g. "in_features=32, out_features=64, bias=True". */
  extraRepr(): string {
    return '';
  }

  /** A tree like PyTorch's repr. */
  toString(): string {
    const extra = this.extraRepr();
    const lines: string[] = extra ? extra.split('\n') : [];
    for (const [k, m] of this._modules) {
      const s = m ? m.toString() : 'None';
      lines.push(`(${k}): ${s.split('\n').join('\n  ')}`);
    }
    const name = this.constructor.name;
    if (lines.length === 0) return `${name}()`;
    if (lines.length === 1 && this._modules.size === 0) return `${name}(${lines[0]})`;
    return `${name}(\n  ${lines.join('\n  ')}\n)`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** A deep copy of a module (copy.deepcopy): fresh parameters and buffers, shared structure preserved. */
export function deepCopyModule<T extends Module>(m: T): T {
  const memo = new Map<unknown, unknown>();
  const copyValue = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (memo.has(v)) return memo.get(v);
    if (v instanceof Module) return copyModule(v);
    if (v instanceof Parameter) {
      const p = new Parameter(v.detach().clone(), v.requiresGrad);
      memo.set(v, p);
      return p;
    }
    if (v instanceof Tensor) {
      const t = v.detach().clone();
      memo.set(v, t);
      return t;
    }
    if (Array.isArray(v)) {
      const a: unknown[] = [];
      memo.set(v, a);
      for (const x of v) a.push(copyValue(x));
      return a;
    }
    return v;
  };
  const copyModule = (src: Module): Module => {
    const raw = (src as unknown as Record<symbol, Module>)[RAW] ?? src;
    const dst = Object.create(Object.getPrototypeOf(raw)) as Module;
    const proxy = makeProxy(dst);
    memo.set(src, proxy);
    Object.defineProperty(dst, RAW, { value: dst, enumerable: false });
    const maps = <V>(mp: Map<string, V>) => new Map([...mp].map(([k, x]) => [k, copyValue(x) as V]));
    Object.defineProperty(dst, '_parameters', {
      value: maps(raw._parameters),
      writable: true,
      enumerable: false,
      configurable: true,
    });
    Object.defineProperty(dst, '_buffers', {
      value: maps(raw._buffers),
      writable: true,
      enumerable: false,
      configurable: true,
    });
    Object.defineProperty(dst, '_modules', {
      value: maps(raw._modules),
      writable: true,
      enumerable: false,
      configurable: true,
    });
    Object.defineProperty(dst, '_hooks', {
      value: new Map(raw._hooks),
      writable: true,
      enumerable: false,
      configurable: true,
    });
    Object.defineProperty(dst, '_preHooks', {
      value: new Map(raw._preHooks),
      writable: true,
      enumerable: false,
      configurable: true,
    });
    Object.defineProperty(dst, '_nonPersistent', {
      value: new Set(raw._nonPersistent),
      writable: true,
      enumerable: false,
      configurable: true,
    });
    for (const k of Object.keys(raw)) setOwn(dst, k, copyValue((raw as unknown as Record<string, unknown>)[k]));
    return proxy;
  };
  return copyModule(m) as T;
}
