// N-API wrappers for the neural-network kernels (conv, pooling, norms, indexing, optimizers,
// attention). Same rules as napi/addon.c: register.c has read every argument by its kernels.def
// signature (a[i]); a wrapper checks what depends on several of them, then calls the kernel. These
// kernels take contiguous tensors (any offset); the TS backend copies a strided input first.
#include <stdlib.h>
#include <string.h>
#include "napi_util.h"

#define CHECK(x)                                                                                                       \
  if (!(x)) return NULL
#define PARAM_MAX ((int64_t)1 << 20)

/* A float32 tensor argument (buffer a[0], layout a[1]) that must be contiguous (any offset); *p
 * points at its first element. */
static int tensor_contig(napi_env env, const char *K, const nb_arg *a, float **p) {
  const nb_layout *l = &a[1].layout;
  int64_t expect = 1;
  *p = (float *)a[0].data + l->offset;
  for (int d = l->ndim - 1; d >= 0; d--) {
    if (l->shape[d] != 1 && l->strides[d] != expect) return nb_throw(env, K, "%s must be contiguous", a[0].name);
    expect *= l->shape[d];
  }
  return 1;
}

static int tensor4(napi_env env, const char *K, const nb_arg *a, float **p) {
  if (!tensor_contig(env, K, a, p)) return 0;
  if (a[1].layout.ndim != 4)
    return nb_throw(env, K, "%s must be 4-D (N,C,H,W), got %d dims", a[0].name, a[1].layout.ndim);
  return 1;
}

static int shape4(napi_env env, const char *K, const nb_arg *a, int64_t *s) {
  int n = 0;
  if (a->nints != 4) return nb_throw(env, K, "%s must have 4 entries", a->name);
  return nb_ints(env, K, a, 0, NB_LIMIT, s, &n);
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

/* Conv geometry from x shape, w shape and params [sh, sw, ph, pw, dh, dw, groups]; checks consistency. */
static int conv_geom(napi_env env, const char *K, const int64_t *xs, const int64_t *ws, const nb_arg *params,
                     nb_conv *g) {
  int64_t q[NB_MAX_INTS];
  int n = 0;
  if (params->nints != 7)
    return nb_throw(env, K, "params must be [strideH, strideW, padH, padW, dilationH, dilationW, groups]");
  if (!nb_ints(env, K, params, 0, PARAM_MAX, q, &n)) return 0;
  if (q[0] < 1 || q[1] < 1 || q[4] < 1 || q[5] < 1 || q[6] < 1)
    return nb_throw(env, K, "stride, dilation and groups must be >= 1");
  *g = (nb_conv){xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], 0, 0, q[6], q[0], q[1], q[2], q[3], q[4], q[5]};
  if (g->C % g->G || g->OC % g->G)
    return nb_throw(env, K, "groups %lld must divide C=%lld and OC=%lld", (long long)g->G, (long long)g->C,
                    (long long)g->OC);
  if (ws[1] * g->G != g->C)
    return nb_throw(env, K, "w is (%lld,%lld,%lld,%lld) but C/groups = %lld", (long long)ws[0], (long long)ws[1],
                    (long long)ws[2], (long long)ws[3], (long long)(g->C / g->G));
  if (g->KH < 1 || g->KW < 1) return nb_throw(env, K, "kernel size must be >= 1");
  g->OH = out_size(g->H, g->KH, g->sh, g->ph, g->dh);
  g->OW = out_size(g->W, g->KW, g->sw, g->pw, g->dw);
  if (g->OH < 1 || g->OW < 1)
    return nb_throw(env, K, "output size %lldx%lld is empty (input %lldx%lld too small for the kernel)",
                    (long long)g->OH, (long long)g->OW, (long long)g->H, (long long)g->W);
  __int128 col = (__int128)g->C * g->KH * g->KW * g->OH * g->OW, y = (__int128)g->N * g->OC * g->OH * g->OW;
  if (col > NB_LIMIT || y > NB_LIMIT) return nb_throw(env, K, "problem too large");
  return 1;
}

