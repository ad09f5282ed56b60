// Keras fit under a distribution (keras.distribution.DataParallel and set_distribution in Keras 3; the
// role of tf.distribute's MultiWorkerMirroredStrategy): every rank holds the model, fit's batchSize is
// the global batch, and each rank trains on its own rows of every batch. At the start of fit rank 0's
// weights and random state are broadcast (so all ranks shuffle alike); after each backward the
// gradients are combined as the gradient of the mean loss over the whole global batch, so N ranks
// follow the same trajectory as one process with the same batchSize. The logged loss is the global
// batch's; metrics are computed on each rank's own rows. Progress prints on rank 0 only.

import { allReduceCoalesced, broadcastCoalesced } from '../distributed/coalesced.js';
import { allReduce } from '../distributed/collectives.js';
import { getRank, getWorldSize, isInitialized } from '../distributed/process_group.js';
import { fromTypedArray, zerosLike } from '../tensor/creation.js';
import { getRngState, setRngState } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

/** Data parallelism over nb.distributed's world (initProcessGroup first). */
export class DataParallel {
  readonly kind = 'DataParallel';
  constructor() {
    if (!isInitialized())
      throw new Error('keras.distribution.DataParallel: initialize nb.distributed first (initProcessGroup)');
  }
  get rank(): number {
    return getRank();
  }
  get worldSize(): number {
    return getWorldSize();
  }
}

let current: DataParallel | null = null;

/** Makes fit train data-parallel under `dist` (null turns it off), as keras.distribution.set_distribution. */
export function setDistribution(dist: DataParallel | null): void {
  current = dist;
}

/** The distribution fit uses, or null. */
export function distribution(): DataParallel | null {
  return current;
}

/** @internal At the start of fit: rank 0's weights and random state everywhere. */
export function startDistributedFit(params: Tensor[]): void {
  broadcastCoalesced(params, 0);
  const rng = getRngState().clone();
  broadcastCoalesced([rng], 0);
  setRngState(rng);
}

/** @internal Rank r's rows [lo, hi) of a global batch of n rows: as even a split as can be. */
export function shardRange(n: number): [number, number] {
  const r = getRank(),
    w = getWorldSize();
  return [Math.floor((r * n) / w), Math.floor(((r + 1) * n) / w)];
}

/**
 * @internal The global batch's mean loss from this rank's mean over `local` of `total` rows, and the
 * gradients made the gradient of that mean (each rank's weighted by its share of the rows).
 */
export function globalLoss(localMean: number, local: number, total: number): number {
  const t = fromTypedArray(new Float64Array([local ? (localMean * local) / total : 0]));
  allReduce(t, { op: 'sum' });
  return t.item();
}

/** @internal See globalLoss; parameters without a gradient on this rank contribute zeros. */
export function syncGradients(params: Tensor[], local: number, total: number): void {
  const scale = local / total;
  const grads = params.map((p) => {
    if (p.grad === null || local === 0) p.grad = zerosLike(p);
    else if (scale !== 1) p.grad = p.grad.mul(scale);
    return p.grad;
  });
  allReduceCoalesced(grads, 'sum');
}
