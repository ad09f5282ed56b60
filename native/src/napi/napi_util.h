// The N-API layer's shared pieces. register.c reads every argument of a call into an nb_arg array by
// the kernel's signature (kernels.def) before it takes any TypedArray's memory; the wrappers
// (napi/addon.c, napi/addon_nn.c) then check what depends on several arguments (shapes that must
// agree, output sizes, ranges that depend on a rank) and call the C kernel. Every check throws a JS
// Error that names the kernel and the argument ("nabla.matmul: a: layout reaches element 130 but the
// buffer has 128") and returns 0; callers return NULL at once.
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

#define NB_LIMIT    ((int64_t)1 << 40)
#define NB_MAX_ARGS 20
#define NB_MAX_INTS 16

/* One argument of a call, read and copied by its signature kind before any buffer pointer is taken. */
typedef struct {
  const char *name; /* the signature's name; a layout's is its buffer's ("x"), as errors say */
  int present;      /* 0 for a nullable TypedArray given as null/undefined, or op -1 */
  double num;       /* int, num: the number; bool: 0/1 */
  int64_t i;        /* op: the code (-1 none); str: the index of the choice */
  nb_layout layout; /* layout: a copy, checked; lo/hi: the lowest and highest element it reaches */
  __int128 lo, hi;
  double ints[NB_MAX_INTS]; /* ints: the numbers, nints of them */
  int nints;
  void *data; /* TypedArray: memory and length in elements, taken last */
  int64_t len;
  napi_typedarray_type type;
} nb_arg;

/* A wrapper: a[] holds the arguments in signature order, all read and checked by kind. */
typedef napi_value (*nb_kernel_fn)(napi_env env, const char *K, nb_arg *a);

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

/* A finite integer in [lo, hi], from a number already read. */
static int nb_int_in(napi_env env, const char *kernel, double d, const char *what, int64_t lo, int64_t hi,
                     int64_t *out) {
  if (!isfinite(d) || d != floor(d)) return nb_throw(env, kernel, "%s must be an integer, got %g", what, d);
  if (d < (double)lo || d > (double)hi)
    return nb_throw(env, kernel, "%s = %.0f is out of range [%lld, %lld]", what, d, (long long)lo, (long long)hi);
  *out = (int64_t)d;
  return 1;
}

/* An int argument in [lo, hi]. */
static int nb_int(napi_env env, const char *kernel, const nb_arg *a, int64_t lo, int64_t hi, int64_t *out) {
  return nb_int_in(env, kernel, a->num, a->name, lo, hi, out);
}

/* An ints argument: every entry an integer in [lo, hi]; *count entries. */
static int nb_ints(napi_env env, const char *kernel, const nb_arg *a, int64_t lo, int64_t hi, int64_t *out,
                   int *count) {
  char name[64];
  for (int i = 0; i < a->nints; i++) {
    snprintf(name, sizeof name, "%s[%d]", a->name, i);
    if (!nb_int_in(env, kernel, a->ints[i], name, lo, hi, &out[i])) return 0;
  }
  *count = a->nints;
  return 1;
}

static int nb_same_shape(napi_env env, const char *kernel, const nb_layout *a, const char *an, const nb_layout *b,
                         const char *bn) {
  int ok = a->ndim == b->ndim;
  for (int d = 0; ok && d < a->ndim; d++) ok = a->shape[d] == b->shape[d];
  if (!ok) return nb_throw(env, kernel, "%s and %s must have the same shape", an, bn);
  return 1;
}

/* A buffer must hold `need` elements (an output, or a contiguous input of known size). */
static int nb_out(napi_env env, const char *kernel, const char *what, int64_t len, int64_t need) {
  if (len < need)
    return nb_throw(env, kernel, "%s has %lld elements, needs %lld", what, (long long)len, (long long)need);
  return 1;
}

/* A TypedArray argument of at least `need` elements (when present). */
static int nb_need(napi_env env, const char *kernel, const nb_arg *a, int64_t need) {
  return !a->present || nb_out(env, kernel, a->name, a->len, need);
}

static float *nb_f32p(const nb_arg *a) { return a->present ? (float *)a->data : NULL; }

static napi_value nb_undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value nb_number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}
#endif
