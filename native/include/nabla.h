// nabla native kernels: op codes (generated from src/backend/op_codes.ts into op_codes.gen.h) and
// the C prototypes the N-API layer (src/napi/, declared in src/napi/kernels.def) calls after
// validating arguments. The umbrella header: each section names the folder under native/src that
// defines it (see native/README.md).
//
// Every kernel here trusts its arguments: bounds, sizes and overflow are checked once, in the
// addon, before any of these run. Argument order: outputs, then const inputs, then dims.
// Dimension glossary: M,N,K gemm dims; B batch; N,C,H,W image batch/channels/height/width;
// OC output channels; KH,KW kernel size; OH,OW output size; G groups.
#ifndef NABLA_H
#define NABLA_H

#include <stdint.h>
#include <stddef.h>

#define NB_MAX_DIMS 8

/* Op codes: enum nb_unary_op / nb_binary_op / nb_reduce_op (NB_RELU, ...), generated from
 * src/backend/op_codes.ts by scripts/gen-native.mjs. */
#include "op_codes.gen.h"

/* A strided view: element (i0..in) sits at offset + sum(ik * strides[k]), in elements. */
typedef struct {
  int ndim;
  int64_t shape[NB_MAX_DIMS];
  int64_t strides[NB_MAX_DIMS];
  int64_t offset;
} nb_layout;

int64_t nb_numel(const nb_layout *l); /* core/layout.c */

/* ---- cpu features and threads (core/cpu_features.c, core/threadpool.c) ---- */
enum nb_isa { NB_ISA_SCALAR = 0, NB_ISA_AVX2 = 1, NB_ISA_AVX512 = 2 };
int nb_cpu_isa(void); /* best ISA this CPU and OS support; NABLA_ISA=scalar|avx2 caps it */
const char *nb_isa_name(int isa);
void nb_set_isa(int isa); /* caps the dispatch (tests, benchmarks); clamped to nb_cpu_isa() */
int nb_active_isa(void);

typedef void (*nb_task_fn)(void *ctx, int tid, int nthreads);
/* Runs fn(ctx, t, ntasks) for every task t in [0, ntasks) over the pool; the caller works too. */
void nb_parallel(nb_task_fn fn, void *ctx, int ntasks);
int nb_num_threads(void);
void nb_set_num_threads(int n); /* 1..NB_MAX_THREADS; default NABLA_NUM_THREADS or all cores */
#define NB_MAX_THREADS 64

/* ---- gemm (gemm/) ---- */
/* C (batch,M,N) contiguous = A[p] (M,K) [rsa,csa] at a+aoff[p] @ B[p] (K,N) [rsb,csb] at b+boff[p].
 * Any transpose is a choice of strides; broadcast batches repeat an offset. M=1 / N=1 use GEMV. */
void nb_sgemm_batched(float *c, const float *a, const int64_t *aoff, int64_t rsa, int64_t csa, const float *b,
                      const int64_t *boff, int64_t rsb, int64_t csb, int64_t batch, int64_t M, int64_t N, int64_t K);
/* A linear layer: C (M,N) contiguous = act(A (M,K) [rsa,csa] @ B (K,N) [rsb,csb] + bias (N)), bias NULL
 * for none, act a unary op code (p0 = p1 = 0) or -1 for none; the epilogue runs on C while it is hot. */
void nb_linear_f32(float *c, const float *a, int64_t rsa, int64_t csa, const float *b, int64_t rsb, int64_t csb,
                   int64_t M, int64_t N, int64_t K, const float *bias, int act);

/* ---- elementwise (elementwise/elementwise.c: unary, binary, copy), reductions and softmax (reduce/reduce.c) ---- */
void nb_unary_f32(int op, float *y, const float *x, const nb_layout *lx, float p0, float p1);
void nb_binary_f32(int op, float *y, const float *a, const nb_layout *la, const float *b, const nb_layout *lb);
/* y has lx's shape with the axes in `mask` (bit d = axis d) set to 1. */
void nb_reduce_f32(int op, float *y, const float *x, const nb_layout *lx, unsigned mask);
void nb_copy_f32(float *y, const nb_layout *ly, const float *x, const nb_layout *lx);
void nb_softmax_f32(float *y, const float *x, const nb_layout *lx, int axis, int log);
/* elementwise/mask.c: y (bool) = a op b for op in EQ..GE; y = cond ? a : b; y (float32) = cast of bool
 * (src 0) / int32 (src 1). */
