// NativeBackend: the PartialBackend over the C addon. Each kernel handles float32 on any strided
// layout (up to 8 dims) and returns undefined for anything else (other dtypes, ops the addon does
// not implement, aliasing in-place calls), so the registry runs the JS kernel for that call.
//
// Layout support per kernel: matmul takes any strides (transposed views are not copied), unary /
// binary / reduce / softmax / copy / assign take any strides and broadcast (stride 0) inputs.

import type { Conv2dParams, Kernels, PartialBackend, Pool2dParams } from '../backend.js';
import { BinaryOp, ReduceOp, UnaryOp } from '../op_codes.js';
import type { DType, TypedArray } from '../../tensor/dtype.js';
import { Layout, numel } from '../../tensor/layout.js';
import type { NablaAddon } from './binding.js';
import { loadAddon } from './load.js';

const MAX_DIMS = 8;

/** Unary ops the addon implements (native/src/addon.c unary_supported). */
export const NATIVE_UNARY: ReadonlySet<UnaryOp> = new Set([
  UnaryOp.NEG, UnaryOp.ABS, UnaryOp.EXP, UnaryOp.LOG, UnaryOp.LOG1P, UnaryOp.EXPM1, UnaryOp.SQRT, UnaryOp.RSQRT,
  UnaryOp.TANH, UnaryOp.SIGMOID, UnaryOp.RELU, UnaryOp.GELU, UnaryOp.GELU_TANH, UnaryOp.SILU, UnaryOp.SOFTPLUS,
  UnaryOp.SOFTPLUS_BETA, UnaryOp.RECIPROCAL, UnaryOp.SQUARE, UnaryOp.ERF, UnaryOp.LEAKY_RELU, UnaryOp.ELU,
  UnaryOp.CLAMP, UnaryOp.FLOOR, UnaryOp.CEIL, UnaryOp.TRUNC, UnaryOp.ROUND,
]);

const NATIVE_REDUCE: ReadonlySet<ReduceOp> = new Set([ReduceOp.SUM, ReduceOp.PROD, ReduceOp.MAX, ReduceOp.MIN]);

function isF32(...xs: unknown[]): boolean {
  for (const x of xs) if (!(x instanceof Float32Array)) return false;
  return true;
}

function fits(...ls: Layout[]): boolean {
  for (const l of ls) if (l.shape.length > MAX_DIMS) return false;
  return true;
}

export class NativeBackend implements PartialBackend {
  readonly name = 'native';
  readonly info: Record<string, unknown>;

  constructor(readonly addon: NablaAddon, path?: string) {
    const cpu = addon.cpuInfo();
    this.info = { isa: cpu.isa, cpuIsa: cpu.cpuIsa, threads: cpu.threads, addon: path };
  }

  setNumThreads(n: number): void {
    this.addon.setNumThreads(n);
    this.info.threads = n;
  }

  getNumThreads(): number {
    return this.addon.cpuInfo().threads;
  }

  // (batch..., M, K) @ (batch..., K, N) -> (batch..., M, N), any strides
  matmul(a: TypedArray, la: Layout, b: TypedArray, lb: Layout, outDtype: DType): TypedArray | undefined {
    const nd = la.shape.length;
    if (!isF32(a, b) || outDtype !== 'float32' || nd < 2 || lb.shape.length !== nd || !fits(la)) return undefined;
    const outShape = [...la.shape.slice(0, nd - 1), lb.shape[nd - 1]];
    const c = new Float32Array(numel(outShape));
    this.addon.matmul(c, a as Float32Array, la, b as Float32Array, lb);
    return c;
  }

  // x (any layout) -> op(x) contiguous
  unary(op: UnaryOp, x: TypedArray, lx: Layout, outDtype: DType, p0 = 0, p1 = 0): TypedArray | undefined {
    if (!isF32(x) || outDtype !== 'float32' || !NATIVE_UNARY.has(op) || !fits(lx)) return undefined;
    const y = new Float32Array(lx.numel);
    this.addon.unary(op, y, x as Float32Array, lx, p0, p1);
    return y;
  }

  // a, b broadcast to the output shape -> a op b contiguous
  binary(op: BinaryOp, a: TypedArray, la: Layout, b: TypedArray, lb: Layout, outDtype: DType): TypedArray | undefined {
    if (!isF32(a, b) || outDtype !== 'float32' || op > BinaryOp.MINIMUM || !fits(la)) return undefined;
    const y = new Float32Array(la.numel);
    this.addon.binary(op, y, a as Float32Array, la, b as Float32Array, lb);
    return y;
  }

  // x reduced over axes -> contiguous, axes kept as size 1
  reduce(op: ReduceOp, x: TypedArray, lx: Layout, axes: readonly number[], outDtype: DType): TypedArray | undefined {
    if (!isF32(x) || outDtype !== 'float32' || !NATIVE_REDUCE.has(op) || !fits(lx)) return undefined;
    let n = 1;
    for (let d = 0; d < lx.shape.length; d++) if (!axes.includes(d)) n *= lx.shape[d];
    const y = new Float32Array(n);
    this.addon.reduce(op, y, x as Float32Array, lx, axes);
    return y;
  }

  copy(x: TypedArray, lx: Layout, outDtype: DType): TypedArray | undefined {
    if (!isF32(x) || outDtype !== 'float32' || !fits(lx)) return undefined;
    const y = new Float32Array(lx.numel);
    this.addon.copy(y, Layout.contiguous(lx.shape), x as Float32Array, lx);
    return y;
  }

  assign(dst: TypedArray, ldst: Layout, src: TypedArray, lsrc: Layout): boolean {
    // NOTE: rows are copied in parallel, so overlapping storage (x.assign(x.T)) goes to JS.
    if (!isF32(dst, src) || dst.buffer === src.buffer || !fits(ldst)) return false;
    this.addon.copy(dst as Float32Array, ldst, src as Float32Array, lsrc);
    return true;
  }

  softmax(x: TypedArray, lx: Layout, axis: number, log: boolean): TypedArray | undefined {
    if (!isF32(x) || !fits(lx)) return undefined;
    const y = new Float32Array(lx.numel);
    this.addon.softmax(y, x as Float32Array, lx, axis, log);
    return y;
  }
}

export interface NativeLoad {
  backend: NativeBackend | null;
  reason?: string;
}

/** Loads the addon and wraps it; never throws. */
export function loadNativeBackend(): NativeLoad {
  const r = loadAddon();
  if (!r.addon) return { backend: null, reason: r.reason };
  try {
    return { backend: new NativeBackend(r.addon, r.path) };
  } catch (e) {
    return { backend: null, reason: `the addon loaded but failed to start: ${(e as Error).message}` };
  }
}

// Compile-time check that every method matches the seam's signature.
const _check: PartialBackend = {} as NativeBackend;
void _check;
export type { Conv2dParams, Kernels, Pool2dParams };
