// The Node-API subset of include/node_api.h over values in linear memory, and the module's call entry.
// The JS loader (src/backend/wasm/marshal.ts) writes a call's arguments as a tree of nbw_val records
// and calls nbw_call(kernel, args); register.c's dispatch then reads and checks them exactly as in the
// addon, and the wrapper's result comes back as undefined, a number, or JSON (contract(), cpuInfo()).
// Everything here runs on the thread that calls into the module from JS; pool workers never use it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "node_api.h"
#include "nbw.h"

/* One JS value. Written by marshal.ts for arguments (children contiguous, linked by next) and built
 * here for results (children appended; a container's last child in `last`). */
struct nbw_val {
  int32_t tag; /* enum nbw_tag */
  int32_t n;   /* string bytes, container entries, typed-array elements */
  double num;  /* number; boolean 0/1 */
  union {
    const char *str;
    struct nbw_val *first;
    void *data;
  } p;
  union {
    int32_t type; /* typed array: napi_typedarray_type */
    struct nbw_val *last;
  } t;
  struct nbw_val *next;
  const char *key; /* an object's entry: its property name, NUL-terminated */
};
_Static_assert(sizeof(struct nbw_val) == 32, "marshal.ts writes 32-byte records");

enum nbw_tag { T_UNDEFINED, T_NULL, T_BOOL, T_NUMBER, T_STRING, T_ARRAY, T_OBJECT, T_TYPED };

struct nbw_env {
  int pending;
  char error[512];
};
struct nbw_cbinfo {
  size_t argc;
  napi_value *argv;
  void *data;
};

static struct nbw_env env_;
static struct nbw_val undefined_ = {.tag = T_UNDEFINED};
static napi_property_descriptor kernels_[64];
static int nkernels_;

/* Results are built in an arena reset before each call. */
static char arena_[1 << 16];
static size_t arena_used_;

static void *arena(size_t n) {
  n = (n + 7) & ~(size_t)7;
  if (arena_used_ + n > sizeof arena_) return NULL;
  void *p = arena_ + arena_used_;
  arena_used_ += n;
  return p;
}

static napi_status node(int tag, napi_value *out) {
  struct nbw_val *v = arena(sizeof *v);
  if (!v) return napi_generic_failure;
  memset(v, 0, sizeof *v);
  v->tag = tag;
  *out = v;
  return napi_ok;
}

napi_status napi_typeof(napi_env env, napi_value v, napi_valuetype *t) {
  (void)env;
  static const napi_valuetype of[] = {napi_undefined, napi_null,   napi_boolean, napi_number,
                                      napi_string,    napi_object, napi_object,  napi_object};
  if (!v || v->tag < 0 || v->tag > T_TYPED) return napi_invalid_arg;
  *t = of[v->tag];
  return napi_ok;
}

napi_status napi_get_value_double(napi_env env, napi_value v, double *out) {
  (void)env;
  if (!v || v->tag != T_NUMBER) return napi_number_expected;
  *out = v->num;
  return napi_ok;
}

napi_status napi_get_value_bool(napi_env env, napi_value v, bool *out) {
  (void)env;
  if (!v || v->tag != T_BOOL) return napi_boolean_expected;
  *out = v->num != 0;
  return napi_ok;
}

napi_status napi_get_value_string_utf8(napi_env env, napi_value v, char *buf, size_t size, size_t *len) {
  (void)env;
  if (!v || v->tag != T_STRING) return napi_string_expected;
  size_t n = (size_t)v->n;
  if (buf && size > 0) {
    if (n > size - 1) n = size - 1;
    memcpy(buf, v->p.str, n);
    buf[n] = 0;
  }
  if (len) *len = n;
  return napi_ok;
}

napi_status napi_is_array(napi_env env, napi_value v, bool *out) {
  (void)env;
  *out = v && v->tag == T_ARRAY;
  return napi_ok;
}

napi_status napi_get_array_length(napi_env env, napi_value v, uint32_t *out) {
  (void)env;
  if (!v || v->tag != T_ARRAY) return napi_array_expected;
  *out = (uint32_t)v->n;
  return napi_ok;
}

napi_status napi_get_element(napi_env env, napi_value v, uint32_t i, napi_value *out) {
  (void)env;
  if (!v || v->tag != T_ARRAY) return napi_array_expected;
  struct nbw_val *e = v->p.first;
  for (uint32_t k = 0; e && k < i; k++) e = e->next;
  *out = e ? e : &undefined_;
  return napi_ok;
}

