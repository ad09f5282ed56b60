// 3x3 stride-1 convolutions by Winograd: F(4x4,3x3) forward and input gradient (conv_winograd.c),
// weight gradient (conv_winograd_grad.c), F(2x2,3x3) on tiny maps (conv_winograd_f2.c); tried by
// conv.c before the direct path. Each returns 1 when done and 0 when it does not apply (geometry, ISA,
// cost, non-finite values, NABLA_WINOGRAD=0) or memory ran out; y is then rewritten whole by the
// caller's next path.
#ifndef NB_CONV_WINOGRAD_H
#define NB_CONV_WINOGRAD_H
#include "nabla.h"

/* x (N,C,H,W), w (OC,C,3,3) -> y (N,OC,OH,OW) with the epilogue e (NULL: none); stride, dilation
 * and groups 1, any zero padding. o->reuse_w (o may be NULL): keep the transformed weights for the
 * next call with the same weights (inference; see the cache in conv_winograd_common.c). */
int nb_conv_winograd_fwd(float *y, const float *x, const float *w, const nb_conv *g, const nb_conv_epi *e,
                         const nb_conv_opts *o);
/* dy (N,OC,OH,OW), x (N,C,H,W) -> dw (OC,C,3,3), for the geometry nb_conv_winograd_fwd takes. */
int nb_conv_winograd_bwd_weight(float *dw, const float *dy, const float *x, const nb_conv *g);
/* Tiny maps in eval-mode inference by F(2x2,3x3) (conv_winograd_f2.c), for nb_conv_winograd_fwd's
 * arguments with the weights' stamp: 1 when done, 0 when it does not apply or is not faster. */
int nb_conv_winograd_f2_fwd(float *y, const float *x, const float *w, const nb_conv *g, const nb_conv_epi *e,
                            double stamp);
/* The switch (conv_winograd_common.c; also declared in nabla.h): 0: never; 1: where its cost model says
 * it is faster (the default; NABLA_WINOGRAD=0 makes it 0); 2: wherever it applies (tests). */
void nb_conv_winograd_mode(int mode);
#endif
