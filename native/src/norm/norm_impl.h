// Row loops of layer norm and channel runs of batch norm, compiled three times (norm_scalar.c,
// norm_avx2.c, norm_avx512.c) with that ISA's flags; the drivers (norm.c) pick one table at runtime.
// NB_ISA_TABLE names the table this compilation defines.
#include "norm.h"

// Sum and sum of squared deviations of a row, in double across 16 lanes.
static void row_moments(const float *restrict x, int64_t n, double *mean, double *m2) {
  double l[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; k++) l[k] += (double)x[i + k];
  for (; i < n; i++) l[0] += (double)x[i];
  double s = 0;
  for (int k = 0; k < 16; k++) {
    s += l[k];
    l[k] = 0;
  }
  double mu = s / (double)n;
  for (i = 0; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; k++) {
      double d = (double)x[i + k] - mu;
      l[k] += d * d;
    }
  for (; i < n; i++) {
    double d = (double)x[i] - mu;
    l[0] += d * d;
  }
  double q = 0;
  for (int k = 0; k < 16; k++) q += l[k];
  *mean = mu;
  *m2 = q;
}

// layer norm of one row: y (n) = (x - mean) * rstd * w + b (w, b may be NULL); biased variance.
static void layernorm_row(float *restrict y, const float *restrict x, const float *restrict w, const float *restrict b,
                          int64_t n, float eps, float *mean_out, float *rstd_out) {
  double mu, m2;
  row_moments(x, n, &mu, &m2);
  float rstd = (float)(1.0 / __builtin_sqrt(m2 / (double)n + (double)eps)), m = (float)mu;
  if (w && b)
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) * rstd * w[i] + b[i];
  else if (w)
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) * rstd * w[i];
  else if (b)
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) * rstd + b[i];
  else
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) * rstd;
  *mean_out = m;
  *rstd_out = rstd;
}

// dx of one row: xhat = (x - mean) rstd, g = dy * w; dx = rstd (g - mean(g) - xhat mean(g xhat)).
static void layernorm_bwd_row(float *restrict dx, const float *restrict dy, const float *restrict x,
                              const float *restrict w, int64_t n, float mean, float rstd) {
  double l1[16] = {0}, l2[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; k++) {
      float g = w ? dy[i + k] * w[i + k] : dy[i + k], xh = (x[i + k] - mean) * rstd;
      l1[k] += g;
      l2[k] += g * xh;
    }
  for (; i < n; i++) {
    float g = w ? dy[i] * w[i] : dy[i], xh = (x[i] - mean) * rstd;
    l1[0] += g;
    l2[0] += g * xh;
  }
  double s1 = 0, s2 = 0;
  for (int k = 0; k < 16; k++) {
    s1 += l1[k];
    s2 += l2[k];
  }
  float a = (float)(s1 / (double)n), c = (float)(s2 / (double)n);
  for (i = 0; i < n; i++) {
    float g = w ? dy[i] * w[i] : dy[i], xh = (x[i] - mean) * rstd;
    dx[i] = rstd * (g - a - xh * c);
  }
}

// Batch norm (norm.c), over one run of n values of a channel. Sums in double, eight independent lanes so
// that the compiler vectorises them without reassociating: acc[0] += sum (x - c), acc[1] += sum (x - c)^2.
static void bn_moments(const float *restrict x, int64_t n, double c, double *acc) {
  double s1[8] = {0}, s2[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) {
      const double u = (double)x[i + l] - c;
      s1[l] += u;
      s2[l] += u * u;
    }
  for (; i < n; i++) {
    const double u = (double)x[i] - c;
    s1[0] += u;
    s2[0] += u * u;
  }
  for (int l = 0; l < 8; l++) {
    acc[0] += s1[l];
    acc[1] += s2[l];
  }
}

// y = act(((x - muf) - dmu) * scale + shift + res): the normalisation with the mean as muf + dmu.
static void bn_apply(float *restrict y, const float *restrict x, const float *restrict res, int64_t n, float muf,
                     float dmu, float scale, float shift, int relu) {
  if (res)
    for (int64_t i = 0; i < n; i++) y[i] = ((x[i] - muf) - dmu) * scale + shift + res[i];
  else
    for (int64_t i = 0; i < n; i++) y[i] = ((x[i] - muf) - dmu) * scale + shift;
  if (relu)
    for (int64_t i = 0; i < n; i++) y[i] = nb_keep_positive(y[i], y[i]);
}

// Backward sums with g = dy, or dy where the relu output ya > 0 (ya NULL: no relu):
// acc[0] += sum (x - mf), acc[1] += sum g, acc[2] += sum g (x - mf).
static void bn_bwd_sums(const float *restrict x, const float *restrict dy, const float *restrict ya, int64_t n,
                        float mf, double *acc) {
  double sx[8] = {0}, sd[8] = {0}, sp[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) {
      const double u = (double)x[i + l] - mf, g = ya ? nb_keep_positive(dy[i + l], ya[i + l]) : dy[i + l];
      sx[l] += u;
      sd[l] += g;
      sp[l] += g * u;
    }
  for (; i < n; i++) {
    const double u = (double)x[i] - mf, g = ya ? nb_keep_positive(dy[i], ya[i]) : dy[i];
    sx[0] += u;
    sd[0] += g;
    sp[0] += g * u;
  }
  for (int l = 0; l < 8; l++) {
    acc[0] += sx[l];
    acc[1] += sd[l];
    acc[2] += sp[l];
  }
}

// dx = a g - bq ((x - muf) - dmu) + c0, and the residual's gradient dr = g when dr is non-NULL.
static void bn_bwd_apply(float *restrict dx, float *restrict dr, const float *restrict x, const float *restrict dy,
                         const float *restrict ya, int64_t n, float a, float bq, float c0, float muf, float dmu) {
  if (ya) {
    if (dr)
      for (int64_t i = 0; i < n; i++) dr[i] = nb_keep_positive(dy[i], ya[i]);
    for (int64_t i = 0; i < n; i++) dx[i] = a * nb_keep_positive(dy[i], ya[i]) - bq * ((x[i] - muf) - dmu) + c0;
  } else {
    if (dr) memcpy(dr, dy, (size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) dx[i] = a * dy[i] - bq * ((x[i] - muf) - dmu) + c0;
  }
}

const nb_norm_impl NB_ISA_TABLE = {
    .layernorm_row = layernorm_row,
    .layernorm_bwd_row = layernorm_bwd_row,
    .bn_moments = bn_moments,
    .bn_apply = bn_apply,
    .bn_bwd_sums = bn_bwd_sums,
    .bn_bwd_apply = bn_bwd_apply,
};
