// Layer norm and batch norm, forward and backward. Row and channel-run math lives in the per-ISA table
// (norm_impl.h).
// Glossary: R rows, C features (layer norm over the last dim); N batch, C channels, S spatial size
// (batch norm per channel over N and S).
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "norm.h"

NB_ISA_SELECT(nb_norm_impl, nb_norm_select, nb_norm_scalar, nb_norm_avx2, nb_norm_avx512)

typedef struct {
  const nb_norm_impl *isa;
  float *y, *mean, *rstd, *dw, *db;
  const float *x, *w, *b, *dy;
  int64_t R, C;
  float eps;
} ln_job;

static void ln_rows(void *p, int64_t lo, int64_t hi) {
  const ln_job *j = (const ln_job *)p;
  for (int64_t r = lo; r < hi; r++)
    j->isa->layernorm_row(j->y + r * j->C, j->x + r * j->C, j->w, j->b, j->C, j->eps, j->mean + r, j->rstd + r);
}

// x (R,C) contiguous, w (C) or NULL, b (C) or NULL -> y (R,C), mean (R), rstd (R)
void nb_layernorm_f32(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, int64_t R,
                      int64_t C, float eps) {
  ln_job j = {
      .isa = nb_norm_select(), .y = y, .mean = mean, .rstd = rstd, .x = x, .w = w, .b = b, .R = R, .C = C, .eps = eps};
  nb_parallel_for(R, (double)C * 4, ln_rows, &j);
}

static void ln_bwd_rows(void *p, int64_t lo, int64_t hi) {
  const ln_job *j = (const ln_job *)p;
  for (int64_t r = lo; r < hi; r++)
    j->isa->layernorm_bwd_row(j->y + r * j->C, j->dy + r * j->C, j->x + r * j->C, j->w, j->C, j->mean[r], j->rstd[r]);
}

// dw[c] = sum_r dy[r,c] * xhat[r,c], db[c] = sum_r dy[r,c], for a block of columns.
static void ln_bwd_cols(void *p, int64_t lo, int64_t hi) {
  const ln_job *j = (const ln_job *)p;
  for (int64_t c0 = lo; c0 < hi; c0 += 256) {
    int64_t c1 = c0 + 256 < hi ? c0 + 256 : hi;
    double sw[256] = {0}, sb[256] = {0};
    for (int64_t r = 0; r < j->R; r++) {
      const float *dy = j->dy + r * j->C, *x = j->x + r * j->C;
      float m = j->mean[r], s = j->rstd[r];
      for (int64_t c = c0; c < c1; c++) {
        sw[c - c0] += dy[c] * ((x[c] - m) * s);
        sb[c - c0] += dy[c];
      }
    }
    for (int64_t c = c0; c < c1; c++) {
      if (j->dw) j->dw[c] = (float)sw[c - c0];
      if (j->db) j->db[c] = (float)sb[c - c0];
    }
  }
}

// dy (R,C), x (R,C), mean (R), rstd (R), w (C) or NULL -> dx (R,C); dw, db (C) if non-NULL
void nb_layernorm_bwd_f32(float *dx, float *dw, float *db, const float *dy, const float *x, const float *mean,
                          const float *rstd, const float *w, int64_t R, int64_t C) {
  ln_job j = {.isa = nb_norm_select(),
              .y = dx,
              .mean = (float *)mean,
              .rstd = (float *)rstd,
              .dw = dw,
              .db = db,
              .x = x,
              .w = w,
              .dy = dy,
              .R = R,
              .C = C};
  nb_parallel_for(R, (double)C * 6, ln_bwd_rows, &j);
  if (dw || db) nb_parallel_for(C, (double)R * 3, ln_bwd_cols, &j);
}

/* ---- batch norm (training): per-channel statistics over N and the spatial size S ----
 * x (N, C, S) contiguous. One channel per task: its N*S values stay in L2 across the passes. */
typedef struct {
  const nb_norm_impl *isa;
  float *y, *mean, *var, *dx, *dw, *db, *dr;
  const float *x, *dy, *w, *b, *res, *yact; /* res: residual added (forward); yact: relu output (backward) */
  int64_t N, C, S;
  float eps;
  int relu;
} bn_job;

