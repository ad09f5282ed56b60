// N-API wrappers for the neural-network kernels (conv, pooling). Same rules as addon.c: validate
// every argument, then call the kernel. These kernels take contiguous NCHW tensors (any offset);
// the TS backend copies a strided input first.
#include <stdlib.h>
#include <string.h>
#include "napi_util.h"

#define ARGS(kernel, n) napi_value argv[n] = {0}; const char *K = kernel; if (!nb_args(env, info, K, n, argv)) return NULL
#define CHECK(x) if (!(x)) return NULL
#define PARAM_MAX ((int64_t)1 << 20)

static napi_value undef(napi_env env) { napi_value u; napi_get_undefined(env, &u); return u; }

/* A float32 tensor argument: buffer + contiguous layout (any offset); *p points at its first element. */
static int tensor_contig(napi_env env, const char *K, napi_value buf, napi_value lay, const char *what, float **p, nb_layout *l) {
  int64_t len = 0;
  if (!nb_f32(env, K, buf, what, p, &len) || !nb_layout_arg(env, K, lay, what, len, l)) return 0;
  int64_t expect = 1;
  for (int d = l->ndim - 1; d >= 0; d--) {
    if (l->shape[d] != 1 && l->strides[d] != expect) return nb_throw(env, K, "%s must be contiguous", what);
    expect *= l->shape[d];
  }
  *p += l->offset;
  return 1;
}

static int tensor4(napi_env env, const char *K, napi_value buf, napi_value lay, const char *what, float **p, nb_layout *l) {
  if (!tensor_contig(env, K, buf, lay, what, p, l)) return 0;
  if (l->ndim != 4) return nb_throw(env, K, "%s must be 4-D (N,C,H,W), got %d dims", what, l->ndim);
  return 1;
}

/* null/undefined -> NULL; else a Float32Array of at least `need` elements. */
static int opt_f32(napi_env env, const char *K, napi_value v, const char *what, int64_t need, float **p) {
  napi_valuetype t;
  int64_t len = 0;
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) { *p = NULL; return 1; }
  if (!nb_f32(env, K, v, what, p, &len)) return 0;
  return nb_out(env, K, what, len, need);
}

static int f32_len(napi_env env, const char *K, napi_value v, const char *what, int64_t need, float **p) {
  int64_t len = 0;
  return nb_f32(env, K, v, what, p, &len) && nb_out(env, K, what, len, need);
}

static int shape4(napi_env env, const char *K, napi_value v, const char *what, int64_t *s) {
  int n = 0;
  if (!nb_int_array(env, K, v, what, 4, 0, NB_LIMIT, s, &n)) return 0;
  if (n != 4) return nb_throw(env, K, "%s must have 4 entries", what);
  return 1;
}

/* The incoming gradient must have the forward output's shape. */
static int dy_shape(napi_env env, const char *K, const nb_layout *l, int64_t n, int64_t c, int64_t h, int64_t w) {
  if (l->shape[0] != n || l->shape[1] != c || l->shape[2] != h || l->shape[3] != w)
    return nb_throw(env, K, "dy must be (%lld,%lld,%lld,%lld)", (long long)n, (long long)c, (long long)h, (long long)w);
  return 1;
}

static int64_t out_size(int64_t n, int64_t k, int64_t s, int64_t p, int64_t d) {
  int64_t num = n + 2 * p - d * (k - 1) - 1;
  return num < 0 ? 0 : num / s + 1;
}

/* Conv geometry from x shape, w shape and [sh, sw, ph, pw, dh, dw, groups]; checks consistency. */
static int conv_geom(napi_env env, const char *K, const int64_t *xs, const int64_t *ws, napi_value params, nb_conv *g) {
  int64_t q[7];
  int n = 0;
  if (!nb_int_array(env, K, params, "params", 7, 0, PARAM_MAX, q, &n)) return 0;
  if (n != 7) return nb_throw(env, K, "params must be [strideH, strideW, padH, padW, dilationH, dilationW, groups]");
  if (q[0] < 1 || q[1] < 1 || q[4] < 1 || q[5] < 1 || q[6] < 1) return nb_throw(env, K, "stride, dilation and groups must be >= 1");
  *g = (nb_conv){ xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], 0, 0, q[6], q[0], q[1], q[2], q[3], q[4], q[5] };
  if (g->C % g->G || g->OC % g->G) return nb_throw(env, K, "groups %lld must divide C=%lld and OC=%lld", (long long)g->G, (long long)g->C, (long long)g->OC);
  if (ws[1] * g->G != g->C) return nb_throw(env, K, "w is (%lld,%lld,%lld,%lld) but C/groups = %lld", (long long)ws[0], (long long)ws[1], (long long)ws[2], (long long)ws[3], (long long)(g->C / g->G));
  if (g->KH < 1 || g->KW < 1) return nb_throw(env, K, "kernel size must be >= 1");
  g->OH = out_size(g->H, g->KH, g->sh, g->ph, g->dh);
  g->OW = out_size(g->W, g->KW, g->sw, g->pw, g->dw);
  if (g->OH < 1 || g->OW < 1) return nb_throw(env, K, "output size %lldx%lld is empty (input %lldx%lld too small for the kernel)", (long long)g->OH, (long long)g->OW, (long long)g->H, (long long)g->W);
  __int128 col = (__int128)g->C * g->KH * g->KW * g->OH * g->OW, y = (__int128)g->N * g->OC * g->OH * g->OW;
  if (col > NB_LIMIT || y > NB_LIMIT) return nb_throw(env, K, "problem too large");
  return 1;
}