napi_status napi_get_named_property(napi_env env, napi_value v, const char *key, napi_value *out) {
  (void)env;
  if (!v || (v->tag != T_OBJECT && v->tag != T_ARRAY && v->tag != T_TYPED)) return napi_object_expected;
  *out = &undefined_;
  if (v->tag == T_OBJECT)
    for (struct nbw_val *e = v->p.first; e; e = e->next)
      if (e->key && !strcmp(e->key, key)) {
        *out = e;
        break;
      }
  return napi_ok;
}

napi_status napi_is_typedarray(napi_env env, napi_value v, bool *out) {
  (void)env;
  *out = v && v->tag == T_TYPED;
  return napi_ok;
}

napi_status napi_get_typedarray_info(napi_env env, napi_value v, napi_typedarray_type *type, size_t *length,
                                     void **data, napi_value *arraybuffer, size_t *byte_offset) {
  (void)env;
  if (!v || v->tag != T_TYPED) return napi_invalid_arg;
  if (type) *type = (napi_typedarray_type)v->t.type;
  if (length) *length = (size_t)v->n;
  if (data) *data = v->p.data;
  if (arraybuffer) *arraybuffer = v; /* the array stands for its buffer: napi_is_detached_arraybuffer reads it */
  if (byte_offset) *byte_offset = 0;
  return napi_ok;
}

napi_status napi_is_detached_arraybuffer(napi_env env, napi_value v, bool *out) {
  (void)env;
  *out = v && v->tag == T_TYPED && v->num != 0; /* marshal.ts marks a detached array with num = 1 */
  return napi_ok;
}

napi_status napi_get_cb_info(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, napi_value *self,
                             void **data) {
  (void)env;
  size_t want = argc ? *argc : 0;
  for (size_t i = 0; argv && i < want; i++) argv[i] = i < info->argc ? info->argv[i] : &undefined_;
  if (argc) *argc = info->argc;
  if (self) *self = &undefined_;
  if (data) *data = info->data;
  return napi_ok;
}

napi_status napi_throw_error(napi_env env, const char *code, const char *msg) {
  (void)code;
  env->pending = 1;
  size_t n = strlen(msg);
  if (n >= sizeof env->error) n = sizeof env->error - 1;
  memcpy(env->error, msg, n);
  env->error[n] = 0;
  return napi_ok;
}

napi_status napi_is_exception_pending(napi_env env, bool *out) {
  *out = env->pending != 0;
  return napi_ok;
}

napi_status napi_get_undefined(napi_env env, napi_value *out) {
  (void)env;
  *out = &undefined_;
  return napi_ok;
}

napi_status napi_get_boolean(napi_env env, bool v, napi_value *out) {
  (void)env;
  napi_status s = node(T_BOOL, out);
  if (s == napi_ok) (*out)->num = v ? 1 : 0;
  return s;
}

napi_status napi_create_double(napi_env env, double v, napi_value *out) {
  (void)env;
  napi_status s = node(T_NUMBER, out);
  if (s == napi_ok) (*out)->num = v;
  return s;
}

napi_status napi_create_string_utf8(napi_env env, const char *s, size_t len, napi_value *out) {
  (void)env;
  if (len == NAPI_AUTO_LENGTH) len = strlen(s);
  char *c = arena(len + 1);
  if (!c || node(T_STRING, out) != napi_ok) return napi_generic_failure;
  memcpy(c, s, len);
  c[len] = 0;
  (*out)->p.str = c;
  (*out)->n = (int32_t)len;
  return napi_ok;
}

napi_status napi_create_object(napi_env env, napi_value *out) {
  (void)env;
  return node(T_OBJECT, out);
}

napi_status napi_create_array(napi_env env, napi_value *out) {
  (void)env;
  return node(T_ARRAY, out);
}

napi_status napi_create_array_with_length(napi_env env, size_t n, napi_value *out) {
  (void)env;
  (void)n; /* entries come with napi_set_element, in order */
  return node(T_ARRAY, out);
}

/* Appends v (a copy, so one value can sit in two containers) to container o under key. */
static napi_status append(napi_value o, const char *key, napi_value v) {
  if (!o || !v) return napi_invalid_arg;
  struct nbw_val *e = arena(sizeof *e);
  if (!e) return napi_generic_failure;
  *e = *v;
  e->next = NULL;
  e->key = key;
  if (o->t.last)
    o->t.last->next = e;
  else
    o->p.first = e;
  o->t.last = e;
  o->n++;
  return napi_ok;
}

