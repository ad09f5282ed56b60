// The N-API wrappers of the quantized products (native/src/quant): weight packing, the dynamic int8
// linear layer, the u8 x s8 GEMM with its requantizing epilogue, the bf16 linear layer and the
// weight-only int8/int4 one. Arguments are read by register.c from kernels.def; these check what
// depends on several of them (sizes against N, K) and call the kernel.
#include <stdint.h>
#include <string.h>
#include "napi_util.h"
#include "quant.h"

#define CHECK(x)                                                                                                       \
  if (!(x)) return NULL

static void put_str(napi_env env, napi_value o, const char *k, const char *v) {
  napi_value s;
  napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, o, k, s);
}

// quantInfo() -> { int8, bf16, woq, amx, available }
napi_value nbk_quantInfo(napi_env env, const char *K, nb_arg *a) {
  (void)K;
  (void)a;
  static const char *const names[] = {"scalar", "avx2", "avxvnni", "avx512", "amx"};
  const char *i8, *bf, *wq;
  int avail;
  nb_quant_paths(&i8, &bf, &wq, &avail);
  napi_value o, arr;
  napi_create_object(env, &o);
  put_str(env, o, "int8", i8);
  put_str(env, o, "bf16", bf);
  put_str(env, o, "woq", wq);
  put_str(env, o, "amx", nb_amx_status());
  napi_create_array(env, &arr);
  uint32_t n = 0;
  for (int p = 0; p < 5; p++)
    if (avail >> p & 1) {
      napi_value s;
      napi_create_string_utf8(env, names[p], NAPI_AUTO_LENGTH, &s);
      napi_set_element(env, arr, n++, s);
    }
  napi_set_named_property(env, o, "available", arr);
  return o;
}

// setQuantPath(path) -> whether this machine has it
napi_value nbk_setQuantPath(napi_env env, const char *K, nb_arg *a) {
  (void)K;
  static const char *const names[] = {"auto", "scalar", "avx2", "avxvnni", "avx512", "amx"};
  napi_value r;
  napi_get_boolean(env, nb_quant_set_path(names[a[0].i]), &r);
  return r;
}

static int dims(napi_env env, const char *K, const nb_arg *n, const nb_arg *k, int64_t *N, int64_t *Kd) {
  return nb_int(env, K, n, 1, (int64_t)1 << 31, N) && nb_int(env, K, k, 1, (int64_t)1 << 31, Kd);
}

// q8Pack(bp, colsum, w, n, k)
napi_value nbk_q8Pack(napi_env env, const char *K, nb_arg *a) {
  int64_t N = 0, Kd = 0;
  CHECK(dims(env, K, &a[3], &a[4], &N, &Kd));
  CHECK(nb_out(env, K, "bp", a[0].len, nb_q_panels(N) * nb_q8_kp(Kd) * 16));
  CHECK(nb_out(env, K, "colsum", a[1].len, N));
  CHECK(nb_out(env, K, "w", a[2].len, N * Kd));
  nb_q8_pack(a[0].data, a[1].data, a[2].data, N, Kd);
  return nb_undefined(env);
}

// bf16Pack(bp, w, n, k)
napi_value nbk_bf16Pack(napi_env env, const char *K, nb_arg *a) {
  int64_t N = 0, Kd = 0;
  CHECK(dims(env, K, &a[2], &a[3], &N, &Kd));
  CHECK(nb_out(env, K, "bp", a[0].len, nb_q_panels(N) * nb_bf16_kp(Kd) * 16));
  CHECK(nb_out(env, K, "w", a[1].len, N * Kd));
  nb_bf16_pack(a[0].data, a[1].data, N, Kd);
  return nb_undefined(env);
}

/* x must be 2-D (M,K); the packed weight must hold N x K. */
static int linear_dims(napi_env env, const char *K, const nb_layout *lx, const nb_arg *n, int64_t *M, int64_t *Kd,
                       int64_t *N) {
  if (lx->ndim != 2) return nb_throw(env, K, "x must be 2-D (M, K), got %d dims", lx->ndim);
  *M = lx->shape[0];
  *Kd = lx->shape[1];
  return nb_int(env, K, n, 1, (int64_t)1 << 31, N);
}

// q8LinearDynamic(y, x, lx, bp, colsum, ws, bias, n, reduceRange)
napi_value nbk_q8LinearDynamic(napi_env env, const char *K, nb_arg *a) {
  int64_t M = 0, Kd = 0, N = 0;
  const nb_layout lx = a[2].layout;
  CHECK(linear_dims(env, K, &lx, &a[7], &M, &Kd, &N));
  CHECK(nb_out(env, K, "y", a[0].len, M * N));
  CHECK(nb_out(env, K, "bp", a[3].len, nb_q_panels(N) * nb_q8_kp(Kd) * 16));
  CHECK(nb_out(env, K, "colsum", a[4].len, N));
  CHECK(nb_out(env, K, "ws", a[5].len, N));
  CHECK(nb_need(env, K, &a[6], N));
  if (M * N == 0) return nb_undefined(env);
  if (!nb_q8_linear_dynamic(a[0].data, (const float *)a[1].data + lx.offset, lx.strides[0], lx.strides[1], M, Kd,
                            a[3].data, a[4].data, a[5].data, nb_f32p(&a[6]), N, a[8].num != 0)) {
    nb_throw(env, K, "out of memory for the quantized activations (%lld x %lld)", (long long)M, (long long)Kd);
    return NULL;
  }
  return nb_undefined(env);
}

