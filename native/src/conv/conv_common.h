// Infrastructure every convolution path shares (conv_common.c): the per-ISA table of conv loops
// (conv_impl.h, compiled as conv_scalar.c, conv_avx2.c and conv_avx512.c), huge-page allocation, the
// per-thread scratch slots and the epilogue. It calls no convolution path: every path may include it.
#ifndef NB_CONV_COMMON_H
#define NB_CONV_COMMON_H
#include "core.h"

#define NB_WINO_MAXR 48 /* tiles in one run of the Winograd transforms, at most */

typedef struct {
  /* Winograd F(4x4,3x3) tile transforms over runs of at most NB_WINO_MAXR tiles (winograd_tf.h). */
  void (*wino_phase_row)(const float *row, int64_t ld, float *d, int64_t plane, float *z);
  void (*wino_input)(const float *x, int64_t rs, const int64_t *off, int64_t R, float *v, int64_t vs);
  void (*wino_output)(const float *m, int64_t ms, int64_t R, const float *sc, const float *sh, float *o);
  float (*wino_weights)(const float *w, int64_t ldw, int64_t m, int64_t C, float *u, int64_t xs, int64_t mr);
  void (*wino_dy)(const float *y, int64_t rs, int64_t plane, int64_t R, float *dm, int64_t ms);
  void (*wino_dw)(const float *du, int64_t us, int64_t C, float *dw);
  /* The few-tile input transform, F(4x4,3x3) (m = 4) or F(2x2,3x3) (m = 2): up to 16 tiles gathered by
   * idx from x, V^T into row panels of 8 tiles (winograd_tf.h). NaN when an input read is not finite. */
  float (*wino_input_few)(const float *x, int64_t cs, const int32_t *idx, int64_t nc, float *vt, int64_t xs, int64_t ps,
                          int two, int m);
  /* dst (n) = act(src * sc + sh + res) over one output row (conv_direct.c, conv_winograd.c). */
  void (*conv_epilogue_row)(float *dst, const float *src, int64_t n, float sc, float sh, const float *res, int relu);
  /* The same over m rows (src lds, dst and res ldd apart) with per-row sc[i], sh[i] (NULL: 1, 0). */
  void (*conv_epilogue_tile)(float *dst, int64_t ldd, const float *src, int64_t lds, int64_t m, int64_t n,
                             const float *sc, const float *sh, const float *res, int relu);
  /* dst[j] = src[j * stride], j < n: one row of a strided convolution's phase plane (conv_direct.c). */
  void (*strided_row)(float *dst, const float *src, int64_t n, int64_t stride);
} nb_conv_impl;

extern const nb_conv_impl nb_conv_scalar, nb_conv_avx2, nb_conv_avx512;
const nb_conv_impl *nb_conv_select(void); /* the active ISA's */

/* bytes (a multiple of NB_HUGE_PAGE) 2 MB aligned and advised as transparent huge pages (Linux);
 * NULL when out of memory. free() releases it. */
#define NB_HUGE_PAGE ((size_t)2 << 20)
float *nb_alloc_huge(size_t bytes);

/* The per-thread scratch buffers of the convolution paths. A path holds several at once, and one path
 * runs inside another (the stride-1 input gradient is a forward pass on weights flipped into
 * NB_SLOT_FLIPPED_W), so buffers in use together take different slots. A slot's name says its main
 * use; the other uses listed never overlap it on one thread. */
enum nb_conv_slot {
  NB_SLOT_DIRECT_INPUT, /* direct: the input's phase planes, or the weight gradient's columns */
  NB_SLOT_DIRECT_DW,    /* direct weight gradient: its transposed accumulators */
  NB_SLOT_DIRECT_DY,    /* direct weight gradient: the transposed output gradient */
  NB_SLOT_FLIPPED_W,    /* stride-1 input gradient (conv.c): the flipped, channel-transposed weights */
  NB_SLOT_WINO_U,       /* Winograd: U transformed for this call; the few-tile V^T; the weight gradient's dM */
  NB_SLOT_WINO_PHASES,  /* Winograd: the input's phase planes; the weight gradient's channels-last input */
  NB_SLOT_WINO_V,       /* Winograd: V of one panel or of all; F(2x2,3x3)'s V^T; the weight gradient's V^T */
  NB_SLOT_WINO_M,       /* Winograd: the products M (both layouts); the weight gradient's output-gradient phases */
  NB_SLOT_WINO_DU,      /* Winograd weight gradient: dU */
  NB_CONV_SLOTS
};
/* The calling thread's grow-only buffer `slot` of at least `floats` floats, 2 MB aligned; NULL when
 * out of memory. */
float *nb_conv_scratch(enum nb_conv_slot slot, size_t floats);
/* Frees the calling thread's scratch buffers above 128 MB (kept below that for the next call). */
void nb_conv_scratch_trim(void);

/* dst[0, n) = act(src * scale[oc] + shift[oc] + res[at + i]) (src may be dst), on isa's row loop. */
void nb_conv_epilogue_run(const nb_conv_impl *isa, float *dst, const float *src, int64_t n, const nb_conv_epi *e,
                          int64_t oc, int64_t at);
/* The epilogue e applied in place to y (N,OC,OH,OW), for paths that store plain products. */
void nb_conv_epilogue(float *y, const nb_conv *g, const nb_conv_epi *e);
#endif
