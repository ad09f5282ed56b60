// SGEMM internals. Glossary: M,N,K problem dims; MR,NR register tile; MC,KC,NC cache blocks
// (A block MC x KC lives in L2, B panel KC x NC in L3, one B micro-panel KC x NR in L1).
// A (M,K) has element (i,k) at a[i*rsa + k*csa]; B (K,N) has (k,j) at b[k*rsb + j*csb];
// C (M,N) has (i,j) at c[i*ldc + j]. Transposes are just strides.
#ifndef NB_GEMM_H
#define NB_GEMM_H
#include <stdint.h>

/* Microkernel: C (MR,NR) row stride ldc (=|+=) Ap (MR x kc, packed k-major: ap[k*MR + i])
 * @ Bp (kc x NR, bp[k*ldb + j]: a packed panel with ldb = NR, or B's own rows when they are
 * contiguous). accumulate=0 overwrites C. */
typedef void (*nb_ukernel_fn)(int64_t kc, const float *ap, const float *bp, int64_t ldb, float *c, int64_t ldc,
                              int accumulate);

/* GEMV: y (N) = sum_k x[k*incx] * B[k*rsb + j*csb]. The per-ISA versions handle csb==1 (axpy
 * over rows) and rsb==1 (dot per column); anything else goes through gemm. j range [j0,j1). */
typedef void (*nb_gemv_fn)(float *y, const float *x, int64_t incx, const float *b, int64_t rsb, int64_t csb, int64_t K,
                           int64_t j0, int64_t j1);

/* Row-gather microkernel: C (MR,NR) row stride ldc = A (MR x kc, unpacked: row i at a + min(i, m-1)*lda,
 * so rows past m repeat row m-1 and are never read out of bounds) @ B, where row k of B is the NR
 * contiguous floats at b + boff[k]. A convolution reads its weights and its input taps in place this
 * way: no im2col, no weight packing. Overwrites C. NULL where an ISA has none. */
typedef void (*nb_ukernel_rows_fn)(int64_t kc, const float *a, int64_t lda, int m, const float *b, const int64_t *boff,
                                   float *c, int64_t ldc);

/* Pointer-row microkernel: C (MR,NR) row stride ldc = A (MR x kc, row i at arows[i]) @ B (kc x NR,
 * row k at b + k*ldb). The weight gradient of a convolution reads its input taps as the rows of A. */
typedef void (*nb_ukernel_ptrs_fn)(int64_t kc, const float *const *arows, const float *b, int64_t ldb, float *c,
                                   int64_t ldc);

typedef struct {
  int mr, nr;
  int mc, kc, nc;
  nb_ukernel_fn ukernel;
  nb_gemv_fn gemv;
  const char *name;
  nb_ukernel_rows_fn ukernel_rows;
  nb_ukernel_ptrs_fn ukernel_ptrs;
  /* C (MR,NR) = Ap @ the first nc columns of Bp (nc a multiple of 16, <= NR; C's columns past nc are set
   * to 0), also prefetching into L2 the kc * pfs contiguous floats at pf (pfs <= NR a k step; pf NULL:
   * none). NULL where an ISA has none. */
  void (*ukernel_pf)(int64_t kc, const float *ap, const float *bp, int64_t ldb, int64_t nc, float *c, int64_t ldc,
                     const float *pf, int64_t pfs);
} nb_gemm_impl;

/* Asks for every cache line of [p, p + n) (n <= 48 floats) in L2: the prefetching microkernels' step. */
static inline __attribute__((always_inline)) void nb_prefetch_l2(const float *p, int64_t n) {
  __builtin_prefetch(p, 0, 2);
  if (n > 16) __builtin_prefetch(p + 16, 0, 2);
  if (n > 32) __builtin_prefetch(p + 32, 0, 2);
  __builtin_prefetch(p + n - 1, 0, 2);
}

extern const nb_gemm_impl nb_gemm_scalar, nb_gemm_avx2, nb_gemm_avx512, nb_gemm_avx512_8x48, nb_gemm_avx2_t8x48;
extern const nb_gemm_impl nb_gemm_wasm; /* gemm_wasm.c: wasm32 builds with SIMD128 only */
const nb_gemm_impl *nb_gemm_select(int isa);
/* The best microkernel of the active ISA for an (M,N) product. */
const nb_gemm_impl *nb_gemm_pick(int64_t M, int64_t N);

/* pack.c: Ap[p][k][i] for row panels of MR (zero-padded); Bp[p][k][j] for column panels of NR. */
void nb_pack_a(float *ap, const float *a, int64_t rsa, int64_t csa, int64_t mc, int64_t kc, int mr);
void nb_pack_b(float *bp, const float *b, int64_t rsb, int64_t csb, int64_t kc, int64_t nc, int nr);

/* Single-threaded blocked gemm over C rows [0,M) and columns [0,N) of the given sub-problem. */
void nb_gemm_blocked(const nb_gemm_impl *impl, float *c, int64_t ldc, const float *a, int64_t rsa, int64_t csa,
                     const float *b, int64_t rsb, int64_t csb, int64_t M, int64_t N, int64_t K);

/* The same, adding into C when accumulate is set. */
void nb_gemm_blocked_acc(const nb_gemm_impl *impl, float *c, int64_t ldc, const float *a, int64_t rsa, int64_t csa,
                         const float *b, int64_t rsb, int64_t csb, int64_t M, int64_t N, int64_t K, int accumulate);

/* gemm_ref.c: the naive triple loop every variant is validated against (double accumulation). */
void nb_gemm_ref(float *c, int64_t ldc, const float *a, int64_t rsa, int64_t csa, const float *b, int64_t rsb,
                 int64_t csb, int64_t M, int64_t N, int64_t K);
/* Scalar GEMV, used by the scalar impl and for strides the SIMD versions do not cover. */
void nb_gemv_scalar(float *y, const float *x, int64_t incx, const float *b, int64_t rsb, int64_t csb, int64_t K,
                    int64_t j0, int64_t j1);
#endif