void nb_compare_f32(int op, uint8_t *y, const float *a, const nb_layout *la, const float *b, const nb_layout *lb);
void nb_where_f32(float *y, const uint8_t *c, const nb_layout *lc, const float *a, const nb_layout *la, const float *b,
                  const nb_layout *lb);
void nb_cast_to_f32(float *y, const void *x, const nb_layout *lx, int src);

/* ---- normalisation (norm/norm.c); contiguous float32 ---- */
/* x (R,C), w/b (C) or NULL -> y (R,C), mean (R), rstd (R) */
void nb_layernorm_f32(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, int64_t R,
                      int64_t C, float eps);
/* dy, x (R,C), mean, rstd (R), w (C) or NULL -> dx (R,C), dw, db (C) when non-NULL (overwritten) */
void nb_layernorm_bwd_f32(float *dx, float *dw, float *db, const float *dy, const float *x, const float *mean,
                          const float *rstd, const float *w, int64_t R, int64_t C);
/* Batch norm in training: x (N,C,S) contiguous, w/b (C) or NULL -> y = act(bn(x) + res), and the batch
 * mean and biased var (C); res (N,C,S) or NULL, act relu (relu = 1) or identity. The backward takes the
 * same mean and var, and the forward's output y when it had a relu, and writes dx, dw/db and the
 * residual's gradient dr when non-NULL. */
void nb_batchnorm_f32(float *y, float *mean, float *var, const float *x, const float *w, const float *b,
                      const float *res, int relu, int64_t N, int64_t C, int64_t S, float eps);
void nb_batchnorm_bwd_f32(float *dx, float *dw, float *db, float *dr, const float *dy, const float *x,
                          const float *yact, const float *mean, const float *var, const float *w, int64_t N, int64_t C,
                          int64_t S, float eps);

/* ---- convolution (conv/) and pooling (pool/pool.c); all tensors contiguous NCHW ---- */
typedef struct {
  int64_t N, C, H, W, OC, KH, KW, OH, OW, G;
  int64_t sh, sw, ph, pw, dh, dw;
} nb_conv;
/* An epilogue applied as each output is stored: y = act(conv * scale[oc] + shift[oc] + res), where a
 * NULL scale is 1, a NULL shift is 0, a NULL res (same layout as y) is 0, and relu clamps at 0. */
typedef struct {
  const float *scale, *shift, *res;
  int relu;
} nb_conv_epi;
/* Forward options: reuse_w says the same weights are likely to come again unchanged (inference), so
 * a transformed copy may be kept between calls. It is checked against them exactly on every use,
 * unless w_stamp (> 0, from nb_next_stamp) names the weights' contents: the caller promises that
 * while it passes the same stamp with the same address, no byte of the weights has changed. */
typedef struct {
  int reuse_w;
  double w_stamp;
} nb_conv_opts;
/* A new stamp, unique in the process (1, 2, ...): a name for one version of some memory's contents
 * (conv/conv_common.c). */
double nb_next_stamp(void);
/* x (N,C,H,W), w (OC,C/G,KH,KW) -> y (N,OC,OH,OW), then the epilogue e (NULL: none).
 * Returns 0 on allocation failure. */
int nb_conv2d_f32(float *y, const float *x, const float *w, const nb_conv *g, const nb_conv_epi *e);
/* The same with options o (NULL: none). */
int nb_conv2d_opts_f32(float *y, const float *x, const float *w, const nb_conv *g, const nb_conv_epi *e,
                       const nb_conv_opts *o);
