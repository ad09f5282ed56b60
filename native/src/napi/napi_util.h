// Argument validation for the N-API layer. Every check throws a JS Error that names the kernel and
// the argument ("nabla.matmul: a: layout reaches element 130 but the buffer has 128") and returns 0;
// callers return NULL at once. Nothing touches a buffer before all of its checks have passed.
//
// Limits: ndim <= NB_MAX_DIMS; sizes, strides and offsets are integers with |v| <= 2^40 (so every
// bound below is computed exactly in 128-bit arithmetic); an element count must fit in 2^40.
#ifndef NB_NAPI_UTIL_H
#define NB_NAPI_UTIL_H
#define NAPI_VERSION 8
#include <node_api.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include "nabla.h"

#define NB_LIMIT ((int64_t)1 << 40)
#define NB_MAX_ARGS 20

static int nb_throw(napi_env env, const char *kernel, const char *fmt, ...) {
  char msg[384];
  int n = snprintf(msg, sizeof msg, "nabla.%s: ", kernel);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, msg);
  return 0;
}

/* Fetches exactly `want` arguments (more are an error, fewer too). */
static int nb_args(napi_env env, napi_callback_info info, const char *kernel, size_t want, napi_value *argv) {
  napi_value tmp[NB_MAX_ARGS];
  size_t argc = NB_MAX_ARGS;
  if (want > NB_MAX_ARGS) return nb_throw(env, kernel, "internal: too many parameters");
  if (napi_get_cb_info(env, info, &argc, tmp, NULL, NULL) != napi_ok) return nb_throw(env, kernel, "cannot read arguments");
  if (argc != want) return nb_throw(env, kernel, "expected %zu arguments, got %zu", want, argc);
  for (size_t i = 0; i < want; i++) argv[i] = tmp[i];
  return 1;
}

/* A finite integer in [lo, hi]. */
static int nb_int(napi_env env, const char *kernel, napi_value v, const char *what, int64_t lo, int64_t hi, int64_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return nb_throw(env, kernel, "%s must be a number", what);
  napi_get_value_double(env, v, &d);
  if (!isfinite(d) || d != floor(d)) return nb_throw(env, kernel, "%s must be an integer, got %g", what, d);
  if (d < (double)lo || d > (double)hi) return nb_throw(env, kernel, "%s = %.0f is out of range [%lld, %lld]", what, d, (long long)lo, (long long)hi);
  *out = (int64_t)d;
  return 1;
}

/* Any number (NaN and infinities allowed). */
static int nb_double(napi_env env, const char *kernel, napi_value v, const char *what, double *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return nb_throw(env, kernel, "%s must be a number", what);
  napi_get_value_double(env, v, out);
  return 1;
}

static int nb_float(napi_env env, const char *kernel, napi_value v, const char *what, float *out) {
  double d = 0;
  if (!nb_double(env, kernel, v, what, &d)) return 0;
  *out = (float)d;
  return 1;
}

static int nb_bool(napi_env env, const char *kernel, napi_value v, const char *what, int *out) {
  bool b;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return nb_throw(env, kernel, "%s must be a boolean", what);
  *out = b;
  return 1;
}

/* A TypedArray of the given element type; *len is its length in elements. */
static int nb_typed(napi_env env, const char *kernel, napi_value v, const char *what, napi_typedarray_type want,
                    void **data, int64_t *len) {
  bool is = false;
  napi_typedarray_type t;
  size_t n = 0;
  napi_value ab;
  size_t boff;
  const char *tn = want == napi_float32_array ? "Float32Array" : want == napi_int32_array ? "Int32Array" : "Uint8Array";
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return nb_throw(env, kernel, "%s must be a %s", what, tn);
  if (napi_get_typedarray_info(env, v, &t, &n, data, &ab, &boff) != napi_ok) return nb_throw(env, kernel, "%s: cannot read the typed array", what);
  if (t != want) return nb_throw(env, kernel, "%s must be a %s (got another TypedArray type)", what, tn);
  if (n > 0 && *data == NULL) return nb_throw(env, kernel, "%s: buffer is detached", what);
  *len = (int64_t)n;
  return 1;
}

static int nb_f32(napi_env env, const char *kernel, napi_value v, const char *what, float **data, int64_t *len) {
  return nb_typed(env, kernel, v, what, napi_float32_array, (void **)data, len);
}

