// PyTorch goldens for the tensor API functions (test/golden/tensor_api.safetensors, written by
// tools/golden/tensor_api.py): einsum, roll, meshgrid, lerp, kthvalue, mode, isclose, unique and nb.linalg,
// forward and gradient (d sum(out0 * w) / d input), on every backend. The case names and the
// non-tensor arguments match the script's.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/assert.js';
import { backends, withBackend } from '../helpers/backends.js';
import { loadGolden } from '../helpers/golden.js';

const G = loadGolden('tensor_api');
type Fn = (...xs: any[]) => Tensor | Tensor[] | nb.ValuesIndices;
const L = nb.linalg;

const CASES: Record<string, Fn> = {
  einsum_matmul: (a, b) => nb.einsum('ij,jk->ik', a, b),
  einsum_bmm: (a, b) => nb.einsum('bij,bjk->bik', a, b),
  einsum_ellipsis_implicit: (a, b) => nb.einsum('...ij,...jk', a, b),
  einsum_trace: (a) => nb.einsum('ii', a),
  einsum_batch_diagonal: (a) => nb.einsum('...ii->...i', a),
  einsum_outer: (a, b) => nb.einsum('i,j->ij', a, b),
  einsum_chain: (a, b, c) => nb.einsum('ij,jk,kl->il', [a, b, c]),
  einsum_implicit_sum: (a, b) => nb.einsum('bij,bkj', a, b),
  einsum_broadcast_size1: (a, b) => nb.einsum('ij,jk', a, b),
  einsum_attention_f64: (q, k) => nb.einsum('bhqd,bhkd->bhqk', q, k),
  einsum_sum_ellipsis: (a) => nb.einsum('...ij->ji', a),
  einsum_transpose_upper: (a) => nb.einsum('Ab->bA', a),
  roll_dim: (x) => x.roll(2, 1),
  roll_flat: (x) => nb.roll(x, -3),
  roll_multi: (x) => nb.roll(x, [1, -2], [0, 2]),
  meshgrid_ij: (a, b) => nb.meshgrid(a, b, { indexing: 'ij' }),
  meshgrid_xy: (a, b, c) => nb.meshgrid([a, b, c], { indexing: 'xy' }),
  lerp_scalar: (a, b) => nb.lerp(a, b, 0.3),
  lerp_tensor: (a, b, w) => a.lerp(b, w),
  kthvalue: (x) => x.kthvalue(2, 1),
  kthvalue_keepdim: (x) => nb.kthvalue(x, 3, 0, true),
  linalg_matrix_norm_nuc: (x) => L.matrixNorm(x, 'nuc'),
  linalg_matrix_norm_2_wide: (x) => L.matrixNorm(x, 2),
  linalg_matrix_norm_m2_dims: (x) => L.matrixNorm(x, -2, [0, 2], true),
  linalg_norm_nuc_wide: (x) => L.norm(x, 'nuc'),
  mode: (x) => x.mode(1),
  mode_keepdim_dim0: (x) => nb.mode(x, 0, true),
  isclose: (a, b) => nb.isclose(a, b),
  isclose_equal_nan: (a, b) => a.isclose(b, { rtol: 1e-3, atol: 1e-6, equalNan: true }),
  isclose_f64: (a, b) => nb.isclose(a, b),
  unique: (x) => nb.unique(x, { returnInverse: true, returnCounts: true }),
  unique_dim0: (x) => x.unique({ dim: 0, returnInverse: true, returnCounts: true }),
  unique_dim1: (x) => nb.unique(x, { dim: 1, returnCounts: true }),
  linalg_norm_flat: (x) => L.norm(x),
  linalg_norm_ord1_matrix: (x) => L.norm(x, 1),
  linalg_norm_inf_matrix: (x) => L.norm(x, Infinity),
  linalg_norm_fro_dims: (x) => L.norm(x, 'fro', [0, 2]),
  linalg_norm_vector_dim: (x) => L.norm(x, 3, 1, true),
  linalg_vector_norm: (x) => L.vectorNorm(x, 1.5, [0, 2]),
  linalg_vector_norm_inf: (x) => L.vectorNorm(x, -Infinity),
  linalg_matrix_norm_m1: (x) => L.matrixNorm(x, -1),
  linalg_matrix_norm_minf: (x) => L.matrixNorm(x, -Infinity, [-2, -1], true),
  linalg_det: (a) => L.det(a),
  linalg_det_f64: (a) => a.det(),
  linalg_inv: (a) => L.inv(a),
  linalg_inv_f64: (a) => a.inverse(),
  linalg_solve: (a, b) => L.solve(a, b),
  linalg_solve_vector_batch: (a, b) => L.solve(a, b),
  linalg_solve_broadcast: (a, b) => L.solve(a, b),
  linalg_solve_right: (a, b) => L.solve(a, b, { left: false }),
  linalg_cholesky: (a) => L.cholesky(a),
  linalg_cholesky_f64: (a) => L.cholesky(a),
};

function parts(name: string, kind: string): Tensor[] {
  const out: Tensor[] = [];
  for (let i = 0; G[`${name}.${kind}${i}`]; i++) out.push(G[`${name}.${kind}${i}`]);
  return out;
}

test('every tensor_api golden case has an nb function, and every function a golden', () => {
  const names = new Set(Object.keys(G).map((k) => k.slice(0, k.lastIndexOf('.'))));
  assert.deepEqual([...names].sort(), Object.keys(CASES).sort());
});

for (const be of backends()) {
  describe(`tensor API PyTorch goldens [${be}]`, () => {
    for (const [name, fn] of Object.entries(CASES)) {
      test(name, () =>
        withBackend(be, () => {
          const withGrad = G[`${name}.grad0`] !== undefined;
          const ins = parts(name, 'in').map((t) => (t.isFloatingPoint() && withGrad ? t.clone().requiresGrad_() : t));
          const r = fn(...ins);
          const outs = r instanceof nb.Tensor ? [r] : [...r];
          const want = parts(name, 'out');
          const f32 = want[0].dtype === 'float32';
          // float32 linalg: nabla factorizes in float64 and rounds once, LAPACK works in float32
          const tol = f32 ? { rtol: 1e-4, atol: 1e-5 } : { rtol: 1e-9, atol: 1e-10 };
          assert.equal(outs.length, want.length, `${name}: number of outputs`);
          outs.forEach((o, i) => {
            assert.deepEqual([...o.shape], [...want[i].shape], `${name}: shape of output ${i}`);
            assert.equal(o.dtype, want[i].dtype, `${name}: dtype of output ${i}`);
            if (o.dtype === 'bool' || o.dtype === 'int32') assert.deepEqual(o.toArray(), want[i].toArray(), name);
            else assertClose(o, want[i], tol, `${name} output ${i}:`);
          });
          const grads = parts(name, 'grad');
          if (grads.length) {
            const diff = ins.filter((t) => t.requiresGrad);
            const got = nb.autograd.grad(outs[0].mul(G[`${name}.w`]).sum(), diff, { allowUnused: true });
            grads.forEach((g, i) => {
              const gi = got[i] ?? nb.zerosLike(g);
              assertClose(gi, g, f32 ? { rtol: 1e-4, atol: 1e-4 } : tol, `${name} grad of input ${i}:`);
            });
          }
        }),
      );
    }
  });
}
