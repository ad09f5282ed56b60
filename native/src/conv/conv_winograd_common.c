// Internals shared by the Winograd files (conv_winograd_common.h): the mode switch and when the
// transforms apply, the cache of transformed weights kept between inference calls, and the few-tile
// machinery (the input transform gathered straight from x and the transposed products) that both
// F(4x4,3x3) (conv_winograd.c) and F(2x2,3x3) (conv_winograd_f2.c) run on.
// Glossary as in conv_winograd.c.
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "conv_winograd.h"
#include "conv_winograd_common.h"

static int wino_mode = -1; /* -1: from NABLA_WINOGRAD on first use; 0 off; 1 auto; 2 always (tests) */

void nb_conv_winograd_mode(int mode) { wino_mode = mode; }

int nb_wino_mode(void) {
  if (wino_mode < 0) {
    const char *s = getenv("NABLA_WINOGRAD");
    wino_mode = s && s[0] == '0' ? 0 : 1;
  }
  return wino_mode;
}

const nb_gemm_impl *nb_wino_applies(const nb_conv *g) {
  if (nb_wino_mode() == 0 || g->KH != 3 || g->KW != 3 || g->sh != 1 || g->sw != 1 || g->dh != 1 || g->dw != 1 ||
      g->G != 1)
    return NULL;
#if defined(__x86_64__) || defined(_M_X64)
  const int isa = nb_active_isa();
  if (isa >= NB_ISA_AVX2) return isa >= NB_ISA_AVX512 ? &nb_gemm_avx512 : &nb_gemm_avx2;
#elif defined(__wasm_simd128__)
  /* the WASM build: the panel path on the SIMD128 4x8 microkernel (the transposed few-tile and
     F(2x2,3x3) paths and the weight gradient need x86 microkernels, and decline) */
  return &nb_gemm_wasm;
#endif
  return NULL;
}

// The few-tile input transform: V^T row panels vt[(pr*points + xi)*VTX + c*TR + i] = V[xi] of channel c,
// tile pr*TR + i, gathered straight from x (6x6 patches at stride 4 for F(4x4,3x3), 4x4 at stride 2
// for F(2x2,3x3): m = 4 or 2), channels in blocks of 16 a task.
typedef struct {
  const nb_conv_impl *isa;
  const nb_conv *g;
  const float *x;
  const int32_t *idx;
  float *vt;
  int64_t PR;
  int m;
  atomic_int nonfinite;
} few_in_job;

static void few_inputs(void *p, int64_t lo, int64_t hi) {
  few_in_job *j = (few_in_job *)p;
  const int64_t C = j->g->C, HW = j->g->H * j->g->W, c0 = lo * 16, c1 = hi * 16 < C ? hi * 16 : C;
  const int points = (j->m + 2) * (j->m + 2);
  float z = 0.f;
  for (int64_t q = 0; 2 * q < j->PR; q++) /* each group of 16 tiles: two row panels, or its last one */
    z += j->isa->wino_input_few(j->x + c0 * HW, HW, j->idx + q * points * 16, c1 - c0,
                                j->vt + 2 * q * points * VTX(C) + c0 * TR, VTX(C), points * VTX(C), 2 * q + 1 < j->PR,
                                j->m);
  if (z != z) atomic_store(&j->nonfinite, 1);
}