static int conv_fail(napi_env env, const char *K) { return nb_throw(env, K, "out of memory for the im2col buffer"); }

// The arguments both forward entry points share: y, x, lx, w, lw, params.
static int conv_fwd_args(napi_env env, const char *K, napi_value *argv, float **y, float **x, float **w, nb_conv *g) {
  int64_t ly = 0;
  nb_layout lx, lw;
  return nb_f32(env, K, argv[0], "y", y, &ly) && tensor4(env, K, argv[1], argv[2], "x", x, &lx) &&
         tensor4(env, K, argv[3], argv[4], "w", w, &lw) && conv_geom(env, K, lx.shape, lw.shape, argv[5], g) &&
         nb_out(env, K, "y", ly, g->N * g->OC * g->OH * g->OW);
}

// conv2d(y, x, lx, w, lw, params): x (N,C,H,W), w (OC,C/G,KH,KW) -> y (N,OC,OH,OW)
static napi_value conv2d(napi_env env, napi_callback_info info) {
  ARGS("conv2d", 6);
  float *y, *x, *w;
  nb_conv g;
  CHECK(conv_fwd_args(env, K, argv, &y, &x, &w, &g));
  if (g.N * g.OC > 0 && !nb_conv2d_f32(y, x, w, &g, NULL)) { conv_fail(env, K); return NULL; }
  return undef(env);
}

// conv2dFused(y, x, lx, w, lw, params, scale, shift, residual, relu, reuseWeights, weightsStamp):
// y (N,OC,OH,OW) = act(conv2d(x, w) * scale[oc] + shift[oc] + residual); scale/shift (OC) or null,
// residual a contiguous Float32Array of y's size or null, relu a boolean; weightsStamp 0, or a
// stamp from nextStamp() naming w's contents (nb_conv_opts).
static napi_value conv2d_fused(napi_env env, napi_callback_info info) {
  ARGS("conv2dFused", 12);
  float *y, *x, *w, *scale, *shift, *res;
  nb_conv g;
  nb_conv_epi e = { NULL, NULL, NULL, 0 };
  CHECK(conv_fwd_args(env, K, argv, &y, &x, &w, &g));
  CHECK(opt_f32(env, K, argv[6], "scale", g.OC, &scale));
  CHECK(opt_f32(env, K, argv[7], "shift", g.OC, &shift));
  CHECK(opt_f32(env, K, argv[8], "residual", g.N * g.OC * g.OH * g.OW, &res));
  CHECK(nb_bool(env, K, argv[9], "relu", &e.relu));
  nb_conv_opts o = { 0 };
  CHECK(nb_bool(env, K, argv[10], "reuseWeights", &o.reuse_w));
  int64_t stamp = 0;
  CHECK(nb_int(env, K, argv[11], "weightsStamp", 0, (int64_t)1 << 53, &stamp));
  o.w_stamp = (double)stamp;
  e.scale = scale; e.shift = shift; e.res = res;
  if (res && res == y) { nb_throw(env, K, "residual must not be the output buffer"); return NULL; }
  if (g.N * g.OC > 0 && !nb_conv2d_opts_f32(y, x, w, &g, &e, &o)) { conv_fail(env, K); return NULL; }
  return undef(env);
}

// conv2dBackwardInput(dx, dy, ldy, w, lw, xShape, params): -> dx (N,C,H,W)
static napi_value conv2d_bwd_input(napi_env env, napi_callback_info info) {
  ARGS("conv2dBackwardInput", 7);
  float *dx, *dy, *w;
  int64_t ldx, xs[4];
  nb_layout ldy, lw;
  nb_conv g;
  CHECK(nb_f32(env, K, argv[0], "dx", &dx, &ldx));
  CHECK(tensor4(env, K, argv[1], argv[2], "dy", &dy, &ldy));
  CHECK(tensor4(env, K, argv[3], argv[4], "w", &w, &lw));
  CHECK(shape4(env, K, argv[5], "xShape", xs));
  CHECK(conv_geom(env, K, xs, lw.shape, argv[6], &g));
  CHECK(dy_shape(env, K, &ldy, g.N, g.OC, g.OH, g.OW));
  __int128 nx = (__int128)g.N * g.C * g.H * g.W;
  if (nx > NB_LIMIT) { nb_throw(env, K, "problem too large"); return NULL; }
  CHECK(nb_out(env, K, "dx", ldx, (int64_t)nx));
  if (nx > 0 && !nb_conv2d_bwd_input_f32(dx, dy, w, &g)) { conv_fail(env, K); return NULL; }
  return undef(env);
}

