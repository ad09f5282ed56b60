// The N-API surface: one function per kernel family. Each validates every argument (napi_util.h)
// and only then calls the C kernel on the borrowed TypedArray memory. No kernel runs with an
// unchecked size, stride or offset; every failure is a thrown JS Error naming the kernel.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include "napi_util.h"
#include "conv_winograd.h"

#define ARGS(kernel, n) napi_value argv[n] = {0}; const char *K = kernel; if (!nb_args(env, info, K, n, argv)) return NULL
#define CHECK(x) if (!(x)) return NULL

static napi_value undefined(napi_env env) { napi_value u; napi_get_undefined(env, &u); return u; }

static napi_value num(napi_env env, double v) { napi_value r; napi_create_double(env, v, &r); return r; }

static void set_str(napi_env env, napi_value o, const char *k, const char *v) {
  napi_value s; napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &s); napi_set_named_property(env, o, k, s);
}

// cpuInfo() -> { isa, cpuIsa, threads }
static napi_value cpu_info(napi_env env, napi_callback_info info) {
  napi_value none[1];
  if (!nb_args(env, info, "cpuInfo", 0, none)) return NULL;
  napi_value o;
  napi_create_object(env, &o);
  set_str(env, o, "isa", nb_isa_name(nb_active_isa()));
  set_str(env, o, "cpuIsa", nb_isa_name(nb_cpu_isa()));
  napi_set_named_property(env, o, "threads", num(env, nb_num_threads()));
  return o;
}

// setNumThreads(n)
static napi_value set_num_threads(napi_env env, napi_callback_info info) {
  ARGS("setNumThreads", 1);
  int64_t n;
  CHECK(nb_int(env, K, argv[0], "n", 1, NB_MAX_THREADS, &n));
  nb_set_num_threads((int)n);
  return undefined(env);
}

// setIsa(name): caps the SIMD path ('scalar' | 'avx2' | 'avx512'); clamped to what the CPU has.
static napi_value set_isa(napi_env env, napi_callback_info info) {
  ARGS("setIsa", 1);
  char s[16] = {0};
  size_t n = 0;
  if (napi_get_value_string_utf8(env, argv[0], s, sizeof s, &n) != napi_ok) { nb_throw(env, K, "isa must be a string"); return NULL; }
  int isa = !strcmp(s, "scalar") ? NB_ISA_SCALAR : !strcmp(s, "avx2") ? NB_ISA_AVX2 : !strcmp(s, "avx512") ? NB_ISA_AVX512 : -1;
  if (isa < 0) { nb_throw(env, K, "unknown isa '%s' (scalar, avx2, avx512)", s); return NULL; }
  nb_set_isa(isa);
  return undefined(env);
}

// setWinograd(mode): 3x3 stride-1 convolutions by Winograd F(4x4,3x3) 'off' | 'auto' (where faster,
// the default) | 'always' (wherever it applies: the parity tests use it on small shapes).
static napi_value set_winograd(napi_env env, napi_callback_info info) {
  ARGS("setWinograd", 1);
  char s[16] = {0};
  size_t n = 0;
  if (napi_get_value_string_utf8(env, argv[0], s, sizeof s, &n) != napi_ok) { nb_throw(env, K, "mode must be a string"); return NULL; }
  int mode = !strcmp(s, "off") ? 0 : !strcmp(s, "auto") ? 1 : !strcmp(s, "always") ? 2 : -1;
  if (mode < 0) { nb_throw(env, K, "unknown mode '%s' (off, auto, always)", s); return NULL; }
  nb_conv_winograd_mode(mode);
  return undefined(env);
}

// nextStamp() -> a number unique in the process, for conv2dFused's weightsStamp (nb_next_stamp).
static napi_value next_stamp(napi_env env, napi_callback_info info) {
  napi_value none[1];
  if (!nb_args(env, info, "nextStamp", 0, none)) return NULL;
  return num(env, nb_next_stamp());
}

