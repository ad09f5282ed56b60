// SGEMM driver: BLIS-style blocking around a per-ISA microkernel, GEMV for M=1 / N=1, batching, and
// the split of work over the thread pool. Glossary in gemm.h.
#include <stdlib.h>
#include <string.h>
#include "nabla.h"
#include "gemm.h"
#include "ew.h"

#if defined(__x86_64__) || defined(_M_X64)
// Fraction of the register tiles' work that is real for an (M,N) problem.
static double tile_use(const nb_gemm_impl *im, int64_t M, int64_t N) {
  return (double)M / (double)((M + im->mr - 1) / im->mr * im->mr) * (double)N /
         (double)((N + im->nr - 1) / im->nr * im->nr);
}

// The AVX-512 microkernel that wastes less of its tiles on (M,N): 8x48 has no ragged tile at M = 128.
static const nb_gemm_impl *pick_avx512(int64_t M, int64_t N) {
  return tile_use(&nb_gemm_avx512_8x48, M, N) > tile_use(&nb_gemm_avx512, M, N) + 0.02 ? &nb_gemm_avx512_8x48
                                                                                       : &nb_gemm_avx512;
}
#else
static const nb_gemm_impl *pick_avx512(int64_t M, int64_t N) {
  (void)M;
  (void)N;
  return &nb_gemm_scalar;
}
#endif

const nb_gemm_impl *nb_gemm_pick(int64_t M, int64_t N) {
  int isa = nb_active_isa();
  return isa >= NB_ISA_AVX512 ? pick_avx512(M, N) : nb_gemm_select(isa);
}

const nb_gemm_impl *nb_gemm_select(int isa) {
#if defined(__x86_64__) || defined(_M_X64)
  if (isa >= NB_ISA_AVX512) return &nb_gemm_avx512;
  if (isa >= NB_ISA_AVX2) return &nb_gemm_avx2;
#endif
  (void)isa;
#if defined(__wasm_simd128__)
  return &nb_gemm_wasm;
#endif
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

// C (mc, nc) row stride ldc (=|+=) packed A block (mc x kc) @ B block (kc x nc): the first nfull
// columns read in place from bd (row stride ldbd), the rest from the packed panels bp.
static void macro_kernel(const nb_gemm_impl *im, float *c, int64_t ldc, const float *ap, int64_t mc, const float *bd,
                         int64_t ldbd, int64_t nfull, const float *bp, int64_t nc, int64_t kc, int acc, float *tile) {
  const int mr = im->mr, nr = im->nr;
  for (int64_t jr = 0; jr < nc; jr += nr) {
    int64_t n = nc - jr < nr ? nc - jr : nr;
    const float *bpan = jr < nfull ? bd + jr : bp + (jr - nfull) * kc;
    int64_t ldb = jr < nfull ? ldbd : nr;
    for (int64_t ir = 0; ir < mc; ir += mr) {
      int64_t m = mc - ir < mr ? mc - ir : mr;
      float *cp = c + ir * ldc + jr;
      const float *apan = ap + ir * kc;
      if (m == mr && n == nr) {
        im->ukernel(kc, apan, bpan, ldb, cp, ldc, acc);
        continue;
      }
      im->ukernel(kc, apan, bpan, ldb, tile, nr, 0);
      for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) cp[i * ldc + j] = acc ? cp[i * ldc + j] + tile[i * nr + j] : tile[i * nr + j];
    }
  }
}