static int conv_fail(napi_env env, const char *K) { return nb_throw(env, K, "out of memory for the im2col buffer"); }

// conv2d / conv2dFused share y, x, lx, w, lw, params (a[0..5]).
static int conv_fwd_args(napi_env env, const char *K, nb_arg *a, float **x, float **w, nb_conv *g) {
  return tensor4(env, K, a + 1, x) && tensor4(env, K, a + 3, w) &&
         conv_geom(env, K, a[2].layout.shape, a[4].layout.shape, &a[5], g) &&
         nb_out(env, K, "y", a[0].len, g->N * g->OC * g->OH * g->OW);
}

// conv2d(y, x, lx, w, lw, params): x (N,C,H,W), w (OC,C/G,KH,KW) -> y (N,OC,OH,OW)
napi_value nbk_conv2d(napi_env env, const char *K, nb_arg *a) {
  float *x, *w;
  nb_conv g;
  CHECK(conv_fwd_args(env, K, a, &x, &w, &g));
  if (g.N * g.OC > 0 && !nb_conv2d_f32(a[0].data, x, w, &g, NULL)) {
    conv_fail(env, K);
    return NULL;
  }
  return nb_undefined(env);
}

// conv2dFused(y, x, lx, w, lw, params, scale, shift, residual, relu, reuseWeights, weightsStamp):
// y (N,OC,OH,OW) = act(conv2d(x, w) * scale[oc] + shift[oc] + residual); scale/shift (OC) or null,
// residual a contiguous Float32Array of y's size or null, relu a boolean; weightsStamp 0, or a
// stamp from nextStamp() naming w's contents (nb_conv_opts).
napi_value nbk_conv2dFused(napi_env env, const char *K, nb_arg *a) {
  float *x, *w, *y = a[0].data;
  nb_conv g;
  int64_t stamp = 0;
  CHECK(conv_fwd_args(env, K, a, &x, &w, &g));
  CHECK(nb_need(env, K, &a[6], g.OC));
  CHECK(nb_need(env, K, &a[7], g.OC));
  CHECK(nb_need(env, K, &a[8], g.N * g.OC * g.OH * g.OW));
  CHECK(nb_int(env, K, &a[11], 0, (int64_t)1 << 53, &stamp));
  nb_conv_epi e = {nb_f32p(&a[6]), nb_f32p(&a[7]), nb_f32p(&a[8]), a[9].num != 0};
  nb_conv_opts o = {a[10].num != 0, (double)stamp};
  if (e.res && e.res == y) {
    nb_throw(env, K, "residual must not be the output buffer");
    return NULL;
  }
  if (g.N * g.OC > 0 && !nb_conv2d_opts_f32(y, x, w, &g, &e, &o)) {
    conv_fail(env, K);
    return NULL;
  }
  return nb_undefined(env);
}

// conv2dBackwardInput(dx, dy, ldy, w, lw, xShape, params): -> dx (N,C,H,W)
napi_value nbk_conv2dBackwardInput(napi_env env, const char *K, nb_arg *a) {
  float *dy, *w;
  int64_t xs[NB_MAX_INTS];
  nb_conv g;
  CHECK(tensor4(env, K, a + 1, &dy));
  CHECK(tensor4(env, K, a + 3, &w));
  CHECK(shape4(env, K, &a[5], xs));
  CHECK(conv_geom(env, K, xs, a[4].layout.shape, &a[6], &g));
  CHECK(dy_shape(env, K, &a[2].layout, g.N, g.OC, g.OH, g.OW));
  __int128 nx = (__int128)g.N * g.C * g.H * g.W;
  if (nx > NB_LIMIT) {
    nb_throw(env, K, "problem too large");
    return NULL;
  }
  CHECK(nb_out(env, K, "dx", a[0].len, (int64_t)nx));
  if (nx > 0 && !nb_conv2d_bwd_input_f32(a[0].data, dy, w, &g)) {
    conv_fail(env, K);
    return NULL;
  }
  return nb_undefined(env);
}