// q8Gemm(y, yq, ys, yz, xq, m, k, xz, xs, bp, colsum, ws, bias, n)
napi_value nbk_q8Gemm(napi_env env, const char *K, nb_arg *a) {
  int64_t M = 0, Kd = 0, N = 0, yz = 0, xz = 0;
  CHECK(nb_int(env, K, &a[5], 0, (int64_t)1 << 31, &M));
  CHECK(dims(env, K, &a[13], &a[6], &N, &Kd));
  CHECK(nb_int(env, K, &a[7], 0, 255, &xz));
  if (a[0].present == a[1].present) {
    nb_throw(env, K, "give exactly one output: y (float32) or yq (uint8, requantized)");
    return NULL;
  }
  if (a[1].present) {
    CHECK(nb_int(env, K, &a[3], 0, 255, &yz));
    if (!(a[2].num > 0) || !isfinite(a[2].num)) {
      nb_throw(env, K, "the output scale ys must be positive and finite, got %g", a[2].num);
      return NULL;
    }
  }
  CHECK(nb_need(env, K, &a[0], M * N));
  CHECK(nb_need(env, K, &a[1], M * N));
  CHECK(nb_out(env, K, "xq", a[4].len, M * Kd));
  CHECK(nb_out(env, K, "bp", a[9].len, nb_q_panels(N) * nb_q8_kp(Kd) * 16));
  CHECK(nb_out(env, K, "colsum", a[10].len, N));
  CHECK(nb_out(env, K, "ws", a[11].len, N));
  CHECK(nb_need(env, K, &a[12], N));
  if (M == 0) return nb_undefined(env);
  if (!nb_q8_gemm(a[0].present ? a[0].data : NULL, a[1].present ? a[1].data : NULL, (float)a[2].num, (int32_t)yz,
                  a[4].data, (int32_t)xz, (float)a[8].num, a[9].data, a[10].data, a[11].data, nb_f32p(&a[12]), M, N,
                  Kd)) {
    nb_throw(env, K, "out of memory for the padded activations (%lld x %lld)", (long long)M, (long long)Kd);
    return NULL;
  }
  return nb_undefined(env);
}

// bf16Linear(y, x, lx, bp, bias, n)
napi_value nbk_bf16Linear(napi_env env, const char *K, nb_arg *a) {
  int64_t M = 0, Kd = 0, N = 0;
  const nb_layout lx = a[2].layout;
  CHECK(linear_dims(env, K, &lx, &a[5], &M, &Kd, &N));
  CHECK(nb_out(env, K, "y", a[0].len, M * N));
  CHECK(nb_out(env, K, "bp", a[3].len, nb_q_panels(N) * nb_bf16_kp(Kd) * 16));
  CHECK(nb_need(env, K, &a[4], N));
  if (M * N == 0) return nb_undefined(env);
  if (!nb_bf16_linear(a[0].data, (const float *)a[1].data + lx.offset, lx.strides[0], lx.strides[1], M, Kd, a[3].data,
                      nb_f32p(&a[4]), N)) {
    nb_throw(env, K, "out of memory for the bf16 activations (%lld x %lld)", (long long)M, (long long)Kd);
    return NULL;
  }
  return nb_undefined(env);
}

// woqLinear(y, x, lx, q, scales, bits, groupSize, bias, n)
napi_value nbk_woqLinear(napi_env env, const char *K, nb_arg *a) {
  int64_t M = 0, Kd = 0, N = 0, bits = 0, G = 0;
  const nb_layout lx = a[2].layout;
  CHECK(linear_dims(env, K, &lx, &a[8], &M, &Kd, &N));
  CHECK(nb_int(env, K, &a[5], 4, 8, &bits));
  if (bits != 4 && bits != 8) {
    nb_throw(env, K, "bits must be 8 or 4, got %lld", (long long)bits);
    return NULL;
  }
  if (lx.strides[1] != 1 && Kd > 1) {
    nb_throw(env, K, "x's rows must be contiguous (strides [%lld, %lld])", (long long)lx.strides[0],
             (long long)lx.strides[1]);
    return NULL;
  }
  int64_t ng = 1, rowb = Kd;
  if (bits == 4) {
    CHECK(nb_int(env, K, &a[6], 32, 1 << 20, &G));
    if (G % 32) {
      nb_throw(env, K, "int4 groupSize must be a multiple of 32, got %lld", (long long)G);
      return NULL;
    }
    ng = (Kd + G - 1) / G;
    rowb = ng * G / 2;
  }
  CHECK(nb_out(env, K, "y", a[0].len, M * N));
  CHECK(nb_out(env, K, "q", a[3].len, N * rowb));
  CHECK(nb_out(env, K, "scales", a[4].len, N * ng));
  CHECK(nb_need(env, K, &a[7], N));
  if (M * N == 0) return nb_undefined(env);
  if (!nb_woq_linear(a[0].data, (const float *)a[1].data + lx.offset, lx.strides[0], M, Kd, a[3].data, a[4].data,
                     (int)bits, G, nb_f32p(&a[7]), N)) {
    nb_throw(env, K, "out of memory for the int4 activations (%lld x %lld)", (long long)M, (long long)Kd);
    return NULL;
  }
  return nb_undefined(env);
}