static int nb_i32(napi_env env, const char *kernel, napi_value v, const char *what, int32_t **data, int64_t *len) {
  return nb_typed(env, kernel, v, what, napi_int32_array, (void **)data, len);
}

static int nb_u8(napi_env env, const char *kernel, napi_value v, const char *what, uint8_t **data, int64_t *len) {
  return nb_typed(env, kernel, v, what, napi_uint8_array, (void **)data, len);
}

/* A JS array of at most `max` integers in [lo, hi]. */
static int nb_int_array(napi_env env, const char *kernel, napi_value v, const char *what, int max, int64_t lo, int64_t hi,
                        int64_t *out, int *count) {
  bool is = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &is) != napi_ok || !is) return nb_throw(env, kernel, "%s must be an array", what);
  napi_get_array_length(env, v, &n);
  if (n > (uint32_t)max) return nb_throw(env, kernel, "%s has %u entries, at most %d supported", what, n, max);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    char name[96];
    snprintf(name, sizeof name, "%s[%u]", what, i);
    if (napi_get_element(env, v, i, &e) != napi_ok) return nb_throw(env, kernel, "cannot read %s", name);
    if (!nb_int(env, kernel, e, name, lo, hi, &out[i])) return 0;
  }
  *count = (int)n;
  return 1;
}

/* A layout object { shape, strides, offset } (src/tensor/layout.ts), checked against a buffer of
 * `len` elements: every element it addresses must lie in [0, len). */
static int nb_layout_arg(napi_env env, const char *kernel, napi_value v, const char *what, int64_t len, nb_layout *l) {
  napi_valuetype t;
  napi_value sh, st, of;
  char name[96];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_object) return nb_throw(env, kernel, "%s must be a layout object", what);
  if (napi_get_named_property(env, v, "shape", &sh) != napi_ok ||
      napi_get_named_property(env, v, "strides", &st) != napi_ok ||
      napi_get_named_property(env, v, "offset", &of) != napi_ok) return nb_throw(env, kernel, "%s: cannot read layout", what);
  int ns = 0, nt = 0;
  snprintf(name, sizeof name, "%s.shape", what);
  if (!nb_int_array(env, kernel, sh, name, NB_MAX_DIMS, 0, NB_LIMIT, l->shape, &ns)) return 0;
  snprintf(name, sizeof name, "%s.strides", what);
  if (!nb_int_array(env, kernel, st, name, NB_MAX_DIMS, -NB_LIMIT, NB_LIMIT, l->strides, &nt)) return 0;
  if (ns != nt) return nb_throw(env, kernel, "%s: shape has %d dims but strides has %d", what, ns, nt);
  snprintf(name, sizeof name, "%s.offset", what);
  if (!nb_int(env, kernel, of, name, 0, NB_LIMIT, &l->offset)) return 0;
  l->ndim = ns;
  __int128 n = 1, lo = l->offset, hi = l->offset;
  for (int d = 0; d < ns; d++) {
    n *= l->shape[d];
    if (n > NB_LIMIT) return nb_throw(env, kernel, "%s: element count exceeds 2^40", what);
  }
  if (n == 0) return 1;
  for (int d = 0; d < ns; d++) {
    __int128 span = (__int128)l->strides[d] * (l->shape[d] - 1);
    if (span < 0) lo += span; else hi += span;
  }
  if (lo < 0) return nb_throw(env, kernel, "%s: layout reaches element %lld, before the start of the buffer", what, (long long)lo);
  if (hi >= len) return nb_throw(env, kernel, "%s: layout reaches element %lld but the buffer has %lld", what, (long long)hi, (long long)len);
  return 1;
}

static int nb_same_shape(napi_env env, const char *kernel, const nb_layout *a, const char *an, const nb_layout *b, const char *bn) {
  int ok = a->ndim == b->ndim;
  for (int d = 0; ok && d < a->ndim; d++) ok = a->shape[d] == b->shape[d];
  if (!ok) return nb_throw(env, kernel, "%s and %s must have the same shape", an, bn);
  return 1;
}

/* An output buffer must hold `need` contiguous elements. */
static int nb_out(napi_env env, const char *kernel, const char *what, int64_t len, int64_t need) {
  if (len < need) return nb_throw(env, kernel, "%s has %lld elements, needs %lld", what, (long long)len, (long long)need);
  return 1;
}
#endif