// conv2dBackwardWeight(dw, dy, ldy, x, lx, wShape, params): -> dw (OC,C/G,KH,KW)
static napi_value conv2d_bwd_weight(napi_env env, napi_callback_info info) {
  ARGS("conv2dBackwardWeight", 7);
  float *dw, *dy, *x;
  int64_t ldw, ws[4];
  nb_layout ldy, lx;
  nb_conv g;
  CHECK(nb_f32(env, K, argv[0], "dw", &dw, &ldw));
  CHECK(tensor4(env, K, argv[1], argv[2], "dy", &dy, &ldy));
  CHECK(tensor4(env, K, argv[3], argv[4], "x", &x, &lx));
  CHECK(shape4(env, K, argv[5], "wShape", ws));
  CHECK(conv_geom(env, K, lx.shape, ws, argv[6], &g));
  CHECK(dy_shape(env, K, &ldy, g.N, g.OC, g.OH, g.OW));
  __int128 nw = (__int128)ws[0] * ws[1] * ws[2] * ws[3];
  if (nw > NB_LIMIT) { nb_throw(env, K, "problem too large"); return NULL; }
  CHECK(nb_out(env, K, "dw", ldw, (int64_t)nw));
  if (nw > 0 && !nb_conv2d_bwd_weight_f32(dw, dy, x, &g)) { conv_fail(env, K); return NULL; }
  return undef(env);
}

static int64_t pool_out(int64_t n, int64_t k, int64_t s, int64_t p, int64_t d, int ceil) {
  int64_t num = n + 2 * p - d * (k - 1) - 1;  /* may be negative: floor/ceil division as the JS backend */
  int64_t fl = num >= 0 ? num / s : -((-num + s - 1) / s), cl = num >= 0 ? (num + s - 1) / s : -(-num / s);
  int64_t o = (ceil ? cl : fl) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;   /* the last window must start inside input or left padding */
  return o;
}

/* Pool geometry from x shape and [kH, kW, sH, sW, pH, pW, dH, dW, ceilMode]; avg uses dilation 1. */
static int pool_geom(napi_env env, const char *K, const int64_t *xs, napi_value params, int is_avg, nb_pool *p) {
  int64_t q[9];
  int n = 0;
  if (!nb_int_array(env, K, params, "params", 9, 0, PARAM_MAX, q, &n)) return 0;
  if (n != 9) return nb_throw(env, K, "params must be [kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, ceilMode]");
  if (q[0] < 1 || q[1] < 1 || q[2] < 1 || q[3] < 1 || q[6] < 1 || q[7] < 1) return nb_throw(env, K, "kernel, stride and dilation must be >= 1");
  if (2 * q[4] > q[0] || 2 * q[5] > q[1]) return nb_throw(env, K, "padding must be at most half the kernel size");
  if (is_avg) q[6] = q[7] = 1;
  *p = (nb_pool){ xs[0], xs[1], xs[2], xs[3], 0, 0, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7] };
  p->OH = pool_out(p->H, p->kh, p->sh, p->ph, p->dh, q[8] != 0);
  p->OW = pool_out(p->W, p->kw, p->sw, p->pw, p->dw, q[8] != 0);
  if (p->OH < 1 || p->OW < 1) return nb_throw(env, K, "output size is empty");
  if ((__int128)p->N * p->C * p->OH * p->OW > NB_LIMIT) return nb_throw(env, K, "problem too large");
  return 1;
}

// maxPool2d(y, idx, x, lx, params): x (N,C,H,W) -> y, idx (N,C,OH,OW); idx null: values only
static napi_value max_pool2d(napi_env env, napi_callback_info info) {
  ARGS("maxPool2d", 5);
  float *y, *x;
  int32_t *idx;
  int64_t ly, li;
  nb_layout lx;
  nb_pool p;
  CHECK(nb_f32(env, K, argv[0], "y", &y, &ly));
  napi_valuetype it;
  napi_typeof(env, argv[1], &it);
  if (it == napi_null) idx = NULL;
  else CHECK(nb_i32(env, K, argv[1], "indices", &idx, &li));
  CHECK(tensor4(env, K, argv[2], argv[3], "x", &x, &lx));
  CHECK(pool_geom(env, K, lx.shape, argv[4], 0, &p));
  int64_t no = p.N * p.C * p.OH * p.OW;
  CHECK(nb_out(env, K, "y", ly, no));
  if (idx) CHECK(nb_out(env, K, "indices", li, no));
  if (p.H * p.W > INT32_MAX) { nb_throw(env, K, "H*W does not fit int32 indices"); return NULL; }
  if (no > 0) nb_maxpool2d_f32(y, idx, x, &p);
  return undef(env);
}

