// Naive SGEMM and GEMV: the reference every fast variant is validated against, and the scalar path.
#include <stddef.h>
#include "gemm.h"

// A (M,K) [rsa,csa] @ B (K,N) [rsb,csb] -> C (M,N) row stride ldc; double accumulation.
void nb_gemm_ref(float *c, int64_t ldc, const float *a, int64_t rsa, int64_t csa, const float *b, int64_t rsb,
                 int64_t csb, int64_t M, int64_t N, int64_t K) {
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double s = 0;
      for (int64_t k = 0; k < K; k++) s += (double)a[i * rsa + k * csa] * (double)b[k * rsb + j * csb];
      c[i * ldc + j] = (float)s;
    }
}

// x (K) stride incx, B (K,N) [rsb,csb] -> y[j0..j1)
void nb_gemv_scalar(float *y, const float *x, int64_t incx, const float *b, int64_t rsb, int64_t csb, int64_t K,
                    int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; j++) {
    float s = 0;
    for (int64_t k = 0; k < K; k++) s += x[k * incx] * b[k * rsb + j * csb];
    y[j] = s;
  }
}

// Portable microkernel, 4x8: C (4,8) (=|+=) Ap (4 x kc) @ Bp (kc x 8, row stride ldb).
static void ukernel_scalar(int64_t kc, const float *ap, const float *bp, int64_t ldb, float *c, int64_t ldc,
                           int accumulate) {
  float acc[4][8] = {{0}};
  for (int64_t k = 0; k < kc; k++, ap += 4, bp += ldb)
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 8; j++) acc[i][j] += ap[i] * bp[j];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++) c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

const nb_gemm_impl nb_gemm_scalar = {4, 8, 128, 256, 2048, ukernel_scalar, nb_gemv_scalar, "scalar", NULL, NULL, NULL};