// conv2dBackwardWeight(dw, dy, ldy, x, lx, wShape, params): -> dw (OC,C/G,KH,KW)
napi_value nbk_conv2dBackwardWeight(napi_env env, const char *K, nb_arg *a) {
  float *dy, *x;
  int64_t ws[NB_MAX_INTS];
  nb_conv g;
  CHECK(tensor4(env, K, a + 1, &dy));
  CHECK(tensor4(env, K, a + 3, &x));
  CHECK(shape4(env, K, &a[5], ws));
  CHECK(conv_geom(env, K, a[4].layout.shape, ws, &a[6], &g));
  CHECK(dy_shape(env, K, &a[2].layout, g.N, g.OC, g.OH, g.OW));
  __int128 nw = (__int128)ws[0] * ws[1] * ws[2] * ws[3];
  if (nw > NB_LIMIT) {
    nb_throw(env, K, "problem too large");
    return NULL;
  }
  CHECK(nb_out(env, K, "dw", a[0].len, (int64_t)nw));
  if (nw > 0 && !nb_conv2d_bwd_weight_f32(a[0].data, dy, x, &g)) {
    conv_fail(env, K);
    return NULL;
  }
  return nb_undefined(env);
}

static int64_t pool_out(int64_t n, int64_t k, int64_t s, int64_t p, int64_t d, int ceil) {
  int64_t num = n + 2 * p - d * (k - 1) - 1; /* may be negative: floor/ceil division as the JS backend */
  int64_t fl = num >= 0 ? num / s : -((-num + s - 1) / s), cl = num >= 0 ? (num + s - 1) / s : -(-num / s);
  int64_t o = (ceil ? cl : fl) + 1;
  if (ceil && (o - 1) * s >= n + p) o--; /* the last window must start inside input or left padding */
  return o;
}

/* Pool geometry from x shape and params [kH, kW, sH, sW, pH, pW, dH, dW, ceilMode]; avg uses dilation 1. */
static int pool_geom(napi_env env, const char *K, const int64_t *xs, const nb_arg *params, int is_avg, nb_pool *p) {
  int64_t q[NB_MAX_INTS];
  int n = 0;
  if (params->nints != 9)
    return nb_throw(env, K, "params must be [kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, ceilMode]");
  if (!nb_ints(env, K, params, 0, PARAM_MAX, q, &n)) return 0;
  if (q[0] < 1 || q[1] < 1 || q[2] < 1 || q[3] < 1 || q[6] < 1 || q[7] < 1)
    return nb_throw(env, K, "kernel, stride and dilation must be >= 1");
  if (2 * q[4] > q[0] || 2 * q[5] > q[1]) return nb_throw(env, K, "padding must be at most half the kernel size");
  if (is_avg) q[6] = q[7] = 1;
  *p = (nb_pool){xs[0], xs[1], xs[2], xs[3], 0, 0, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]};
  p->OH = pool_out(p->H, p->kh, p->sh, p->ph, p->dh, q[8] != 0);
  p->OW = pool_out(p->W, p->kw, p->sw, p->pw, p->dw, q[8] != 0);
  if (p->OH < 1 || p->OW < 1) return nb_throw(env, K, "output size is empty");
  if ((__int128)p->N * p->C * p->OH * p->OW > NB_LIMIT) return nb_throw(env, K, "problem too large");
  return 1;
}

// maxPool2d(y, idx, x, lx, params): x (N,C,H,W) -> y, idx (N,C,OH,OW); idx null: values only
napi_value nbk_maxPool2d(napi_env env, const char *K, nb_arg *a) {
  float *x;
  nb_pool p;
  CHECK(tensor4(env, K, a + 2, &x));
  CHECK(pool_geom(env, K, a[3].layout.shape, &a[4], 0, &p));
  int64_t no = p.N * p.C * p.OH * p.OW;
  CHECK(nb_out(env, K, "y", a[0].len, no));
  CHECK(nb_need(env, K, &a[1], no));
  if (p.H * p.W > INT32_MAX) {
    nb_throw(env, K, "H*W does not fit int32 indices");
    return NULL;
  }
  if (no > 0) nb_maxpool2d_f32(a[0].data, a[1].present ? a[1].data : NULL, x, &p);
  return nb_undefined(env);
}

