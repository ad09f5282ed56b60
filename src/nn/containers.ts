// Containers: Sequential (runs children in order), ModuleList and ModuleDict. Children are named
// "0", "1", ... (or by key), so state-dict keys read "features.0.weight" as in PyTorch.

import { Module } from './module.js';

/**
 * Chains modules: forward(x) = m_n(...m_1(x)).
 * @example new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2))
 */
export class Sequential extends Module {
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    if (modules.length === 1 && !(modules[0] instanceof Module)) {
      for (const [k, m] of Object.entries(modules[0] as Record<string, Module>)) this.registerModule(k, m);
    } else {
      (modules as Module[]).forEach((m, i) => {
        this.registerModule(String(i), m);
      });
    }
  }
  get length(): number {
    return this._modules.size;
  }
  /** The i-th module (negative counts from the end). */
  at(i: number): Module {
    const list = [...this._modules.values()];
    const m = list[i < 0 ? i + list.length : i];
    if (!m) throw new Error(`Sequential: index ${i} is out of range (length ${list.length})`);
    return m;
  }
  append(m: Module): this {
    this.registerModule(String(this._modules.size), m);
    return this;
  }
  [Symbol.iterator](): Iterator<Module> {
    return ([...this._modules.values()].filter(Boolean) as Module[])[Symbol.iterator]();
  }
  // biome-ignore lint/suspicious/noExplicitAny: the last child's output, whatever its type
  forward(x: unknown): any {
    // x -> m_n(...m_1(x))
    let y = x;
    for (const m of this._modules.values()) if (m) y = m.call(y);
    return y;
  }
}

/** A list of submodules, registered under "0", "1", ...; it has no forward of its own. */
export class ModuleList extends Module {
  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }
  get length(): number {
    return this._modules.size;
  }
  at(i: number): Module {
    const n = this._modules.size;
    const m = this._modules.get(String(i < 0 ? i + n : i));
    if (!m) throw new Error(`ModuleList: index ${i} is out of range (length ${n})`);
    return m;
  }
  append(m: Module): this {
    this.registerModule(String(this._modules.size), m);
    return this;
  }
  extend(ms: Iterable<Module>): this {
    for (const m of ms) this.append(m);
    return this;
  }
  [Symbol.iterator](): Iterator<Module> {
    return ([...this._modules.values()].filter(Boolean) as Module[])[Symbol.iterator]();
  }
  forward(): never {
    throw new Error('ModuleList has no forward(); iterate over its modules');
  }
}

/** An ordered dictionary of submodules. */
export class ModuleDict extends Module {
  constructor(modules: Record<string, Module> | Iterable<[string, Module]> = {}) {
    super();
    const entries =
      Symbol.iterator in Object(modules) ? [...(modules as Iterable<[string, Module]>)] : Object.entries(modules);
    for (const [k, m] of entries) this.registerModule(k, m);
  }
  get size(): number {
    return this._modules.size;
  }
  get(key: string): Module | undefined {
    return this._modules.get(key) ?? undefined;
  }
  set(key: string, m: Module): this {
    this.registerModule(key, m);
    return this;
  }
  has(key: string): boolean {
    return this._modules.has(key);
  }
  keys(): string[] {
    return [...this._modules.keys()];
  }
  values(): Module[] {
    return [...this._modules.values()].filter(Boolean) as Module[];
  }
  entries(): [string, Module][] {
    return [...this._modules].filter(([, m]) => m) as [string, Module][];
  }
  forward(): never {
    throw new Error('ModuleDict has no forward(); look up its modules');
  }
}
