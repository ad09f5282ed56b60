// Max and average pooling over NCHW contiguous tensors; one (n,c) plane per task.
// Glossary: N,C,H,W input; OH,OW output; kh,kw window; sh,sw stride; ph,pw padding; dh,dw dilation.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nabla.h"
#include "pool.h"

NB_ISA_SELECT(nb_pool_impl, nb_pool_select, nb_pool_scalar, nb_pool_avx2, nb_pool_avx512)

typedef struct {
  const nb_pool *p;
  float *y;
  int32_t *idx;
  const float *x;
  float *dx;
  const float *dy;
  int cip;
  const nb_pool_impl *isa;
} pool_job;

// Taps t in [0, k) with 0 <= o*s - p + t*d < n form [lo, hi).
static void tap_range(int64_t o, int64_t s, int64_t p, int64_t d, int64_t k, int64_t n, int64_t *lo, int64_t *hi) {
  int64_t base = o * s - p, a = 0, b = k;
  while (a < k && base + a * d < 0) a++;
  while (b > a && base + (b - 1) * d >= n) b--;
  *lo = a;
  *hi = b;
}

// x plane (H,W) -> max of each window and its flat index; NaN wins, the first maximum wins ties.
// NOTE: one output row at a time, taps outermost: the per-output selections are independent, so
// they pipeline (and vectorise) instead of forming a 9-deep compare-and-select chain per output.
static void max_planes(void *q, int64_t lo, int64_t hi) {
  const pool_job *j = (const pool_job *)q;
  const nb_pool *p = j->p;
  for (int64_t nc = lo; nc < hi; nc++) {
    const float *xp = j->x + nc * p->H * p->W;
    for (int64_t oh = 0; oh < p->OH; oh++) {
      float *best = j->y + (nc * p->OH + oh) * p->OW;
      int32_t *bi = j->idx + (nc * p->OH + oh) * p->OW;
      for (int64_t ow = 0; ow < p->OW; ow++) {
        best[ow] = -INFINITY;
        bi[ow] = -1;
      }
      int64_t kh0, kh1;
      tap_range(oh, p->sh, p->ph, p->dh, p->kh, p->H, &kh0, &kh1);
      for (int64_t kh = kh0; kh < kh1; kh++) {
        const int64_t ih = oh * p->sh - p->ph + kh * p->dh;
        const float *row = xp + ih * p->W;
        for (int64_t kw = 0; kw < p->kw; kw++) {
          // outputs whose tap kw lands inside the row: 0 <= ow*sw - pw + kw*dw < W
          int64_t off = kw * p->dw - p->pw, o0, o1;
          o0 = off >= 0 ? 0 : (-off + p->sw - 1) / p->sw;
          o1 = p->W - off > 0 ? (p->W - off + p->sw - 1) / p->sw : 0;
          if (o1 > p->OW) o1 = p->OW;
          const int64_t sw = p->sw;
          for (int64_t ow = o0; ow < o1; ow++) {
            int64_t iw = ow * sw + off;
            // take v when it is larger, when it is the first valid tap, or when it is a NaN over a number;
            // as separate selects (a combined condition compiles to much slower code)
            float v = row[iw], b = best[ow];
            int32_t i = (int32_t)(ih * p->W + iw), c = bi[ow];
            float b1 = v > b ? v : b;
            int32_t c1 = v > b ? i : c;
            b1 = c < 0 ? v : b1;
            c1 = c < 0 ? i : c1;
            best[ow] = (v != v) & (b == b) ? v : b1;
            bi[ow] = (v != v) & (b == b) ? i : c1;
          }
        }
      }
    }
  }
}