// maxPool2dBackward(dx, dy, ldy, indices, xShape): dx (N,C,H,W) = dy (N,C,OH,OW) added at the flat
// window argmax indices (N,C,OH,OW) of each plane; every index is checked before dx is written.
napi_value nbk_maxPool2dBackward(napi_env env, const char *K, nb_arg *a) {
  float *dy;
  int64_t xs[NB_MAX_INTS];
  const nb_layout *ldy = &a[2].layout;
  CHECK(tensor4(env, K, a + 1, &dy));
  CHECK(shape4(env, K, &a[4], xs));
  if (ldy->shape[0] != xs[0] || ldy->shape[1] != xs[1]) {
    nb_throw(env, K, "dy (N, C) must equal xShape's");
    return NULL;
  }
  __int128 nx = (__int128)xs[0] * xs[1] * xs[2] * xs[3];
  if (nx > NB_LIMIT || xs[2] * xs[3] > INT32_MAX) {
    nb_throw(env, K, "problem too large");
    return NULL;
  }
  int64_t O = ldy->shape[2] * ldy->shape[3], planes = xs[0] * xs[1];
  CHECK(nb_out(env, K, "indices", a[3].len, planes * O));
  CHECK(nb_out(env, K, "dx", a[0].len, (int64_t)nx));
  if (nx > 0 && !nb_maxpool2d_bwd_f32(a[0].data, dy, a[3].data, planes, xs[2] * xs[3], O)) {
    nb_throw(env, K, "an index is outside [-1, H*W = %lld)", (long long)(xs[2] * xs[3]));
    return NULL;
  }
  return nb_undefined(env);
}

// avgPool2d(y, x, lx, params, countIncludePad)
napi_value nbk_avgPool2d(napi_env env, const char *K, nb_arg *a) {
  float *x;
  nb_pool p;
  CHECK(tensor4(env, K, a + 1, &x));
  CHECK(pool_geom(env, K, a[2].layout.shape, &a[3], 1, &p));
  int64_t no = p.N * p.C * p.OH * p.OW;
  CHECK(nb_out(env, K, "y", a[0].len, no));
  if (no > 0) nb_avgpool2d_f32(a[0].data, x, &p, a[4].num != 0);
  return nb_undefined(env);
}

// avgPool2dBackward(dx, dy, ldy, xShape, params, countIncludePad)
napi_value nbk_avgPool2dBackward(napi_env env, const char *K, nb_arg *a) {
  float *dy;
  int64_t xs[NB_MAX_INTS];
  nb_pool p;
  CHECK(tensor4(env, K, a + 1, &dy));
  CHECK(shape4(env, K, &a[3], xs));
  CHECK(pool_geom(env, K, xs, &a[4], 1, &p));
  CHECK(dy_shape(env, K, &a[2].layout, p.N, p.C, p.OH, p.OW));
  __int128 nx = (__int128)p.N * p.C * p.H * p.W;
  if (nx > NB_LIMIT) {
    nb_throw(env, K, "problem too large");
    return NULL;
  }
  CHECK(nb_out(env, K, "dx", a[0].len, (int64_t)nx));
  if (nx > 0) nb_avgpool2d_bwd_f32(a[0].data, dy, &p, a[5].num != 0);
  return nb_undefined(env);
}

// layerNorm(y, mean, rstd, x, lx, w, b, eps): over the last dim of contiguous x; w, b Float32Array or null
napi_value nbk_layerNorm(napi_env env, const char *K, nb_arg *a) {
  float *x;
  const nb_layout *lx = &a[4].layout;
  CHECK(tensor_contig(env, K, a + 3, &x));
  if (lx->ndim < 1 || lx->shape[lx->ndim - 1] == 0) {
    nb_throw(env, K, "x needs a non-empty last dim");
    return NULL;
  }
  int64_t C = lx->shape[lx->ndim - 1], R = nb_numel(lx) / C;
  CHECK(nb_need(env, K, &a[0], R * C) && nb_need(env, K, &a[1], R) && nb_need(env, K, &a[2], R));
  CHECK(nb_need(env, K, &a[5], C) && nb_need(env, K, &a[6], C));
  if (R > 0)
    nb_layernorm_f32(a[0].data, a[1].data, a[2].data, x, nb_f32p(&a[5]), nb_f32p(&a[6]), R, C, (float)a[7].num);
  return nb_undefined(env);
}

