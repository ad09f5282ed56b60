// nb.linalg: norms, det, inv, solve and cholesky (torch.linalg semantics) for float32 and float64.
// A (*, n, n) is a batch of square matrices. The factorizations are small JS loops in float64 (LU with
// partial pivoting, Cholesky-Banachiewicz, one-sided Jacobi SVD for the 'nuc' / 2 / -2 matrix norms),
// then cast to the input dtype; the backward formulas are torch's, written with differentiable ops (so
// double backward works; the SVD norms' gradient U V^T is first order only):
//   det:      gA = g * det(A) * A^-T
//   inv:      gA = -X^T g X^T                     (X = A^-1)
//   solve:    gB = solve(A^T, g), gA = -gB X^T   (X = A^-1 B)
//   cholesky: gA = sym(L^-T Phi(L^T g) L^-1)      (Phi: lower triangle, halved diagonal)

import { isGradEnabled } from '../autograd/grad_mode.js';
import { eye } from '../tensor/creation.js';
import { type DType, isFloating } from '../tensor/dtype.js';
import { broadcastShapes, fmtShape } from '../tensor/layout.js';
import { Tensor } from '../tensor/tensor.js';
import { matmul } from './matmul.js';
import * as R from './reduce.js';
import { record, sumTo, wrap } from './util.js';

function checkSquare(A: Tensor, op: string): number {
  if (!(A instanceof Tensor)) throw new Error(`${op}: expected a Tensor, got ${typeof A}`);
  if (!isFloating(A.dtype)) {
    throw new Error(`${op}: Expected a floating point tensor as input. Got ${A.dtype} of shape ${fmtShape(A.shape)}`);
  }
  if (A.ndim < 2) {
    throw new Error(`${op}: The input tensor A must have at least 2 dimensions, got shape ${fmtShape(A.shape)}`);
  }
  const n = A.shape[A.ndim - 1];
  if (A.shape[A.ndim - 2] !== n) {
    throw new Error(
      `${op}: A must be batches of square matrices, but they are ${A.shape[A.ndim - 2]} by ${n} matrices`,
    );
  }
  return n;
}

/** The values of x in float64, contiguous. */
function f64(x: Tensor): Float64Array {
  const v = x.detach().toTypedArray();
  return v instanceof Float64Array ? v : Float64Array.from(v as ArrayLike<number>);
}

function cast(data: Float64Array, shape: readonly number[], dtype: DType): Tensor {
  const t = wrap(data, [...shape], 'float64');
  return dtype === 'float64' ? t : t.to(dtype);
}

interface LU {
  lu: Float64Array;
  perm: Int32Array;
  sign: number;
  zeroPivot: number;
}

/** In-place LU with partial pivoting of the n x n matrix at a[off..]: P A = L U. zeroPivot is 1-based, 0 if none. */
function luFactor(a: Float64Array, n: number): LU {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  let sign = 1,
    zeroPivot = 0;
  for (let k = 0; k < n; k++) {
    let p = k,
      best = Math.abs(a[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(a[i * n + k]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = a[k * n + j];
        a[k * n + j] = a[p * n + j];
        a[p * n + j] = t;
      }
      const t = perm[k];
      perm[k] = perm[p];
      perm[p] = t;
      sign = -sign;
    }
    const piv = a[k * n + k];
    if (piv === 0) {
      if (zeroPivot === 0) zeroPivot = k + 1;
      continue;
    }
    for (let i = k + 1; i < n; i++) {
      a[i * n + k] /= piv;
      const f = a[i * n + k];
      if (f !== 0) for (let j = k + 1; j < n; j++) a[i * n + j] -= f * a[k * n + j];
    }
  }
  return { lu: a, perm, sign, zeroPivot };
}

/** Solves (L U) x = P b for the m right-hand sides b (n, m) row-major, into out (n, m). */
function luSolve(f: LU, n: number, b: Float64Array, m: number, out: Float64Array): void {
  const { lu, perm } = f;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = b[perm[i] * m + j];
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) {
      const l = lu[i * n + k];
      if (l !== 0) for (let j = 0; j < m; j++) out[i * m + j] -= l * out[k * m + j];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) {
      const u = lu[i * n + k];
      if (u !== 0) for (let j = 0; j < m; j++) out[i * m + j] -= u * out[k * m + j];
    }
    const d = lu[i * n + i];
    for (let j = 0; j < m; j++) out[i * m + j] /= d;
  }
}

