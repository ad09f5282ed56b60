// The pool family's per-ISA table: max pooling's row loops (pool_impl.h, compiled as pool_scalar.c,
// pool_avx2.c and pool_avx512.c). Driver: pool.c (max and average pooling, forward and backward).
#ifndef NB_POOL_H
#define NB_POOL_H
#include "core.h"

typedef struct {
  /* NaN winning: rm = max(rm, row) over n; and y[o] = the max of rm[o*sw + k*dw], k < kw, for o < n
   * (windows wholly inside the row). */
  void (*max_merge)(float *rm, const float *row, int64_t n);
  void (*max_windows)(float *y, const float *rm, int64_t n, int64_t sw, int64_t kw, int64_t dw);
} nb_pool_impl;

extern const nb_pool_impl nb_pool_scalar, nb_pool_avx2, nb_pool_avx512;
const nb_pool_impl *nb_pool_select(void); /* the active ISA's (pool.c) */
#endif