// layerNormBackward(dx, dw, db, dy, ldy, x, lx, mean, rstd, w): dw, db, w Float32Array or null
napi_value nbk_layerNormBackward(napi_env env, const char *K, nb_arg *a) {
  float *dy, *x;
  const nb_layout *lx = &a[6].layout;
  CHECK(tensor_contig(env, K, a + 3, &dy));
  CHECK(tensor_contig(env, K, a + 5, &x));
  CHECK(nb_same_shape(env, K, &a[4].layout, "dy", lx, "x"));
  if (lx->ndim < 1 || lx->shape[lx->ndim - 1] == 0) {
    nb_throw(env, K, "x needs a non-empty last dim");
    return NULL;
  }
  int64_t C = lx->shape[lx->ndim - 1], R = nb_numel(lx) / C;
  CHECK(nb_need(env, K, &a[0], R * C) && nb_need(env, K, &a[1], C) && nb_need(env, K, &a[2], C));
  CHECK(nb_need(env, K, &a[7], R) && nb_need(env, K, &a[8], R) && nb_need(env, K, &a[9], C));
  nb_layernorm_bwd_f32(a[0].data, nb_f32p(&a[1]), nb_f32p(&a[2]), dy, x, a[7].data, a[8].data, nb_f32p(&a[9]), R, C);
  return nb_undefined(env);
}

// x as (N, C, S): contiguous with at least 2 dims and a non-empty channel dim.
static int ncs(napi_env env, const char *K, const nb_layout *l, int64_t *N, int64_t *C, int64_t *S) {
  if (l->ndim < 2 || l->shape[1] == 0) return nb_throw(env, K, "x must be (N, C, *) with C > 0, got %d dims", l->ndim);
  *N = l->shape[0];
  *C = l->shape[1];
  *S = 1;
  for (int d = 2; d < l->ndim; d++) *S *= l->shape[d];
  return 1;
}

// batchNorm(y, mean, var, x, lx, w, b, eps, residual, relu): training statistics over N and the spatial
// dims; y = act(bn(x) + residual), residual a Float32Array of x's size or null
napi_value nbk_batchNorm(napi_env env, const char *K, nb_arg *a) {
  float *x, *y = a[0].data, *res = nb_f32p(&a[8]);
  int64_t N = 0, C = 0, S = 0;
  CHECK(tensor_contig(env, K, a + 3, &x));
  CHECK(ncs(env, K, &a[4].layout, &N, &C, &S));
  CHECK(nb_need(env, K, &a[0], N * C * S) && nb_need(env, K, &a[1], C) && nb_need(env, K, &a[2], C));
  CHECK(nb_need(env, K, &a[5], C) && nb_need(env, K, &a[6], C) && nb_need(env, K, &a[8], N * C * S));
  if (N * S == 0) {
    nb_throw(env, K, "no values per channel");
    return NULL;
  }
  if (res && res == y) {
    nb_throw(env, K, "residual must not be the output buffer");
    return NULL;
  }
  nb_batchnorm_f32(y, a[1].data, a[2].data, x, nb_f32p(&a[5]), nb_f32p(&a[6]), res, a[9].num != 0, N, C, S,
                   (float)a[7].num);
  return nb_undefined(env);
}

