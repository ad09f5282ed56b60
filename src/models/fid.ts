// Fréchet distance between two sets of images' features (Heusel et al. 2017), on the penultimate
// features of a small Fashion-MNIST classifier that nabla trains (FIDClassifier). It is NOT the
// Inception FID of the literature: its numbers compare models on this data under this classifier only.
//   d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr sqrtm(S1 S2)
// tr sqrtm(S1 S2) = tr sqrtm(S1^1/2 S2 S1^1/2): the latter is symmetric PSD, so both square roots come
// from a symmetric eigendecomposition (cyclic Jacobi, float64), with tiny negative eigenvalues clipped.
// Glossary: N images, D features, B batch.

import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/grad_mode.js';
import { cat } from '../ops/movement.js';
import { Module } from '../nn/module.js';
import { Conv2d } from '../nn/conv.js';
import { Linear } from '../nn/linear.js';
import { ReLU } from '../nn/activations.js';
import { MaxPool2d } from '../nn/pooling.js';
import { Flatten } from '../nn/shape.js';
import { Sequential } from '../nn/containers.js';
import { crossEntropy } from '../nn/functional/losses.js';
import { Adam } from '../optim/adam.js';
import type { Dataset } from '../data/dataset.js';
import { DataLoader } from '../data/dataloader.js';
import { Generator } from '../tensor/random.js';
import type { TrainImagesOptions } from './vae.js';

/** Eigenvalues (n) and eigenvectors (columns of an n x n row-major matrix) of a symmetric matrix. */
export function symmetricEig(a: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== n * n) throw new Error(`symmetricEig: expected ${n}x${n} = ${n * n} values, got ${a.length}`);
  const A = Float64Array.from(a);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (Math.abs(A[i * n + j] - A[j * n + i]) > 1e-8 * (Math.abs(A[i * n + j]) + Math.abs(A[j * n + i]) + 1e-300))
        throw new Error(`symmetricEig: the matrix is not symmetric at (${i}, ${j})`);
    }
  }
  let scale = 0;
  for (let k = 0; k < n * n; k++) scale = Math.max(scale, Math.abs(A[k]));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q] ** 2;
    if (off <= (1e-15 * scale) ** 2 * n * n || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (apq === 0) continue;
        // NOTE: the rotation that zeroes A[p][q] (Golub & Van Loan 8.5.2), the smaller angle for stability.
        const theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1),
          s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p],
            akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k],
            aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p],
            vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = A[i * n + i];
  return { values, vectors: V };
}

/** The PSD square root of a symmetric positive semi-definite n x n matrix (eigenvalues below 0 clipped). */
export function sqrtmPsd(a: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors: V } = symmetricEig(a, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vi = V[i * n + k] * s;
      for (let j = 0; j < n; j++) out[i * n + j] += vi * V[j * n + k];
    }
  }
  return out;
}

function matmulSq(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik !== 0) for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  return out;
}

export interface FeatureStats {
  /** mu (D), sigma (D x D, row-major), the unbiased covariance as numpy.cov(rowvar=False). */
  mu: Float64Array;
  sigma: Float64Array;
  n: number;
  d: number;
}

/** Mean and covariance of features (N, D), N >= 2, in float64. */
export function featureStats(features: Tensor): FeatureStats {
  if (features.ndim !== 2 || features.shape[0] < 2)
    throw new Error(`featureStats: expected features (N, D) with N >= 2, got [${features.shape}]`);
  const [N, D] = features.shape;
  const x = Float64Array.from(features.contiguous().toTypedArray() as ArrayLike<number>);
  const mu = new Float64Array(D);
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) mu[j] += x[i * D + j] / N;
  const sigma = new Float64Array(D * D);
  const row = new Float64Array(D);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < D; j++) row[j] = x[i * D + j] - mu[j];
    for (let j = 0; j < D; j++) {
      const r = row[j];
      if (r !== 0) for (let k = j; k < D; k++) sigma[j * D + k] += r * row[k];
    }
  }
  for (let j = 0; j < D; j++)
    for (let k = j; k < D; k++) {
      sigma[j * D + k] /= N - 1;
      sigma[k * D + j] = sigma[j * D + k];
    }
  return { mu, sigma, n: N, d: D };
}

