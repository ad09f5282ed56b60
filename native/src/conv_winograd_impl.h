// Internals shared by the Winograd F(4x4,3x3) files: conv_winograd.c (forward, input gradient,
// the cache of transformed weights) and conv_winograd_grad.c (weight gradient).
#ifndef NB_CONV_WINOGRAD_IMPL_H
#define NB_CONV_WINOGRAD_IMPL_H
#include <stdatomic.h>
#include <stdint.h>
#include "../include/nabla.h"
#include "ew.h"
#include "gemm/gemm.h"

#define VL 16  /* transforms run over whole vectors of this many tiles (a multiple of every ISA's width) */
#define ROUND_VL(r) (((r) + VL - 1) / VL * VL)

typedef struct {
  const nb_conv *g;
  const nb_conv_epi *e;
  const nb_gemm_impl *im;
  const nb_ew_impl *ew;
  float *y, *xp, *u, *vall, *dq, *dm, *du, *dw;
  const float *x, *w, *dy;
  int64_t TH, TW, T, NT, Hp, Wp, ld, plane, Kp, P, vs, Cp;
  atomic_int nonfinite, failed;
} wino_job;

/* The microkernels for F(4x4,3x3) on g, or NULL when it does not apply: not 3x3 with stride,
 * dilation and groups 1, the scalar path, or switched off (NABLA_WINOGRAD=0, setWinograd). */
const nb_gemm_impl *nb_wino_applies(const nb_conv *g);
/* 0: off; 1: where the cost models say it is faster; 2: wherever it applies (tests). */
int nb_wino_mode(void);
#endif