/**
 * Determinant of each square matrix: (*, n, n) -> (*), as torch.linalg.det.
 * NOTE: the gradient uses A^-1, so backward through an exactly singular matrix raises (torch switches
 * to an SVD formula there).
 */
export function det(A: Tensor): Tensor {
  const n = checkSquare(A, 'linalg.det');
  const batch = A.shape.slice(0, -2);
  const v = f64(A);
  const out = new Float64Array(batch.reduce((p, q) => p * q, 1));
  for (let b = 0; b < out.length && n > 0; b++) {
    const f = luFactor(v.subarray(b * n * n, (b + 1) * n * n), n);
    let d = f.sign;
    for (let i = 0; i < n; i++) d *= f.lu[i * n + i];
    out[b] = d;
  }
  if (n === 0) out.fill(1);
  const res = cast(out, batch, A.dtype);
  return record(
    res,
    'LinalgDetBackward',
    [A],
    (g) => {
      const s = g.mul(res).unsqueeze(-1).unsqueeze(-1);
      let Ai: Tensor;
      try {
        Ai = inv(A);
      } catch (e) {
        throw new Error(
          'linalg.det: the gradient at an exactly singular matrix is not supported yet (nabla forms it as ' +
            `det(A) * A^-T; torch uses an SVD there): ${(e as Error).message}`,
          { cause: e },
        );
      }
      return [s.mul(Ai.mT)];
    },
    [A, res],
  );
}

/** Inverse of each square matrix: (*, n, n) -> (*, n, n), as torch.linalg.inv; a singular matrix raises. */
export function inv(A: Tensor): Tensor {
  const n = checkSquare(A, 'linalg.inv');
  const v = f64(A),
    count = n === 0 ? 0 : v.length / (n * n);
  const out = new Float64Array(v.length);
  const I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  for (let b = 0; b < count; b++) {
    const f = luFactor(v.subarray(b * n * n, (b + 1) * n * n), n);
    if (f.zeroPivot) {
      throw new Error(
        `linalg.inv: ${count > 1 ? `(Batch element ${b}): ` : ''}The diagonal element ${f.zeroPivot} is zero, ` +
          'the inversion could not be completed because the input matrix is singular.',
      );
    }
    luSolve(f, n, I, n, out.subarray(b * n * n, (b + 1) * n * n));
  }
  const X = cast(out, A.shape, A.dtype);
  return record(X, 'LinalgInvBackward', [A], (g) => [matmul(matmul(X.mT, g), X.mT).neg()], [X]);
}

export interface SolveOptions {
  left?: boolean;
}

/**
 * The solution X of A X = B (or X A = B with left: false), as torch.linalg.solve. A (*, n, n);
 * B (*, n, k), or (*, n) as a batch of vectors when B is 1-D or its shape is A's without the last dim.
 * Batch dims broadcast. A singular A raises.
 */