// The window of output (oh,ow) clipped to the input, and its divisor (PyTorch avg_pool2d rules).
static void avg_window(const nb_pool *p, int64_t oh, int64_t ow, int cip, int64_t *h0, int64_t *h1, int64_t *w0,
                       int64_t *w1, float *div) {
  int64_t a = oh * p->sh - p->ph, b = ow * p->sw - p->pw;
  int64_t c = a + p->kh < p->H + p->ph ? a + p->kh : p->H + p->ph,
          d = b + p->kw < p->W + p->pw ? b + p->kw : p->W + p->pw;
  int64_t pool = (c - a) * (d - b);
  *h0 = a < 0 ? 0 : a;
  *w0 = b < 0 ? 0 : b;
  *h1 = c < p->H ? c : p->H;
  *w1 = d < p->W ? d : p->W;
  *div = (float)(cip ? pool : (*h1 - *h0) * (*w1 - *w0));
}

static void avg_planes(void *q, int64_t lo, int64_t hi) {
  const pool_job *j = (const pool_job *)q;
  const nb_pool *p = j->p;
  for (int64_t nc = lo; nc < hi; nc++) {
    const float *xp = j->x + nc * p->H * p->W;
    for (int64_t oh = 0; oh < p->OH; oh++)
      for (int64_t ow = 0; ow < p->OW; ow++) {
        int64_t h0, h1, w0, w1;
        float div;
        avg_window(p, oh, ow, j->cip, &h0, &h1, &w0, &w1, &div);
        double s = 0;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) s += xp[ih * p->W + iw];
        j->y[(nc * p->OH + oh) * p->OW + ow] = (float)(s / div);
      }
  }
}

static void avg_bwd_planes(void *q, int64_t lo, int64_t hi) {
  const pool_job *j = (const pool_job *)q;
  const nb_pool *p = j->p;
  for (int64_t nc = lo; nc < hi; nc++) {
    float *xp = j->dx + nc * p->H * p->W;
    memset(xp, 0, (size_t)(p->H * p->W) * sizeof(float));
    for (int64_t oh = 0; oh < p->OH; oh++)
      for (int64_t ow = 0; ow < p->OW; ow++) {
        int64_t h0, h1, w0, w1;
        float div;
        avg_window(p, oh, ow, j->cip, &h0, &h1, &w0, &w1, &div);
        float gv = j->dy[(nc * p->OH + oh) * p->OW + ow] / div;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) xp[ih * p->W + iw] += gv;
      }
  }
}

#define VALUES_MAX_W 8192

// The max over output column ow's taps that fall inside the row rm (-inf when none does), NaN winning.
static float clipped_window_max(const float *rm, const nb_pool *p, int64_t ow) {
  const int64_t base = ow * p->sw - p->pw;
  int64_t kw0, kw1;
  tap_range(ow, p->sw, p->pw, p->dw, p->kw, p->W, &kw0, &kw1);
  float best = kw0 < kw1 ? rm[base + kw0 * p->dw] : -INFINITY;
  for (int64_t kw = kw0 + 1; kw < kw1; kw++) best = nb_max_nan(best, rm[base + kw * p->dw]);
  return best;
}