// maxPool2dBackward(dx, dy, ldy, indices, xShape): dx (N,C,H,W) = dy (N,C,OH,OW) added at the flat
// window argmax indices (N,C,OH,OW) of each plane; every index is checked before dx is written.
static napi_value max_pool2d_bwd(napi_env env, napi_callback_info info) {
  ARGS("maxPool2dBackward", 5);
  float *dx, *dy;
  int32_t *idx;
  int64_t ldx, li, xs[4];
  nb_layout ldy;
  CHECK(nb_f32(env, K, argv[0], "dx", &dx, &ldx));
  CHECK(tensor4(env, K, argv[1], argv[2], "dy", &dy, &ldy));
  CHECK(nb_i32(env, K, argv[3], "indices", &idx, &li));
  CHECK(shape4(env, K, argv[4], "xShape", xs));
  if (ldy.shape[0] != xs[0] || ldy.shape[1] != xs[1]) { nb_throw(env, K, "dy (N, C) must equal xShape's"); return NULL; }
  __int128 nx = (__int128)xs[0] * xs[1] * xs[2] * xs[3];
  if (nx > NB_LIMIT || xs[2] * xs[3] > INT32_MAX) { nb_throw(env, K, "problem too large"); return NULL; }
  int64_t O = ldy.shape[2] * ldy.shape[3], planes = xs[0] * xs[1];
  CHECK(nb_out(env, K, "indices", li, planes * O));
  CHECK(nb_out(env, K, "dx", ldx, (int64_t)nx));
  if (nx > 0 && !nb_maxpool2d_bwd_f32(dx, dy, idx, planes, xs[2] * xs[3], O)) {
    nb_throw(env, K, "an index is outside [-1, H*W = %lld)", (long long)(xs[2] * xs[3]));
    return NULL;
  }
  return undef(env);
}

// avgPool2d(y, x, lx, params, countIncludePad)
static napi_value avg_pool2d(napi_env env, napi_callback_info info) {
  ARGS("avgPool2d", 5);
  float *y, *x;
  int64_t ly;
  nb_layout lx;
  nb_pool p;
  int cip = 0;
  CHECK(nb_f32(env, K, argv[0], "y", &y, &ly));
  CHECK(tensor4(env, K, argv[1], argv[2], "x", &x, &lx));
  CHECK(pool_geom(env, K, lx.shape, argv[3], 1, &p));
  CHECK(nb_bool(env, K, argv[4], "countIncludePad", &cip));
  int64_t no = p.N * p.C * p.OH * p.OW;
  CHECK(nb_out(env, K, "y", ly, no));
  if (no > 0) nb_avgpool2d_f32(y, x, &p, cip);
  return undef(env);
}

// avgPool2dBackward(dx, dy, ldy, xShape, params, countIncludePad)
static napi_value avg_pool2d_bwd(napi_env env, napi_callback_info info) {
  ARGS("avgPool2dBackward", 6);
  float *dx, *dy;
  int64_t ldx, xs[4];
  nb_layout ldy;
  nb_pool p;
  int cip = 0;
  CHECK(nb_f32(env, K, argv[0], "dx", &dx, &ldx));
  CHECK(tensor4(env, K, argv[1], argv[2], "dy", &dy, &ldy));
  CHECK(shape4(env, K, argv[3], "xShape", xs));
  CHECK(pool_geom(env, K, xs, argv[4], 1, &p));
  CHECK(nb_bool(env, K, argv[5], "countIncludePad", &cip));
  CHECK(dy_shape(env, K, &ldy, p.N, p.C, p.OH, p.OW));
  __int128 nx = (__int128)p.N * p.C * p.H * p.W;
  if (nx > NB_LIMIT) { nb_throw(env, K, "problem too large"); return NULL; }
  CHECK(nb_out(env, K, "dx", ldx, (int64_t)nx));
  if (nx > 0) nb_avgpool2d_bwd_f32(dx, dy, &p, cip);
  return undef(env);
}

// layerNorm(y, mean, rstd, x, lx, w, b, eps): over the last dim of contiguous x; w, b Float32Array or null
static napi_value layer_norm(napi_env env, napi_callback_info info) {
  ARGS("layerNorm", 8);
  float *y, *mean, *rstd, *x, *w, *b, eps = 0;
  nb_layout lx;
  CHECK(tensor_contig(env, K, argv[3], argv[4], "x", &x, &lx));
  if (lx.ndim < 1 || lx.shape[lx.ndim - 1] == 0) { nb_throw(env, K, "x needs a non-empty last dim"); return NULL; }
  int64_t C = lx.shape[lx.ndim - 1], R = nb_numel(&lx) / C;
  CHECK(f32_len(env, K, argv[0], "y", R * C, &y));
  CHECK(f32_len(env, K, argv[1], "mean", R, &mean));
  CHECK(f32_len(env, K, argv[2], "rstd", R, &rstd));
  CHECK(opt_f32(env, K, argv[5], "w", C, &w));
  CHECK(opt_f32(env, K, argv[6], "b", C, &b));
  CHECK(nb_float(env, K, argv[7], "eps", &eps));
  if (R > 0) nb_layernorm_f32(y, mean, rstd, x, w, b, R, C, eps);
  return undef(env);
}

