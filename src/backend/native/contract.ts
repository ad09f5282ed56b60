// The native contract on the TypeScript side. native/src/napi/kernels.def declares every export of
// the addon once; scripts/gen-native.mjs turns it into contract.gen.ts (NablaAddon, NATIVE_KERNELS),
// and the addon reports the same table at runtime (contract()). This file holds the types the
// generated one names and the view the backend asks: supports(kernel, dtype, op), and the op codes
// each op-taking kernel implements, read from the addon itself, so a binary built from another
// kernels.def is caught (checkAddon) instead of trusted.

import type { DType } from '../../tensor/dtype.js';
import { NATIVE_KERNELS, type NablaAddon, type NativeKernel } from './contract.gen.js';

export type { NablaAddon, NativeKernel } from './contract.gen.js';

export interface LayoutArg {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** Conv2d parameters in the order the addon takes them. */
export type ConvArgs = [
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
  dilationH: number,
  dilationW: number,
  groups: number,
];
/** Pool2d parameters in the order the addon takes them (ceilMode as 0/1). */
export type PoolArgs = [
  kH: number,
  kW: number,
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
  dilationH: number,
  dilationW: number,
  ceilMode: number,
];

export interface CpuInfo {
  /** SIMD path in use: 'avx512' | 'avx2' | 'scalar'. */
  isa: string;
  /** Best path this CPU supports. */
  cpuIsa: string;
  threads: number;
}

/** The quantized-product paths in use (native/src/quant): 'scalar' | 'avx2' | 'avxvnni' | 'avx512' | 'amx'. */
export interface QuantInfo {
  int8: string;
  bf16: string;
  /** Weight-only int8/int4 products. */
  woq: string;
  /** 'granted', or why AMX is not used. */
  amx: string;
  /** The paths this machine (and the ISA cap) can run, for setQuantPath. */
  available: string[];
}

/** What addon.contract() returns: kernels.def as the addon was built. */
export interface NativeContract {
  kernels: Record<string, { dtypes: string[]; returns: string; signature: string }>;
  /** NB_OPSET name (unary, linear, binary, compare, reduce) -> the op codes it implements. */
  opsets: Record<string, number[]>;
}

/** The op sets of kernels.def: which op codes each op-taking kernel implements. */
export type OpSet = 'unary' | 'linear' | 'binary' | 'compare' | 'reduce';
const OPSETS: readonly OpSet[] = ['unary', 'linear', 'binary', 'compare', 'reduce'];
/** The op set each op-taking kernel checks its op against. */
const KERNEL_OPSET: Partial<Record<NativeKernel, OpSet>> = {
  unary: 'unary',
  linear: 'linear',
  binary: 'binary',
  compare: 'compare',
  reduce: 'reduce',
};

/**
 * Why the addon does not match this build's kernels.def (exports missing or not functions, or a
 * signature that differs), or null when it does. Names every mismatch.
 */
export function checkAddon(addon: unknown): string | null {
  const a = addon as Record<string, unknown> | null;
  if (!a || typeof a !== 'object') return 'it is not an object';
  const missing = (Object.keys(NATIVE_KERNELS) as NativeKernel[]).filter((k) => typeof a[k] !== 'function');
  if (missing.length) return `it lacks ${missing.join(', ')}`;
  let c: NativeContract;
  try {
    c = (a as unknown as NablaAddon).contract();
  } catch (e) {
    return `contract() failed: ${(e as Error).message}`;
  }
  const differ: string[] = [];
  for (const [k, decl] of Object.entries(NATIVE_KERNELS)) {
    const got = c?.kernels?.[k];
    if (!got) differ.push(`${k} (not in contract())`);
    else if (got.signature !== decl.signature) {
      differ.push(`${k} takes (${got.signature}), expected (${decl.signature})`);
    } else if (got.dtypes.join() !== decl.dtypes.join()) {
      differ.push(`${k} dtypes ${got.dtypes.join(' ')}, expected ${decl.dtypes.join(' ')}`);
    }
  }
  for (const s of OPSETS) if (!Array.isArray(c?.opsets?.[s])) differ.push(`op set ${s} (not in contract())`);
  return differ.length ? `it was built from another kernels.def: ${differ.join('; ')}` : null;
}

/** The contract of a loaded (checked) addon, for the backend's supports() questions. */
export class ContractView {
  readonly ops: { readonly [S in OpSet]: ReadonlySet<number> };
  private readonly dtypes: ReadonlyMap<string, ReadonlySet<string>>;

  constructor(c: NativeContract) {
    this.ops = Object.fromEntries(OPSETS.map((s) => [s, new Set(c.opsets[s])])) as unknown as ContractView['ops'];
    this.dtypes = new Map(Object.entries(c.kernels).map(([k, e]) => [k, new Set(e.dtypes)]));
  }

  /**
   * Whether the addon's `kernel` computes on `dtype` data and, for the op-taking kernels (unary,
   * linear's activation, binary, compare, reduce), implements op `op`.
   * @example contract.supports('unary', 'float32', UnaryOp.EXP) // true
   */
  supports(kernel: NativeKernel, dtype: DType, op?: number): boolean {
    if (!this.dtypes.get(kernel)?.has(dtype)) return false;
    const set = KERNEL_OPSET[kernel];
    return op === undefined || set === undefined || this.ops[set].has(op);
  }
}