// Values only (nothing to differentiate): per output row, the elementwise max of the window's input
// rows (contiguous, vectorised), then of each window's columns in that row. NaN wins.
static void max_values_planes(void *q, int64_t lo, int64_t hi) {
  const pool_job *j = (const pool_job *)q;
  const nb_pool *p = j->p;
  float rm[VALUES_MAX_W];
  for (int64_t nc = lo; nc < hi; nc++) {
    const float *xp = j->x + nc * p->H * p->W;
    for (int64_t oh = 0; oh < p->OH; oh++) {
      float *yr = j->y + (nc * p->OH + oh) * p->OW;
      int64_t kh0, kh1;
      tap_range(oh, p->sh, p->ph, p->dh, p->kh, p->H, &kh0, &kh1);
      if (kh0 >= kh1) {
        for (int64_t ow = 0; ow < p->OW; ow++) yr[ow] = -INFINITY;
        continue;
      }
      memcpy(rm, xp + (oh * p->sh - p->ph + kh0 * p->dh) * p->W, (size_t)p->W * sizeof(float));
      for (int64_t kh = kh0 + 1; kh < kh1; kh++)
        j->isa->max_merge(rm, xp + (oh * p->sh - p->ph + kh * p->dh) * p->W, p->W);
      // outputs whose whole window is inside the row: [oa, ob); the rest clip their taps
      const int64_t span = (p->kw - 1) * p->dw;
      int64_t oa = (p->pw + p->sw - 1) / p->sw,
              ob = p->W - 1 - span + p->pw >= 0 ? (p->W - 1 - span + p->pw) / p->sw + 1 : 0;
      if (ob > p->OW) ob = p->OW;
      if (oa > ob) oa = ob;
      if (ob > oa) j->isa->max_windows(yr + oa, rm + oa * p->sw - p->pw, ob - oa, p->sw, p->kw, p->dw);
      for (int64_t ow = 0; ow < oa; ow++) yr[ow] = clipped_window_max(rm, p, ow);
      for (int64_t ow = ob; ow < p->OW; ow++) yr[ow] = clipped_window_max(rm, p, ow);
    }
  }
}

void nb_maxpool2d_f32(float *y, int32_t *idx, const float *x, const nb_pool *p) {
  pool_job j = {.p = p, .y = y, .idx = idx, .x = x, .isa = nb_pool_select()};
  double cost = (double)(p->OH * p->OW * p->kh * p->kw);
  if (!idx && p->W <= VALUES_MAX_W) {
    nb_parallel_for(p->N * p->C, cost, max_values_planes, &j);
    return;
  }
  int32_t *tmp = NULL;
  if (!idx) {
    tmp = (int32_t *)malloc((size_t)(p->N * p->C * p->OH * p->OW) * sizeof(int32_t) + 4);
    if (!tmp) return; /* unreachable in practice: W > 8192 and out of memory */
    j.idx = tmp;
  }
  nb_parallel_for(p->N * p->C, cost, max_planes, &j);
  free(tmp);
}

void nb_avgpool2d_f32(float *y, const float *x, const nb_pool *p, int cip) {
  pool_job j = {.p = p, .y = y, .x = x, .cip = cip};
  nb_parallel_for(p->N * p->C, (double)(p->OH * p->OW * p->kh * p->kw), avg_planes, &j);
}

void nb_avgpool2d_bwd_f32(float *dx, const float *dy, const nb_pool *p, int cip) {
  pool_job j = {.p = p, .dx = dx, .dy = dy, .cip = cip};
  nb_parallel_for(p->N * p->C, (double)(p->OH * p->OW * p->kh * p->kw), avg_bwd_planes, &j);
}

typedef struct {
  float *dx;
  const float *dy;
  const int32_t *idx;
  int64_t HW, O;
} maxbwd_job;

static void max_bwd_planes(void *q, int64_t lo, int64_t hi) {
  const maxbwd_job *j = (const maxbwd_job *)q;
  for (int64_t nc = lo; nc < hi; nc++) {
    float *xp = j->dx + nc * j->HW;
    const float *g = j->dy + nc * j->O;
    const int32_t *ix = j->idx + nc * j->O;
    memset(xp, 0, (size_t)j->HW * sizeof(float));
    for (int64_t o = 0; o < j->O; o++)
      if (ix[o] >= 0) xp[ix[o]] += g[o];
  }
}

int nb_maxpool2d_bwd_f32(float *dx, const float *dy, const int32_t *idx, int64_t planes, int64_t HW, int64_t O) {
  for (int64_t i = 0; i < planes * O; i++)
    if (idx[i] < -1 || idx[i] >= HW) return 0;
  maxbwd_job j = {dx, dy, idx, HW, O};
  nb_parallel_for(planes, (double)(HW + 2 * O), max_bwd_planes, &j);
  return 1;
}