// layerNormBackward(dx, dw, db, dy, ldy, x, lx, mean, rstd, w): dw, db, w Float32Array or null
static napi_value layer_norm_bwd(napi_env env, napi_callback_info info) {
  ARGS("layerNormBackward", 10);
  float *dx, *dw, *db, *dy, *x, *mean, *rstd, *w;
  nb_layout ldy, lx;
  CHECK(tensor_contig(env, K, argv[3], argv[4], "dy", &dy, &ldy));
  CHECK(tensor_contig(env, K, argv[5], argv[6], "x", &x, &lx));
  CHECK(nb_same_shape(env, K, &ldy, "dy", &lx, "x"));
  if (lx.ndim < 1 || lx.shape[lx.ndim - 1] == 0) { nb_throw(env, K, "x needs a non-empty last dim"); return NULL; }
  int64_t C = lx.shape[lx.ndim - 1], R = nb_numel(&lx) / C;
  CHECK(f32_len(env, K, argv[0], "dx", R * C, &dx));
  CHECK(opt_f32(env, K, argv[1], "dw", C, &dw));
  CHECK(opt_f32(env, K, argv[2], "db", C, &db));
  CHECK(f32_len(env, K, argv[7], "mean", R, &mean));
  CHECK(f32_len(env, K, argv[8], "rstd", R, &rstd));
  CHECK(opt_f32(env, K, argv[9], "w", C, &w));
  nb_layernorm_bwd_f32(dx, dw, db, dy, x, mean, rstd, w, R, C);
  return undef(env);
}

// x as (N, C, S): contiguous with at least 2 dims and a non-empty channel dim.
static int ncs(napi_env env, const char *K, const nb_layout *l, int64_t *N, int64_t *C, int64_t *S) {
  if (l->ndim < 2 || l->shape[1] == 0) return nb_throw(env, K, "x must be (N, C, *) with C > 0, got %d dims", l->ndim);
  *N = l->shape[0]; *C = l->shape[1]; *S = 1;
  for (int d = 2; d < l->ndim; d++) *S *= l->shape[d];
  return 1;
}

// batchNorm(y, mean, var, x, lx, w, b, eps, residual, relu): training statistics over N and the spatial
// dims; y = act(bn(x) + residual), residual a Float32Array of x's size or null
static napi_value batch_norm(napi_env env, napi_callback_info info) {
  ARGS("batchNorm", 10);
  float *y, *mean, *var, *x, *w, *b, *res, eps = 0;
  int relu = 0;
  int64_t N = 0, C = 0, S = 0;
  nb_layout lx;
  CHECK(tensor_contig(env, K, argv[3], argv[4], "x", &x, &lx));
  CHECK(ncs(env, K, &lx, &N, &C, &S));
  CHECK(f32_len(env, K, argv[0], "y", N * C * S, &y));
  CHECK(f32_len(env, K, argv[1], "mean", C, &mean));
  CHECK(f32_len(env, K, argv[2], "var", C, &var));
  CHECK(opt_f32(env, K, argv[5], "w", C, &w));
  CHECK(opt_f32(env, K, argv[6], "b", C, &b));
  CHECK(nb_float(env, K, argv[7], "eps", &eps));
  CHECK(opt_f32(env, K, argv[8], "residual", N * C * S, &res));
  CHECK(nb_bool(env, K, argv[9], "relu", &relu));
  if (N * S == 0) { nb_throw(env, K, "no values per channel"); return NULL; }
  if (res && res == y) { nb_throw(env, K, "residual must not be the output buffer"); return NULL; }
  nb_batchnorm_f32(y, mean, var, x, w, b, res, relu, N, C, S, eps);
  return undef(env);
}

// batchNormBackward(dx, dw, db, dr, dy, ldy, x, lx, yact, mean, var, w, eps): dw, db, dr, yact (the
// forward's relu output), w Float32Array or null
static napi_value batch_norm_bwd(napi_env env, napi_callback_info info) {
  ARGS("batchNormBackward", 13);
  float *dx, *dw, *db, *dr, *dy, *x, *yact, *mean, *var, *w, eps = 0;
  int64_t N = 0, C = 0, S = 0;
  nb_layout ldy, lx;
  CHECK(tensor_contig(env, K, argv[4], argv[5], "dy", &dy, &ldy));
  CHECK(tensor_contig(env, K, argv[6], argv[7], "x", &x, &lx));
  CHECK(nb_same_shape(env, K, &ldy, "dy", &lx, "x"));
  CHECK(ncs(env, K, &lx, &N, &C, &S));
  CHECK(f32_len(env, K, argv[0], "dx", N * C * S, &dx));
  CHECK(opt_f32(env, K, argv[1], "dw", C, &dw));
  CHECK(opt_f32(env, K, argv[2], "db", C, &db));
  CHECK(opt_f32(env, K, argv[3], "dr", N * C * S, &dr));
  CHECK(opt_f32(env, K, argv[8], "yact", N * C * S, &yact));
  CHECK(f32_len(env, K, argv[9], "mean", C, &mean));
  CHECK(f32_len(env, K, argv[10], "var", C, &var));
  CHECK(opt_f32(env, K, argv[11], "w", C, &w));
  CHECK(nb_float(env, K, argv[12], "eps", &eps));
  if (N * S == 0) { nb_throw(env, K, "no values per channel"); return NULL; }
  if (dr && (dr == dx || dr == dy)) { nb_throw(env, K, "dr must be its own buffer"); return NULL; }
  nb_batchnorm_bwd_f32(dx, dw, db, dr, dy, x, yact, mean, var, w, N, C, S, eps);
  return undef(env);
}

