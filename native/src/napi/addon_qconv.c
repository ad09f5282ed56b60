// The N-API wrappers of the quantized network ops (native/src/quant/qconv.h): the int8 convolution on
// uint8 NHWC codes, the input's quantization, the quantized residual addition and pooling. Arguments
// are read by register.c from kernels.def; these check the shapes and sizes that depend on several.
#include <stdint.h>
#include "napi_util.h"
#include "qconv.h"
#include "quant.h"

#define CHECK(x)                                                                                                       \
  if (!(x)) return NULL

/* shape (4 positive sizes) and, when win is given, a window (kh kw sh sw ph pw dh dw) with the output size
 * it gives (at least 1x1; padding at most half the dilated kernel, as torch). */
static int shape4(napi_env env, const char *K, const nb_arg *s, int64_t d[4]) {
  int n = 0;
  if (!nb_ints(env, K, s, 1, (int64_t)1 << 31, d, &n)) return 0;
  if (n != 4) return nb_throw(env, K, "%s must hold 4 sizes, got %d", s->name, n);
  if ((__int128)d[0] * d[1] * d[2] * d[3] > NB_LIMIT) return nb_throw(env, K, "%s is too large", s->name);
  return 1;
}

static int window(napi_env env, const char *K, const nb_arg *w, int64_t H, int64_t W, nb_qwin *g, int64_t *OH,
                  int64_t *OW) {
  int64_t v[8];
  int n = 0;
  if (!nb_ints(env, K, w, 0, 1 << 16, v, &n)) return 0;
  if (n != 8) return nb_throw(env, K, "%s must hold kh kw sh sw ph pw dh dw, got %d numbers", w->name, n);
  *g = (nb_qwin){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
  if (!g->kh || !g->kw || !g->sh || !g->sw || !g->dh || !g->dw)
    return nb_throw(env, K, "kernel, stride and dilation must be positive");
  if (2 * g->ph > g->dh * (g->kh - 1) + 1 || 2 * g->pw > g->dw * (g->kw - 1) + 1)
    return nb_throw(env, K, "padding (%lld, %lld) is more than half the kernel", (long long)g->ph, (long long)g->pw);
  *OH = (H + 2 * g->ph - g->dh * (g->kh - 1) - 1) / g->sh + 1;
  *OW = (W + 2 * g->pw - g->dw * (g->kw - 1) - 1) / g->sw + 1;
  if (H + 2 * g->ph < g->dh * (g->kh - 1) + 1 || W + 2 * g->pw < g->dw * (g->kw - 1) + 1)
    return nb_throw(env, K, "the input %lldx%lld is smaller than the kernel", (long long)H, (long long)W);
  return 1;
}

static int scale_ok(napi_env env, const char *K, const nb_arg *s) {
  if (!(s->num > 0) || !isfinite(s->num))
    return nb_throw(env, K, "%s must be positive and finite, got %g", s->name, s->num);
  return 1;
}

// q8Conv2d(y, x, shape, xz, xs, bp, colsum, ws, bias, oc, win, ys, yz, relu)
napi_value nbk_q8Conv2d(napi_env env, const char *K, nb_arg *a) {
  int64_t s[4], OC = 0, xz = 0, yz = 0, OH = 0, OW = 0;
  nb_qwin g;
  CHECK(shape4(env, K, &a[2], s));
  CHECK(nb_int(env, K, &a[3], 0, 255, &xz));
  CHECK(scale_ok(env, K, &a[4]));
  CHECK(nb_int(env, K, &a[9], 1, (int64_t)1 << 31, &OC));
  CHECK(window(env, K, &a[10], s[1], s[2], &g, &OH, &OW));
  CHECK(scale_ok(env, K, &a[11]));
  CHECK(nb_int(env, K, &a[12], 0, 255, &yz));
  // NOTE: each factor is below 2^31 but the products may not fit 64 bits: checked in 128
  if ((__int128)g.kh * g.kw * s[3] > NB_LIMIT || (__int128)s[0] * OH * OW * OC > NB_LIMIT) {
    nb_throw(env, K, "the im2col rows or the output are too large");
    return NULL;
  }
  const int64_t Kd = g.kh * g.kw * s[3];
  CHECK(nb_out(env, K, "y", a[0].len, s[0] * OH * OW * OC));
  CHECK(nb_out(env, K, "x", a[1].len, s[0] * s[1] * s[2] * s[3]));
  CHECK(nb_out(env, K, "bp", a[5].len, nb_q_panels(OC) * nb_q8_kp(Kd) * 16));
  CHECK(nb_out(env, K, "colsum", a[6].len, OC));
  CHECK(nb_out(env, K, "ws", a[7].len, OC));
  CHECK(nb_need(env, K, &a[8], OC));
  if (!nb_q8_conv2d(a[0].data, a[1].data, s[0], s[1], s[2], s[3], (int32_t)xz, (float)a[4].num, a[5].data, a[6].data,
                    a[7].data, nb_f32p(&a[8]), OC, &g, OH, OW, (float)a[11].num, (int32_t)yz, a[13].num != 0)) {
    nb_throw(env, K, "out of memory for the im2col rows (K = %lld)", (long long)Kd);
    return NULL;
  }
  return nb_undefined(env);
}

// q8QuantizeNhwc(y, x, shape, s, z)
napi_value nbk_q8QuantizeNhwc(napi_env env, const char *K, nb_arg *a) {
  int64_t s[4], z = 0;
  CHECK(shape4(env, K, &a[2], s));
  CHECK(scale_ok(env, K, &a[3]));
  CHECK(nb_int(env, K, &a[4], 0, 255, &z));
  const int64_t n = s[0] * s[1] * s[2] * s[3];
  CHECK(nb_out(env, K, "y", a[0].len, n));
  CHECK(nb_out(env, K, "x", a[1].len, n));
  nb_q8_quantize_nhwc(a[0].data, a[1].data, s[0], s[1], s[2] * s[3], (float)a[3].num, (int32_t)z);
  return nb_undefined(env);
}

// q8Add(y, a, as, az, b, bs, bz, ys, yz, relu)
napi_value nbk_q8Add(napi_env env, const char *K, nb_arg *a) {
  int64_t az = 0, bz = 0, yz = 0;
  CHECK(scale_ok(env, K, &a[2]));
  CHECK(nb_int(env, K, &a[3], 0, 255, &az));
  CHECK(scale_ok(env, K, &a[5]));
  CHECK(nb_int(env, K, &a[6], 0, 255, &bz));
  CHECK(scale_ok(env, K, &a[7]));
  CHECK(nb_int(env, K, &a[8], 0, 255, &yz));
  const int64_t n = a[0].len;
  CHECK(nb_out(env, K, "a", a[1].len, n));
  CHECK(nb_out(env, K, "b", a[4].len, n));
  nb_q8_add(a[0].data, a[1].data, (float)a[2].num, (int32_t)az, a[4].data, (float)a[5].num, (int32_t)bz, n,
            (float)a[7].num, (int32_t)yz, a[9].num != 0);
  return nb_undefined(env);
}

// q8Pool2d(y, x, shape, win, mode)
napi_value nbk_q8Pool2d(napi_env env, const char *K, nb_arg *a) {
  int64_t s[4], OH = 0, OW = 0;
  nb_qwin g;
  CHECK(shape4(env, K, &a[2], s));
  CHECK(window(env, K, &a[3], s[1], s[2], &g, &OH, &OW));
  if (a[4].i == 1 && (g.ph || g.pw || g.dh != 1 || g.dw != 1)) {
    nb_throw(env, K, "average pooling takes no padding and no dilation");
    return NULL;
  }
  CHECK(nb_out(env, K, "y", a[0].len, s[0] * OH * OW * s[3]));
  CHECK(nb_out(env, K, "x", a[1].len, s[0] * s[1] * s[2] * s[3]));
  if (a[4].i == 0) {
    nb_q8_maxpool2d(a[0].data, a[1].data, s[0], s[1], s[2], s[3], &g, OH, OW);
  } else if (!nb_q8_avgpool2d(a[0].data, a[1].data, s[0], s[1], s[2], s[3], &g, OH, OW)) {
    nb_throw(env, K, "out of memory for the sums of %lld channels", (long long)s[3]);
    return NULL;
  }
  return nb_undefined(env);
}