export function solve(A: Tensor, B: Tensor, opts: SolveOptions = {}): Tensor {
  if (opts.left === false) return solve(A.mT, B.mT).mT;
  const n = checkSquare(A, 'linalg.solve');
  if (!(B instanceof Tensor)) throw new Error(`linalg.solve: expected B to be a Tensor, got ${typeof B}`);
  if (B.dtype !== A.dtype) {
    throw new Error(
      `linalg.solve: Expected A and B to have the same dtype, but found A of type ${A.dtype} and B of type ` +
        `${B.dtype} instead`,
    );
  }
  const vectorCase = B.ndim === 1 || (B.ndim === A.ndim - 1 && B.shape.every((s, i) => s === A.shape[i]));
  const Bm = vectorCase ? B.unsqueeze(-1) : B;
  if (Bm.ndim < 2 || Bm.shape[Bm.ndim - 2] !== n) {
    throw new Error(
      `linalg.solve: Incompatible shapes of A and B for the equation AX = B ` +
        `(${fmtShape(A.shape)} and ${fmtShape(B.shape)})`,
    );
  }
  const k = Bm.shape[Bm.ndim - 1];
  let batch: number[];
  try {
    batch = broadcastShapes(A.shape.slice(0, -2), Bm.shape.slice(0, -2));
  } catch {
    throw new Error(
      `linalg.solve: the batch dims of A ${fmtShape(A.shape)} and B ${fmtShape(B.shape)} do not broadcast`,
    );
  }
  const a = f64(A.expand([...batch, n, n])),
    b = f64(Bm.expand([...batch, n, k]));
  const count = batch.reduce((p, q) => p * q, 1);
  const out = new Float64Array(count * n * k);
  for (let i = 0; i < count && n > 0; i++) {
    const f = luFactor(a.subarray(i * n * n, (i + 1) * n * n), n);
    if (f.zeroPivot) throw new Error('linalg.solve: The solver failed because the input matrix is singular.');
    luSolve(f, n, b.subarray(i * n * k, (i + 1) * n * k), k, out.subarray(i * n * k, (i + 1) * n * k));
  }
  const Xm = cast(out, [...batch, n, k], A.dtype);
  const X = vectorCase ? Xm.squeeze(-1) : Xm;
  return record(
    X,
    'LinalgSolveBackward',
    [A, B],
    (g) => {
      const gm = vectorCase ? g.unsqueeze(-1) : g;
      const xm = vectorCase ? X.unsqueeze(-1) : X;
      const gB = solve(A.mT, gm);
      const gA = matmul(gB, xm.mT).neg();
      return [sumTo(gA, A.shape), sumTo(vectorCase ? gB.squeeze(-1) : gB, B.shape)];
    },
    [A, X],
  );
}

/**
 * The lower-triangular L with A = L L^T for each symmetric positive-definite matrix, as
 * torch.linalg.cholesky (only A's lower triangle is read). A matrix that is not positive-definite raises.
 */
export function cholesky(A: Tensor): Tensor {
  const n = checkSquare(A, 'linalg.cholesky');
  const a = f64(A),
    count = n === 0 ? 0 : a.length / (n * n);
  const L = new Float64Array(a.length);
  for (let b = 0; b < count; b++) {
    const o = b * n * n;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = a[o + i * n + j];
        for (let k = 0; k < j; k++) s -= L[o + i * n + k] * L[o + j * n + k];
        if (i === j) {
          if (!(s > 0)) {
            throw new Error(
              `linalg.cholesky: ${count > 1 ? `(Batch element ${b}): ` : ''}The factorization could not be ` +
                `completed because the input is not positive-definite ` +
                `(the leading minor of order ${i + 1} is not positive-definite).`,
            );
          }
          L[o + i * n + i] = Math.sqrt(s);
        } else {
          L[o + i * n + j] = s / L[o + j * n + j];
        }
      }
    }
  }
  const Lt = cast(L, A.shape, A.dtype);
  return record(
    Lt,
    'LinalgCholeskyBackward',
    [A],
    (g) => {
      const m = matmul(Lt.mT, g);
      const phi = m.tril().sub(m.mul(eye(n, n, { dtype: m.dtype })).mul(0.5));
      const Li = inv(Lt);
      const gA = matmul(matmul(Li.mT, phi), Li);
      return [gA.add(gA.mT).mul(0.5)];
    },
    [Lt],
  );
}

/** Vector norm over dims (all of x by default), as torch.linalg.vector_norm: ord 2, 1, inf, -inf, 0 or any p. */
export function vectorNorm(x: Tensor, ord = 2, dim?: number | number[] | null, keepdim = false): Tensor {
  if (!(x instanceof Tensor)) throw new Error(`linalg.vector_norm: expected a Tensor, got ${typeof x}`);
  if (!isFloating(x.dtype)) {
    throw new Error(
      `linalg.vector_norm: Expected a floating point tensor as input. Got ${x.dtype} of shape ${fmtShape(x.shape)}`,
    );
  }
  return R.norm(x, ord, dim ?? undefined, keepdim);
}

export type MatrixOrd = 'fro' | 'nuc' | number;

/**
 * Matrix norm over two dims (the last two by default), as torch.linalg.matrix_norm: 'fro', 'nuc' (sum
 * of singular values), 2 / -2 (largest / smallest singular value), and the induced norms 1, -1
 * (max/min column sum) and inf, -inf (max/min row sum).
 */