/* A private copy of the indices: checked once and used as checked, even if the caller's buffer is a
 * SharedArrayBuffer another thread writes to. Freed by the caller. */
static int32_t *copy_idx(napi_env env, const char *K, const int32_t *idx, int64_t m) {
  int32_t *c = (int32_t *)malloc((size_t)(m > 0 ? m : 1) * sizeof(int32_t));
  if (!c) { nb_throw(env, K, "out of memory for %lld indices", (long long)m); return NULL; }
  if (m > 0) memcpy(c, idx, (size_t)m * sizeof(int32_t));
  return c;
}

/* Splits a contiguous shape around dim and checks every index against its size. */
static int index_geom(napi_env env, const char *K, const nb_layout *l, int64_t dim, const int32_t *idx, int64_t m,
                      int64_t *outer, int64_t *len, int64_t *inner) {
  *outer = 1; *inner = 1;
  for (int d = 0; d < dim; d++) *outer *= l->shape[d];
  for (int d = (int)dim + 1; d < l->ndim; d++) *inner *= l->shape[d];
  *len = l->shape[dim];
  for (int64_t k = 0; k < m; k++)
    if (idx[k] < 0 || idx[k] >= *len) return nb_throw(env, K, "index %d at position %lld is out of range for size %lld", idx[k], (long long)k, (long long)*len);
  return 1;
}

// indexSelect(y, x, lx, dim, idx): y (outer, m, inner) = x rows idx along dim; x contiguous
static napi_value index_select(napi_env env, napi_callback_info info) {
  ARGS("indexSelect", 5);
  float *y, *x;
  int32_t *idx;
  int64_t dim, m, outer, len, inner;
  nb_layout lx;
  CHECK(tensor_contig(env, K, argv[1], argv[2], "x", &x, &lx));
  CHECK(nb_int(env, K, argv[3], "dim", 0, lx.ndim > 0 ? lx.ndim - 1 : 0, &dim));
  if (lx.ndim == 0) { nb_throw(env, K, "x must have at least one dim"); return NULL; }
  CHECK(nb_i32(env, K, argv[4], "idx", &idx, &m));
  int32_t *own = copy_idx(env, K, idx, m);
  if (!own) return NULL;
  int ok = index_geom(env, K, &lx, dim, own, m, &outer, &len, &inner);
  if (ok && (__int128)outer * m * inner > NB_LIMIT) ok = nb_throw(env, K, "output too large");
  if (ok) ok = f32_len(env, K, argv[0], "y", outer * m * inner, &y);
  if (ok && outer * m * inner > 0) nb_index_select_f32(y, x, own, outer, len, inner, m);
  free(own);
  return ok ? undef(env) : NULL;
}

// indexAdd(dst, ldst, dim, idx, src, lsrc): dst rows idx along dim += src (outer, m, inner); both contiguous
static napi_value index_add(napi_env env, napi_callback_info info) {
  ARGS("indexAdd", 6);
  float *dst, *src;
  int32_t *idx;
  int64_t dim, m, outer, len, inner;
  nb_layout ld, ls;
  CHECK(tensor_contig(env, K, argv[0], argv[1], "dst", &dst, &ld));
  CHECK(nb_int(env, K, argv[2], "dim", 0, ld.ndim > 0 ? ld.ndim - 1 : 0, &dim));
  if (ld.ndim == 0) { nb_throw(env, K, "dst must have at least one dim"); return NULL; }
  CHECK(nb_i32(env, K, argv[3], "idx", &idx, &m));
  CHECK(tensor_contig(env, K, argv[4], argv[5], "src", &src, &ls));
  int32_t *own = copy_idx(env, K, idx, m);
  if (!own) return NULL;
  int ok = index_geom(env, K, &ld, dim, own, m, &outer, &len, &inner);
  int same = ls.ndim == ld.ndim;
  for (int d = 0; same && d < ld.ndim; d++) same = ls.shape[d] == (d == dim ? m : ld.shape[d]);
  if (ok && !same) ok = nb_throw(env, K, "src must have dst's shape with dim %lld of size %lld", (long long)dim, (long long)m);
  if (ok && outer * m * inner > 0) nb_index_add_f32(dst, src, own, outer, len, inner, m);
  free(own);
  return ok ? undef(env) : NULL;
}

