// AVX2/FMA SGEMM microkernel (6x16: 12 ymm accumulators + 2 B vectors + 1 broadcast) and GEMV.
// Compiled with -mavx2 -mfma only (binding.gyp target nabla_avx2); called only after cpuid says so.
#include <immintrin.h>
#include "gemm.h"

#define MR 6
#define NR 16

// C (6,16) row stride ldc (=|+=) Ap (6 x kc, k-major) @ Bp (kc x 16, row stride ldb)
static void ukernel_6x16(int64_t kc, const float *ap, const float *bp, int64_t ldb, float *c, int64_t ldc,
                         int accumulate) {
  __m256 c0a = _mm256_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a, c3a = c0a, c3b = c0a,
         c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a;
  for (int64_t k = 0; k < kc; k++) {
    __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
    __m256 a;
#define ROW(i)                                                                                                         \
  a = _mm256_broadcast_ss(ap + i);                                                                                     \
  c##i##a = _mm256_fmadd_ps(a, b0, c##i##a);                                                                           \
  c##i##b = _mm256_fmadd_ps(a, b1, c##i##b);
    ROW(0)
    ROW(1)
    ROW(2)
    ROW(3)
    ROW(4)
    ROW(5)
#undef ROW
    ap += MR;
    bp += ldb;
  }
#define STORE(i)                                                                                                       \
  if (accumulate) {                                                                                                    \
    c##i##a = _mm256_add_ps(c##i##a, _mm256_loadu_ps(c + i * ldc));                                                    \
    c##i##b = _mm256_add_ps(c##i##b, _mm256_loadu_ps(c + i * ldc + 8));                                                \
  }                                                                                                                    \
  _mm256_storeu_ps(c + i * ldc, c##i##a);                                                                              \
  _mm256_storeu_ps(c + i * ldc + 8, c##i##b);
  STORE(0)
  STORE(1)
  STORE(2)
  STORE(3)
  STORE(4)
  STORE(5)
#undef STORE
}

// y[j0,j1) = sum_k x[k*incx] * B[k*rsb + j*csb]; csb == 1 only (row-streaming axpy), else scalar.
static void gemv_avx2(float *y, const float *x, int64_t incx, const float *b, int64_t rsb, int64_t csb, int64_t K,
                      int64_t j0, int64_t j1) {
  if (csb != 1) {
    nb_gemv_scalar(y, x, incx, b, rsb, csb, K, j0, j1);
    return;
  }
  const int64_t CH = 2048;
  for (int64_t c0 = j0; c0 < j1; c0 += CH) {
    int64_t c1 = c0 + CH < j1 ? c0 + CH : j1;
    for (int64_t j = c0; j < c1; j++) y[j] = 0.f;
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) {
      const float *r0 = b + k * rsb, *r1 = r0 + rsb, *r2 = r1 + rsb, *r3 = r2 + rsb;
      __m256 x0 = _mm256_set1_ps(x[k * incx]), x1 = _mm256_set1_ps(x[(k + 1) * incx]);
      __m256 x2 = _mm256_set1_ps(x[(k + 2) * incx]), x3 = _mm256_set1_ps(x[(k + 3) * incx]);
      int64_t j = c0;
      for (; j + 8 <= c1; j += 8) {
        __m256 s = _mm256_fmadd_ps(x0, _mm256_loadu_ps(r0 + j), _mm256_loadu_ps(y + j));
        s = _mm256_fmadd_ps(x1, _mm256_loadu_ps(r1 + j), s);
        s = _mm256_fmadd_ps(x2, _mm256_loadu_ps(r2 + j), s);
        s = _mm256_fmadd_ps(x3, _mm256_loadu_ps(r3 + j), s);
        _mm256_storeu_ps(y + j, s);
      }
      for (; j < c1; j++)
        y[j] += x[k * incx] * r0[j] + x[(k + 1) * incx] * r1[j] + x[(k + 2) * incx] * r2[j] + x[(k + 3) * incx] * r3[j];
    }
    for (; k < K; k++) {
      const float *r0 = b + k * rsb;
      float xk = x[k * incx];
      for (int64_t j = c0; j < c1; j++) y[j] += xk * r0[j];
    }
  }
}

// The row-gather microkernels' common body: C (6,16) = A (6 rows at ar[i], read at k) @ B, row k of B at
// the address BROW(k).
#define GATHER_6x16(BROW)                                                                                              \
  __m256 c0a = _mm256_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a, c3a = c0a, c3b = c0a,       \
         c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a;                                                                   \
  for (int64_t k = 0; k < kc; k++) {                                                                                   \
    const float *bp = (BROW);                                                                                          \
    __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8), av;                                                 \
    ROW(0)                                                                                                             \
    ROW(1)                                                                                                             \
    ROW(2)                                                                                                             \
    ROW(3)                                                                                                             \
    ROW(4)                                                                                                             \
    ROW(5)                                                                                                             \
  }                                                                                                                    \
  STORE(0)                                                                                                             \
  STORE(1)                                                                                                             \
  STORE(2)                                                                                                             \
  STORE(3)                                                                                                             \
  STORE(4)                                                                                                             \
  STORE(5)