export function matrixNorm(
  A: Tensor,
  ord: MatrixOrd = 'fro',
  dim: [number, number] = [-2, -1],
  keepdim = false,
): Tensor {
  if (!(A instanceof Tensor)) throw new Error(`linalg.matrix_norm: expected a Tensor, got ${typeof A}`);
  if (!isFloating(A.dtype)) {
    throw new Error(
      `linalg.matrix_norm: Expected a floating point tensor as input. Got ${A.dtype} of shape ${fmtShape(A.shape)}`,
    );
  }
  if (A.ndim < 2)
    throw new Error(
      `linalg.matrix_norm: The input tensor A must have at least 2 dimensions, got shape ${fmtShape(A.shape)}`,
    );
  if (!Array.isArray(dim) || dim.length !== 2)
    throw new Error(`linalg.matrix_norm: dim must be a 2-tuple. Got ${String(dim)}`);
  const d0 = dim[0] < 0 ? dim[0] + A.ndim : dim[0],
    d1 = dim[1] < 0 ? dim[1] + A.ndim : dim[1];
  if (d0 === d1 || d0 < 0 || d1 < 0 || d0 >= A.ndim || d1 >= A.ndim) {
    throw new Error(
      `linalg.matrix_norm: dims must be different and within range, ` +
        `got [${dim.join(', ')}] for shape ${fmtShape(A.shape)}`,
    );
  }
  if (ord === 'fro') return R.norm(A, 2, [d0, d1], keepdim);
  if (ord === 'nuc' || ord === 2 || ord === -2) return spectralNorm(A, ord, d0, d1, keepdim);
  if (ord !== 1 && ord !== -1 && ord !== Infinity && ord !== -Infinity) {
    throw new Error(`linalg.matrix_norm: Order ${ord} not supported.`);
  }
  // 1 / -1: sum over rows (d0), then max/min over columns (d1); inf / -inf: the other way round
  const [sumDim, redDim] = Math.abs(ord) === 1 ? [d0, d1] : [d1, d0];
  const s = A.abs().sum(sumDim, true);
  const r = ord > 0 ? R.amax(s, redDim, true) : R.amin(s, redDim, true);
  return keepdim ? r : r.squeeze([d0, d1]);
}

/**
 * One-sided Jacobi (Hestenes) SVD of the m x n row-major matrix a, m >= n: the singular values s (n,
 * unsorted), U (m, n) with unit columns (zero where s is 0) and V (n, n). Sweeps until every column
 * pair is orthogonal to 1e-15 (relative).
 */
function jacobiSvd(a: Float64Array, m: number, n: number): { s: Float64Array; u: Float64Array; v: Float64Array } {
  const u = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const rotate = (x: Float64Array, rows: number, p: number, q: number, c: number, sn: number) => {
    for (let i = 0; i < rows; i++) {
      const xp = x[i * n + p],
        xq = x[i * n + q];
      x[i * n + p] = c * xp - sn * xq;
      x[i * n + q] = sn * xp + c * xq;
    }
  };
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0,
          beta = 0,
          gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = u[i * n + p],
            y = u[i * n + q];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        rotate(u, m, p, q, c, c * t);
        rotate(v, n, p, q, c, c * t);
      }
    }
    if (!rotated) break;
  }
  const sv = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let ss = 0;
    for (let i = 0; i < m; i++) ss += u[i * n + j] * u[i * n + j];
    sv[j] = Math.sqrt(ss);
    for (let i = 0; i < m; i++) u[i * n + j] = sv[j] > 0 ? u[i * n + j] / sv[j] : 0;
  }
  return { s: sv, u, v };
}

/**
 * 'nuc' (sum of singular values), 2 (largest) or -2 (smallest) over dims d0, d1, with the gradient
 * U_r V_r^T (over the nonzero singular values), u_1 v_1^T or u_k v_k^T. NOTE: the singular vectors are
 * constants of the backward, so double backward raises instead of missing their derivative.
 */