// adamStep(p, m, v, g, lr, beta1, beta2, eps, weightDecay, decoupled, step): in place, equal lengths
static napi_value adam_step(napi_env env, napi_callback_info info) {
  ARGS("adamStep", 11);
  float *p, *m, *v, *g, lr = 0, eps = 0, wd = 0;
  double b1 = 0, b2 = 0;
  int64_t n, step;
  int dec = 0;
  CHECK(nb_f32(env, K, argv[0], "p", &p, &n));
  CHECK(f32_len(env, K, argv[1], "m", n, &m));
  CHECK(f32_len(env, K, argv[2], "v", n, &v));
  CHECK(f32_len(env, K, argv[3], "g", n, &g));
  CHECK(nb_float(env, K, argv[4], "lr", &lr));
  CHECK(nb_double(env, K, argv[5], "beta1", &b1));
  CHECK(nb_double(env, K, argv[6], "beta2", &b2));
  CHECK(nb_float(env, K, argv[7], "eps", &eps));
  CHECK(nb_float(env, K, argv[8], "weightDecay", &wd));
  CHECK(nb_bool(env, K, argv[9], "decoupled", &dec));
  CHECK(nb_int(env, K, argv[10], "step", 1, NB_LIMIT, &step));
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) { nb_throw(env, K, "betas must be in [0, 1)"); return NULL; }
  if (n > 0) nb_adam_f32(p, m, v, g, n, lr, b1, b2, eps, wd, dec, (double)step);
  return undef(env);
}

// sgdStep(p, buf, g, lr, momentum, dampening, weightDecay, nesterov, first): buf Float32Array or null
static napi_value sgd_step(napi_env env, napi_callback_info info) {
  ARGS("sgdStep", 9);
  float *p, *buf, *g, lr = 0, mom = 0, damp = 0, wd = 0;
  int64_t n;
  int nest = 0, first = 0;
  CHECK(nb_f32(env, K, argv[0], "p", &p, &n));
  CHECK(opt_f32(env, K, argv[1], "buf", n, &buf));
  CHECK(f32_len(env, K, argv[2], "g", n, &g));
  CHECK(nb_float(env, K, argv[3], "lr", &lr));
  CHECK(nb_float(env, K, argv[4], "momentum", &mom));
  CHECK(nb_float(env, K, argv[5], "dampening", &damp));
  CHECK(nb_float(env, K, argv[6], "weightDecay", &wd));
  CHECK(nb_bool(env, K, argv[7], "nesterov", &nest));
  CHECK(nb_bool(env, K, argv[8], "first", &first));
  if (n > 0) nb_sgd_f32(p, buf, g, n, lr, mom, damp, wd, nest, first);
  return undef(env);
}

/* q, k, v (and dout, out) must be contiguous (B,H,T,D) of one shape. */
static int qkv(napi_env env, const char *K, napi_value *argv, const char **names, int n, float **ptr, nb_layout *l) {
  for (int i = 0; i < n; i++) {
    if (!tensor_contig(env, K, argv[2 * i], argv[2 * i + 1], names[i], &ptr[i], &l[i])) return 0;
    if (l[i].ndim != 4) return nb_throw(env, K, "%s must be (B,H,T,D)", names[i]);
    if (i > 0 && !nb_same_shape(env, K, &l[i], names[i], &l[0], names[0])) return 0;
  }
  return 1;
}

// attentionKv(out, lse, q, lq, k, lk, v, lv, scale, causal): q contiguous (B,H,T,D); k, v (B,KVH,S,D) read in
// place with rows of D contiguous (a KV cache's view); out (B,H,T,D), lse (B,H,T). Causal: query t sits at
// key position S - T + t.
static napi_value attention_kv(napi_env env, napi_callback_info info) {
  ARGS("attentionKv", 10);
  float *out, *lse, *q, *k, *v, scale = 0;
  int64_t lenk, lenv;
  nb_layout lq, lk, lv;
  int causal = 0;
  CHECK(tensor_contig(env, K, argv[2], argv[3], "q", &q, &lq));
  CHECK(nb_f32(env, K, argv[4], "k", &k, &lenk));
  CHECK(nb_layout_arg(env, K, argv[5], "k", lenk, &lk));
  CHECK(nb_f32(env, K, argv[6], "v", &v, &lenv));
  CHECK(nb_layout_arg(env, K, argv[7], "v", lenv, &lv));
  if (lq.ndim != 4 || lk.ndim != 4 || lv.ndim != 4) { nb_throw(env, K, "q, k and v must be (B,H,T,D) and (B,H,S,D)"); return NULL; }
  const int64_t B = lq.shape[0], H = lq.shape[1], T = lq.shape[2], D = lq.shape[3], KVH = lk.shape[1], S = lk.shape[2];
  for (int d = 0; d < 4; d++)
    if (lv.shape[d] != lk.shape[d] || ((d == 0 || d == 3) && lk.shape[d] != lq.shape[d])) { nb_throw(env, K, "k and v must be (B,KVH,S,D) with q's B and D"); return NULL; }
  if (KVH < 1 || H % KVH != 0) { nb_throw(env, K, "%lld query heads are not a multiple of %lld key/value heads", (long long)H, (long long)KVH); return NULL; }
  if (S < 1) { nb_throw(env, K, "no keys to attend to"); return NULL; }
  if (lk.strides[3] != 1 || lv.strides[3] != 1 || (S > 1 && (lk.strides[2] != D || lv.strides[2] != D))) {
    nb_throw(env, K, "k and v need rows of D contiguous values");
    return NULL;
  }
  CHECK(f32_len(env, K, argv[0], "out", B * H * T * D, &out));
  CHECK(f32_len(env, K, argv[1], "lse", B * H * T, &lse));
  CHECK(nb_float(env, K, argv[8], "scale", &scale));
  CHECK(nb_bool(env, K, argv[9], "causal", &causal));
  if (causal && S < T) { nb_throw(env, K, "causal attention needs at least as many keys (%lld) as queries (%lld)", (long long)S, (long long)T); return NULL; }
  if (B * H * T * D > 0 && S > 0 &&
      !nb_attention_kv_f32(out, lse, q, k + lk.offset, v + lv.offset, B, H, KVH, T, S, D, lk.strides[0], lk.strides[1], lv.strides[0], lv.strides[1], scale, causal)) {
    nb_throw(env, K, "out of memory for the attention block buffers");
    return NULL;
  }
  return undef(env);
}