// batchNormBackward(dx, dw, db, dr, dy, ldy, x, lx, yact, mean, var, w, eps): dw, db, dr, yact (the
// forward's relu output), w Float32Array or null
napi_value nbk_batchNormBackward(napi_env env, const char *K, nb_arg *a) {
  float *dy, *x, *dx = a[0].data, *dr = nb_f32p(&a[3]);
  int64_t N = 0, C = 0, S = 0;
  CHECK(tensor_contig(env, K, a + 4, &dy));
  CHECK(tensor_contig(env, K, a + 6, &x));
  CHECK(nb_same_shape(env, K, &a[5].layout, "dy", &a[7].layout, "x"));
  CHECK(ncs(env, K, &a[7].layout, &N, &C, &S));
  CHECK(nb_need(env, K, &a[0], N * C * S) && nb_need(env, K, &a[1], C) && nb_need(env, K, &a[2], C));
  CHECK(nb_need(env, K, &a[3], N * C * S) && nb_need(env, K, &a[8], N * C * S));
  CHECK(nb_need(env, K, &a[9], C) && nb_need(env, K, &a[10], C) && nb_need(env, K, &a[11], C));
  if (N * S == 0) {
    nb_throw(env, K, "no values per channel");
    return NULL;
  }
  if (dr && (dr == dx || dr == dy)) {
    nb_throw(env, K, "dr must be its own buffer");
    return NULL;
  }
  nb_batchnorm_bwd_f32(dx, nb_f32p(&a[1]), nb_f32p(&a[2]), dr, dy, x, nb_f32p(&a[8]), a[9].data, a[10].data,
                       nb_f32p(&a[11]), N, C, S, (float)a[12].num);
  return nb_undefined(env);
}

/* A private copy of the indices: checked once and used as checked, even if the caller's buffer is a
 * SharedArrayBuffer another thread writes to. Freed by the caller. */
static int32_t *copy_idx(napi_env env, const char *K, const int32_t *idx, int64_t m) {
  int32_t *c = (int32_t *)malloc((size_t)(m > 0 ? m : 1) * sizeof(int32_t));
  if (!c) {
    nb_throw(env, K, "out of memory for %lld indices", (long long)m);
    return NULL;
  }
  if (m > 0) memcpy(c, idx, (size_t)m * sizeof(int32_t));
  return c;
}

/* Splits a contiguous shape around dim and checks every index against its size. */
static int index_geom(napi_env env, const char *K, const nb_layout *l, int64_t dim, const int32_t *idx, int64_t m,
                      int64_t *outer, int64_t *len, int64_t *inner) {
  *outer = 1;
  *inner = 1;
  for (int d = 0; d < dim; d++) *outer *= l->shape[d];
  for (int d = (int)dim + 1; d < l->ndim; d++) *inner *= l->shape[d];
  *len = l->shape[dim];
  for (int64_t k = 0; k < m; k++)
    if (idx[k] < 0 || idx[k] >= *len)
      return nb_throw(env, K, "index %d at position %lld is out of range for size %lld", idx[k], (long long)k,
                      (long long)*len);
  return 1;
}

// indexSelect(y, x, lx, dim, idx): y (outer, m, inner) = x rows idx along dim; x contiguous
napi_value nbk_indexSelect(napi_env env, const char *K, nb_arg *a) {
  float *x;
  int64_t dim = 0, m = a[4].len, outer, len, inner;
  const nb_layout *lx = &a[2].layout;
  CHECK(tensor_contig(env, K, a + 1, &x));
  CHECK(nb_int(env, K, &a[3], 0, lx->ndim > 0 ? lx->ndim - 1 : 0, &dim));
  if (lx->ndim == 0) {
    nb_throw(env, K, "x must have at least one dim");
    return NULL;
  }
  int32_t *own = copy_idx(env, K, a[4].data, m);
  if (!own) return NULL;
  int ok = index_geom(env, K, lx, dim, own, m, &outer, &len, &inner);
  if (ok && (__int128)outer * m * inner > NB_LIMIT) ok = nb_throw(env, K, "output too large");
  if (ok) ok = nb_out(env, K, "y", a[0].len, outer * m * inner);
  if (ok && outer * m * inner > 0) nb_index_select_f32(a[0].data, x, own, outer, len, inner, m);
  free(own);
  return ok ? nb_undefined(env) : NULL;
}