// A (M,K) [rsa,csa] @ B (K,N) [rsb,csb] -> C (M,N) row stride ldc, on the calling thread;
// accumulate adds into C instead of overwriting it.
void nb_gemm_blocked_acc(const nb_gemm_impl *im, float *c, int64_t ldc, const float *a, int64_t rsa, int64_t csa,
                         const float *b, int64_t rsb, int64_t csb, int64_t M, int64_t N, int64_t K, int accumulate) {
  if (M <= 0 || N <= 0 || (K <= 0 && accumulate)) return;
  if (K <= 0) {
    for (int64_t i = 0; i < M; i++) memset(c + i * ldc, 0, (size_t)N * sizeof(float));
    return;
  }
  const int mr = im->mr, nr = im->nr;
  const int64_t MC = im->mc, NC = im->nc;
  // NOTE: a short last k-block (K = 576 = 256 + 256 + 64) costs a full pass over C for little work;
  // take K whole when it is at most 2.5 blocks (K = 576, 640) and split evenly otherwise.
  const int64_t KC = K <= im->kc * 5 / 2 ? K : (K + (K + im->kc - 1) / im->kc - 1) / ((K + im->kc - 1) / im->kc);
  int64_t ncap = ((N < NC ? N : NC) + nr - 1) / nr * nr, mcap = ((M < MC ? M : MC) + mr - 1) / mr * mr;
  int64_t kcap = K < KC ? K : KC;
  size_t need = (size_t)(kcap * ncap + kcap * mcap + mr * nr + 64);
  float *buf = scratch(need);
  if (!buf) {
    nb_gemm_ref(c, ldc, a, rsa, csa, b, rsb, csb, M, N, K);
    return;
  }
  float *bp = buf, *ap = buf + kcap * ncap, *tile = ap + kcap * mcap;
  tile = (float *)(((uintptr_t)tile + 63) & ~(uintptr_t)63);
  // NOTE: with few rows of A each B element is used only M times, so packing B costs as much as
  // the multiply; when B's rows are contiguous the microkernel reads them in place and only a
  // ragged last panel (which would read past the row end) is packed.
  // NOTE: rows a multiple of 4 KB apart all land in the same L1 sets (N = 1024, 3072, ...): pack those.
  const int direct = csb == 1 && M <= 256 && (rsb * (int64_t)sizeof(float)) % 4096 != 0;
  for (int64_t jc = 0; jc < N; jc += NC) {
    int64_t nc = N - jc < NC ? N - jc : NC, nfull = direct ? nc / nr * nr : 0;
    for (int64_t pc = 0; pc < K; pc += KC) {
      int64_t kc = K - pc < KC ? K - pc : KC;
      nb_pack_b(bp, b + pc * rsb + (jc + nfull) * csb, rsb, csb, kc, nc - nfull, nr);
      for (int64_t ic = 0; ic < M; ic += MC) {
        int64_t mc = M - ic < MC ? M - ic : MC;
        nb_pack_a(ap, a + ic * rsa + pc * csa, rsa, csa, mc, kc, mr);
        macro_kernel(im, c + ic * ldc + jc, ldc, ap, mc, b + pc * rsb + jc, rsb, nfull, bp, nc, kc,
                     pc > 0 || accumulate, tile);
      }
    }
  }
}

void nb_gemm_blocked(const nb_gemm_impl *im, float *c, int64_t ldc, const float *a, int64_t rsa, int64_t csa,
                     const float *b, int64_t rsb, int64_t csb, int64_t M, int64_t N, int64_t K) {
  nb_gemm_blocked_acc(im, c, ldc, a, rsa, csa, b, rsb, csb, M, N, K, 0);
}