// adviseHugePages(x): asks Linux to back the 2 MB-aligned interior of x's memory with transparent
// huge pages (MADV_HUGEPAGE; a no-op elsewhere). Called on large fresh buffers before they are first
// written: the kernel then faults them in 2 MB at a time, and streaming kernels that read them (GEMV
// over model weights) neither miss the TLB every 4 KB nor lose the hardware prefetch at each 4 KB page
// boundary. Returns the number of bytes advised. Advice only: memory contents and lifetime are unchanged.
static napi_value advise_huge_pages(napi_env env, napi_callback_info info) {
  ARGS("adviseHugePages", 1);
  bool is = false;
  napi_typedarray_type t;
  size_t n = 0, boff = 0;
  void *data = NULL;
  napi_value ab;
  if (napi_is_typedarray(env, argv[0], &is) != napi_ok || !is) { nb_throw(env, K, "x must be a TypedArray"); return NULL; }
  if (napi_get_typedarray_info(env, argv[0], &t, &n, &data, &ab, &boff) != napi_ok) { nb_throw(env, K, "x: cannot read the typed array"); return NULL; }
  size_t bytes = n * (t == napi_float64_array || t == napi_bigint64_array || t == napi_biguint64_array ? 8
                      : t == napi_float32_array || t == napi_int32_array || t == napi_uint32_array ? 4
                      : t == napi_int16_array || t == napi_uint16_array ? 2 : 1);
  double advised = 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t H = (uintptr_t)2 << 20;
  if (data && bytes >= H) {
    uintptr_t lo = ((uintptr_t)data + H - 1) & ~(H - 1), hi = ((uintptr_t)data + bytes) & ~(H - 1);
    if (hi > lo && madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0) advised = (double)(hi - lo);
  }
#endif
  return num(env, advised);
}

// matmul(c, a, la, b, lb): a (batch..., M, K) @ b (batch..., K, N) -> c contiguous (batch..., M, N).
// Batch dims of la and lb must already be equal (broadcast dims carry stride 0).
static napi_value matmul(napi_env env, napi_callback_info info) {
  ARGS("matmul", 5);
  float *c, *a, *b;
  int64_t lc, lena, lenb;
  nb_layout la, lb;
  CHECK(nb_f32(env, K, argv[0], "c", &c, &lc));
  CHECK(nb_f32(env, K, argv[1], "a", &a, &lena));
  CHECK(nb_layout_arg(env, K, argv[2], "a", lena, &la));
  CHECK(nb_f32(env, K, argv[3], "b", &b, &lenb));
  CHECK(nb_layout_arg(env, K, argv[4], "b", lenb, &lb));
  if (la.ndim < 2 || la.ndim != lb.ndim) { nb_throw(env, K, "a and b need the same rank >= 2 (got %d and %d)", la.ndim, lb.ndim); return NULL; }
  int nd = la.ndim;
  int64_t M = la.shape[nd - 2], Kd = la.shape[nd - 1], N = lb.shape[nd - 1], batch = 1;
  if (lb.shape[nd - 2] != Kd) { nb_throw(env, K, "inner dims differ: a is (..., %lld, %lld), b is (..., %lld, %lld)",
                                         (long long)M, (long long)Kd, (long long)lb.shape[nd - 2], (long long)N); return NULL; }
  for (int d = 0; d < nd - 2; d++) {
    if (la.shape[d] != lb.shape[d]) { nb_throw(env, K, "batch dim %d differs: %lld vs %lld", d, (long long)la.shape[d], (long long)lb.shape[d]); return NULL; }
    batch *= la.shape[d];
  }
  __int128 need = (__int128)batch * M * N;
  if (need > NB_LIMIT) { nb_throw(env, K, "output too large"); return NULL; }
  CHECK(nb_out(env, K, "c", lc, (int64_t)need));
  if (need == 0) return undefined(env);
  int64_t *off = (int64_t *)malloc((size_t)batch * 2 * sizeof(int64_t));
  if (!off) { nb_throw(env, K, "out of memory for %lld batch offsets", (long long)batch); return NULL; }
  for (int64_t p = 0; p < batch; p++) {
    int64_t r = p, oa = la.offset, ob = lb.offset;
    for (int d = nd - 3; d >= 0; d--) {
      int64_t i = r % la.shape[d];
      r /= la.shape[d];
      oa += i * la.strides[d];
      ob += i * lb.strides[d];
    }
    off[p] = oa;
    off[batch + p] = ob;
  }
  nb_sgemm_batched(c, a, off, la.strides[nd - 2], la.strides[nd - 1], b, off + batch, lb.strides[nd - 2], lb.strides[nd - 1],
                   batch, M, N, Kd);
  free(off);
  return undefined(env);
}

static int unary_supported(int op);

