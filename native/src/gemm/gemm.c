// SGEMM driver: BLIS-style blocking around a per-ISA microkernel, GEMV for M=1 / N=1, batching, and
// the split of work over the thread pool. Glossary in gemm.h.
#include <stdlib.h>
#include <string.h>
#include "../../include/nabla.h"
#include "gemm.h"

#if defined(__x86_64__) || defined(_M_X64)
// Fraction of the register tiles' work that is real for an (M,N) problem.
static double tile_use(const nb_gemm_impl *im, int64_t M, int64_t N) {
  return (double)M / (double)((M + im->mr - 1) / im->mr * im->mr) * (double)N / (double)((N + im->nr - 1) / im->nr * im->nr);
}

// The AVX-512 microkernel that wastes less of its tiles on (M,N): 8x48 has no ragged tile at M = 128.
static const nb_gemm_impl *pick_avx512(int64_t M, int64_t N) {
  return tile_use(&nb_gemm_avx512_8x48, M, N) > tile_use(&nb_gemm_avx512, M, N) + 0.02 ? &nb_gemm_avx512_8x48 : &nb_gemm_avx512;
}
#else
static const nb_gemm_impl *pick_avx512(int64_t M, int64_t N) { (void)M; (void)N; return &nb_gemm_scalar; }
#endif

const nb_gemm_impl *nb_gemm_select(int isa) {
#if defined(__x86_64__) || defined(_M_X64)
  if (isa >= NB_ISA_AVX512) return &nb_gemm_avx512;
  if (isa >= NB_ISA_AVX2) return &nb_gemm_avx2;
#endif
  (void)isa;
  return &nb_gemm_scalar;
}

// Per-thread packing scratch (pool threads are persistent, so this is allocated once per thread).
static _Thread_local float *tl_buf;
static _Thread_local size_t tl_cap;

static float *scratch(size_t n) {
  if (n > tl_cap) {
    free(tl_buf);
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    tl_buf = (float *)aligned_alloc(64, bytes);
    tl_cap = tl_buf ? n : 0;
  }
  return tl_buf;
}

// A (M,K) [rsa,csa] @ B (K,N) [rsb,csb] -> C (M,N) row stride ldc, on the calling thread.
void nb_gemm_blocked(const nb_gemm_impl *im, float *c, int64_t ldc,
                     const float *a, int64_t rsa, int64_t csa, const float *b, int64_t rsb, int64_t csb,
                     int64_t M, int64_t N, int64_t K) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t i = 0; i < M; i++) memset(c + i * ldc, 0, (size_t)N * sizeof(float));
    return;
  }
  const int mr = im->mr, nr = im->nr;
  const int64_t MC = im->mc, KC = im->kc, NC = im->nc;
  int64_t ncap = ((N < NC ? N : NC) + nr - 1) / nr * nr, mcap = ((M < MC ? M : MC) + mr - 1) / mr * mr;
  int64_t kcap = K < KC ? K : KC;
  size_t need = (size_t)(kcap * ncap + kcap * mcap + mr * nr + 64);
  float *buf = scratch(need);
  if (!buf) { nb_gemm_ref(c, ldc, a, rsa, csa, b, rsb, csb, M, N, K); return; }
  float *bp = buf, *ap = buf + kcap * ncap, *tile = ap + kcap * mcap;
  tile = (float *)(((uintptr_t)tile + 63) & ~(uintptr_t)63);
  // NOTE: with few rows of A each B element is used only M times, so packing B costs as much as
  // the multiply; when B's rows are contiguous the microkernel reads them in place and only a
  // ragged last panel (which would read past the row end) is packed.
  const int direct = csb == 1 && M <= 256;
  for (int64_t jc = 0; jc < N; jc += NC) {
    int64_t nc = N - jc < NC ? N - jc : NC, nfull = direct ? nc / nr * nr : 0;
    for (int64_t pc = 0; pc < K; pc += KC) {
      int64_t kc = K - pc < KC ? K - pc : KC;
      int acc = pc > 0;
      nb_pack_b(bp, b + pc * rsb + (jc + nfull) * csb, rsb, csb, kc, nc - nfull, nr);
      for (int64_t ic = 0; ic < M; ic += MC) {
        int64_t mc = M - ic < MC ? M - ic : MC;
        nb_pack_a(ap, a + ic * rsa + pc * csa, rsa, csa, mc, kc, mr);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          int64_t n = nc - jr < nr ? nc - jr : nr;
          const float *bpan = jr < nfull ? b + pc * rsb + jc + jr : bp + (jr - nfull) * kc;
          int64_t ldb = jr < nfull ? rsb : nr;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            int64_t m = mc - ir < mr ? mc - ir : mr;
            float *cp = c + (ic + ir) * ldc + jc + jr;
            const float *apan = ap + ir * kc;
            if (m == mr && n == nr) { im->ukernel(kc, apan, bpan, ldb, cp, ldc, acc); continue; }
            im->ukernel(kc, apan, bpan, ldb, tile, nr, 0);
            for (int64_t i = 0; i < m; i++)
              for (int64_t j = 0; j < n; j++)
                cp[i * ldc + j] = acc ? cp[i * ldc + j] + tile[i * nr + j] : tile[i * nr + j];
          }
        }
      }
    }
  }
}

