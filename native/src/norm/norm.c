// Fused neural-network kernels: layer norm forward/backward, embedding-style indexSelect/indexAdd,
// and the SGD / Adam(W) update steps. Row math lives in the per-ISA table (ew_impl.h).
// Glossary: R rows, C features (layer norm over the last dim); outer, len, inner split around `dim`.
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "ew.h"

typedef struct {
  const nb_ew_impl *ew;
  float *y, *mean, *rstd, *dw, *db;
  const float *x, *w, *b, *dy;
  int64_t R, C;
  float eps;
} ln_job;

static void ln_rows(void *p, int64_t lo, int64_t hi) {
  const ln_job *j = (const ln_job *)p;
  for (int64_t r = lo; r < hi; r++)
    j->ew->layernorm_row(j->y + r * j->C, j->x + r * j->C, j->w, j->b, j->C, j->eps, j->mean + r, j->rstd + r);
}

// x (R,C) contiguous, w (C) or NULL, b (C) or NULL -> y (R,C), mean (R), rstd (R)
void nb_layernorm_f32(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, int64_t R, int64_t C, float eps) {
  ln_job j = { .ew = nb_ew_select(), .y = y, .mean = mean, .rstd = rstd, .x = x, .w = w, .b = b, .R = R, .C = C, .eps = eps };
  nb_parallel_for(R, (double)C * 4, ln_rows, &j);
}

static void ln_bwd_rows(void *p, int64_t lo, int64_t hi) {
  const ln_job *j = (const ln_job *)p;
  for (int64_t r = lo; r < hi; r++)
    j->ew->layernorm_bwd_row(j->y + r * j->C, j->dy + r * j->C, j->x + r * j->C, j->w, j->C, j->mean[r], j->rstd[r]);
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
      for (int64_t c = c0; c < c1; c++) { sw[c - c0] += dy[c] * ((x[c] - m) * s); sb[c - c0] += dy[c]; }
    }
    for (int64_t c = c0; c < c1; c++) {
      if (j->dw) j->dw[c] = (float)sw[c - c0];
      if (j->db) j->db[c] = (float)sb[c - c0];
    }
  }
}

// dy (R,C), x (R,C), mean (R), rstd (R), w (C) or NULL -> dx (R,C); dw, db (C) if non-NULL
void nb_layernorm_bwd_f32(float *dx, float *dw, float *db, const float *dy, const float *x, const float *mean, const float *rstd,
                          const float *w, int64_t R, int64_t C) {
  ln_job j = { .ew = nb_ew_select(), .y = dx, .mean = (float *)mean, .rstd = (float *)rstd, .dw = dw, .db = db,
               .x = x, .w = w, .dy = dy, .R = R, .C = C };
  nb_parallel_for(R, (double)C * 6, ln_bwd_rows, &j);
  if (dw || db) nb_parallel_for(C, (double)R * 3, ln_bwd_cols, &j);
}

/* ---- indexSelect / indexAdd (embedding forward / backward) ---- */
typedef struct { float *y; const float *x; const int32_t *idx; int64_t outer, len, inner, m; } index_job;

static void select_rows(void *p, int64_t lo, int64_t hi) {
  const index_job *j = (const index_job *)p;
  for (int64_t r = lo; r < hi; r++) {
    int64_t o = r / j->m, k = r % j->m;
    memcpy(j->y + r * j->inner, j->x + (o * j->len + j->idx[k]) * j->inner, (size_t)j->inner * sizeof(float));
  }
}

// x (outer, len, inner) -> y (outer, m, inner) with y[o,k,:] = x[o, idx[k], :]; idx already in range
void nb_index_select_f32(float *y, const float *x, const int32_t *idx, int64_t outer, int64_t len, int64_t inner, int64_t m) {
  index_job j = { y, x, idx, outer, len, inner, m };
  nb_parallel_for(outer * m, (double)inner, select_rows, &j);
}