int nb_wino_few_inputs(const nb_conv *g, const float *x, int m, int64_t NT, float *vt) {
  const int64_t TH = (g->OH + m - 1) / m, TW = (g->OW + m - 1) / m, T = TH * TW, HW = g->H * g->W, pw = m + 2;
  if (NT > FEW_MAX || (double)g->N * g->C * HW >= 2147483647.0) return 0;
  // idx[(q*pw*pw + e)*16 + l]: tile t = 16q + l's patch element e = pw*r + s of channel 0, -1 outside
  int32_t idx[FEW_MAX / 16 * 36 * 16];
  for (int64_t t = 0; t < (NT + 15) / 16 * 16; t++) {
    const int64_t n = t / T, ti = t % T / TW, tj = t % TW;
    for (int64_t r = 0; r < pw; r++)
      for (int64_t s = 0; s < pw; s++) {
        const int64_t ih = m * ti + r - g->ph, iw = m * tj + s - g->pw;
        idx[(t / 16 * pw * pw + pw * r + s) * 16 + t % 16] =
            t < NT && ih >= 0 && ih < g->H && iw >= 0 && iw < g->W ? (int32_t)(n * g->C * HW + ih * g->W + iw) : -1;
      }
  }
  few_in_job j = {.isa = nb_conv_select(), .g = g, .x = x, .idx = idx, .vt = vt, .PR = (NT + TR - 1) / TR, .m = m};
  nb_parallel_for((g->C + 15) / 16, 16.0 * 10 * pw * pw * (double)j.PR * TR, few_inputs, &j);
  return !atomic_load(&j.nonfinite);
}

// The products of output-channel panel kp against tile row panels [pr0, pr1), for `points` transform
// points: m[(pr - pr0)*points + xi] (TR, TC) = V^T[xi] (TR, C) of panel pr @ U^T[xi] (C, tw), from vt
// (rows pr*points + xi, VTX apart) and u (rows xi, UTX apart); columns past tw are zero.
// NOTE: the row panels go innermost, so each point's U^T panel (C x TC, 96 KB at C = 512) comes from
// memory once and from L2 for the rest: one row panel at a time read the whole of U^T (1.5 MB a
// channel panel for F(2x2,3x3) at C = 512, past L2) again for the second, at batch 1 on 7x7 maps.
static void transposed_products(const nb_gemm_impl *im, int points, const nb_conv *g, const float *vt, const float *u,
                                int64_t kp, int64_t pr0, int64_t pr1, float *m) {
  const int64_t C = g->C, K48 = (g->OC + TC - 1) / TC, n = pr1 - pr0, tw = ut_width(g, kp);
  for (int xi = 0; xi < points; xi++) {
    // the products also prefetch the next point's U^T panel (or the next channel panel's first), each
    // row panel a 1/n share of it: at batch 1 U^T comes from memory, and this streams it under the
    // arithmetic of all n passes over this panel, not only the first
    const int last = xi + 1 == points;
    const float *next = !last ? u + (xi + 1) * UTX(g) + kp * C * TC : kp + 1 < K48 ? u + (kp + 1) * C * TC : NULL;
    const int64_t pfs = next ? ((last ? ut_width(g, kp + 1) : tw) + n - 1) / n : 0;
    for (int64_t pr = pr0; pr < pr1; pr++) {
      const float *a = vt + (pr * points + xi) * VTX(C), *b = u + xi * UTX(g) + kp * C * TC;
      float *mo = m + ((pr - pr0) * points + xi) * TR * TC;
      im->ukernel_pf(C, a, b, tw, tw, mo, TC, next ? next + (pr - pr0) * C * pfs : NULL, pfs);
    }
  }
}

int nb_wino_transposed_tasks(const nb_gemm_impl *im, int points, const nb_conv *g, const nb_conv_epi *e,
                             const float *vt, const float *u, int64_t NT, int64_t lo, int64_t hi, nb_wino_tile_fn out,
                             void *ctx) {
  const int64_t PR = (NT + TR - 1) / TR;
  float *m = nb_conv_scratch(NB_SLOT_WINO_M, (size_t)(PR * points * TR * TC)), sc[TC], sh[TC];
  if (!m) return 0;
  // a thread's run of items of one channel panel shares its products' reads of U^T
  for (int64_t t = lo; t < hi;) {
    const int64_t kp = t / PR, pr0 = t % PR, pr1 = pr0 + (hi - t) < PR ? pr0 + (hi - t) : PR;
    const int64_t k0 = kp * TC, kn = g->OC - k0 < TC ? g->OC - k0 : TC;
    transposed_products(im, points, g, vt, u, kp, pr0, pr1, m);
    for (int64_t l = 0; l < TC; l++) { /* the epilogue's scale and shift for the panel (1, 0 past K) */
      sc[l] = e && e->scale && l < kn ? e->scale[k0 + l] : 1.f;
      sh[l] = e && e->shift && l < kn ? e->shift[k0 + l] : 0.f;
    }
    for (int64_t q = 0; q < (pr1 - pr0) * TR && pr0 * TR + q < NT; q++)
      out(ctx, m + (q / TR * points * TR + q % TR) * TC, pr0 * TR + q, k0, kn, sc, sh);
    t += pr1 - pr0;
  }
  return 1;
}

