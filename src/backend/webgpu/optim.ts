// Optimiser steps in WGSL, in place on contiguous float32 buffers, one thread per element, with the
// JS reference's formulas (src/backend/js/optim.ts, torch.optim's single-tensor paths).

import type { TypedArray } from '../../tensor/dtype.js';
import type { AdamParams, SgdParams } from '../backend.js';
import { GpuArray, dispatch, grid } from './context.js';
import { MAIN_HEAD, PRM, Params, WG } from './strided.js';

function f32s(...xs: (GpuArray | null)[]): boolean {
  return xs.every((x) => x === null || (x instanceof GpuArray && x.dtype === 'float32'));
}

export function sgdStep(p: TypedArray, g: TypedArray, buf: TypedArray | null, o: SgdParams): true | undefined {
  const P = p as unknown as GpuArray,
    G = g as unknown as GpuArray,
    Bf = buf as unknown as GpuArray | null;
  if (!f32s(P, G, Bf)) return undefined;
  const prm = new Params([P.length]);
  const [lr, mom, damp, wd] = [o.lr, o.momentum, o.dampening, o.weightDecay].map((x) => prm.scalar(x));
  const momentum = Bf
    ? `  let b = select(${mom} * buf[i] + (1.0 - ${damp}) * d, d, ${o.first ? 'true' : 'false'});
  buf[i] = b;
  d = ${o.nesterov ? `d + ${mom} * b` : 'b'};`
    : '';
  const code = `@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
${Bf ? '@group(0) @binding(2) var<storage, read_write> buf: array<f32>;' : ''}
${PRM(Bf ? 3 : 2)}
${MAIN_HEAD}
  if (i >= prm[0]) { return; }
  var d = g[i] + ${wd} * p[i];
${momentum}
  p[i] = p[i] - ${lr} * d;
}`;
  if (P.length) dispatch(code, Bf ? [P, G, Bf] : [P, G], prm.array(), grid(Math.ceil(P.length / WG)));
  return true;
}

export function adamStep(p: TypedArray, g: TypedArray, m: TypedArray, v: TypedArray, o: AdamParams): true | undefined {
  const P = p as unknown as GpuArray,
    G = g as unknown as GpuArray,
    Mb = m as unknown as GpuArray,
    Vb = v as unknown as GpuArray;
  if (!f32s(P, G, Mb, Vb)) return undefined;
  const prm = new Params([P.length]);
  const stepSize = prm.scalar(o.lr / (1 - o.beta1 ** o.step)),
    bc2 = prm.scalar(Math.sqrt(1 - o.beta2 ** o.step)),
    decay = prm.scalar(o.decoupled ? 1 - o.lr * o.weightDecay : 1),
    wd = prm.scalar(o.decoupled ? 0 : o.weightDecay),
    b1 = prm.scalar(o.beta1),
    b2 = prm.scalar(o.beta2),
    eps = prm.scalar(o.eps);
  const code = `@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
${PRM(4)}
${MAIN_HEAD}
  if (i >= prm[0]) { return; }
  let pi = p[i] * ${decay};
  let gi = g[i] + ${wd} * pi;
  let mi = ${b1} * m[i] + (1.0 - ${b1}) * gi;
  let vi = ${b2} * v[i] + (1.0 - ${b2}) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = pi - ${stepSize} * (mi / (sqrt(vi) / ${bc2} + ${eps}));
}`;
  if (P.length) dispatch(code, [P, G, Mb, Vb], prm.array(), grid(Math.ceil(P.length / WG)));
  return true;
}