// linear(c, a, la, b, lb, bias, act): c (M,N) contiguous = act(a (M,K) @ b (K,N) + bias (N)); 2-D
// layouts of any strides, bias a Float32Array or null, act a unary op code without parameters or -1.
static napi_value linear(napi_env env, napi_callback_info info) {
  ARGS("linear", 7);
  float *c, *a, *b, *bias = NULL;
  int64_t lc, lena, lenb, lbias, act;
  nb_layout la, lb;
  napi_valuetype bt;
  CHECK(nb_f32(env, K, argv[0], "c", &c, &lc));
  CHECK(nb_f32(env, K, argv[1], "a", &a, &lena));
  CHECK(nb_layout_arg(env, K, argv[2], "a", lena, &la));
  CHECK(nb_f32(env, K, argv[3], "b", &b, &lenb));
  CHECK(nb_layout_arg(env, K, argv[4], "b", lenb, &lb));
  if (la.ndim != 2 || lb.ndim != 2) { nb_throw(env, K, "a and b must be 2-D (got %d and %d dims)", la.ndim, lb.ndim); return NULL; }
  const int64_t M = la.shape[0], Kd = la.shape[1], N = lb.shape[1];
  if (lb.shape[0] != Kd) { nb_throw(env, K, "inner dims differ: a is (%lld, %lld), b is (%lld, %lld)",
                                     (long long)M, (long long)Kd, (long long)lb.shape[0], (long long)N); return NULL; }
  CHECK(nb_out(env, K, "c", lc, M * N));
  if (napi_typeof(env, argv[5], &bt) != napi_ok) { nb_throw(env, K, "cannot read bias"); return NULL; }
  if (bt != napi_null && bt != napi_undefined) {
    CHECK(nb_f32(env, K, argv[5], "bias", &bias, &lbias));
    CHECK(nb_out(env, K, "bias", lbias, N));
  }
  CHECK(nb_int(env, K, argv[6], "act", -1, NB_UNARY_COUNT - 1, &act));
  if (act >= 0 && !(act == NB_RELU || act == NB_GELU || act == NB_GELU_TANH || act == NB_SILU || act == NB_TANH || act == NB_SIGMOID)) {
    nb_throw(env, K, "act %lld is not an activation without parameters (relu, gelu, gelu_tanh, silu, tanh, sigmoid)", (long long)act);
    return NULL;
  }
  if (M * N > 0) nb_linear_f32(c, a + la.offset, la.strides[0], la.strides[1], b + lb.offset, lb.strides[0], lb.strides[1], M, N, Kd, bias, (int)act);
  return undefined(env);
}

static int unary_supported(int op) {
  switch (op) {
    case NB_NEG: case NB_ABS: case NB_EXP: case NB_LOG: case NB_LOG1P: case NB_EXPM1: case NB_SQRT: case NB_RSQRT:
    case NB_TANH: case NB_SIGMOID: case NB_RELU: case NB_GELU: case NB_GELU_TANH: case NB_SILU: case NB_SOFTPLUS:
    case NB_SOFTPLUS_BETA: case NB_RECIPROCAL: case NB_SQUARE: case NB_ERF: case NB_LEAKY_RELU: case NB_ELU:
    case NB_CLAMP: case NB_FLOOR: case NB_CEIL: case NB_TRUNC: case NB_ROUND: return 1;
    default: return 0;
  }
}

// unary(op, y, x, lx, p0, p1): y contiguous (numel of lx) = op(x)
static napi_value unary(napi_env env, napi_callback_info info) {
  ARGS("unary", 6);
  int64_t op, ly, lenx;
  float *y, *x, p0 = 0, p1 = 0;
  nb_layout lx;
  CHECK(nb_int(env, K, argv[0], "op", 0, NB_UNARY_COUNT - 1, &op));
  if (!unary_supported((int)op)) { nb_throw(env, K, "unary op %lld is not implemented natively", (long long)op); return NULL; }
  CHECK(nb_f32(env, K, argv[1], "y", &y, &ly));
  CHECK(nb_f32(env, K, argv[2], "x", &x, &lenx));
  CHECK(nb_layout_arg(env, K, argv[3], "x", lenx, &lx));
  CHECK(nb_float(env, K, argv[4], "p0", &p0));
  CHECK(nb_float(env, K, argv[5], "p1", &p1));
  CHECK(nb_out(env, K, "y", ly, nb_numel(&lx)));
  if (nb_numel(&lx) > 0) nb_unary_f32((int)op, y, x, &lx, p0, p1);
  return undefined(env);
}

