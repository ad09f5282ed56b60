// The norm family's per-ISA table: layer norm's rows and batch norm's channel runs (norm_impl.h,
// compiled as norm_scalar.c, norm_avx2.c and norm_avx512.c). Driver: norm.c.
#ifndef NB_NORM_H
#define NB_NORM_H
#include "core.h"

typedef struct {
  void (*layernorm_row)(float *y, const float *x, const float *w, const float *b, int64_t n, float eps, float *mean,
                        float *rstd);
  void (*layernorm_bwd_row)(float *dx, const float *dy, const float *x, const float *w, int64_t n, float mean,
                            float rstd);
  /* Batch-norm runs: sums in double, normalisation and its gradient in float (norm_impl.h). */
  void (*bn_moments)(const float *x, int64_t n, double c, double *acc);
  void (*bn_apply)(float *y, const float *x, const float *res, int64_t n, float muf, float dmu, float scale,
                   float shift, int relu);
  void (*bn_bwd_sums)(const float *x, const float *dy, const float *ya, int64_t n, float mf, double *acc);
  void (*bn_bwd_apply)(float *dx, float *dr, const float *x, const float *dy, const float *ya, int64_t n, float a,
                       float bq, float c0, float muf, float dmu);
} nb_norm_impl;

extern const nb_norm_impl nb_norm_scalar, nb_norm_avx2, nb_norm_avx512;
const nb_norm_impl *nb_norm_select(void); /* the active ISA's (norm.c) */
#endif