function spectralNorm(A: Tensor, ord: 'nuc' | 2 | -2, d0: number, d1: number, keepdim: boolean): Tensor {
  const others = [...A.shape.keys()].filter((k) => k !== d0 && k !== d1);
  const M = A.permute([...others, d0, d1]); // (*, m, n)
  const m = A.shape[d0],
    n = A.shape[d1],
    k = Math.min(m, n);
  if (k === 0 && ord !== 'nuc') {
    throw new Error(`linalg.matrix_norm: ord=${ord} of an empty matrix (shape ${fmtShape(A.shape)}) is not defined`);
  }
  const v = f64(M),
    count = others.reduce((p, q) => p * A.shape[q], 1);
  const out = new Float64Array(count);
  const W = new Float64Array(count * m * n); // d norm / d matrix, (*, m, n)
  const wide = m < n; // factor A^T when A is wide, so the Jacobi matrix is tall
  for (let b = 0; b < count; b++) {
    const a = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) a[wide ? j * m + i : i * n + j] = v[b * m * n + i * n + j];
    }
    const { s, u, v: vv } = jacobiSvd(a, wide ? n : m, k);
    // U (m, k) and V (n, k) of A itself
    const U = wide ? vv : u,
      V = wide ? u : vv;
    const pick = (j: number) => {
      for (let i = 0; i < m; i++) for (let l = 0; l < n; l++) W[b * m * n + i * n + l] += U[i * k + j] * V[l * k + j];
    };
    let best = 0;
    for (let j = 1; j < k; j++) if (ord === -2 ? s[j] < s[best] : s[j] > s[best]) best = j;
    if (ord === 'nuc') {
      for (let j = 0; j < k; j++) {
        out[b] += s[j];
        if (s[j] > 0) pick(j);
      }
    } else {
      out[b] = s[best];
      pick(best);
    }
  }
  const batch = others.map((q) => A.shape[q]);
  let res = cast(out, batch, A.dtype);
  const grad = cast(W, [...batch, m, n], A.dtype);
  const back = [...A.shape.keys()].map((q) =>
    q === d0 ? others.length : q === d1 ? others.length + 1 : others.indexOf(q),
  );
  res = record(res, 'LinalgMatrixNormBackward', [A], (g) => {
    const gA = g.unsqueeze(-1).unsqueeze(-1).mul(grad).permute(back);
    if (!isGradEnabled()) return [gA];
    // createGraph: gA is exact in g, but its derivative in A (through the singular vectors) is not
    // formed; a zero term whose backward raises keeps double backward from silently dropping it.
    const guard = record(
      wrap(new Float64Array(gA.numel()), [...gA.shape], 'float64').to(gA.dtype),
      'LinalgMatrixNormBackwardBackward',
      [A],
      () => {
        throw new Error(
          `linalg.matrix_norm: double backward of ord=${ord} is not supported (the singular vectors are constants)`,
        );
      },
    );
    return [gA.add(guard)];
  });
  if (!keepdim) return res;
  const [lo, hi] = d0 < d1 ? [d0, d1] : [d1, d0];
  return res.unsqueeze(lo).unsqueeze(hi);
}

/**
 * torch.linalg.norm: with a string ord or two dims a matrix norm; with one dim a vector norm; with
 * neither dim nor ord the 2-norm of the flattened x; with ord but no dim, x must be 1-D or 2-D.
 */
export function norm(x: Tensor, ord?: MatrixOrd | null, dim?: number | number[] | null, keepdim = false): Tensor {
  if (!(x instanceof Tensor)) throw new Error(`linalg.norm: expected a Tensor, got ${typeof x}`);
  const dims = dim === undefined || dim === null ? null : typeof dim === 'number' ? [dim] : dim;
  if (dims !== null && dims.length === 2) return matrixNorm(x, ord ?? 'fro', [dims[0], dims[1]], keepdim);
  if (dims !== null && dims.length !== 1)
    throw new Error(`linalg.norm: If dim is specified, it must be of length 1 or 2. Got [${dims.join(', ')}]`);
  if (dims === null && ord !== undefined && ord !== null) {
    if (x.ndim === 2) return matrixNorm(x, ord, [-2, -1], keepdim);
    if (x.ndim !== 1) {
      throw new Error(
        `linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. ` +
          `Got ${x.ndim}D (shape ${fmtShape(x.shape)})`,
      );
    }
  }
  if (typeof ord === 'string')
    throw new Error(`linalg.norm: ord='${ord}' is a matrix norm but the norm is over one dim`);
  return vectorNorm(x, ord ?? 2, dims, keepdim);
}
