// The addon's exports, all from kernels.def: each NB_KERNEL line becomes one N-API function whose
// arguments are read here by its signature, in two phases, before its wrapper (nbk_<name>, in
// napi/addon.c and napi/addon_nn.c) runs:
//   1. every argument is read and copied: numbers, booleans, strings, op codes, arrays of numbers and
//      layouts (shape/strides/offset into an nb_layout); TypedArrays are only type-checked. Reading a
//      layout or an array may run JS (a getter, a Proxy trap), which may detach or resize any buffer.
//   2. then each TypedArray's memory and length are taken, a detached buffer is an error, and each
//      layout is checked against its buffer's length. No N-API call from here on can run JS, so the
//      pointers stay valid until the kernel returns.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "napi_util.h"

enum { K_TYPED, K_LAYOUT, K_INT, K_NUM, K_BOOL, K_STR, K_INTS, K_OP };

typedef struct {
  char name[24];
  int kind, nullable;
  unsigned types;   /* K_TYPED: bit (1u << napi_typedarray_type) per accepted type; 0 any */
  int buf;          /* K_LAYOUT: index of its buffer argument */
  int set;          /* K_OP: index into OPSETS */
  char choices[48]; /* K_STR: "a|b|c" */
} argspec;

typedef struct {
  const char *name, *dtypes, *returns, *sig;
  nb_kernel_fn fn;
  int nargs;
  argspec arg[NB_MAX_ARGS];
} kernel;

#define NB_KERNEL(name, dtypes, returns, sig) napi_value nbk_##name(napi_env env, const char *K, nb_arg *a);
#include "kernels.def"

#define NB_OPSET(set, family, ...) static const int opset_##set[] = {__VA_ARGS__};
#include "kernels.def"

static const struct {
  const char *name, *family;
  const int *ops;
  int n;
} OPSETS[] = {
#define NB_OPSET(set, family, ...) {#set, #family, opset_##set, (int)(sizeof opset_##set / sizeof(int))},
#include "kernels.def"
};
#define NOPSETS ((int)(sizeof OPSETS / sizeof OPSETS[0]))

static kernel KERNELS[] = {
#define NB_KERNEL(n, d, r, s) {.name = #n, .dtypes = d, .returns = r, .sig = s, .fn = nbk_##n},
#include "kernels.def"
};
#define NKERNELS ((int)(sizeof KERNELS / sizeof KERNELS[0]))

static const char *op_name(const char *family, int op) {
#define NB_OP_CASE(name, code)                                                                                         \
  case code:                                                                                                           \
    return #name;
  if (!strcmp(family, "unary")) switch (op) {
      NB_UNARY_OPS(NB_OP_CASE)
    }
  if (!strcmp(family, "binary")) switch (op) {
      NB_BINARY_OPS(NB_OP_CASE)
    }
  if (!strcmp(family, "reduce")) switch (op) {
      NB_REDUCE_OPS(NB_OP_CASE)
    }
#undef NB_OP_CASE
  return "?";
}

static const char *typed_name(unsigned types) {
  switch (types) {
  case 1u << napi_float32_array:
    return "Float32Array";
  case 1u << napi_int32_array:
    return "Int32Array";
  case 1u << napi_uint8_array:
    return "Uint8Array";
  case (1u << napi_uint8_array) | (1u << napi_int32_array):
    return "Uint8Array or Int32Array";
  default:
    return "TypedArray";
  }
}

/* ---- the signature of kernels.def, parsed once when the addon loads ---- */

