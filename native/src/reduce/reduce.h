// The reduce family's per-ISA table: contiguous row reductions and the softmax row (reduce_impl.h,
// compiled as reduce_scalar.c, reduce_avx2.c and reduce_avx512.c). Drivers: reduce.c (reductions over
// any axes, softmax / log-softmax) and attention.c (its online softmax).
#ifndef NB_REDUCE_H
#define NB_REDUCE_H
#include "core.h"

typedef struct {
  double (*reduce)(int op, const float *x, int64_t n, double acc);
  void (*softmax_row)(float *y, const float *x, int64_t n, int log);
} nb_reduce_impl;

extern const nb_reduce_impl nb_reduce_scalar, nb_reduce_avx2, nb_reduce_avx512;
const nb_reduce_impl *nb_reduce_select(void); /* the active ISA's (reduce.c) */
#endif
