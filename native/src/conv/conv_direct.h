// Convolutions without im2col (conv_direct.c), tried first by conv.c. Each returns 1 when done and
// 0 when it does not apply (ISA, geometry) or memory ran out; the caller then takes the im2col path.
#ifndef NB_CONV_DIRECT_H
#define NB_CONV_DIRECT_H
#include "nabla.h"
#include "conv_common.h"

/* x (N,C,H,W), w (OC,Cg,KH,KW) -> y (N,OC,OH,OW) with the epilogue e (NULL: none), any stride. */
int nb_conv_direct_fwd(float *y, const float *x, const float *w, const nb_conv *g, const nb_conv_epi *e);
/* dy (N,OC,OH,OW), w -> dx (N,C,H,W), stride 1 only. */
int nb_conv_direct_bwd_input(float *dx, const float *dy, const float *w, const nb_conv *g);
/* dy (N,OC,OH,OW), x (N,C,H,W) -> dw (OC,Cg,KH,KW), any stride. */
int nb_conv_direct_bwd_weight(float *dw, const float *dy, const float *x, const nb_conv *g);
/* The calling thread's grow-only scratch buffer `slot` (< NB_CONV_SLOTS) of at least `floats`
 * floats, 2 MB aligned; NULL when out of memory. Slots 0-3 are conv_direct.c's, 4-8 conv_winograd.c's. */
#define NB_CONV_SLOTS 9
float *nb_conv_scratch(int slot, size_t floats);
/* bytes (a multiple of NB_HUGE_PAGE) 2 MB aligned and advised as transparent huge pages (Linux);
 * NULL when out of memory. free() releases it. */
#define NB_HUGE_PAGE ((size_t)2 << 20)
float *nb_alloc_huge(size_t bytes);
/* dst[0, n) = act(src * scale[oc] + shift[oc] + res[at + i]) (src may be dst), on isa's row loop. */
void nb_conv_epilogue_run(const nb_conv_impl *isa, float *dst, const float *src, int64_t n, const nb_conv_epi *e, int64_t oc, int64_t at);
/* Frees the calling thread's scratch buffers above 128 MB (kept below that for the next call). */
void nb_conv_scratch_trim(void);
/* The epilogue e applied in place to y (N,OC,OH,OW), for paths that store plain products. */
void nb_conv_epilogue(float *y, const nb_conv *g, const nb_conv_epi *e);
#endif