/** The squared Fréchet distance between two Gaussians given by featureStats. */
export function frechetDistance(a: FeatureStats, b: FeatureStats): number {
  if (a.d !== b.d) throw new Error(`frechetDistance: feature sizes differ (${a.d} and ${b.d})`);
  const D = a.d;
  let d2 = 0,
    tr = 0;
  for (let j = 0; j < D; j++) {
    d2 += (a.mu[j] - b.mu[j]) ** 2;
    tr += a.sigma[j * D + j] + b.sigma[j * D + j];
  }
  const r = sqrtmPsd(a.sigma, D);
  const m = matmulSq(matmulSq(r, b.sigma, D), r, D);
  // NOTE: symmetrise away the rounding so that the eigensolver sees a symmetric matrix.
  for (let i = 0; i < D; i++)
    for (let j = 0; j < i; j++) m[i * D + j] = m[j * D + i] = (m[i * D + j] + m[j * D + i]) / 2;
  const { values } = symmetricEig(m, D);
  let trSqrt = 0;
  for (const v of values) trSqrt += Math.sqrt(Math.max(v, 0));
  return d2 + tr - 2 * trSqrt;
}

/**
 * A small CNN for 1-channel images whose penultimate layer (D = features, after ReLU) gives the FID's
 * features: conv 3x3 (16) - pool - conv 3x3 (32) - pool - linear (D) - ReLU - linear (classes).
 */
export class FIDClassifier extends Module {
  declare body: Sequential;
  declare head: Linear;
  constructor(
    readonly imageSize = 28,
    readonly featureDim = 64,
    readonly numClasses = 10,
  ) {
    super();
    if (!Number.isInteger(imageSize) || imageSize < 4 || imageSize % 4 !== 0)
      throw new Error(`FIDClassifier: imageSize must be a positive multiple of 4, got ${imageSize}`);
    const s = imageSize / 4;
    this.body = new Sequential(
      new Conv2d(1, 16, 3, { padding: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d(16, 32, 3, { padding: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(32 * s * s, featureDim),
      new ReLU(),
    );
    this.head = new Linear(featureDim, numClasses);
  }
  /** x (B, 1, H, W) in [0, 1] -> features (B, D) */
  features(x: Tensor): Tensor {
    const S = this.imageSize;
    if (x.ndim !== 4 || x.shape[1] !== 1 || x.shape[2] !== S || x.shape[3] !== S)
      throw new Error(`FIDClassifier: expected images (B, 1, ${S}, ${S}), got [${x.shape}]`);
    return this.body.call(x) as Tensor;
  }
  /** x (B, 1, H, W) -> logits (B, classes) */
  forward(x: Tensor): Tensor {
    return this.head.call(this.features(x)) as Tensor;
  }
}

/** Trains the classifier with cross-entropy (Adam); returns per-epoch loss. */
export function trainFIDClassifier(model: FIDClassifier, data: Dataset<unknown>, opts: TrainImagesOptions = {}) {
  const loader = new DataLoader(data, {
    batchSize: opts.batchSize ?? 128,
    shuffle: true,
    generator: opts.generator ?? new Generator(opts.seed ?? 0),
  });
  const opt = new Adam(model.parameters(), { lr: opts.lr ?? 1e-3 });
  const history: Record<string, number[]> = { loss: [] };
  for (let epoch = 1; epoch <= (opts.epochs ?? 2); epoch++) {
    model.train();
    let sum = 0,
      step = 0;
    for (const batch of loader) {
      const [x, y] = batch as Tensor[];
      opt.zeroGrad();
      const loss = crossEntropy(model.call(x) as Tensor, y);
      loss.backward();
      opt.step();
      sum += loss.item();
      step++;
      opts.onStep?.(step, loader.length, { loss: loss.item() });
    }
    history.loss.push(sum / step);
    opts.onEpochEnd?.(epoch, { loss: sum / step });
  }
  model.eval();
  return history;
}

/** Features (N, D) of images (N, 1, H, W) in [0, 1], in batches without gradients. */
export function extractFeatures(model: FIDClassifier, images: Tensor, batchSize = 500): Tensor {
  model.eval();
  return noGrad(() => {
    const parts: Tensor[] = [];
    for (let s = 0; s < images.shape[0]; s += batchSize)
      parts.push(model.features(images.narrow(0, s, Math.min(batchSize, images.shape[0] - s))));
    return parts.length === 1 ? parts[0] : cat(parts, 0);
  });
}

/** FID of two image sets (N, 1, H, W) in [0, 1] on the classifier's features. */
export function fid(model: FIDClassifier, imagesA: Tensor, imagesB: Tensor): number {
  return frechetDistance(featureStats(extractFeatures(model, imagesA)), featureStats(extractFeatures(model, imagesB)));
}