typedef struct {
  const nb_gemm_impl *im;
  float *c;
  const float *a, *b;
  const int64_t *aoff, *boff;
  int64_t rsa, csa, rsb, csb, batch, M, N, K;
  int split;      /* 0: batches over threads, 1: split N, 2: split M, 3: gemv split over N, 4: gemv split over K */
  float *partial; /* split 4: nt rows of N partial sums */
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
      nb_gemm_blocked(j->im, j->c + p * MN, N, j->a + j->aoff[p], j->rsa, j->csa, j->b + j->boff[p], j->rsb, j->csb, M,
                      N, K);
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
    } else if (j->split == 4) {
      // y (N) = a row (K) @ B (K,N) with short rows: each thread streams one contiguous block of
      // K/nt rows of B into its own partial y; the caller adds the partials.
      range(K, 8, tid, nt, &lo, &hi);
      float *y = tid == 0 ? c : j->partial + (int64_t)(tid - 1) * N;
      if (lo < hi)
        j->im->gemv(y, a + lo * j->csa, j->csa, b + lo * j->rsb, j->rsb, j->csb, hi - lo, 0, N);
      else
        memset(y, 0, (size_t)N * sizeof(float));
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

/* ---- large single problems: B panel packed once and shared, A blocks spread over the pool ---- */
typedef struct {
  const nb_gemm_impl *im;
  float *c, *bp;
  const float *a, *b;
  int64_t rsa, csa, rsb, csb, M, N, K, jc, pc, nc, kc;
} shared_job;

static void pack_b_task(void *ctx, int t, int nt) {
  const shared_job *j = (const shared_job *)ctx;
  int64_t lo, hi;
  range(j->nc, j->im->nr, t, nt, &lo, &hi);
  if (lo < hi)
    nb_pack_b(j->bp + lo * j->kc, j->b + j->pc * j->rsb + (j->jc + lo) * j->csb, j->rsb, j->csb, j->kc, hi - lo,
              j->im->nr);
}

// Task t of nt takes an equal share of the mr-row tiles of A (so threads finish together).
static void ic_task(void *ctx, int t, int nt) {
  const shared_job *j = (const shared_job *)ctx;
  const int64_t mr = j->im->mr, tiles = (j->M + mr - 1) / mr, MC = j->im->mc;
  const int64_t ic = tiles * t / nt * mr, end = tiles * (t + 1) / nt * mr;
  const int64_t mc = (end < j->M ? end : j->M) - ic;
  if (mc <= 0) return;
  float *ap = scratch((size_t)(MC * j->kc + j->im->mr * j->im->nr + 64));
  if (!ap) {
    nb_gemm_ref(j->c + ic * j->N + j->jc, j->N, j->a + ic * j->rsa, j->rsa, j->csa, j->b + j->jc * j->csb, j->rsb,
                j->csb, mc, j->nc, j->K);
    return;
  }
  float *tile = (float *)(((uintptr_t)(ap + MC * j->kc) + 63) & ~(uintptr_t)63);
  nb_pack_a(ap, j->a + ic * j->rsa + j->pc * j->csa, j->rsa, j->csa, mc, j->kc, j->im->mr);
  macro_kernel(j->im, j->c + ic * j->N + j->jc, j->N, ap, mc, NULL, 0, 0, j->bp, j->nc, j->kc, j->pc > 0, tile);
}

// C (M,N) contiguous = A @ B with M split into MC blocks claimed dynamically by the pool.
// Returns 0 when the shared panel cannot be allocated (the caller falls back).
static int gemm_shared_b(const nb_gemm_impl *im, float *c, const float *a, int64_t rsa, int64_t csa, const float *b,
                         int64_t rsb, int64_t csb, int64_t M, int64_t N, int64_t K) {
  // K up to 2.5 blocks is taken whole: one pass over C, and the A share (~170 x 1024) still fits L2
  const int64_t NC = im->nc,
                KC = K <= im->kc * 5 / 2 ? K : (K + (K + im->kc - 1) / im->kc - 1) / ((K + im->kc - 1) / im->kc);
  int64_t ncap = ((N < NC ? N : NC) + im->nr - 1) / im->nr * im->nr, kcap = K < KC ? K : KC;
  float *bp = (float *)aligned_alloc(64, (size_t)((kcap * ncap * sizeof(float) + 63) & ~(size_t)63));
  if (!bp) return 0;
  shared_job j = {im, c, bp, a, b, rsa, csa, rsb, csb, M, N, K, 0, 0, 0, 0};
  int nt = nb_num_threads();
  int64_t tiles = (M + im->mr - 1) / im->mr, per = im->mc / im->mr; /* tiles per task at most */
  int ntasks = (int)(nt * ((tiles + (int64_t)nt * per - 1) / ((int64_t)nt * per)));
  for (j.jc = 0; j.jc < N; j.jc += NC) {
    j.nc = N - j.jc < NC ? N - j.jc : NC;
    for (j.pc = 0; j.pc < K; j.pc += KC) {
      j.kc = K - j.pc < KC ? K - j.pc : KC;
      nb_parallel(pack_b_task, &j, nt);
      nb_parallel(ic_task, &j, ntasks);
    }
  }
  free(bp);
  return 1;
}

// C (batch,M,N) contiguous = A[p] (M,K) [rsa,csa] at a+aoff[p] @ B[p] (K,N) [rsb,csb] at b+boff[p].
void nb_sgemm_batched(float *c, const float *a, const int64_t *aoff, int64_t rsa, int64_t csa, const float *b,
                      const int64_t *boff, int64_t rsb, int64_t csb, int64_t batch, int64_t M, int64_t N, int64_t K) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  int isa = nb_active_isa();
  gemm_job j = {isa >= NB_ISA_AVX512 ? pick_avx512(M, N) : nb_gemm_select(isa),
                c,
                a,
                b,
                aoff,
                boff,
                rsa,
                csa,
                rsb,
                csb,
                batch,
                M,
                N,
                K,
                0,
                NULL};
  if (K <= 0) {
    memset(c, 0, (size_t)(batch * M * N) * sizeof(float));
    return;
  }
  double work = (double)batch * (double)M * (double)N * (double)K;
  int nt = nb_num_threads();
  if (work < 32768.0 * 8) nt = 1;
  if (M == 1 || N == 1) {
    j.split = 3;
    if ((double)batch * K * (M == 1 ? N : M) < 65536.0) nt = 1;
  } else if (batch >= nt)
    j.split = 0;
  else if (N >= (int64_t)j.im->nr * nt * 2)
    j.split = 1;
  else
    j.split = 2;
  // Large single problems share one packed B panel and balance A blocks dynamically.
  if (nt > 1 && batch == 1 && j.split != 3 && M >= 4 * j.im->mc) {
    if (gemm_shared_b(j.im, c, a + aoff[0], rsa, csa, b + boff[0], rsb, csb, M, N, K)) return;
  }
  // NOTE: a row-major B with short rows (<= 4 KB) split over N gives each thread many short runs,
  // which the prefetchers follow at ~20 GB/s; split over K each thread streams one contiguous block.
  if (nt > 1 && j.split == 3 && M == 1 && batch == 1 && csb == 1 && N <= 1024 && K >= 64 * nt) {
    float stack[4 * 1024];
    float *partial = (size_t)(nt - 1) * (size_t)N <= 4 * 1024
                         ? stack
                         : (float *)malloc((size_t)(nt - 1) * (size_t)N * sizeof(float));
    if (partial) {
      j.split = 4;
      j.partial = partial;
      nb_parallel(gemm_task, &j, nt);
      for (int t = 1; t < nt; t++)
        for (int64_t n = 0; n < N; n++) c[n] += partial[(int64_t)(t - 1) * N + n];
      if (partial != stack) free(partial);
      return;
    }
  }
  if (nt > 1 && j.split != 0) {
    int64_t units = j.split == 1 ? N / j.im->nr : j.split == 2 ? M / j.im->mr : (M == 1 ? N : M) / 64;
    if (units < nt) nt = units < 1 ? 1 : (int)units;
  }
  nb_parallel(gemm_task, &j, nt);
}

typedef struct {
  float *c;
  const float *bias;
  const nb_ew_impl *ew;
  int64_t N;
  int act;
} linear_job;

// Rows [lo, hi) of C: + bias, then the activation, in place.
static void linear_rows(void *p, int64_t lo, int64_t hi) {
  const linear_job *j = (const linear_job *)p;
  for (int64_t i = lo; i < hi; i++) {
    float *row = j->c + i * j->N;
    if (j->bias)
      for (int64_t n = 0; n < j->N; n++) row[n] += j->bias[n];
    if (j->act >= 0) j->ew->unary(j->act, row, row, j->N, 0.f, 0.f);
  }
}

void nb_linear_f32(float *c, const float *a, int64_t rsa, int64_t csa, const float *b, int64_t rsb, int64_t csb,
                   int64_t M, int64_t N, int64_t K, const float *bias, int act) {
  int64_t zero = 0;
  nb_sgemm_batched(c, a, &zero, rsa, csa, b, &zero, rsb, csb, 1, M, N, K);
  if (!bias && act < 0) return;
  linear_job j = {c, bias, nb_ew_select(), N, act};
  nb_parallel_for(M, (double)N * (act >= 0 ? 8 : 1), linear_rows, &j);
}