// indexAdd(dst, ldst, dim, idx, src, lsrc): dst rows idx along dim += src (outer, m, inner); both contiguous
napi_value nbk_indexAdd(napi_env env, const char *K, nb_arg *a) {
  float *dst, *src;
  int64_t dim = 0, m = a[3].len, outer, len, inner;
  const nb_layout *ld = &a[1].layout, *ls = &a[5].layout;
  CHECK(tensor_contig(env, K, a + 0, &dst));
  CHECK(nb_int(env, K, &a[2], 0, ld->ndim > 0 ? ld->ndim - 1 : 0, &dim));
  if (ld->ndim == 0) {
    nb_throw(env, K, "dst must have at least one dim");
    return NULL;
  }
  CHECK(tensor_contig(env, K, a + 4, &src));
  int32_t *own = copy_idx(env, K, a[3].data, m);
  if (!own) return NULL;
  int ok = index_geom(env, K, ld, dim, own, m, &outer, &len, &inner);
  int same = ls->ndim == ld->ndim;
  for (int d = 0; same && d < ld->ndim; d++) same = ls->shape[d] == (d == dim ? m : ld->shape[d]);
  if (ok && !same)
    ok = nb_throw(env, K, "src must have dst's shape with dim %lld of size %lld", (long long)dim, (long long)m);
  if (ok && outer * m * inner > 0) nb_index_add_f32(dst, src, own, outer, len, inner, m);
  free(own);
  return ok ? nb_undefined(env) : NULL;
}

// adamStep(p, m, v, g, lr, beta1, beta2, eps, weightDecay, decoupled, step): in place, equal lengths
napi_value nbk_adamStep(napi_env env, const char *K, nb_arg *a) {
  int64_t n = a[0].len, step = 1;
  double b1 = a[5].num, b2 = a[6].num;
  CHECK(nb_need(env, K, &a[1], n) && nb_need(env, K, &a[2], n) && nb_need(env, K, &a[3], n));
  CHECK(nb_int(env, K, &a[10], 1, NB_LIMIT, &step));
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) {
    nb_throw(env, K, "betas must be in [0, 1)");
    return NULL;
  }
  if (n > 0)
    nb_adam_f32(a[0].data, a[1].data, a[2].data, a[3].data, n, (float)a[4].num, b1, b2, (float)a[7].num,
                (float)a[8].num, a[9].num != 0, (double)step);
  return nb_undefined(env);
}

// sgdStep(p, buf, g, lr, momentum, dampening, weightDecay, nesterov, first): buf Float32Array or null
napi_value nbk_sgdStep(napi_env env, const char *K, nb_arg *a) {
  int64_t n = a[0].len;
  CHECK(nb_need(env, K, &a[1], n) && nb_need(env, K, &a[2], n));
  if (n > 0)
    nb_sgd_f32(a[0].data, nb_f32p(&a[1]), a[2].data, n, (float)a[3].num, (float)a[4].num, (float)a[5].num,
               (float)a[6].num, a[7].num != 0, a[8].num != 0);
  return nb_undefined(env);
}

/* n tensors (buffer, layout pairs from a) that must be contiguous (B,H,T,D) of one shape. */
static int qkv(napi_env env, const char *K, const nb_arg *a, int n, float **ptr) {
  for (int i = 0; i < n; i++) ptr[i] = NULL;
  for (int i = 0; i < n; i++) {
    const nb_arg *t = a + 2 * i;
    if (!tensor_contig(env, K, t, &ptr[i])) return 0;
    if (t[1].layout.ndim != 4) return nb_throw(env, K, "%s must be (B,H,T,D)", t[0].name);
    if (i > 0 && !nb_same_shape(env, K, &t[1].layout, t[0].name, &a[1].layout, a[0].name)) return 0;
  }
  return 1;
}