/* One `name:kind` token into s; returns an error or NULL. */
static const char *parse_arg(const char *tok, size_t n, kernel *k, argspec *s) {
  char t[96], *colon, *kind, *paren = NULL;
  if (n >= sizeof t) return "argument too long";
  memcpy(t, tok, n);
  t[n] = 0;
  if (!(colon = strchr(t, ':')) || colon == t || (size_t)(colon - t) >= sizeof s->name) return "expected name:kind";
  *colon = 0;
  strcpy(s->name, t);
  kind = colon + 1;
  if ((paren = strchr(kind, '('))) {
    char *close = strchr(paren, ')');
    if (!close || close[1]) return "unclosed (";
    *paren++ = 0;
    *close = 0;
  }
  size_t kl = strlen(kind);
  if (kl && kind[kl - 1] == '?') {
    s->nullable = 1;
    kind[--kl] = 0;
  }
  if (!strcmp(kind, "layout")) {
    s->kind = K_LAYOUT;
    for (int i = 0; i < k->nargs; i++)
      if (paren && !strcmp(k->arg[i].name, paren) && k->arg[i].kind == K_TYPED) {
        s->buf = i;
        return NULL;
      }
    return "layout(buf) must name an earlier TypedArray argument";
  }
  if (!strcmp(kind, "int")) {
    s->kind = K_INT;
    return NULL;
  }
  if (!strcmp(kind, "num")) {
    s->kind = K_NUM;
    return NULL;
  }
  if (!strcmp(kind, "bool")) {
    s->kind = K_BOOL;
    return NULL;
  }
  if (!strcmp(kind, "ints")) {
    s->kind = K_INTS;
    return NULL;
  }
  if (!strcmp(kind, "str")) {
    s->kind = K_STR;
    if (paren && strlen(paren) >= sizeof s->choices) return "too many choices";
    if (paren) strcpy(s->choices, paren);
    return NULL;
  }
  if (!strcmp(kind, "op")) {
    s->kind = K_OP;
    for (int i = 0; i < NOPSETS; i++)
      if (paren && !strcmp(OPSETS[i].name, paren)) {
        s->set = i;
        return NULL;
      }
    return "op(set) must name an NB_OPSET";
  }
  s->kind = K_TYPED;
  char *save = NULL;
  for (char *p = strtok_r(kind, "|", &save); p; p = strtok_r(NULL, "|", &save)) {
    if (!strcmp(p, "f32"))
      s->types |= 1u << napi_float32_array;
    else if (!strcmp(p, "i32"))
      s->types |= 1u << napi_int32_array;
    else if (!strcmp(p, "u8"))
      s->types |= 1u << napi_uint8_array;
    else if (!strcmp(p, "i8"))
      s->types |= 1u << napi_int8_array;
    else if (!strcmp(p, "u16"))
      s->types |= 1u << napi_uint16_array;
    else if (!strcmp(p, "any"))
      s->types = 0;
    else
      return "unknown kind";
  }
  return NULL;
}

static const char *parse_sig(kernel *k) {
  const char *p = k->sig;
  while (*p) {
    while (*p == ' ') p++;
    if (!*p) break;
    size_t n = strcspn(p, " ");
    if (k->nargs == NB_MAX_ARGS) return "too many arguments";
    const char *err = parse_arg(p, n, k, &k->arg[k->nargs]);
    if (err) return err;
    k->nargs++;
    p += n;
  }
  return NULL;
}

/* ---- phase 1: read and copy every argument ---- */

static int read_number(napi_env env, const char *K, napi_value v, const char *what, double *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return nb_throw(env, K, "%s must be a number", what);
  napi_get_value_double(env, v, out);
  return 1;
}

/* A JS array of at most `max` numbers, named what + sub in errors; may run JS (element getters).
 * NOTE: the names are formatted only for an error: every kernel call reads its layouts here, and
 * snprintf per entry cost about as much as a small kernel. */
static int read_numbers(napi_env env, const char *K, napi_value v, const char *what, const char *sub, int max,
                        double *out, int *count) {
  bool is = false;
  uint32_t n = 0;
  char name[64];
  if (napi_is_array(env, v, &is) != napi_ok || !is) return nb_throw(env, K, "%s%s must be an array", what, sub);
  napi_get_array_length(env, v, &n);
  if (n > (uint32_t)max) return nb_throw(env, K, "%s%s has %u entries, at most %d supported", what, sub, n, max);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_valuetype t;
    if (napi_get_element(env, v, i, &e) != napi_ok) {
      snprintf(name, sizeof name, "%s%s[%u]", what, sub, i);
      return nb_throw(env, K, "cannot read %s", name);
    }
    if (napi_typeof(env, e, &t) != napi_ok || t != napi_number) {
      snprintf(name, sizeof name, "%s%s[%u]", what, sub, i);
      return nb_throw(env, K, "%s must be a number", name);
    }
    napi_get_value_double(env, e, &out[i]);
  }
  *count = (int)n;
  return 1;
}