typedef struct {
  const nb_gemm_impl *im;
  float *c;
  const float *a, *b;
  const int64_t *aoff, *boff;
  int64_t rsa, csa, rsb, csb, batch, M, N, K;
  int split; /* 0: batches over threads, 1: split N, 2: split M, 3: gemv split over N */
} gemm_job;

static void range(int64_t n, int64_t unit, int tid, int nt, int64_t *lo, int64_t *hi) {
  int64_t units = (n + unit - 1) / unit, per = units / nt, rem = units % nt;
  int64_t u0 = tid * per + (tid < rem ? tid : rem), u1 = u0 + per + (tid < rem);
  *lo = u0 * unit < n ? u0 * unit : n;
  *hi = u1 * unit < n ? u1 * unit : n;
}

static void gemm_task(void *ctx, int tid, int nt) {
  const gemm_job *j = (const gemm_job *)ctx;
  const int64_t M = j->M, N = j->N, K = j->K, MN = M * N;
  if (j->split == 0) {
    for (int64_t p = tid; p < j->batch; p += nt)
      nb_gemm_blocked(j->im, j->c + p * MN, N, j->a + j->aoff[p], j->rsa, j->csa, j->b + j->boff[p], j->rsb, j->csb, M, N, K);
    return;
  }
  for (int64_t p = 0; p < j->batch; p++) {
    float *c = j->c + p * MN;
    const float *a = j->a + j->aoff[p], *b = j->b + j->boff[p];
    int64_t lo, hi;
    if (j->split == 1) {
      range(N, j->im->nr, tid, nt, &lo, &hi);
      nb_gemm_blocked(j->im, c + lo, N, a, j->rsa, j->csa, b + lo * j->csb, j->rsb, j->csb, M, hi - lo, K);
    } else if (j->split == 2) {
      range(M, j->im->mr, tid, nt, &lo, &hi);
      nb_gemm_blocked(j->im, c + lo * N, N, a + lo * j->rsa, j->rsa, j->csa, b, j->rsb, j->csb, hi - lo, N, K);
    } else if (M == 1) {
      // y (N) = a row (K) @ B (K,N)
      range(N, 64, tid, nt, &lo, &hi);
      if (lo < hi) j->im->gemv(c, a, j->csa, b, j->rsb, j->csb, K, lo, hi);
    } else {
      // N == 1: y (M) = A (M,K) @ b (K), i.e. y^T = b^T @ A^T
      range(M, 64, tid, nt, &lo, &hi);
      if (lo < hi) j->im->gemv(c, b, j->rsb, a, j->csa, j->rsa, K, lo, hi);
    }
  }
}

// C (batch,M,N) contiguous = A[p] (M,K) [rsa,csa] at a+aoff[p] @ B[p] (K,N) [rsb,csb] at b+boff[p].
void nb_sgemm_batched(float *c, const float *a, const int64_t *aoff, int64_t rsa, int64_t csa,
                      const float *b, const int64_t *boff, int64_t rsb, int64_t csb,
                      int64_t batch, int64_t M, int64_t N, int64_t K) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  int isa = nb_active_isa();
  gemm_job j = { isa >= NB_ISA_AVX512 ? pick_avx512(M, N) : nb_gemm_select(isa), c, a, b, aoff, boff, rsa, csa, rsb, csb, batch, M, N, K, 0 };
  if (K <= 0) { memset(c, 0, (size_t)(batch * M * N) * sizeof(float)); return; }
  double work = (double)batch * (double)M * (double)N * (double)K;
  int nt = nb_num_threads();
  if (work < 32768.0 * 8) nt = 1;
  if (M == 1 || N == 1) {
    j.split = 3;
    if ((double)batch * K * (M == 1 ? N : M) < 65536.0) nt = 1;
  } else if (batch >= nt) j.split = 0;
  else if (N >= (int64_t)j.im->nr * nt * 2) j.split = 1;
  else j.split = 2;
  if (nt > 1 && j.split != 0) {
    int64_t units = j.split == 1 ? N / j.im->nr : j.split == 2 ? M / j.im->mr : (M == 1 ? N : M) / 64;
    if (units < nt) nt = units < 1 ? 1 : (int)units;
  }
  nb_parallel(gemm_task, &j, nt);
}
