// Internals shared by the Winograd files, defined in conv_winograd_common.c: the mode and when the
// transforms apply, the cache of transformed weights, and the few-tile input transform and transposed
// products. Used by conv_winograd.c (F(4x4,3x3) forward and input gradient), conv_winograd_grad.c
// (weight gradient) and conv_winograd_f2.c (F(2x2,3x3) on tiny maps); it calls none of them.
#ifndef NB_CONV_WINOGRAD_IMPL_H
#define NB_CONV_WINOGRAD_IMPL_H
#include <stdatomic.h>
#include <stdint.h>
#include "nabla.h"
#include "conv_common.h"
#include "gemm.h"

#define VL          16 /* transforms run over whole vectors of this many tiles (a multiple of every ISA's width) */
#define ROUND_VL(r) (((r) + VL - 1) / VL * VL)
/* The transposed (few-tile) layouts, TR = 8 tiles by TC = 48 output channels: U^T (xi, K48, C, tw)
 * in panels of tw = TC output channels, but the last only as wide as the channels it has left,
 * rounded up to 16 (ut_width; 256 channels: 5 x 48 + 16, not 6 x 48), so that neither memory nor
 * multiplies go to padding; panel kp starts at kp*C*TC. The xi strides of U^T and of V^T (xi, C, TR)
 * are each a cache line past a multiple of 4 KB: the transforms touch every xi row at once, and rows
 * 4 KB apart share one L1 set (8 ways). */
#define FEW_MAX 64 /* tiles the transposed paths take at most (8 row panels) */
#define TR      8
#define TC      48
#define UTX(g)  (((g)->OC + 15) / 16 * 16 * (g)->C + 16)
#define VTX(C)  ((C)*TR + 16)
static inline int64_t ut_width(const nb_conv *g, int64_t kp) {
  const int64_t left = (g->OC + 15) / 16 * 16 - kp * TC;
  return left < TC ? left : TC;
}

typedef struct {
  const nb_conv *g;
  const nb_conv_epi *e;
  const nb_gemm_impl *im;
  const nb_conv_impl *isa;
  float *y, *xp, *u, *vall, *vt, *dq, *dm, *du, *dw; /* vt: packed V^T (few tiles); dq, dm, du: weight gradient */
  const float *x, *w, *dy;
  int64_t TH, TW, T, NT, Hp, Wp, ld, plane, Kp, P, vs, vx, Cp; /* vs: V's row stride (lanes); vx: its xi stride */
  atomic_int nonfinite, failed;
} wino_job;

/* The microkernels for F(4x4,3x3) on g, or NULL when it does not apply: not 3x3 with stride,
 * dilation and groups 1, the scalar path, or switched off (NABLA_WINOGRAD=0, setWinograd). */
const nb_gemm_impl *nb_wino_applies(const nb_conv *g);
/* 0: off; 1: where the cost models say it is faster; 2: wherever it applies (tests). */
int nb_wino_mode(void);

/* The cache of transformed weights, for eval-mode inference: the transform of
 * w (K, C, 3, 3) in layout `tag` (un floats), kept with an exact copy of w and checked against it
 * on every use whose stamp (nb_conv_opts.w_stamp; 0: none) is not the one it was last seen with;
 * filled by fill(ctx, u) on a miss (fill returns 0 for non-finite weights). NULL when it cannot be
 * held. Call between nb_wino_cache_lock and _unlock; the result is valid until then. */
typedef int (*nb_wino_fill_fn)(void *ctx, float *u);
float *nb_wino_cached(const float *w, int64_t K, int64_t C, int64_t tag, double stamp, int64_t un, nb_wino_fill_fn fill,
                      void *ctx);
void nb_wino_cache_lock(void);
void nb_wino_cache_unlock(void);
/* Whether the cache may hold anything (NABLA_WINOGRAD_CACHE_MB is not 0). */
int nb_wino_cache_on(void);

/* The microkernel for the transposed products (TR x TC tiles) on the ISA of `im` (nb_wino_applies's):
 * AVX-512's 8x48, or AVX2's in 4x24 blocks; NULL on the scalar path. */
static inline const nb_gemm_impl *nb_wino_transposed_impl(const nb_gemm_impl *im) {
#if defined(__x86_64__) || defined(_M_X64)
  return im == &nb_gemm_avx512 ? &nb_gemm_avx512_8x48 : im == &nb_gemm_avx2 ? &nb_gemm_avx2_t8x48 : NULL;
#else
  (void)im; /* the per-ISA builds exist on x86-64 only */
  return NULL;
#endif
}
/* Whether products run transposed (TR = 8 tiles down, TC = 48 output channels across: few tiles)
 * beat the direct path, for `points` transform points and a cached U^T costing `ucost` an element. */
int nb_wino_transposed_worth_it(const nb_conv *g, int64_t NT, int points, double ucost);
/* A tile's outputs in the few-tile paths: tile tg's products mt (points rows TR*TC apart, TC output
 * channels each) into channels [k0, k0 + kn), with the panel's epilogue scale and shift sc, sh (TC). */
typedef void (*nb_wino_tile_fn)(void *ctx, const float *mt, int64_t tg, int64_t k0, int64_t kn, const float *sc,
                                const float *sh);
/* Items [lo, hi) of a few-tile job over NT tiles, item t = output-channel panel t / PR against tile row
 * panel t % PR (PR = ceil(NT / TR)): the transposed products of `points` transform points from V^T vt
 * (rows pr*points + xi, VTX apart) and U^T u (rows xi, UTX apart), then out(ctx, ...) for each tile.
 * Returns 0 when the thread's scratch could not be had. */
int nb_wino_transposed_tasks(const nb_gemm_impl *im, int points, const nb_conv *g, const nb_conv_epi *e,
                             const float *vt, const float *u, int64_t NT, int64_t lo, int64_t hi, nb_wino_tile_fn out,
                             void *ctx);
/* The few-tile paths' input transform, for g's NT <= 64 tiles of m x m outputs (m = 4: F(4x4,3x3); 2:
 * F(2x2,3x3)): V^T row panels vt[(pr*points + xi)*VTX(C) + c*TR + i] of tile pr*TR + i, gathered from
 * x. 0 when x holds an Inf or a NaN or is past 32-bit offsets (vt is then not all written). */
int nb_wino_few_inputs(const nb_conv *g, const float *x, int m, int64_t NT, float *vt);
#endif