static void bn_fwd_channels(void *p, int64_t lo, int64_t hi) {
  const bn_job *j = (const bn_job *)p;
  const double cnt = (double)(j->N * j->S);
  for (int64_t c = lo; c < hi; c++) {
    double m[2] = {0, 0}, v[2] = {0, 0};
    for (int64_t n = 0; n < j->N; n++) j->isa->bn_moments(j->x + (n * j->C + c) * j->S, j->S, 0.0, m);
    const double mu = m[0] / cnt;
    for (int64_t n = 0; n < j->N; n++) j->isa->bn_moments(j->x + (n * j->C + c) * j->S, j->S, mu, v);
    const double var = v[1] / cnt;
    const double is = 1.0 / sqrt(var + (double)j->eps);
    // NOTE: x - mu as (x - muf) - dmu: the first difference is exact for x near the mean (Sterbenz),
    // so a large offset with a small spread keeps its precision (muf alone is off by half an ulp of x).
    const float muf = (float)mu, dmu = (float)(mu - (double)muf);
    const float scale = (float)(is * (j->w ? j->w[c] : 1.f)), shift = j->b ? j->b[c] : 0.f;
    for (int64_t n = 0; n < j->N; n++) {
      const int64_t base = (n * j->C + c) * j->S;
      j->isa->bn_apply(j->y + base, j->x + base, j->res ? j->res + base : NULL, j->S, muf, dmu, scale, shift, j->relu);
    }
    j->mean[c] = (float)mu;
    j->var[c] = (float)var;
  }
}

// x (N,C,S), w/b (C) or NULL -> y (N,C,S), mean and biased var (C);
// y = act((x - mean) / sqrt(var + eps) * w + b + res), res (N,C,S) or NULL, act relu or identity
void nb_batchnorm_f32(float *y, float *mean, float *var, const float *x, const float *w, const float *b,
                      const float *res, int relu, int64_t N, int64_t C, int64_t S, float eps) {
  bn_job j = {.isa = nb_norm_select(),
              .y = y,
              .mean = mean,
              .var = var,
              .x = x,
              .w = w,
              .b = b,
              .res = res,
              .relu = relu,
              .N = N,
              .C = C,
              .S = S,
              .eps = eps};
  nb_parallel_for(C, (double)(N * S) * 4, bn_fwd_channels, &j);
}

// The gradient at the batch norm's output is dy, or with a relu after it dy where its output y > 0
// (and where y is NaN; torch's threshold_backward). A residual added before the relu receives the same.
static void bn_bwd_channels(void *p, int64_t lo, int64_t hi) {
  const bn_job *j = (const bn_job *)p;
  const double cnt = (double)(j->N * j->S);
  const int64_t S = j->S;
  for (int64_t c = lo; c < hi; c++) {
    // NOTE: the forward's mean arrives rounded to float32, which is half an ulp of x off: with a large
    // offset and a small spread that is a visible error in x - mean. One pass takes sums relative to
    // it and recovers the exact mean: mu = mean + sum(x - mean)/cnt.
    const float mf = j->mean[c];
    double acc[3] = {0, 0, 0};
    for (int64_t n = 0; n < j->N; n++) {
      const int64_t base = (n * j->C + c) * S;
      j->isa->bn_bwd_sums(j->x + base, j->dy + base, j->yact ? j->yact + base : NULL, S, mf, acc);
    }
    const double off = acc[0] / cnt, mu = (double)mf + off, sdy = acc[1];
    const double sdyx = acc[2] - off * sdy; /* sum dy * (x - mu) */
    const double is = 1.0 / sqrt((double)j->var[c] + (double)j->eps);
    const double k = is * (j->w ? j->w[c] : 1.f); /* dx = k * (dy - sdy/cnt - (x - mu) * is^2 * sdyx/cnt) */
    const float muf = (float)mu, dmu = (float)(mu - (double)muf); /* as in the forward */
    const float a = (float)k, bq = (float)(k * is * is * sdyx / cnt), c0 = (float)(-k * sdy / cnt);
    for (int64_t n = 0; n < j->N; n++) {
      const int64_t base = (n * j->C + c) * S;
      j->isa->bn_bwd_apply(j->dx + base, j->dr ? j->dr + base : NULL, j->x + base, j->dy + base,
                           j->yact ? j->yact + base : NULL, S, a, bq, c0, muf, dmu);
    }
    if (j->dw) j->dw[c] = (float)(sdyx * is);
    if (j->db) j->db[c] = (float)sdy;
  }
}

// dy, x (N,C,S), the forward's mean and biased var (C), w (C) or NULL -> dx (N,C,S); dw, db (C) if non-NULL.
// yact (N,C,S): the forward's relu output, or NULL without relu; dr (N,C,S): the residual's gradient, or NULL.
void nb_batchnorm_bwd_f32(float *dx, float *dw, float *db, float *dr, const float *dy, const float *x,
                          const float *yact, const float *mean, const float *var, const float *w, int64_t N, int64_t C,
                          int64_t S, float eps) {
  bn_job j = {.isa = nb_norm_select(),
              .mean = (float *)mean,
              .var = (float *)var,
              .dx = dx,
              .dw = dw,
              .db = db,
              .dr = dr,
              .x = x,
              .dy = dy,
              .yact = yact,
              .w = w,
              .N = N,
              .C = C,
              .S = S,
              .eps = eps};
  nb_parallel_for(C, (double)(N * S) * 4, bn_bwd_channels, &j);
}