// Threads own disjoint column ranges of inner, so repeated indices never race.
static void add_cols(void *p, int64_t lo, int64_t hi) {
  const index_job *j = (const index_job *)p;
  for (int64_t o = 0; o < j->outer; o++)
    for (int64_t k = 0; k < j->m; k++) {
      float *d = j->y + (o * j->len + j->idx[k]) * j->inner;
      const float *s = j->x + (o * j->m + k) * j->inner;
      for (int64_t i = lo; i < hi; i++) d[i] += s[i];
    }
}

// dst (outer, len, inner)[o, idx[k], :] += src (outer, m, inner)[o, k, :]; idx already in range
void nb_index_add_f32(float *dst, const float *src, const int32_t *idx, int64_t outer, int64_t len, int64_t inner, int64_t m) {
  index_job j = { dst, src, idx, outer, len, inner, m };
  nb_parallel_for(inner, (double)(outer * m), add_cols, &j);
}

/* ---- optimizer steps, in place on contiguous float32 ---- */
typedef struct {
  const nb_ew_impl *ew;
  float *p, *m, *v;
  const float *g;
  nb_adam_args adam;
  float lr, wd, momentum, dampening;
  int nesterov, first;
} opt_job;

static void adam_chunks(void *q, int64_t lo, int64_t hi) {
  const opt_job *j = (const opt_job *)q;
  j->ew->adam(j->p + lo, j->g + lo, j->m + lo, j->v + lo, hi - lo, &j->adam);
}

// Adam (decoupled=0, weight decay added to the gradient) or AdamW (decoupled=1) at step t >= 1.
// NOTE: 1 - beta is formed in double: in float32, 1 - 0.999f is off by 1.3e-5 relative.
void nb_adam_f32(float *p, float *m, float *v, const float *g, int64_t n, float lr, double beta1, double beta2, float eps,
                 float wd, int decoupled, double step) {
  double bc1 = 1.0 - pow(beta1, step), bc2 = 1.0 - pow(beta2, step);
  opt_job j = { .ew = nb_ew_select(), .p = p, .m = m, .v = v, .g = g,
                .adam = { (float)beta1, (float)beta2, (float)(1.0 - beta1), (float)(1.0 - beta2), eps, wd, lr,
                          (float)(lr / bc1), (float)(1.0 / sqrt(bc2)), decoupled } };
  nb_parallel_for(n, 8.0, adam_chunks, &j);
}

static void sgd_chunks(void *q, int64_t lo, int64_t hi) {
  const opt_job *j = (const opt_job *)q;
  for (int64_t i = lo; i < hi; i++) {
    float g = j->g[i] + j->wd * j->p[i];
    if (j->m) {
      float b = j->first ? g : j->momentum * j->m[i] + (1.0f - j->dampening) * g;
      j->m[i] = b;
      g = j->nesterov ? g + j->momentum * b : b;
    }
    j->p[i] -= j->lr * g;
  }
}

// SGD with optional momentum buffer `buf` (NULL: none), dampening, Nesterov and weight decay.
void nb_sgd_f32(float *p, float *buf, const float *g, int64_t n, float lr, float momentum, float dampening, float wd,
                int nesterov, int first) {
  opt_job j = { .p = p, .m = buf, .g = g, .lr = lr, .momentum = momentum, .dampening = dampening, .wd = wd,
                .nesterov = nesterov, .first = first };
  nb_parallel_for(n, 4.0, sgd_chunks, &j);
}

/* ---- batch norm (training): per-channel statistics over N and the spatial size S ----
 * x (N, C, S) contiguous. One channel per task: its N*S values stay in L2 across the passes. */
typedef struct {
  const nb_ew_impl *ew;
  float *y, *mean, *var, *dx, *dw, *db, *dr;
  const float *x, *dy, *w, *b, *res, *yact;   /* res: residual added (forward); yact: relu output (backward) */
  int64_t N, C, S;
  float eps;
  int relu;
} bn_job;

