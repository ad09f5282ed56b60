// Finite-difference gradient checks (torch.autograd.gradcheck / gradgradcheck). Inputs should be
// float64 leaves with requiresGrad; outputs are compared through random projections v, so one
// backward pass checks v^T J against central differences of v . f(x).

import { enableGrad, noGrad } from './grad_mode.js';
import { grad } from './grad.js';
import { offsets } from '../tensor/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Number of random output projections to check. */
  projections?: number;
  seed?: number;
  /** Throw on failure (default) or return false. */
  raiseException?: boolean;
}

/** The function gradcheck differentiates: tensors in, a tensor or tensors out. */
export type GradcheckFn = (...xs: Tensor[]) => Tensor | Tensor[];

function asList(r: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(r) ? r : [r];
}

/** sum_k <v_k, out_k> as a JS number (no graph). */
function project(outs: Tensor[], vs: Tensor[]): number {
  let s = 0;
  outs.forEach((o, k) => {
    const a = o.toTypedArray(),
      b = vs[k].toTypedArray();
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  });
  return s;
}

export function gradcheck(fn: GradcheckFn, inputs: Tensor[], opts: GradcheckOptions = {}): boolean {
  const eps = opts.eps ?? 1e-6,
    atol = opts.atol ?? 1e-5,
    rtol = opts.rtol ?? 1e-3;
  const gen = new Generator(opts.seed ?? 0);
  const diff = inputs.filter((x) => x.requiresGrad);
  if (diff.length === 0) throw new Error('gradcheck: at least one input must require grad');
  for (const x of diff) {
    if (x.dtype !== 'float64') {
      console.warn(
        `gradcheck: input of shape [${x.shape.join(', ')}] is ${x.dtype}, not float64; the check may be inaccurate`,
      );
    }
  }
  for (let p = 0; p < (opts.projections ?? 2); p++) {
    const outs = asList(fn(...inputs)).filter((o) => o.dtype === 'float64' || o.dtype === 'float32');
    const vs = outs.map((o) => gen.normal([...o.shape], 0, 1, o.dtype));
    const needs = outs.map((o) => o.requiresGrad);
    const analytic = needs.some(Boolean)
      ? grad(
          outs.filter((_, k) => needs[k]),
          diff,
          { gradOutputs: vs.filter((_, k) => needs[k]), allowUnused: true },
        )
      : diff.map(() => null);
    for (let j = 0; j < diff.length; j++) {
      const x = diff[j];
      const data = x.data;
      const pos = offsets(x.layout);
      const a = analytic[j] ? analytic[j]!.toTypedArray() : new Float64Array(pos.length);
      for (let i = 0; i < pos.length; i++) {
        const orig = data[pos[i]];
        data[pos[i]] = orig + eps;
        const fp = noGrad(() => project(asList(fn(...inputs)), vs));
        data[pos[i]] = orig - eps;
        const fm = noGrad(() => project(asList(fn(...inputs)), vs));
        data[pos[i]] = orig;
        const numeric = (fp - fm) / (2 * eps);
        if (!(Math.abs(numeric - a[i]) <= atol + rtol * Math.abs(numeric))) {
          const msg =
            `gradcheck: Jacobian mismatch for input ${inputs.indexOf(x)} (shape [${x.shape.join(', ')}]) at element ` +
            `${i}: ` +
            `numerical ${numeric}, analytical ${a[i]} (projection ${p})`;
          if (opts.raiseException === false) return false;
          throw new Error(msg);
        }
      }
    }
  }
  return true;
}

/** Checks second derivatives: gradcheck of x -> autograd.grad(fn(x), x, v, createGraph). */
export function gradgradcheck(fn: GradcheckFn, inputs: Tensor[], opts: GradcheckOptions = {}): boolean {
  const gen = new Generator((opts.seed ?? 0) + 1);
  const outs0 = asList(fn(...inputs));
  const vs = outs0.map((o) => gen.normal([...o.shape], 0, 1, o.dtype));
  const diff = inputs.filter((x) => x.requiresGrad);
  // NOTE: the numerical pass runs under noGrad; the first derivative still needs a graph.
  const first = (...xs: Tensor[]): Tensor[] =>
    enableGrad(() => {
      const outs = asList(fn(...xs));
      const gs = grad(
        outs,
        xs.filter((x) => x.requiresGrad),
        { gradOutputs: vs, createGraph: true, allowUnused: true },
      );
      return gs.map((g, i) => g ?? diff[i].mul(0));
    });
  return gradcheck(first, inputs, opts);
}
