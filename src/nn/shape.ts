// Shape layers: Flatten, Unflatten, and Upsample (F.interpolate as a module).

import type { Tensor } from '../tensor/tensor.js';
import { interpolate, type InterpolateMode } from '../ops/conv.js';
import { Module } from './module.js';
import { inputError, pyFloat, pyTuple } from './util.js';

/** Flattens dims startDim..endDim (default 1..-1). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    // x (N, *) -> (N, prod(*))
    const nd = Math.max(x.ndim, 1);
    const a = this.startDim < 0 ? this.startDim + nd : this.startDim,
      b = this.endDim < 0 ? this.endDim + nd : this.endDim;
    if (a < 0 || a >= nd || b < 0 || b >= nd) throw inputError(this, `with more than ${Math.max(a, b)} dims`, x);
    return x.flatten(this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Splits dim into unflattenedSize. */
export class Unflatten extends Module {
  readonly unflattenedSize: number[];
  constructor(
    readonly dim: number,
    unflattenedSize: readonly number[],
  ) {
    super();
    this.unflattenedSize = [...unflattenedSize];
  }
  forward(x: Tensor): Tensor {
    // x (*, D, *) -> (*, *unflattenedSize, *)
    const n = this.unflattenedSize.reduce((p, q) => p * q, 1);
    const d = this.dim < 0 ? this.dim + x.ndim : this.dim;
    if (d < 0 || d >= x.ndim || (!this.unflattenedSize.includes(-1) && x.shape[d] !== n)) {
      throw inputError(this, `with ${n} elements in dim ${this.dim}`, x);
    }
    return x.unflatten(this.dim, this.unflattenedSize);
  }
  override extraRepr(): string {
    return `dim=${this.dim}, unflattened_size=${pyTuple(this.unflattenedSize)}`;
  }
}

export interface UpsampleOptions {
  size?: number | readonly number[] | null;
  scaleFactor?: number | readonly number[] | null;
  mode?: InterpolateMode;
  alignCorners?: boolean | null;
}

/** Resizes (N, C, L) or (N, C, H, W) inputs by size or scaleFactor: 'nearest', 'linear', 'bilinear'. */
export class Upsample extends Module {
  readonly size: number | readonly number[] | null;
  readonly scaleFactor: number | readonly number[] | null;
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean | null;
  constructor(opts: UpsampleOptions = {}) {
    super();
    this.size = opts.size ?? null;
    this.scaleFactor = opts.scaleFactor ?? null;
    this.mode = opts.mode ?? 'nearest';
    this.alignCorners = opts.alignCorners ?? null;
  }
  forward(x: Tensor): Tensor {
    // x (N, C, *S) -> (N, C, *OS)
    if (x.ndim !== 3 && x.ndim !== 4) throw inputError(this, '(N, C, L) or (N, C, H, W)', x);
    return interpolate(x, {
      size: this.size ?? undefined,
      scaleFactor: this.scaleFactor ?? undefined,
      mode: this.mode,
      alignCorners: this.alignCorners,
    });
  }
  override extraRepr(): string {
    const sf = this.scaleFactor;
    const info =
      sf !== null
        ? `scale_factor=${typeof sf === 'number' ? pyFloat(sf) : pyTuple(sf)}`
        : `size=${typeof this.size === 'number' ? this.size : pyTuple(this.size ?? [])}`;
    return `${info}, mode=${this.mode}`;
  }
}