static int read_int_array(napi_env env, const char *K, napi_value v, const char *what, const char *sub, int64_t lo,
                          int64_t hi, int64_t *out, int *count) {
  double d[NB_MAX_DIMS];
  char name[64];
  if (!read_numbers(env, K, v, what, sub, NB_MAX_DIMS, d, count)) return 0;
  for (int i = 0; i < *count; i++) {
    if (isfinite(d[i]) && d[i] == floor(d[i]) && d[i] >= (double)lo && d[i] <= (double)hi) {
      out[i] = (int64_t)d[i];
      continue;
    }
    snprintf(name, sizeof name, "%s%s[%d]", what, sub, i);
    return nb_int_in(env, K, d[i], name, lo, hi, &out[i]);
  }
  return 1;
}

/* A layout object { shape, strides, offset } (src/tensor/layout.ts), copied into a->layout with the
 * lowest and highest element it reaches; checked against its buffer in phase 2. */
static int read_layout(napi_env env, const char *K, napi_value v, nb_arg *a) {
  napi_valuetype t;
  napi_value sh, st, of;
  char name[64];
  nb_layout *l = &a->layout;
  const char *what = a->name;
  double off;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_object)
    return nb_throw(env, K, "%s must be a layout object", what);
  if (napi_get_named_property(env, v, "shape", &sh) != napi_ok ||
      napi_get_named_property(env, v, "strides", &st) != napi_ok ||
      napi_get_named_property(env, v, "offset", &of) != napi_ok)
    return nb_throw(env, K, "%s: cannot read layout", what);
  int ns = 0, nt = 0;
  if (!read_int_array(env, K, sh, what, ".shape", 0, NB_LIMIT, l->shape, &ns)) return 0;
  if (!read_int_array(env, K, st, what, ".strides", -NB_LIMIT, NB_LIMIT, l->strides, &nt)) return 0;
  if (ns != nt) return nb_throw(env, K, "%s: shape has %d dims but strides has %d", what, ns, nt);
  napi_valuetype ot;
  if (napi_typeof(env, of, &ot) == napi_ok && ot == napi_number && napi_get_value_double(env, of, &off) == napi_ok &&
      off == floor(off) && off >= 0 && off <= (double)NB_LIMIT) {
    l->offset = (int64_t)off;
  } else {
    snprintf(name, sizeof name, "%s.offset", what);
    if (!read_number(env, K, of, name, &off) || !nb_int_in(env, K, off, name, 0, NB_LIMIT, &l->offset)) return 0;
  }
  l->ndim = ns;
  __int128 n = 1;
  a->lo = a->hi = l->offset;
  for (int d = 0; d < ns; d++) {
    n *= l->shape[d];
    if (n > NB_LIMIT) return nb_throw(env, K, "%s: element count exceeds 2^40", what);
  }
  a->present = n > 0; /* an empty layout reaches no element */
  for (int d = 0; d < ns && n > 0; d++) {
    __int128 span = (__int128)l->strides[d] * (l->shape[d] - 1);
    if (span < 0)
      a->lo += span;
    else
      a->hi += span;
  }
  return 1;
}