static void bn_fwd_channels(void *p, int64_t lo, int64_t hi) {
  const bn_job *j = (const bn_job *)p;
  const double cnt = (double)(j->N * j->S);
  for (int64_t c = lo; c < hi; c++) {
    double m[2] = { 0, 0 }, v[2] = { 0, 0 };
    for (int64_t n = 0; n < j->N; n++) j->ew->bn_moments(j->x + (n * j->C + c) * j->S, j->S, 0.0, m);
    const double mu = m[0] / cnt;
    for (int64_t n = 0; n < j->N; n++) j->ew->bn_moments(j->x + (n * j->C + c) * j->S, j->S, mu, v);
    const double var = v[1] / cnt;
    const double is = 1.0 / sqrt(var + (double)j->eps);
    // NOTE: x - mu as (x - muf) - dmu: the first difference is exact for x near the mean (Sterbenz),
    // so a large offset with a small spread keeps its precision (muf alone is off by half an ulp of x).
    const float muf = (float)mu, dmu = (float)(mu - (double)muf);
    const float scale = (float)(is * (j->w ? j->w[c] : 1.f)), shift = j->b ? j->b[c] : 0.f;
    for (int64_t n = 0; n < j->N; n++) {
      const int64_t base = (n * j->C + c) * j->S;
      j->ew->bn_apply(j->y + base, j->x + base, j->res ? j->res + base : NULL, j->S, muf, dmu, scale, shift, j->relu);
    }
    j->mean[c] = (float)mu;
    j->var[c] = (float)var;
  }
}

// x (N,C,S), w/b (C) or NULL -> y (N,C,S), mean and biased var (C);
// y = act((x - mean) / sqrt(var + eps) * w + b + res), res (N,C,S) or NULL, act relu or identity
void nb_batchnorm_f32(float *y, float *mean, float *var, const float *x, const float *w, const float *b,
                      const float *res, int relu, int64_t N, int64_t C, int64_t S, float eps) {
  bn_job j = { .ew = nb_ew_select(), .y = y, .mean = mean, .var = var, .x = x, .w = w, .b = b, .res = res, .relu = relu,
               .N = N, .C = C, .S = S, .eps = eps };
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
    double acc[3] = { 0, 0, 0 };
    for (int64_t n = 0; n < j->N; n++) {
      const int64_t base = (n * j->C + c) * S;
      j->ew->bn_bwd_sums(j->x + base, j->dy + base, j->yact ? j->yact + base : NULL, S, mf, acc);
    }
    const double off = acc[0] / cnt, mu = (double)mf + off, sdy = acc[1];
    const double sdyx = acc[2] - off * sdy;     /* sum dy * (x - mu) */
    const double is = 1.0 / sqrt((double)j->var[c] + (double)j->eps);
    const double k = is * (j->w ? j->w[c] : 1.f);   /* dx = k * (dy - sdy/cnt - (x - mu) * is^2 * sdyx/cnt) */
    const float muf = (float)mu, dmu = (float)(mu - (double)muf);   /* as in the forward */
    const float a = (float)k, bq = (float)(k * is * is * sdyx / cnt), c0 = (float)(-k * sdy / cnt);
    for (int64_t n = 0; n < j->N; n++) {
      const int64_t base = (n * j->C + c) * S;
      j->ew->bn_bwd_apply(j->dx + base, j->dr ? j->dr + base : NULL, j->x + base, j->dy + base,
                          j->yact ? j->yact + base : NULL, S, a, bq, c0, muf, dmu);
    }
    if (j->dw) j->dw[c] = (float)(sdyx * is);
    if (j->db) j->db[c] = (float)sdy;
  }
}

// dy, x (N,C,S), the forward's mean and biased var (C), w (C) or NULL -> dx (N,C,S); dw, db (C) if non-NULL.
// yact (N,C,S): the forward's relu output, or NULL without relu; dr (N,C,S): the residual's gradient, or NULL.
void nb_batchnorm_bwd_f32(float *dx, float *dw, float *db, float *dr, const float *dy, const float *x, const float *yact,
                          const float *mean, const float *var, const float *w, int64_t N, int64_t C, int64_t S, float eps) {
  bn_job j = { .ew = nb_ew_select(), .mean = (float *)mean, .var = (float *)var, .dx = dx, .dw = dw, .db = db, .dr = dr, .x = x, .dy = dy, .yact = yact,
               .w = w, .N = N, .C = C, .S = S, .eps = eps };
  nb_parallel_for(C, (double)(N * S) * 4, bn_bwd_channels, &j);
}
