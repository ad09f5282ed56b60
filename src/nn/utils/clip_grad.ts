// Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_), in place on .grad.

import { Tensor } from '../../tensor/tensor.js';
import { noGrad } from '../../autograd/grad_mode.js';
import { stack } from '../../ops/movement.js';
import { tensor } from '../../tensor/creation.js';

function gradsOf(params: Iterable<Tensor> | Tensor, op: string): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new Error(`${op}: parameter ${i} is not a Tensor (${typeof p})`);
  });
  return list.filter((p) => p.grad !== null).map((p) => p.grad!);
}

export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite (default false: clip anyway, as PyTorch 1.13). */
  errorIfNonfinite?: boolean;
}

/**
 * Scales all gradients together so that their joint normType-norm is at most maxNorm; returns the
 * total norm before clipping, as a 0-dim tensor. normType may be Infinity.
 * @example const norm = nb.nn.utils.clipGradNorm_(model.parameters(), 1.0);
 */
export function clipGradNorm_(
  params: Iterable<Tensor> | Tensor,
  maxNorm: number,
  normType = 2,
  opts: ClipGradNormOptions = {},
): Tensor {
  const op = 'clipGradNorm_';
  if (!(typeof maxNorm === 'number') || Number.isNaN(maxNorm))
    throw new Error(`${op}: maxNorm must be a number, got ${String(maxNorm)}`);
  const grads = gradsOf(params, op);
  return noGrad(() => {
    if (grads.length === 0) return tensor(0);
    const norms = grads.map((g) => g.norm(normType).to(grads[0].dtype));
    const total =
      normType === Infinity ? (norms.length === 1 ? norms[0] : stack(norms).amax()) : stack(norms).norm(normType);
    const t = total.item();
    if (opts.errorIfNonfinite && !Number.isFinite(t)) {
      throw new Error(
        `${op}: the total norm of order ${normType} for gradients from \`parameters\` is non-finite, so it cannot ` +
          `be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set ` +
          `errorIfNonfinite: false`,
      );
    }
    const coef = Math.min(maxNorm / (t + 1e-6), 1);
    // NOTE: PyTorch 1.13 multiplies even when coef is 1, so NaN norms spread to every gradient.
    for (const g of grads) g.mul_(coef);
    return total;
  });
}

/** Clamps every gradient element into [-clipValue, clipValue], in place. */
export function clipGradValue_(params: Iterable<Tensor> | Tensor, clipValue: number): void {
  const grads = gradsOf(params, 'clipGradValue_');
  noGrad(() => {
    for (const g of grads) g.clamp_(-clipValue, clipValue);
  });
}
