// N-API wrappers for the neural-network kernels (conv, pooling). Same rules as addon.c: validate
// every argument, then call the kernel. These kernels take contiguous NCHW tensors (any offset);
// the TS backend copies a strided input first.
#include "napi_util.h"

#define ARGS(kernel, n) napi_value argv[n] = {0}; const char *K = kernel; if (!nb_args(env, info, K, n, argv)) return NULL
#define CHECK(x) if (!(x)) return NULL
#define PARAM_MAX ((int64_t)1 << 20)

static napi_value undef(napi_env env) { napi_value u; napi_get_undefined(env, &u); return u; }

/* A float32 tensor argument: buffer + layout, which must be 4-D (when dims4) and contiguous. */
static int tensor4(napi_env env, const char *K, napi_value buf, napi_value lay, const char *what, float **p, nb_layout *l) {
  int64_t len = 0;
  if (!nb_f32(env, K, buf, what, p, &len) || !nb_layout_arg(env, K, lay, what, len, l)) return 0;
  if (l->ndim != 4) return nb_throw(env, K, "%s must be 4-D (N,C,H,W), got %d dims", what, l->ndim);
  int64_t expect = 1;
  for (int d = 3; d >= 0; d--) {
    if (l->shape[d] != 1 && l->strides[d] != expect) return nb_throw(env, K, "%s must be contiguous", what);
    expect *= l->shape[d];
  }
  *p += l->offset;
  return 1;
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

// conv2d(y, x, lx, w, lw, params): x (N,C,H,W), w (OC,C/G,KH,KW) -> y (N,OC,OH,OW)
static napi_value conv2d(napi_env env, napi_callback_info info) {
  ARGS("conv2d", 6);
  float *y, *x, *w;
  int64_t ly;
  nb_layout lx, lw;
  nb_conv g;
  CHECK(nb_f32(env, K, argv[0], "y", &y, &ly));
  CHECK(tensor4(env, K, argv[1], argv[2], "x", &x, &lx));
  CHECK(tensor4(env, K, argv[3], argv[4], "w", &w, &lw));
  CHECK(conv_geom(env, K, lx.shape, lw.shape, argv[5], &g));
  CHECK(nb_out(env, K, "y", ly, g.N * g.OC * g.OH * g.OW));
  if (g.N * g.OC > 0 && !nb_conv2d_f32(y, x, w, &g)) { conv_fail(env, K); return NULL; }
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

// maxPool2d(y, idx, x, lx, params): x (N,C,H,W) -> y, idx (N,C,OH,OW)
static napi_value max_pool2d(napi_env env, napi_callback_info info) {
  ARGS("maxPool2d", 5);
  float *y, *x;
  int32_t *idx;
  int64_t ly, li;
  nb_layout lx;
  nb_pool p;
  CHECK(nb_f32(env, K, argv[0], "y", &y, &ly));
  CHECK(nb_i32(env, K, argv[1], "indices", &idx, &li));
  CHECK(tensor4(env, K, argv[2], argv[3], "x", &x, &lx));
  CHECK(pool_geom(env, K, lx.shape, argv[4], 0, &p));
  int64_t no = p.N * p.C * p.OH * p.OW;
  CHECK(nb_out(env, K, "y", ly, no));
  CHECK(nb_out(env, K, "indices", li, no));
  if (p.H * p.W > INT32_MAX) { nb_throw(env, K, "H*W does not fit int32 indices"); return NULL; }
  if (no > 0) nb_maxpool2d_f32(y, idx, x, &p);
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

void nb_register_nn(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
#define FN(name, f) { name, NULL, f, NULL, NULL, NULL, napi_enumerable, NULL }
    FN("conv2d", conv2d), FN("conv2dBackwardInput", conv2d_bwd_input), FN("conv2dBackwardWeight", conv2d_bwd_weight),
    FN("maxPool2d", max_pool2d), FN("avgPool2d", avg_pool2d), FN("avgPool2dBackward", avg_pool2d_bwd),
#undef FN
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