/* dy (N,OC,OH,OW), w -> dx (N,C,H,W) (overwritten). */
int nb_conv2d_bwd_input_f32(float *dx, const float *dy, const float *w, const nb_conv *g);
/* dy (N,OC,OH,OW), x (N,C,H,W) -> dw (OC,C/G,KH,KW) (overwritten). */
int nb_conv2d_bwd_weight_f32(float *dw, const float *dy, const float *x, const nb_conv *g);
/* Winograd's switch (conv/conv_winograd_common.c; also in conv_winograd.h): 0 never; 1 where its cost
 * model says it is faster (the default; NABLA_WINOGRAD=0 makes it 0); 2 wherever it applies (tests). */
void nb_conv_winograd_mode(int mode);

typedef struct {
  int64_t N, C, H, W, OH, OW;
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
} nb_pool;
/* x (N,C,H,W) -> values (N,C,OH,OW) and the flat ih*W+iw of each window's max (NaN wins; -1 if empty).
 * idx NULL: values only (a faster pass). */
void nb_maxpool2d_f32(float *y, int32_t *idx, const float *x, const nb_pool *p);
/* dy, idx (planes, O) -> dx (planes, HW) (overwritten): dx[idx] += dy per plane, -1 skipped.
 * Returns 0, before writing anything, when an index is outside [-1, HW). */
int nb_maxpool2d_bwd_f32(float *dx, const float *dy, const int32_t *idx, int64_t planes, int64_t HW, int64_t O);
/* x -> window means (dilation 1); count_include_pad as PyTorch. */
void nb_avgpool2d_f32(float *y, const float *x, const nb_pool *p, int count_include_pad);
/* dy (N,C,OH,OW) -> dx (N,C,H,W) (overwritten). */
void nb_avgpool2d_bwd_f32(float *dx, const float *dy, const nb_pool *p, int count_include_pad);

/* ---- indexing (indexing/indexing.c) ---- */
/* y (outer,m,inner) = x (outer,len,inner) rows idx; dst rows idx += src. Indices checked by the caller. */
void nb_index_select_f32(float *y, const float *x, const int32_t *idx, int64_t outer, int64_t len, int64_t inner,
                         int64_t m);
void nb_index_add_f32(float *dst, const float *src, const int32_t *idx, int64_t outer, int64_t len, int64_t inner,
                      int64_t m);
/* ---- optimizers (optim/optim.c) ---- */
/* In-place optimizer steps over n parameters (PyTorch semantics). */
void nb_adam_f32(float *p, float *m, float *v, const float *g, int64_t n, float lr, double beta1, double beta2,
                 float eps, float wd, int decoupled, double step);
void nb_sgd_f32(float *p, float *buf, const float *g, int64_t n, float lr, float momentum, float dampening, float wd,
                int nesterov, int first);
/* ---- attention (attention/attention.c) ---- */
/* Fused attention: q, k, v, out (B,H,T,D) contiguous; lse (B,H,T).
 * out = softmax(q k^T * scale [+ causal mask]) v, one score block at a time. Return 0 on OOM. */
int nb_attention_f32(float *out, float *lse, const float *q, const float *k, const float *v, int64_t B, int64_t H,
                     int64_t T, int64_t D, float scale, int causal);
/* The forward with T queries over S keys (query t at key position S - T + t for the causal mask), k
 * and v (B,KVH,S,D) with rows of D contiguous and batch/head strides kbs, khs / vbs, vhs; query head h
 * reads key/value head h / (H/KVH): a decoder step reading its (grouped-query) KV cache in place.
 * q, out (B,H,T,D) and lse (B,H,T) contiguous; KVH divides H. */
int nb_attention_kv_f32(float *out, float *lse, const float *q, const float *k, const float *v, int64_t B, int64_t H,
                        int64_t KVH, int64_t T, int64_t S, int64_t D, int64_t kbs, int64_t khs, int64_t vbs,
                        int64_t vhs, float scale, int causal);
/* dout, o, lse from the forward -> dq, dk, dv (overwritten). */
int nb_attention_bwd_f32(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                         const float *v, const float *o, const float *lse, int64_t B, int64_t H, int64_t T, int64_t D,
                         float scale, int causal);
#endif