/* ---- transformed weights kept between inference calls ----
 * With reuse_w (the eval-mode fused path: the same weights on every call), U is kept with an exact
 * copy of the weights it came from, keyed by their address and shape. A use compares the copy with
 * the weights (a read of the weights, a quarter of U's size, split over the threads) and transforms
 * again when they differ, so a cached U is never stale; but a use that brings the stamp the entry
 * was last seen with skips the comparison: the caller vouches that those bytes have not changed
 * (nabla's tensors: the storage's version, while its array has not been handed out). At batch 1
 * the comparison took half of a 7x7 convolution's time. Least recently used entries go past the budget,
 * NABLA_WINOGRAD_CACHE_MB (default 256, enough for ResNet-18's 13 convolutions; 0 turns it off). */
#define UC_SLOTS 64
typedef struct {
  const float *w;
  int64_t K, C, mr;
  float *copy, *u;
  size_t bytes;
  uint64_t used;
  double stamp;
} ucache;
static ucache uc[UC_SLOTS];
static size_t uc_total, uc_cap = (size_t)-1;
static uint64_t uc_clock;
static pthread_mutex_t uc_lock = PTHREAD_MUTEX_INITIALIZER;

// The size to allocate for `bytes` of U, and its allocation: whole 2 MB pages where that rounds up by
// at most a quarter, advised as transparent huge pages: U streams from memory at batch 1, and with 4 KB
// pages every 4 KB of it cost a page walk (caches flushed before each call, alternating A/B, median of
// 6: 14x14 256ch 0.865 -> 0.747 ms, 7x7 512ch 1.006 -> 0.919). 64-byte aligned otherwise.
static size_t uc_size(size_t bytes) {
  const size_t r = (bytes + NB_HUGE_PAGE - 1) & ~(NB_HUGE_PAGE - 1);
  return r - bytes <= bytes / 4 ? r : (bytes + 63) & ~(size_t)63;
}

static float *uc_alloc(size_t size) {
  return size % NB_HUGE_PAGE ? (float *)aligned_alloc(64, size) : nb_alloc_huge(size);
}

static void uc_drop(ucache *c) {
  free(c->copy);
  free(c->u);
  uc_total -= c->bytes;
  memset(c, 0, sizeof *c);
}

typedef struct {
  const float *a, *b;
  atomic_int differ;
} cmp_job;

// Chunks [lo, hi) of 16K floats: notes whether a and b differ there.
static void cmp_chunks(void *p, int64_t lo, int64_t hi) {
  cmp_job *j = (cmp_job *)p;
  const int64_t S = 16384;
  for (int64_t q = lo; q < hi && !atomic_load_explicit(&j->differ, memory_order_relaxed); q++)
    if (memcmp(j->a + q * S, j->b + q * S, (size_t)S * sizeof(float))) atomic_store(&j->differ, 1);
}

// Whether a and b (n floats) are the same bits: on every thread (it reads the weights at each use:
// 9.4 MB for 512 x 512 channels, as long as one thread's whole convolution on a 7x7 map at batch 1).
static int same_weights(const float *a, const float *b, int64_t n) {
  const int64_t S = 16384, whole = n / S;
  cmp_job j = {a, b, 0};
  nb_parallel_for(whole, (double)S, cmp_chunks, &j);
  return !atomic_load(&j.differ) && !memcmp(a + whole * S, b + whole * S, (size_t)(n - whole * S) * sizeof(float));
}