// attentionKv(out, lse, q, lq, k, lk, v, lv, scale, causal): q contiguous (B,H,T,D); k, v (B,KVH,S,D) read in
// place with rows of D contiguous (a KV cache's view); out (B,H,T,D), lse (B,H,T). Causal: query t sits at
// key position S - T + t.
napi_value nbk_attentionKv(napi_env env, const char *K, nb_arg *a) {
  float *q, *k = a[4].data, *v = a[6].data;
  const nb_layout lq = a[3].layout, lk = a[5].layout, lv = a[7].layout;
  int causal = a[9].num != 0;
  CHECK(tensor_contig(env, K, a + 2, &q));
  if (lq.ndim != 4 || lk.ndim != 4 || lv.ndim != 4) {
    nb_throw(env, K, "q, k and v must be (B,H,T,D) and (B,H,S,D)");
    return NULL;
  }
  const int64_t B = lq.shape[0], H = lq.shape[1], T = lq.shape[2], D = lq.shape[3], KVH = lk.shape[1], S = lk.shape[2];
  for (int d = 0; d < 4; d++)
    if (lv.shape[d] != lk.shape[d] || ((d == 0 || d == 3) && lk.shape[d] != lq.shape[d])) {
      nb_throw(env, K, "k and v must be (B,KVH,S,D) with q's B and D");
      return NULL;
    }
  if (KVH < 1 || H % KVH != 0) {
    nb_throw(env, K, "%lld query heads are not a multiple of %lld key/value heads", (long long)H, (long long)KVH);
    return NULL;
  }
  if (S < 1) {
    nb_throw(env, K, "no keys to attend to");
    return NULL;
  }
  if (lk.strides[3] != 1 || lv.strides[3] != 1 || (S > 1 && (lk.strides[2] != D || lv.strides[2] != D))) {
    nb_throw(env, K, "k and v need rows of D contiguous values");
    return NULL;
  }
  CHECK(nb_need(env, K, &a[0], B * H * T * D) && nb_need(env, K, &a[1], B * H * T));
  if (causal && S < T) {
    nb_throw(env, K, "causal attention needs at least as many keys (%lld) as queries (%lld)", (long long)S,
             (long long)T);
    return NULL;
  }
  if (B * H * T * D > 0 && S > 0 &&
      !nb_attention_kv_f32(a[0].data, a[1].data, q, k + lk.offset, v + lv.offset, B, H, KVH, T, S, D, lk.strides[0],
                           lk.strides[1], lv.strides[0], lv.strides[1], (float)a[8].num, causal)) {
    nb_throw(env, K, "out of memory for the attention block buffers");
    return NULL;
  }
  return nb_undefined(env);
}

// attention(out, lse, q, lq, k, lk, v, lv, scale, causal): out (B,H,T,D), lse (B,H,T)
napi_value nbk_attention(napi_env env, const char *K, nb_arg *a) {
  float *t[3];
  CHECK(qkv(env, K, a + 2, 3, t));
  const nb_layout *l = &a[3].layout;
  int64_t B = l->shape[0], H = l->shape[1], T = l->shape[2], D = l->shape[3];
  CHECK(nb_need(env, K, &a[0], B * H * T * D) && nb_need(env, K, &a[1], B * H * T));
  if (B * H * T * D > 0 &&
      !nb_attention_f32(a[0].data, a[1].data, t[0], t[1], t[2], B, H, T, D, (float)a[8].num, a[9].num != 0)) {
    nb_throw(env, K, "out of memory for the score blocks");
    return NULL;
  }
  return nb_undefined(env);
}

// attentionBackward(dq, dk, dv, dout, ldout, q, lq, k, lk, v, lv, out, lout, lse, scale, causal)
napi_value nbk_attentionBackward(napi_env env, const char *K, nb_arg *a) {
  float *t[5];
  CHECK(qkv(env, K, a + 3, 5, t));
  const nb_layout *l = &a[4].layout;
  int64_t B = l->shape[0], H = l->shape[1], T = l->shape[2], D = l->shape[3], n = B * H * T * D;
  CHECK(nb_need(env, K, &a[0], n) && nb_need(env, K, &a[1], n) && nb_need(env, K, &a[2], n));
  CHECK(nb_need(env, K, &a[13], B * H * T));
  if (n > 0 && !nb_attention_bwd_f32(a[0].data, a[1].data, a[2].data, t[0], t[1], t[2], t[3], t[4], a[13].data, B, H, T,
                                     D, (float)a[14].num, a[15].num != 0)) {
    nb_throw(env, K, "out of memory for the score blocks");
    return NULL;
  }
  return nb_undefined(env);
}