/* Two float32 operands (a, la, b, lb) at argv[0..3], of one shape; y must hold that many elements. */
static int operands(napi_env env, const char *K, napi_value *argv, int64_t ylen, float **a, nb_layout *la, float **b, nb_layout *lb) {
  int64_t lena = 0, lenb = 0;
  return nb_f32(env, K, argv[0], "a", a, &lena) && nb_layout_arg(env, K, argv[1], "a", lena, la) &&
         nb_f32(env, K, argv[2], "b", b, &lenb) && nb_layout_arg(env, K, argv[3], "b", lenb, lb) &&
         nb_same_shape(env, K, la, "a", lb, "b") && nb_out(env, K, "y", ylen, nb_numel(la));
}

// binary(op, y, a, la, b, lb): y contiguous = a op b; la and lb have y's shape (stride 0 = broadcast)
static napi_value binary(napi_env env, napi_callback_info info) {
  ARGS("binary", 6);
  int64_t op, ly;
  float *y, *a, *b;
  nb_layout la, lb;
  CHECK(nb_int(env, K, argv[0], "op", 0, NB_BINARY_COUNT - 1, &op));
  if (op > NB_MINIMUM && op != NB_THRESHOLD_BACKWARD) { nb_throw(env, K, "binary op %lld is not implemented natively", (long long)op); return NULL; }
  CHECK(nb_f32(env, K, argv[1], "y", &y, &ly));
  CHECK(operands(env, K, argv + 2, ly, &a, &la, &b, &lb));
  if (nb_numel(&la) > 0) nb_binary_f32((int)op, y, a, &la, b, &lb);
  return undefined(env);
}

// reduce(op, y, x, lx, axes): y contiguous = x reduced over axes (sorted, unique)
static napi_value reduce(napi_env env, napi_callback_info info) {
  ARGS("reduce", 5);
  int64_t op, ly, lenx, axes[NB_MAX_DIMS];
  float *y, *x;
  nb_layout lx;
  int na = 0;
  CHECK(nb_int(env, K, argv[0], "op", 0, NB_MIN, &op));
  CHECK(nb_f32(env, K, argv[1], "y", &y, &ly));
  CHECK(nb_f32(env, K, argv[2], "x", &x, &lenx));
  CHECK(nb_layout_arg(env, K, argv[3], "x", lenx, &lx));
  CHECK(nb_int_array(env, K, argv[4], "axes", NB_MAX_DIMS, 0, lx.ndim > 0 ? lx.ndim - 1 : 0, axes, &na));
  unsigned mask = 0;
  for (int i = 0; i < na; i++) {
    if (lx.ndim == 0 || (mask >> axes[i]) & 1) { nb_throw(env, K, "axes must be unique dims of x"); return NULL; }
    mask |= 1u << axes[i];
  }
  int64_t nout = 1;
  for (int d = 0; d < lx.ndim; d++) if (!((mask >> d) & 1)) nout *= lx.shape[d];
  CHECK(nb_out(env, K, "y", ly, nout));
  nb_reduce_f32((int)op, y, x, &lx, mask);
  return undefined(env);
}

// copy(y, ly, x, lx): y at ly = x at lx (same shape; both strided). Also serves assign.
static napi_value copy(napi_env env, napi_callback_info info) {
  ARGS("copy", 4);
  int64_t leny, lenx;
  float *y, *x;
  nb_layout ly, lx;
  CHECK(nb_f32(env, K, argv[0], "y", &y, &leny));
  CHECK(nb_layout_arg(env, K, argv[1], "y", leny, &ly));
  CHECK(nb_f32(env, K, argv[2], "x", &x, &lenx));
  CHECK(nb_layout_arg(env, K, argv[3], "x", lenx, &lx));
  CHECK(nb_same_shape(env, K, &ly, "y", &lx, "x"));
  if (nb_numel(&lx) > 0) nb_copy_f32(y, &ly, x, &lx);
  return undefined(env);
}

// softmax(y, x, lx, axis, log): y contiguous
static napi_value softmax(napi_env env, napi_callback_info info) {
  ARGS("softmax", 5);
  int64_t ly, lenx, axis;
  float *y, *x;
  nb_layout lx;
  int lg = 0;
  CHECK(nb_f32(env, K, argv[0], "y", &y, &ly));
  CHECK(nb_f32(env, K, argv[1], "x", &x, &lenx));
  CHECK(nb_layout_arg(env, K, argv[2], "x", lenx, &lx));
  CHECK(nb_int(env, K, argv[3], "axis", 0, lx.ndim > 0 ? lx.ndim - 1 : 0, &axis));
  CHECK(nb_bool(env, K, argv[4], "log", &lg));
  if (lx.ndim == 0) { nb_throw(env, K, "x must have at least one dim"); return NULL; }
  CHECK(nb_out(env, K, "y", ly, nb_numel(&lx)));
  if (nb_numel(&lx) > 0) nb_softmax_f32(y, x, &lx, (int)axis, lg);
  return undefined(env);
}

