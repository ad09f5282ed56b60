// Random draws from given probabilities: multinomial and bernoulli, on nabla's seeded Generator.
// NOTE: the same seed gives the same draws in nabla, but not PyTorch's draws: its Philox/MT streams
// and sampling kernels are not reproduced, only the distributions.

import { allocate, isFloating } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/layout.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { wrap } from './util.js';

export interface MultinomialOptions {
  replacement?: boolean;
  generator?: Generator;
}

/**
 * numSamples category indices per row of probs (1-D (C) or 2-D (N, C); non-negative weights that need
 * not sum to 1), as torch.multinomial -> int32 (numSamples) or (N, numSamples). Without replacement a
 * category is drawn at most once per row (the exponential-race trick torch's CPU kernel uses too).
 * Same seed, same draws (in nabla; torch's own random stream is not reproduced).
 *   nb.multinomial(nb.tensor([0.2, 0.8]), 4, { replacement: true, generator: new nb.Generator(0) })
 */
export function multinomial(probs: Tensor, numSamples: number, opts: MultinomialOptions = {}): Tensor {
  const { replacement = false } = opts;
  const gen = opts.generator ?? defaultGenerator();
  if (!(probs instanceof Tensor))
    throw new Error(`multinomial: expected a Tensor of probabilities, got ${typeof probs}`);
  if (!isFloating(probs.dtype))
    throw new Error(`multinomial only supports floating-point dtypes for input, got: ${probs.dtype}`);
  if (probs.ndim !== 1 && probs.ndim !== 2) {
    throw new Error(`multinomial: prob_dist must be 1 or 2 dim, got shape ${fmtShape(probs.shape)}`);
  }
  if (!Number.isInteger(numSamples) || numSamples <= 0) {
    throw new Error(`multinomial: cannot sample n_sample <= 0 samples (got numSamples ${numSamples})`);
  }
  const rows = probs.ndim === 2 ? probs.shape[0] : 1,
    C = probs.shape[probs.ndim - 1];
  if (C === 0) throw new Error(`multinomial: number of categories cannot be zero (shape ${fmtShape(probs.shape)})`);
  if (!replacement && numSamples > C) {
    throw new Error(
      `multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement ` +
        `(numSamples ${numSamples}, ${C} categories)`,
    );
  }
  const p = probs.detach().toTypedArray();
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < C; c++) {
      const v = p[r * C + c];
      if (!(v >= 0) || v === Infinity) {
        throw new Error(
          `multinomial: probability tensor contains either \`inf\`, \`nan\` or element < 0 (row ${r}: ${v})`,
        );
      }
      s += v;
    }
    if (!(s > 0))
      throw new Error(`multinomial: invalid multinomial distribution (sum of probabilities <= 0) in row ${r}`);
  }
  const out = new Int32Array(rows * numSamples);
  const cum = new Float64Array(C);
  for (let r = 0; r < rows; r++) {
    const row = p.subarray(r * C, (r + 1) * C);
    if (replacement) {
      let s = 0;
      for (let c = 0; c < C; c++) {
        s += row[c];
        cum[c] = s;
      }
      for (let k = 0; k < numSamples; k++) {
        const u = gen.random() * s;
        // the first category whose running sum exceeds u (zero-weight categories are never chosen)
        let lo = 0,
          hi = C - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cum[mid] > u) hi = mid;
          else lo = mid + 1;
        }
        while (lo > 0 && row[lo] === 0) lo--;
        out[r * numSamples + k] = lo;
      }
    } else {
      // keys p_c / E_c with E_c ~ Exp(1): the top numSamples keys are a draw without replacement
      const keys = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        let u = gen.random();
        while (u === 0) u = gen.random();
        keys[c] = row[c] / -Math.log(u);
      }
      const order = Array.from({ length: C }, (_, c) => c).sort((a, b) => keys[b] - keys[a] || a - b);
      for (let k = 0; k < numSamples; k++) out[r * numSamples + k] = order[k];
    }
  }
  return wrap(out, probs.ndim === 2 ? [rows, numSamples] : [numSamples], 'int32');
}

export interface BernoulliOptions {
  p?: number;
  generator?: Generator;
}

/**
 * 0/1 draws with probability p per element, as torch.bernoulli: p is the input tensor itself, or the
 * scalar opts.p (then the input only gives the shape and dtype). The result has the input's shape and
 * dtype and no gradient. Same seed, same draws (in nabla; not torch's stream).
 *   nb.bernoulli(nb.full([2, 3], 0.5), { generator: new nb.Generator(1) })
 */
export function bernoulli(input: Tensor, opts: BernoulliOptions = {}): Tensor {
  const gen = opts.generator ?? defaultGenerator();
  if (!(input instanceof Tensor)) throw new Error(`bernoulli: expected a Tensor, got ${typeof input}`);
  if (!isFloating(input.dtype)) throw new Error(`bernoulli: expected a floating point tensor, got ${input.dtype}`);
  const n = input.numel();
  const d = allocate(input.dtype, n);
  if (opts.p !== undefined) {
    const p = opts.p;
    if (!(p >= 0 && p <= 1)) throw new Error(`bernoulli: expects p to be in [0, 1], but got p=${p}`);
    for (let i = 0; i < n; i++) d[i] = gen.random() < p ? 1 : 0;
  } else {
    const p = input.detach().toTypedArray();
    for (let i = 0; i < n; i++) {
      if (!(p[i] >= 0 && p[i] <= 1)) {
        throw new Error(
          `bernoulli: expected all probabilities to be in [0, 1], but input contains ${p[i]} ` +
            `(shape ${fmtShape(input.shape)})`,
        );
      }
      d[i] = gen.random() < p[i] ? 1 : 0;
    }
  }
  return wrap(d, [...input.shape], input.dtype);
}
