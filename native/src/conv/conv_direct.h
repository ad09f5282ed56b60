// Convolutions without im2col (conv_direct.c), tried by conv.c after Winograd. Each returns 1 when
// done and 0 when it does not apply (ISA, geometry) or memory ran out; the caller then takes the next
// path. The stride-1 input gradient is conv.c's: nb_conv_direct_fwd on flipped weights.
#ifndef NB_CONV_DIRECT_H
#define NB_CONV_DIRECT_H
#include "conv_common.h"

/* x (N,C,H,W), w (OC,Cg,KH,KW) -> y (N,OC,OH,OW) with the epilogue e (NULL: none), any stride. */
int nb_conv_direct_fwd(float *y, const float *x, const float *w, const nb_conv *g, const nb_conv_epi *e);
/* dy (N,OC,OH,OW), x (N,C,H,W) -> dw (OC,Cg,KH,KW), any stride. */
int nb_conv_direct_bwd_weight(float *dw, const float *dy, const float *x, const nb_conv *g);
#endif