// compare(op, y, a, la, b, lb): y bool (Uint8Array, contiguous) = a op b for op EQ..GE, float32 inputs
static napi_value compare(napi_env env, napi_callback_info info) {
  ARGS("compare", 6);
  int64_t op, ly;
  uint8_t *y;
  float *a, *b;
  nb_layout la, lb;
  CHECK(nb_int(env, K, argv[0], "op", NB_EQ, NB_GE, &op));
  CHECK(nb_u8(env, K, argv[1], "y", &y, &ly));
  CHECK(operands(env, K, argv + 2, ly, &a, &la, &b, &lb));
  if (nb_numel(&la) > 0) nb_compare_f32((int)op, y, a, &la, b, &lb);
  return undefined(env);
}

// where(y, c, lc, a, la, b, lb): y float32 contiguous = c (Uint8Array) ? a : b, all of y's shape
static napi_value where(napi_env env, napi_callback_info info) {
  ARGS("where", 7);
  int64_t ly, lenc, lena, lenb;
  float *y, *a, *b;
  uint8_t *c;
  nb_layout lc, la, lb;
  CHECK(nb_f32(env, K, argv[0], "y", &y, &ly));
  CHECK(nb_u8(env, K, argv[1], "cond", &c, &lenc));
  CHECK(nb_layout_arg(env, K, argv[2], "cond", lenc, &lc));
  CHECK(nb_f32(env, K, argv[3], "a", &a, &lena));
  CHECK(nb_layout_arg(env, K, argv[4], "a", lena, &la));
  CHECK(nb_f32(env, K, argv[5], "b", &b, &lenb));
  CHECK(nb_layout_arg(env, K, argv[6], "b", lenb, &lb));
  CHECK(nb_same_shape(env, K, &lc, "cond", &la, "a"));
  CHECK(nb_same_shape(env, K, &lc, "cond", &lb, "b"));
  CHECK(nb_out(env, K, "y", ly, nb_numel(&lc)));
  if (nb_numel(&lc) > 0) nb_where_f32(y, c, &lc, a, &la, b, &lb);
  return undefined(env);
}

// castToF32(y, x, lx): y float32 contiguous = x (Uint8Array bool or Int32Array), any layout
static napi_value cast_to_f32(napi_env env, napi_callback_info info) {
  ARGS("castToF32", 3);
  int64_t ly, lenx;
  float *y;
  void *x;
  nb_layout lx;
  bool is = false;
  napi_typedarray_type t = napi_uint8_array;
  CHECK(nb_f32(env, K, argv[0], "y", &y, &ly));
  if (napi_is_typedarray(env, argv[1], &is) == napi_ok && is) napi_get_typedarray_info(env, argv[1], &t, NULL, NULL, NULL, NULL);
  int ok = t == napi_int32_array ? nb_i32(env, K, argv[1], "x", (int32_t **)&x, &lenx)
                                 : nb_u8(env, K, argv[1], "x", (uint8_t **)&x, &lenx);
  CHECK(ok);
  CHECK(nb_layout_arg(env, K, argv[2], "x", lenx, &lx));
  CHECK(nb_out(env, K, "y", ly, nb_numel(&lx)));
  if (nb_numel(&lx) > 0) nb_cast_to_f32(y, x, &lx, t == napi_int32_array);
  return undefined(env);
}

void nb_register_nn(napi_env env, napi_value exports); /* addon_nn.c */

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
#define FN(name, f) { name, NULL, f, NULL, NULL, NULL, napi_enumerable, NULL }
    FN("cpuInfo", cpu_info), FN("setNumThreads", set_num_threads), FN("setIsa", set_isa), FN("setWinograd", set_winograd), FN("nextStamp", next_stamp), FN("adviseHugePages", advise_huge_pages),
    FN("matmul", matmul), FN("linear", linear), FN("unary", unary), FN("binary", binary), FN("reduce", reduce),
    FN("copy", copy), FN("softmax", softmax), FN("compare", compare), FN("where", where), FN("castToF32", cast_to_f32),
#undef FN
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  nb_register_nn(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
