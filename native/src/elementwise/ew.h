// The elementwise family's per-ISA table of contiguous unary and binary loops (ew_impl.h, compiled as
// ew_scalar.c, ew_avx2.c and ew_avx512.c). Its strided drivers are elementwise.c (unary, binary, copy)
// and mask.c (compare, where, cast); gemm.c runs a linear layer's activation on it.
#ifndef NB_EW_H
#define NB_EW_H
#include "core.h"

typedef struct {
  void (*unary)(int op, float *y, const float *x, int64_t n, float p0, float p1);
  void (*binary)(int op, float *y, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n);
} nb_ew_impl;

extern const nb_ew_impl nb_ew_scalar, nb_ew_avx2, nb_ew_avx512;
const nb_ew_impl *nb_ew_select(void); /* the active ISA's (elementwise.c) */
#endif