// attention(out, lse, q, lq, k, lk, v, lv, scale, causal): out (B,H,T,D), lse (B,H,T)
static napi_value attention(napi_env env, napi_callback_info info) {
  ARGS("attention", 10);
  static const char *names[] = { "q", "k", "v" };
  float *out, *lse, *t[3], scale = 0;
  nb_layout l[3];
  int causal = 0;
  CHECK(qkv(env, K, argv + 2, names, 3, t, l));
  int64_t B = l[0].shape[0], H = l[0].shape[1], T = l[0].shape[2], D = l[0].shape[3];
  CHECK(f32_len(env, K, argv[0], "out", B * H * T * D, &out));
  CHECK(f32_len(env, K, argv[1], "lse", B * H * T, &lse));
  CHECK(nb_float(env, K, argv[8], "scale", &scale));
  CHECK(nb_bool(env, K, argv[9], "causal", &causal));
  if (B * H * T * D > 0 && !nb_attention_f32(out, lse, t[0], t[1], t[2], B, H, T, D, scale, causal)) {
    nb_throw(env, K, "out of memory for the score blocks"); return NULL;
  }
  return undef(env);
}

// attentionBackward(dq, dk, dv, dout, ldout, q, lq, k, lk, v, lv, out, lout, lse, scale, causal)
static napi_value attention_bwd(napi_env env, napi_callback_info info) {
  ARGS("attentionBackward", 16);
  static const char *names[] = { "dout", "q", "k", "v", "out" };
  float *dq, *dk, *dv, *lse, *t[5], scale = 0;
  nb_layout l[5];
  int causal = 0;
  CHECK(qkv(env, K, argv + 3, names, 5, t, l));
  int64_t B = l[0].shape[0], H = l[0].shape[1], T = l[0].shape[2], D = l[0].shape[3], n = B * H * T * D;
  CHECK(f32_len(env, K, argv[0], "dq", n, &dq));
  CHECK(f32_len(env, K, argv[1], "dk", n, &dk));
  CHECK(f32_len(env, K, argv[2], "dv", n, &dv));
  CHECK(f32_len(env, K, argv[13], "lse", B * H * T, &lse));
  CHECK(nb_float(env, K, argv[14], "scale", &scale));
  CHECK(nb_bool(env, K, argv[15], "causal", &causal));
  if (n > 0 && !nb_attention_bwd_f32(dq, dk, dv, t[0], t[1], t[2], t[3], t[4], lse, B, H, T, D, scale, causal)) {
    nb_throw(env, K, "out of memory for the score blocks"); return NULL;
  }
  return undef(env);
}

void nb_register_nn(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
#define FN(name, f) { name, NULL, f, NULL, NULL, NULL, napi_enumerable, NULL }
    FN("conv2d", conv2d), FN("conv2dFused", conv2d_fused), FN("conv2dBackwardInput", conv2d_bwd_input), FN("conv2dBackwardWeight", conv2d_bwd_weight),
    FN("maxPool2d", max_pool2d), FN("maxPool2dBackward", max_pool2d_bwd), FN("avgPool2d", avg_pool2d), FN("avgPool2dBackward", avg_pool2d_bwd),
    FN("layerNorm", layer_norm), FN("layerNormBackward", layer_norm_bwd), FN("batchNorm", batch_norm), FN("batchNormBackward", batch_norm_bwd), FN("indexSelect", index_select),
    FN("indexAdd", index_add), FN("adamStep", adam_step), FN("sgdStep", sgd_step),
    FN("attention", attention), FN("attentionKv", attention_kv), FN("attentionBackward", attention_bwd),
#undef FN
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