#define ROW(i)                                                                                                         \
  av = _mm256_broadcast_ss(ar[i] + k);                                                                                 \
  c##i##a = _mm256_fmadd_ps(av, b0, c##i##a);                                                                          \
  c##i##b = _mm256_fmadd_ps(av, b1, c##i##b);
#define STORE(i)                                                                                                       \
  _mm256_storeu_ps(c + i * ldc, c##i##a);                                                                              \
  _mm256_storeu_ps(c + i * ldc + 8, c##i##b);

// C (6,16) row stride ldc = A (6 x kc, row i at a + min(i, m-1)*lda) @ B, row k of B at b + boff[k] (see gemm.h)
static void ukernel_rows_6x16(int64_t kc, const float *a, int64_t lda, int m, const float *b, const int64_t *boff,
                              float *c, int64_t ldc) {
  const float *ar[6];
  for (int i = 0; i < 6; i++) ar[i] = a + (i < m ? i : m - 1) * lda;
  GATHER_6x16(b + boff[k])
}

// C (6,16) row stride ldc = A (6 x kc, row i at arows[i]) @ B (kc x 16, row k at b + k*ldb)
static void ukernel_ptrs_6x16(int64_t kc, const float *const *arows, const float *b, int64_t ldb, float *c,
                              int64_t ldc) {
  const float *ar[6];
  for (int i = 0; i < 6; i++) ar[i] = arows[i];
  GATHER_6x16(b + k * ldb)
}
#undef ROW
#undef STORE
#undef GATHER_6x16

// The transposed Winograd products' 8x48 tile (conv_winograd.c's few-tile paths) in four 4x24 blocks:
// C (4 rows, ldc apart; 24 columns) = A (rows 0-3 of an 8-row k-major panel at ap, ap[k*8 + i]) @ B
// (kc x 8*nv columns at bp, ldb apart), nv (0-3) a constant; columns past 8*nv are set to 0. With pf,
// each step also prefetches the pfs floats at pf + k*pfs into L2 (as the AVX-512 8x48's).
static inline __attribute__((always_inline)) void kernel_4x24(int64_t kc, const float *ap, const float *bp, int64_t ldb,
                                                              float *c, int64_t ldc, const float *pf, int64_t pfs,
                                                              const int nv) {
  const __m256 zero = _mm256_setzero_ps();
  __m256 c0a = zero, c0b = zero, c0c = zero, c1a = zero, c1b = zero, c1c = zero, c2a = zero, c2b = zero, c2c = zero,
         c3a = zero, c3b = zero, c3c = zero;
  for (int64_t k = 0; nv > 0 && k < kc; k++) {
    if (pf) {
      nb_prefetch_l2(pf, pfs);
      pf += pfs;
    }
    __m256 b0 = _mm256_loadu_ps(bp), b1 = nv > 1 ? _mm256_loadu_ps(bp + 8) : zero,
           b2 = nv > 2 ? _mm256_loadu_ps(bp + 16) : zero;
    __m256 a;
#define ROW(i)                                                                                                         \
  a = _mm256_broadcast_ss(ap + i);                                                                                     \
  c##i##a = _mm256_fmadd_ps(a, b0, c##i##a);                                                                           \
  if (nv > 1) c##i##b = _mm256_fmadd_ps(a, b1, c##i##b);                                                               \
  if (nv > 2) c##i##c = _mm256_fmadd_ps(a, b2, c##i##c);
    ROW(0)
    ROW(1)
    ROW(2)
    ROW(3)
#undef ROW
    ap += 8;
    bp += ldb;
  }
#define STORE(i)                                                                                                       \
  _mm256_storeu_ps(c + i * ldc, c##i##a);                                                                              \
  _mm256_storeu_ps(c + i * ldc + 8, c##i##b);                                                                          \
  _mm256_storeu_ps(c + i * ldc + 16, c##i##c);
  STORE(0)
  STORE(1)
  STORE(2)
  STORE(3)
#undef STORE
}

static void block_4x24(int64_t kc, const float *ap, const float *bp, int64_t ldb, float *c, int64_t ldc,
                       const float *pf, int64_t pfs, int nv) {
  if (nv >= 3)
    kernel_4x24(kc, ap, bp, ldb, c, ldc, pf, pfs, 3);
  else if (nv == 2)
    kernel_4x24(kc, ap, bp, ldb, c, ldc, pf, pfs, 2);
  else if (nv == 1)
    kernel_4x24(kc, ap, bp, ldb, c, ldc, pf, pfs, 1);
  else
    kernel_4x24(kc, ap, bp, ldb, c, ldc, NULL, 0, 0);
}

// C (8,48) = Ap (8 x kc, k-major) @ the first nc (a multiple of 16) of Bp's 48 columns, zeros past nc,
// prefetching as gemm.h's ukernel_pf.
static void ukernel_t8x48_pf(int64_t kc, const float *ap, const float *bp, int64_t ldb, int64_t nc, float *c,
                             int64_t ldc, const float *pf, int64_t pfs) {
  pfs = pfs > 48 ? 48 : pfs < 1 ? 1 : pfs;
  const int nv0 = (int)((nc < 24 ? nc : 24) / 8), nv1 = (int)(nc > 24 ? (nc - 24) / 8 : 0);
  for (int rh = 0; rh < 2; rh++) {
    block_4x24(kc, ap + 4 * rh, bp, ldb, c + 4 * rh * ldc, ldc, rh == 0 ? pf : NULL, pfs, nv0);
    block_4x24(kc, ap + 4 * rh, bp + 24, ldb, c + 4 * rh * ldc + 24, ldc, NULL, 0, nv1);
  }
}

static void ukernel_t8x48(int64_t kc, const float *ap, const float *bp, int64_t ldb, float *c, int64_t ldc,
                          int accumulate) {
  float t[8 * 48];
  ukernel_t8x48_pf(kc, ap, bp, ldb, 48, accumulate ? t : c, accumulate ? 48 : ldc, NULL, 0);
  if (accumulate)
    for (int i = 0; i < 8; i++)
      for (int j = 0; j < 48; j++) c[i * ldc + j] += t[i * 48 + j];
}

const nb_gemm_impl nb_gemm_avx2 = {
    MR, NR, MR * 48, 256, 4096, ukernel_6x16, gemv_avx2, "avx2", ukernel_rows_6x16, ukernel_ptrs_6x16, NULL};
/* Only for the transposed Winograd products (an 8x48 tile in 4x24 blocks): no row kernels. */
const nb_gemm_impl nb_gemm_avx2_t8x48 = {8,    48,   8 * 24,          256, 4608, ukernel_t8x48, gemv_avx2, "avx2-t8x48",
                                         NULL, NULL, ukernel_t8x48_pf};