// The cached transform of weights w (K, C, 3, 3) in layout `tag` (un floats): from the cache, or
// filled by fill(ctx, u) into a new or stale entry; NULL when it cannot hold them (budget, memory,
// or fill returned 0: non-finite weights). Call with the lock held (nb_wino_cache_lock); the pointer
// is valid until it is released.
float *nb_wino_cached(const float *w, int64_t K, int64_t C, int64_t tag, double stamp, int64_t un, nb_wino_fill_fn fill,
                      void *ctx) {
  const int64_t wn = K * C * 9;
  if (uc_cap == (size_t)-1) {
    const char *s = getenv("NABLA_WINOGRAD_CACHE_MB");
    uc_cap = (size_t)(s ? atol(s) : 256) << 20;
  }
  const size_t usize = uc_size((size_t)un * sizeof(float)), bytes = (size_t)wn * sizeof(float) + usize;
  if (bytes > uc_cap) return NULL;
  ucache *c = NULL;
  for (int i = 0; i < UC_SLOTS && !c; i++)
    if (uc[i].w == w && uc[i].K == K && uc[i].C == C && uc[i].mr == tag) c = &uc[i];
  if (c && ((stamp > 0 && c->stamp == stamp) || same_weights(c->copy, w, wn))) {
    c->used = ++uc_clock;
    c->stamp = stamp;
    return c->u;
  }
  if (!c) {
    while (uc_total + bytes > uc_cap) { /* evict the least recently used */
      ucache *old = NULL;
      for (int i = 0; i < UC_SLOTS; i++)
        if (uc[i].w && (!old || uc[i].used < old->used)) old = &uc[i];
      uc_drop(old);
    }
    for (int i = 0; i < UC_SLOTS && !c; i++)
      if (!uc[i].w) c = &uc[i];
    if (!c) { /* every slot taken: the least recently used goes */
      c = &uc[0];
      for (int i = 1; i < UC_SLOTS; i++)
        if (uc[i].used < c->used) c = &uc[i];
      uc_drop(c);
    }
    c->copy = (float *)malloc((size_t)wn * sizeof(float));
    c->u = uc_alloc(usize);
    if (!c->copy || !c->u) {
      free(c->copy);
      free(c->u);
      memset(c, 0, sizeof *c);
      return NULL;
    }
    *c = (ucache){w, K, C, tag, c->copy, c->u, bytes, 0, 0};
    uc_total += bytes;
  }
  if (!fill(ctx, c->u)) {
    uc_drop(c);
    return NULL;
  }
  memcpy(c->copy, w, (size_t)wn * sizeof(float));
  c->used = ++uc_clock;
  c->stamp = stamp;
  return c->u;
}

void nb_wino_cache_lock(void) { pthread_mutex_lock(&uc_lock); }
void nb_wino_cache_unlock(void) { pthread_mutex_unlock(&uc_lock); }

int nb_wino_cache_on(void) { return uc_cap != 0; }

// Whether products run transposed (few tiles: TR tiles down, TC channels across) beat the direct
// path on g, for `points` transform points (36 for F(4x4,3x3), 16 for F(2x2,3x3)) and a cached U^T
// read from memory at `ucost` multiply-equivalents an element (as worth_it otherwise). Measured:
// F(4x4,3x3) at 12: 512 x 512 channels on a 7x7 map, 39 MB of U^T for 4 tiles, 2.2 ms against the
// direct 1.5, declined; 256 x 256 on 14x14, 0.8 against 1.4. F(2x2,3x3) at 8 on the 7x7 map: 1.4.
int nb_wino_transposed_worth_it(const nb_conv *g, int64_t NT, int points, double ucost) {
  const double direct = 9.0 * g->C * g->OC * g->N * g->OH * g->OW / 0.78;
  const double io = (double)g->N * (g->C * g->H * g->W + g->OC * g->OH * g->OW);
  const double K16 = (double)((g->OC + 15) / 16 * 16), NT8 = (double)((NT + TR - 1) / TR * TR);
  const double wino = points * NT8 * g->C * K16 + ucost * points * K16 * g->C + 30.0 * io;
  return wino < 0.8 * direct;
}