napi_status napi_set_named_property(napi_env env, napi_value o, const char *key, napi_value v) {
  (void)env;
  size_t n = strlen(key);
  char *k = arena(n + 1);
  if (!k) return napi_generic_failure;
  memcpy(k, key, n + 1);
  return append(o, k, v);
}

napi_status napi_set_element(napi_env env, napi_value o, uint32_t i, napi_value v) {
  (void)env;
  if (!o || (uint32_t)o->n != i) return napi_invalid_arg; /* only appends, as every caller does */
  return append(o, NULL, v);
}

napi_status napi_define_properties(napi_env env, napi_value o, size_t n, const napi_property_descriptor *props) {
  (void)env;
  (void)o;
  for (size_t i = 0; i < n && nkernels_ < (int)(sizeof kernels_ / sizeof kernels_[0]); i++)
    kernels_[nkernels_++] = props[i];
  return napi_ok;
}

/* ---- results as JSON ---- */

static char *json_;
static size_t json_len_, json_cap_;

static void put(const char *s, size_t n) {
  if (json_len_ + n + 1 > json_cap_) {
    size_t cap = (json_len_ + n + 1) * 2;
    char *p = realloc(json_, cap);
    if (!p) return;
    json_ = p;
    json_cap_ = cap;
  }
  memcpy(json_ + json_len_, s, n);
  json_len_ += n;
  json_[json_len_] = 0;
}

static void put_str(const char *s, size_t n) {
  put("\"", 1);
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '"' || c == '\\') put("\\", 1);
    if ((unsigned char)c < 0x20) c = ' ';
    put(&c, 1);
  }
  put("\"", 1);
}

static void put_val(const struct nbw_val *v) {
  char num[40];
  switch (v->tag) {
  case T_BOOL:
    put(v->num ? "true" : "false", v->num ? 4 : 5);
    return;
  case T_NUMBER:
    snprintf(num, sizeof num, "%.17g", v->num);
    put(num, strlen(num));
    return;
  case T_STRING:
    put_str(v->p.str, (size_t)v->n);
    return;
  case T_ARRAY:
  case T_OBJECT:
    put(v->tag == T_ARRAY ? "[" : "{", 1);
    for (const struct nbw_val *e = v->p.first; e; e = e->next) {
      if (e != v->p.first) put(",", 1);
      if (v->tag == T_OBJECT) {
        put_str(e->key, strlen(e->key));
        put(":", 1);
      }
      put_val(e);
    }
    put(v->tag == T_ARRAY ? "]" : "}", 1);
    return;
  default:
    put("null", 4);
  }
}

/* ---- exports ---- */

static double number_;

/* Registers kernels.def (register.c's init); 0, or -1 with nbw_error() set. */
NBW_EXPORT(nbw_init) int nbw_init(void) {
  struct nbw_val exports = {.tag = T_OBJECT};
  if (nkernels_) return 0;
  return nbw_module_init(&env_, &exports) ? 0 : -1;
}

NBW_EXPORT(nbw_kernel_count) int nbw_kernel_count(void) { return nkernels_; }
NBW_EXPORT(nbw_kernel_name) const char *nbw_kernel_name(int k) {
  return k >= 0 && k < nkernels_ ? kernels_[k].utf8name : NULL;
}

/* Calls kernel k with the arguments in `args` (an array value). Returns -1: threw (nbw_error()),
 * 0: undefined, 1: a number (nbw_number()), 2: JSON (nbw_json()). */
NBW_EXPORT(nbw_call) int nbw_call(int k, struct nbw_val *args) {
  napi_value argv[32];
  size_t argc = 0;
  if (k < 0 || k >= nkernels_ || !args || args->tag != T_ARRAY) return -1;
  for (struct nbw_val *e = args->p.first; e && argc < 32; e = e->next) argv[argc++] = e;
  struct nbw_cbinfo info = {argc, argv, kernels_[k].data};
  env_.pending = 0;
  env_.error[0] = 0;
  arena_used_ = 0;
  napi_value r = kernels_[k].method(&env_, &info);
  if (env_.pending || !r) {
    if (!env_.error[0]) strcpy(env_.error, "nabla: a kernel failed without a message");
    return -1;
  }
  if (r->tag == T_UNDEFINED) return 0;
  if (r->tag == T_NUMBER) {
    number_ = r->num;
    return 1;
  }
  json_len_ = 0;
  put_val(r);
  return 2;
}

NBW_EXPORT(nbw_error) const char *nbw_error(void) { return env_.error; }
NBW_EXPORT(nbw_number) double nbw_number(void) { return number_; }
NBW_EXPORT(nbw_json) const char *nbw_json(void) { return json_ ? json_ : ""; }