static int read_arg(napi_env env, const char *K, const argspec *s, napi_value v, nb_arg *a) {
  napi_valuetype t = napi_undefined;
  a->present = 1;
  switch (s->kind) {
  case K_TYPED: {
    bool is = false;
    napi_typedarray_type tt;
    napi_typeof(env, v, &t);
    if (s->nullable && (t == napi_null || t == napi_undefined)) {
      a->present = 0;
      return 1;
    }
    const char *want = typed_name(s->types);
    if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return nb_throw(env, K, "%s must be a %s", a->name, want);
    /* The type only: this array's memory is taken in phase 2. */
    if (napi_get_typedarray_info(env, v, &tt, NULL, NULL, NULL, NULL) != napi_ok)
      return nb_throw(env, K, "%s: cannot read the typed array", a->name);
    if (s->types && !((s->types >> tt) & 1))
      return nb_throw(env, K, "%s must be a %s (got another TypedArray type)", a->name, want);
    a->type = tt;
    return 1;
  }
  case K_LAYOUT:
    return read_layout(env, K, v, a);
  case K_INT:
  case K_NUM:
    return read_number(env, K, v, a->name, &a->num);
  case K_BOOL: {
    bool b;
    if (napi_get_value_bool(env, v, &b) != napi_ok) return nb_throw(env, K, "%s must be a boolean", a->name);
    a->num = b;
    return 1;
  }
  case K_INTS:
    return read_numbers(env, K, v, a->name, "", NB_MAX_INTS, a->ints, &a->nints);
  case K_STR: {
    char str[32] = {0}, list[64];
    size_t n = 0;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return nb_throw(env, K, "%s must be a string", a->name);
    napi_get_value_string_utf8(env, v, str, sizeof str, &n);
    const char *c = s->choices;
    for (int i = 0; *c; i++) {
      size_t cl = strcspn(c, "|");
      if (cl == n && !strncmp(c, str, n)) {
        a->i = i;
        return 1;
      }
      c += cl + (c[cl] == '|');
    }
    size_t m = 0;
    for (const char *p = s->choices; *p && m + 3 < sizeof list; p++) {
      if (*p == '|') {
        list[m++] = ',';
        list[m++] = ' ';
      } else
        list[m++] = *p;
    }
    list[m] = 0;
    return nb_throw(env, K, "unknown %s '%s' (%s)", a->name, str, list);
  }
  case K_OP: {
    const int *ops = OPSETS[s->set].ops, nops = OPSETS[s->set].n;
    int64_t lo = ops[0], hi = ops[0], op = 0;
    for (int i = 1; i < nops; i++) {
      if (ops[i] < lo) lo = ops[i];
      if (ops[i] > hi) hi = ops[i];
    }
    if (!read_number(env, K, v, a->name, &a->num)) return 0;
    if (s->nullable && a->num == -1) {
      a->present = 0;
      a->i = -1;
      return 1;
    }
    if (!nb_int_in(env, K, a->num, a->name, s->nullable ? -1 : lo, hi, &op)) return 0;
    for (int i = 0; i < nops; i++)
      if (ops[i] == op) {
        a->i = op;
        return 1;
      }
    return nb_throw(env, K, "%s %lld (%s) is not implemented natively (NB_OPSET %s)", a->name, (long long)op,
                    op_name(OPSETS[s->set].family, (int)op), OPSETS[s->set].name);
  }
  }
  return nb_throw(env, K, "internal: bad argument kind");
}

/* ---- phase 2: take the memory; nothing below runs JS ---- */

static int take_memory(napi_env env, const char *K, napi_value v, nb_arg *a) {
  napi_typedarray_type t;
  size_t n = 0, boff = 0;
  napi_value ab;
  bool detached = false;
  if (napi_get_typedarray_info(env, v, &t, &n, &a->data, &ab, &boff) != napi_ok)
    return nb_throw(env, K, "%s: cannot read the typed array", a->name);
  if (napi_is_detached_arraybuffer(env, ab, &detached) == napi_ok && detached)
    return nb_throw(env, K, "%s: its buffer is detached", a->name);
  if (n > 0 && a->data == NULL) return nb_throw(env, K, "%s: its buffer is detached", a->name);
  a->len = (int64_t)n;
  return 1;
}

static int check_layout(napi_env env, const char *K, const nb_arg *a, const nb_arg *buf) {
  if (!a->present) return 1;
  if (a->lo < 0)
    return nb_throw(env, K, "%s: layout reaches element %lld, before the start of the buffer", a->name,
                    (long long)a->lo);
  if (a->hi >= buf->len)
    return nb_throw(env, K, "%s: layout reaches element %lld but the buffer has %lld", a->name, (long long)a->hi,
                    (long long)buf->len);
  return 1;
}

