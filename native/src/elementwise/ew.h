// The per-ISA table of contiguous elementwise loops (ew_impl.h) and the strided-iteration helpers
// the drivers share (strided.c).
#ifndef NB_EW_H
#define NB_EW_H
#include <stdint.h>
#include <string.h>
#include "nabla.h"

/* Scalars of one Adam step: betas, 1 - betas (rounded from double), s = lr / (1 - beta1^t),
 * c2 = 1 / sqrt(1 - beta2^t). */
typedef struct { float b1, b2, omb1, omb2, eps, wd, lr, s, c2; int decoupled; } nb_adam_args;

#define NB_WINO_MAXR 48

typedef struct {
  void (*unary)(int op, float *y, const float *x, int64_t n, float p0, float p1);
  void (*binary)(int op, float *y, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n);
  double (*reduce)(int op, const float *x, int64_t n, double acc);
  void (*softmax_row)(float *y, const float *x, int64_t n, int log);
  void (*layernorm_row)(float *y, const float *x, const float *w, const float *b, int64_t n, float eps, float *mean, float *rstd);
  void (*layernorm_bwd_row)(float *dx, const float *dy, const float *x, const float *w, int64_t n, float mean, float rstd);
  void (*adam)(float *p, const float *g, float *m, float *v, int64_t n, const nb_adam_args *a);
  /* Winograd F(4x4,3x3) tile transforms over runs of at most NB_WINO_MAXR tiles (winograd_tf.h). */
  void (*wino_phase_row)(const float *row, int64_t ld, float *d, int64_t plane, float *z);
  void (*wino_input)(const float *x, int64_t rs, const int64_t *off, int64_t R, float *v, int64_t vs);
  void (*wino_output)(const float *m, int64_t ms, int64_t R, const float *sc, const float *sh, float *o);
  float (*wino_weights)(const float *w, int64_t ldw, int64_t m, int64_t C, float *u, int64_t xs, int64_t mr);
  void (*wino_dy)(const float *y, int64_t rs, int64_t plane, int64_t R, float *dm, int64_t ms);
  void (*wino_dw)(const float *du, int64_t us, int64_t C, float *dw);
  /* The few-tile input transform, F(4x4,3x3) (m = 4) or F(2x2,3x3) (m = 2): up to 16 tiles gathered by
   * idx from x, V^T into row panels of 8 tiles (winograd_tf.h). NaN when an input read is not finite. */
  float (*wino_input_few)(const float *x, int64_t cs, const int32_t *idx, int64_t nc, float *vt, int64_t xs, int64_t ps, int two,
                          int m);
  /* dst (n) = act(src * sc + sh + res) over one output row (conv_direct.c, conv_winograd.c). */
  void (*conv_epilogue_row)(float *dst, const float *src, int64_t n, float sc, float sh, const float *res, int relu);
  /* The same over m rows (src lds, dst and res ldd apart) with per-row sc[i], sh[i] (NULL: 1, 0). */
  void (*conv_epilogue_tile)(float *dst, int64_t ldd, const float *src, int64_t lds, int64_t m, int64_t n,
                             const float *sc, const float *sh, const float *res, int relu);
  /* dst[j] = src[j * stride], j < n: one row of a strided convolution's phase plane (conv_direct.c). */
  void (*strided_row)(float *dst, const float *src, int64_t n, int64_t stride);
  /* Max pooling's values (pool.c), NaN winning: rm = max(rm, row) over n; and y[o] = the max of
   * rm[o*sw + k*dw], k < kw, for o < n (windows wholly inside the row). */
  void (*max_merge)(float *rm, const float *row, int64_t n);
  void (*max_windows)(float *y, const float *rm, int64_t n, int64_t sw, int64_t kw, int64_t dw);
  /* Batch-norm runs (nn.c): sums in double, normalisation and its gradient in float (ew_impl.h). */
  void (*bn_moments)(const float *x, int64_t n, double c, double *acc);
  void (*bn_apply)(float *y, const float *x, const float *res, int64_t n, float muf, float dmu, float scale, float shift, int relu);
  void (*bn_bwd_sums)(const float *x, const float *dy, const float *ya, int64_t n, float mf, double *acc);
  void (*bn_bwd_apply)(float *dx, float *dr, const float *x, const float *dy, const float *ya, int64_t n, float a, float bq,
                       float c0, float muf, float dmu);
} nb_ew_impl;

extern const nb_ew_impl nb_ew_scalar, nb_ew_avx2, nb_ew_avx512;
const nb_ew_impl *nb_ew_select(void);

/* Merges adjacent dims that are contiguous in every one of the `nt` layouts (same shape) and drops
 * size-1 dims; the result has at least one dim. Returns the new ndim. */
int nb_coalesce(nb_layout *ls, int nt);
/* Offsets of element `idx` (row-major over dims [0, nd)) in each of the nt layouts. */
void nb_offsets(const nb_layout *ls, int nt, int nd, int64_t idx, int64_t *off);
/* Contiguous row-major strides for a shape. */
void nb_contig_strides(nb_layout *l);

/* v where y > 0 or y is NaN, else 0: relu(v) = nb_keep_positive(v, v), its gradient from the output y
 * nb_keep_positive(g, y) (torch's threshold_backward). A bit mask rather than a select: on activations
 * about half the elements are negative, and a compare-and-branch per element mispredicts half the time. */
static inline float nb_keep_positive(float v, float y) {
  uint32_t b, m = (uint32_t)0 - (uint32_t)!(y <= 0.f);
  memcpy(&b, &v, sizeof b);
  b &= m;
  memcpy(&v, &b, sizeof v);
  return v;
}

/* max(a, b) with NaN winning (as torch's max pooling), as two selects: one combined condition
 * compiled to slow code. */
static inline float nb_max_nan(float a, float b) { const float m = b > a ? b : a; return b != b ? b : m; }

/* Runs fn(ctx, lo, hi) over [0, n) split across the pool when n * cost_per_item is large. */
typedef void (*nb_range_fn)(void *ctx, int64_t lo, int64_t hi);
void nb_parallel_for(int64_t n, double cost_per_item, nb_range_fn fn, void *ctx);
#endif
