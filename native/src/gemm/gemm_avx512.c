// AVX-512 SGEMM microkernels (14x32: 28 zmm accumulators + 2 B vectors + 1 broadcast; 8x48: 24
// accumulators + 3 B vectors + 1 broadcast, fewer loads per FMA and no ragged tile at M = 128) and GEMV.
// Compiled with -mavx512f -mfma only (binding.gyp target nabla_avx512); called only after cpuid says so.
#include <immintrin.h>
#include <stdlib.h>
#include "gemm.h"

#define MR 14
#define NR 32

// C (14,32) row stride ldc (=|+=) Ap (14 x kc, k-major) @ Bp (kc x 32, row stride ldb)
static void ukernel_14x32(int64_t kc, const float *ap, const float *bp, int64_t ldb, float *c, int64_t ldc,
                          int accumulate) {
  __m512 c0a = _mm512_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a, c3a = c0a, c3b = c0a,
         c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a, c6a = c0a, c6b = c0a, c7a = c0a, c7b = c0a, c8a = c0a, c8b = c0a,
         c9a = c0a, c9b = c0a, c10a = c0a, c10b = c0a, c11a = c0a, c11b = c0a, c12a = c0a, c12b = c0a, c13a = c0a,
         c13b = c0a;
  for (int64_t k = 0; k < kc; k++) {
    __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
    __m512 a;
#define ROW(i)                                                                                                         \
  a = _mm512_set1_ps(ap[i]);                                                                                           \
  c##i##a = _mm512_fmadd_ps(a, b0, c##i##a);                                                                           \
  c##i##b = _mm512_fmadd_ps(a, b1, c##i##b);
    ROW(0)
    ROW(1)
    ROW(2)
    ROW(3)
    ROW(4)
    ROW(5)
    ROW(6)
    ROW(7)
    ROW(8)
    ROW(9)
    ROW(10)
    ROW(11)
    ROW(12)
    ROW(13)
#undef ROW
    ap += MR;
    bp += ldb;
  }
#define STORE(i)                                                                                                       \
  if (accumulate) {                                                                                                    \
    c##i##a = _mm512_add_ps(c##i##a, _mm512_loadu_ps(c + i * ldc));                                                    \
    c##i##b = _mm512_add_ps(c##i##b, _mm512_loadu_ps(c + i * ldc + 16));                                               \
  }                                                                                                                    \
  _mm512_storeu_ps(c + i * ldc, c##i##a);                                                                              \
  _mm512_storeu_ps(c + i * ldc + 16, c##i##b);
  STORE(0)
  STORE(1)
  STORE(2)
  STORE(3)
  STORE(4)
  STORE(5)
  STORE(6)
  STORE(7)
  STORE(8)
  STORE(9)
  STORE(10)
  STORE(11)
  STORE(12)
  STORE(13)
#undef STORE
}

// C (8,48) row stride ldc (=|+=) Ap (8 x kc, k-major) @ Bp (kc x 48, row stride ldb), on the first
// nv (1-3, a constant where inlined) vectors of 16 columns; C's columns past them are set to 0.
// With pf (the prefetching entry): each step also asks for the pfs (<= 48) floats at pf + k*pfs into
// L2, so that the next B panel streams in from memory while this one is multiplied; a caller that
// multiplies the same panel several times spreads the next one's prefetch over all of them.
static inline __attribute__((always_inline)) void kernel_8x48(int64_t kc, const float *ap, const float *bp, int64_t ldb,
                                                              float *c, int64_t ldc, int accumulate, const float *pf,
                                                              int64_t pfs, const int nv) {
#define DECL(i) __m512 c##i##a = _mm512_setzero_ps(), c##i##b = c##i##a, c##i##c = c##i##a;
  DECL(0)
  DECL(1)
  DECL(2)
  DECL(3)
  DECL(4)
  DECL(5)
  DECL(6)
  DECL(7)
#undef DECL
  for (int64_t k = 0; k < kc; k++) {
    if (pf) {
      nb_prefetch_l2(pf, pfs);
      pf += pfs;
    }
    const __m512 zero = _mm512_setzero_ps();
    __m512 b0 = _mm512_loadu_ps(bp), b1 = nv > 1 ? _mm512_loadu_ps(bp + 16) : zero,
           b2 = nv > 2 ? _mm512_loadu_ps(bp + 32) : zero;
    __m512 a;
#define ROW(i)                                                                                                         \
  a = _mm512_set1_ps(ap[i]);                                                                                           \
  c##i##a = _mm512_fmadd_ps(a, b0, c##i##a);                                                                           \
  if (nv > 1) c##i##b = _mm512_fmadd_ps(a, b1, c##i##b);                                                               \
  if (nv > 2) c##i##c = _mm512_fmadd_ps(a, b2, c##i##c);
    ROW(0)
    ROW(1)
    ROW(2)
    ROW(3)
    ROW(4)
    ROW(5)
    ROW(6)
    ROW(7)
#undef ROW
    ap += 8;
    bp += ldb;
  }
#define STORE(i)                                                                                                       \
  if (accumulate) {                                                                                                    \
    c##i##a = _mm512_add_ps(c##i##a, _mm512_loadu_ps(c + i * ldc));                                                    \
    c##i##b = _mm512_add_ps(c##i##b, _mm512_loadu_ps(c + i * ldc + 16));                                               \
    c##i##c = _mm512_add_ps(c##i##c, _mm512_loadu_ps(c + i * ldc + 32));                                               \
  }                                                                                                                    \
  _mm512_storeu_ps(c + i * ldc, c##i##a);                                                                              \
  _mm512_storeu_ps(c + i * ldc + 16, c##i##b);                                                                         \
  _mm512_storeu_ps(c + i * ldc + 32, c##i##c);
  STORE(0)
  STORE(1)
  STORE(2)
  STORE(3)
  STORE(4)
  STORE(5)
  STORE(6)
  STORE(7)
#undef STORE
}

static void ukernel_8x48(int64_t kc, const float *ap, const float *bp, int64_t ldb, float *c, int64_t ldc,
                         int accumulate) {
  kernel_8x48(kc, ap, bp, ldb, c, ldc, accumulate, NULL, 0, 3);
}

static void ukernel_8x48_pf(int64_t kc, const float *ap, const float *bp, int64_t ldb, int64_t nc, float *c,
                            int64_t ldc, const float *pf, int64_t pfs) {
  pfs = pfs > 48 ? 48 : pfs < 1 ? 1 : pfs;
  if (nc > 32)
    kernel_8x48(kc, ap, bp, ldb, c, ldc, 0, pf, pfs, 3);
  else if (nc > 16)
    kernel_8x48(kc, ap, bp, ldb, c, ldc, 0, pf, pfs, 2);
  else
    kernel_8x48(kc, ap, bp, ldb, c, ldc, 0, pf, pfs, 1);
}

// y[j0,j1) = sum_k x[k*incx] * B[k*rsb + j*csb]: csb == 1 streams rows of B (axpy) over L1-sized
// chunks of y; rsb == 1 takes four contiguous column dots at a time.
static void gemv_avx512(float *y, const float *x, int64_t incx, const float *b, int64_t rsb, int64_t csb, int64_t K,
                        int64_t j0, int64_t j1) {
  if (csb == 1) {
    // NOTE: chunks of y up to 64 KB stay in L2 while 8 rows of B stream through as long
    // contiguous runs, which the hardware prefetchers follow at full bandwidth.
    const int64_t CH = 16384;
    for (int64_t c0 = j0; c0 < j1; c0 += CH) {
      int64_t c1 = c0 + CH < j1 ? c0 + CH : j1;
      for (int64_t j = c0; j < c1; j++) y[j] = 0.f;
      int64_t k = 0;
      for (; k + 8 <= K; k += 8) {
        const float *r[8];
        __m512 xv[8];
        for (int t = 0; t < 8; t++) {
          r[t] = b + (k + t) * rsb;
          xv[t] = _mm512_set1_ps(x[(k + t) * incx]);
        }
        int64_t j = c0;
        for (; j + 16 <= c1; j += 16) {
          __m512 s0 = _mm512_fmadd_ps(xv[0], _mm512_loadu_ps(r[0] + j), _mm512_loadu_ps(y + j));
          __m512 s1 = _mm512_mul_ps(xv[1], _mm512_loadu_ps(r[1] + j));
          s0 = _mm512_fmadd_ps(xv[2], _mm512_loadu_ps(r[2] + j), s0);
          s1 = _mm512_fmadd_ps(xv[3], _mm512_loadu_ps(r[3] + j), s1);
          s0 = _mm512_fmadd_ps(xv[4], _mm512_loadu_ps(r[4] + j), s0);
          s1 = _mm512_fmadd_ps(xv[5], _mm512_loadu_ps(r[5] + j), s1);
          s0 = _mm512_fmadd_ps(xv[6], _mm512_loadu_ps(r[6] + j), s0);
          s1 = _mm512_fmadd_ps(xv[7], _mm512_loadu_ps(r[7] + j), s1);
          _mm512_storeu_ps(y + j, _mm512_add_ps(s0, s1));
        }
        if (j < c1) {
          __mmask16 m = (__mmask16)((1u << (c1 - j)) - 1);
          __m512 s0 = _mm512_maskz_loadu_ps(m, y + j);
          for (int t = 0; t < 8; t++) s0 = _mm512_fmadd_ps(xv[t], _mm512_maskz_loadu_ps(m, r[t] + j), s0);
          _mm512_mask_storeu_ps(y + j, m, s0);
        }
      }
      for (; k < K; k++) {
        const float *r0 = b + k * rsb;
        float xk = x[k * incx];
        for (int64_t j = c0; j < c1; j++) y[j] += xk * r0[j];
      }
    }
    return;
  }
  if (rsb != 1) {
    nb_gemv_scalar(y, x, incx, b, rsb, csb, K, j0, j1);
    return;
  }
  float stackx[1024];
  float *xc = (float *)x;
  if (incx != 1) {
    xc = K <= 1024 ? stackx : (float *)malloc((size_t)K * sizeof(float));
    if (!xc) {
      nb_gemv_scalar(y, x, incx, b, rsb, csb, K, j0, j1);
      return;
    }
    for (int64_t k = 0; k < K; k++) xc[k] = x[k * incx];
  }
  int64_t j = j0;
  __mmask16 mt = (__mmask16)((1u << (K % 16)) - 1);
  int64_t kv = K - K % 16;
  // eight contiguous columns at a time: eight independent streams keep enough loads in flight
  for (; j + 8 <= j1; j += 8) {
    const float *pc[8];
    __m512 s[8];
    for (int t = 0; t < 8; t++) {
      pc[t] = b + (j + t) * csb;
      s[t] = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < kv; k += 16) {
      __m512 xv = _mm512_loadu_ps(xc + k);
      for (int t = 0; t < 8; t++) {
        _mm_prefetch((const char *)(pc[t] + k + 8 * csb), _MM_HINT_T0); /* the next group's columns */
        s[t] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(pc[t] + k), s[t]);
      }
    }
    if (mt) {
      __m512 xv = _mm512_maskz_loadu_ps(mt, xc + kv);
      for (int t = 0; t < 8; t++) s[t] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(mt, pc[t] + kv), s[t]);
    }
    for (int t = 0; t < 8; t++) y[j + t] = _mm512_reduce_add_ps(s[t]);
  }
  if (j < j1) nb_gemv_scalar(y, xc, 1, b, rsb, csb, K, j, j1);
  if (xc != x && xc != stackx) free(xc);
}

// The row-gather microkernels' common body: C (14,32) = A (14 rows at ar[i], read at k) @ B, row k of B
// at the address BROW(k).
#define GATHER_14x32(BROW)                                                                                             \
  DECL(0)                                                                                                              \
  DECL(1)                                                                                                              \
  DECL(2)                                                                                                              \
  DECL(3)                                                                                                              \
  DECL(4)                                                                                                              \
  DECL(5)                                                                                                              \
  DECL(6)                                                                                                              \
  DECL(7)                                                                                                              \
  DECL(8)                                                                                                              \
  DECL(9)                                                                                                              \
  DECL(10)                                                                                                             \
  DECL(11)                                                                                                             \
  DECL(12)                                                                                                             \
  DECL(13)                                                                                                             \
  for (int64_t k = 0; k < kc; k++) {                                                                                   \
    const float *bp = (BROW);                                                                                          \
    __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16), av;                                                \
    ROW(0)                                                                                                             \
    ROW(1)                                                                                                             \
    ROW(2)                                                                                                             \
    ROW(3)                                                                                                             \
    ROW(4)                                                                                                             \
    ROW(5)                                                                                                             \
    ROW(6)                                                                                                             \
    ROW(7)                                                                                                             \
    ROW(8)                                                                                                             \
    ROW(9)                                                                                                             \
    ROW(10)                                                                                                            \
    ROW(11)                                                                                                            \
    ROW(12)                                                                                                            \
    ROW(13)                                                                                                            \
  }                                                                                                                    \
  STORE(0)                                                                                                             \
  STORE(1)                                                                                                             \
  STORE(2)                                                                                                             \
  STORE(3)                                                                                                             \
  STORE(4)                                                                                                             \
  STORE(5)                                                                                                             \
  STORE(6)                                                                                                             \
  STORE(7)                                                                                                             \
  STORE(8)                                                                                                             \
  STORE(9)                                                                                                             \
  STORE(10)                                                                                                            \
  STORE(11)                                                                                                            \
  STORE(12)                                                                                                            \
  STORE(13)
#define DECL(i) __m512 c##i##a = _mm512_setzero_ps(), c##i##b = c##i##a;
#define ROW(i)                                                                                                         \
  av = _mm512_set1_ps(ar[i][k]);                                                                                       \
  c##i##a = _mm512_fmadd_ps(av, b0, c##i##a);                                                                          \
  c##i##b = _mm512_fmadd_ps(av, b1, c##i##b);
#define STORE(i)                                                                                                       \
  _mm512_storeu_ps(c + i * ldc, c##i##a);                                                                              \
  _mm512_storeu_ps(c + i * ldc + 16, c##i##b);

// C (14,32) row stride ldc = A (14 x kc, row i at a + min(i, m-1)*lda) @ B, row k of B at b + boff[k] (see gemm.h)
static void ukernel_rows_14x32(int64_t kc, const float *a, int64_t lda, int m, const float *b, const int64_t *boff,
                               float *c, int64_t ldc) {
  const float *ar[14];
  for (int i = 0; i < 14; i++) ar[i] = a + (i < m ? i : m - 1) * lda;
  GATHER_14x32(b + boff[k])
}

// C (14,32) row stride ldc = A (14 x kc, row i at arows[i]) @ B (kc x 32, row k at b + k*ldb)
static void ukernel_ptrs_14x32(int64_t kc, const float *const *arows, const float *b, int64_t ldb, float *c,
                               int64_t ldc) {
  const float *ar[14];
  for (int i = 0; i < 14; i++) ar[i] = arows[i];
  GATHER_14x32(b + k * ldb)
}
#undef DECL
#undef ROW
#undef STORE
#undef GATHER_14x32

// C (8,48) row stride ldc = A (8 x kc, rows lda apart) @ B, row k of B at b + boff[k]
static void ukernel_rows_8x48(int64_t kc, const float *a, int64_t lda, int m, const float *b, const int64_t *boff,
                              float *c, int64_t ldc) {
  const float *ar[8];
  for (int i = 0; i < 8; i++) ar[i] = a + (i < m ? i : m - 1) * lda;
#define DECL(i) __m512 c##i##a = _mm512_setzero_ps(), c##i##b = c##i##a, c##i##c = c##i##a;
  DECL(0)
  DECL(1)
  DECL(2)
  DECL(3)
  DECL(4)
  DECL(5)
  DECL(6)
  DECL(7)
#undef DECL
  for (int64_t k = 0; k < kc; k++) {
    const float *bp = b + boff[k];
    __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16), b2 = _mm512_loadu_ps(bp + 32);
    __m512 av;
#define ROW(i)                                                                                                         \
  av = _mm512_set1_ps(ar[i][k]);                                                                                       \
  c##i##a = _mm512_fmadd_ps(av, b0, c##i##a);                                                                          \
  c##i##b = _mm512_fmadd_ps(av, b1, c##i##b);                                                                          \
  c##i##c = _mm512_fmadd_ps(av, b2, c##i##c);
    ROW(0)
    ROW(1)
    ROW(2)
    ROW(3)
    ROW(4)
    ROW(5)
    ROW(6)
    ROW(7)
#undef ROW
  }
#define STORE(i)                                                                                                       \
  _mm512_storeu_ps(c + i * ldc, c##i##a);                                                                              \
  _mm512_storeu_ps(c + i * ldc + 16, c##i##b);                                                                         \
  _mm512_storeu_ps(c + i * ldc + 32, c##i##c);
  STORE(0)
  STORE(1)
  STORE(2)
  STORE(3)
  STORE(4)
  STORE(5)
  STORE(6)
  STORE(7)
#undef STORE
}

const nb_gemm_impl nb_gemm_avx512 = {
    MR, NR, MR * 16, 512, 4096, ukernel_14x32, gemv_avx512, "avx512", ukernel_rows_14x32, ukernel_ptrs_14x32, NULL};
const nb_gemm_impl nb_gemm_avx512_8x48 = {
    8, 48, 8 * 24, 256, 4608, ukernel_8x48, gemv_avx512, "avx512-8x48", ukernel_rows_8x48, NULL, ukernel_8x48_pf};