static napi_value dispatch(napi_env env, napi_callback_info info) {
  napi_value argv[NB_MAX_ARGS];
  size_t argc = NB_MAX_ARGS;
  void *data = NULL;
  nb_arg a[NB_MAX_ARGS];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return NULL;
  const kernel *k = (const kernel *)data;
  const char *K = k->name;
  if (argc != (size_t)k->nargs) {
    nb_throw(env, K, "expected %d arguments, got %zu", k->nargs, argc);
    return NULL;
  }
  memset(a, 0, sizeof a);
  for (int i = 0; i < k->nargs; i++) {
    const argspec *s = &k->arg[i];
    a[i].name = s->kind == K_LAYOUT ? k->arg[s->buf].name : s->name;
    if (!read_arg(env, K, s, argv[i], &a[i])) return NULL;
  }
  for (int i = 0; i < k->nargs; i++)
    if (k->arg[i].kind == K_TYPED && a[i].present && !take_memory(env, K, argv[i], &a[i])) return NULL;
  for (int i = 0; i < k->nargs; i++)
    if (k->arg[i].kind == K_LAYOUT && !check_layout(env, K, &a[i], &a[k->arg[i].buf])) return NULL;
  return k->fn(env, K, a);
}

/* ---- contract(): the table above as the addon was built ---- */

static napi_value str(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

napi_value nbk_contract(napi_env env, const char *K, nb_arg *a) {
  (void)K;
  (void)a;
  napi_value c, kernels, opsets;
  napi_create_object(env, &c);
  napi_create_object(env, &kernels);
  napi_create_object(env, &opsets);
  for (int i = 0; i < NKERNELS; i++) {
    const kernel *k = &KERNELS[i];
    napi_value e, dtypes;
    napi_create_object(env, &e);
    napi_create_array(env, &dtypes);
    char buf[64];
    snprintf(buf, sizeof buf, "%s", k->dtypes);
    uint32_t n = 0;
    char *save = NULL;
    for (char *p = strtok_r(buf, " ", &save); p; p = strtok_r(NULL, " ", &save))
      napi_set_element(env, dtypes, n++, str(env, p));
    napi_set_named_property(env, e, "dtypes", dtypes);
    napi_set_named_property(env, e, "returns", str(env, k->returns));
    napi_set_named_property(env, e, "signature", str(env, k->sig));
    napi_set_named_property(env, kernels, k->name, e);
  }
  for (int i = 0; i < NOPSETS; i++) {
    napi_value ops;
    napi_create_array_with_length(env, (size_t)OPSETS[i].n, &ops);
    for (int j = 0; j < OPSETS[i].n; j++) napi_set_element(env, ops, (uint32_t)j, nb_number(env, OPSETS[i].ops[j]));
    napi_set_named_property(env, opsets, OPSETS[i].name, ops);
  }
  napi_set_named_property(env, c, "kernels", kernels);
  napi_set_named_property(env, c, "opsets", opsets);
  return c;
}

static char parse_error[256];

/* Once per process: worker threads load the addon again and share KERNELS. */
static void parse_all(void) {
  for (int i = 0; i < NKERNELS && !parse_error[0]; i++) {
    const char *err = parse_sig(&KERNELS[i]);
    if (err)
      snprintf(parse_error, sizeof parse_error, "nabla: kernels.def: %s: bad signature: %s", KERNELS[i].name, err);
  }
}

static napi_value init(napi_env env, napi_value exports) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  napi_property_descriptor props[NKERNELS];
  pthread_once(&once, parse_all);
  if (parse_error[0]) {
    napi_throw_error(env, NULL, parse_error);
    return NULL;
  }
  for (int i = 0; i < NKERNELS; i++)
    props[i] =
        (napi_property_descriptor){KERNELS[i].name, NULL, dispatch, NULL, NULL, NULL, napi_enumerable, &KERNELS[i]};
  napi_define_properties(env, exports, (size_t)NKERNELS, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
