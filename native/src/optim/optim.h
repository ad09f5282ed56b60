// The optim family's per-ISA table: the contiguous Adam / AdamW update (optim_impl.h, compiled as
// optim_scalar.c, optim_avx2.c and optim_avx512.c). Driver: optim.c (Adam, AdamW, SGD).
#ifndef NB_OPTIM_H
#define NB_OPTIM_H
#include "core.h"

/* Scalars of one Adam step: betas, 1 - betas (rounded from double), s = lr / (1 - beta1^t),
 * c2 = 1 / sqrt(1 - beta2^t). */
typedef struct {
  float b1, b2, omb1, omb2, eps, wd, lr, s, c2;
  int decoupled;
} nb_adam_args;

typedef struct {
  void (*adam)(float *p, const float *g, float *m, float *v, int64_t n, const nb_adam_args *a);
} nb_optim_impl;

extern const nb_optim_impl nb_optim_scalar, nb_optim_avx2, nb_optim_avx512;
const nb_optim_impl *nb_optim_select(void); /* the active ISA's (optim.c) */
#endif
