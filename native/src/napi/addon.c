// The N-API wrappers of the settings, elementwise, reduction, movement and matmul kernels. Each
// nbk_<name> is registered by register.c from kernels.def, which has already read every argument
// by its signature (a[i], in signature order: numbers, copied layouts checked against their
// buffers, TypedArray memory taken last). A wrapper checks what depends on several arguments and
// then calls the C kernel; every failure is a thrown JS Error naming the kernel.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include "napi_util.h"
#include "conv_winograd.h"

#define CHECK(x)                                                                                                       \
  if (!(x)) return NULL

static void set_str(napi_env env, napi_value o, const char *k, const char *v) {
  napi_value s;
  napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, o, k, s);
}

// cpuInfo() -> { isa, cpuIsa, threads }
napi_value nbk_cpuInfo(napi_env env, const char *K, nb_arg *a) {
  (void)K;
  (void)a;
  napi_value o;
  napi_create_object(env, &o);
  set_str(env, o, "isa", nb_isa_name(nb_active_isa()));
  set_str(env, o, "cpuIsa", nb_isa_name(nb_cpu_isa()));
  napi_set_named_property(env, o, "threads", nb_number(env, nb_num_threads()));
  return o;
}

// setNumThreads(n)
napi_value nbk_setNumThreads(napi_env env, const char *K, nb_arg *a) {
  int64_t n = 1;
  CHECK(nb_int(env, K, &a[0], 1, NB_MAX_THREADS, &n));
  nb_set_num_threads((int)n);
  return nb_undefined(env);
}

// setIsa(isa): the choice's index in kernels.def (scalar, avx2, avx512) is its nb_isa.
napi_value nbk_setIsa(napi_env env, const char *K, nb_arg *a) {
  (void)K;
  static const int isa[] = {NB_ISA_SCALAR, NB_ISA_AVX2, NB_ISA_AVX512};
  nb_set_isa(isa[a[0].i]);
  return nb_undefined(env);
}

// setWinograd(mode): off, auto, always, as nb_conv_winograd_mode's 0, 1, 2.
napi_value nbk_setWinograd(napi_env env, const char *K, nb_arg *a) {
  (void)K;
  nb_conv_winograd_mode((int)a[0].i);
  return nb_undefined(env);
}

// nextStamp() -> a number unique in the process, for conv2dFused's weightsStamp (nb_next_stamp).
napi_value nbk_nextStamp(napi_env env, const char *K, nb_arg *a) {
  (void)K;
  (void)a;
  return nb_number(env, nb_next_stamp());
}

// adviseHugePages(x): asks Linux to back the 2 MB-aligned interior of x's memory with transparent
// huge pages (MADV_HUGEPAGE; a no-op elsewhere). Called on large fresh buffers before they are first
// written: the kernel then faults them in 2 MB at a time, and streaming kernels that read them (GEMV
// over model weights) neither miss the TLB every 4 KB nor lose the hardware prefetch at each 4 KB page
// boundary. Returns the number of bytes advised. Advice only: memory contents and lifetime are unchanged.
napi_value nbk_adviseHugePages(napi_env env, const char *K, nb_arg *a) {
  (void)K;
  napi_typedarray_type t = a[0].type;
  size_t bytes =
      (size_t)a[0].len * (t == napi_float64_array || t == napi_bigint64_array || t == napi_biguint64_array ? 8
                          : t == napi_float32_array || t == napi_int32_array || t == napi_uint32_array     ? 4
                          : t == napi_int16_array || t == napi_uint16_array                                ? 2
                                                                                                           : 1);
  double advised = 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t H = (uintptr_t)2 << 20;
  void *data = a[0].data;
  if (data && bytes >= H) {
    uintptr_t lo = ((uintptr_t)data + H - 1) & ~(H - 1), hi = ((uintptr_t)data + bytes) & ~(H - 1);
    if (hi > lo && madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0) advised = (double)(hi - lo);
  }
#else
  (void)bytes;
#endif
  return nb_number(env, advised);
}

// matmul(c, a, la, b, lb): a (batch..., M, K) @ b (batch..., K, N) -> c contiguous (batch..., M, N).
// Batch dims of la and lb must already be equal (broadcast dims carry stride 0).
napi_value nbk_matmul(napi_env env, const char *K, nb_arg *a) {
  float *c = a[0].data, *A = a[1].data, *B = a[3].data;
  const nb_layout la = a[2].layout, lb = a[4].layout;
  if (la.ndim < 2 || la.ndim != lb.ndim) {
    nb_throw(env, K, "a and b need the same rank >= 2 (got %d and %d)", la.ndim, lb.ndim);
    return NULL;
  }
  int nd = la.ndim;
  int64_t M = la.shape[nd - 2], Kd = la.shape[nd - 1], N = lb.shape[nd - 1], batch = 1;
  if (lb.shape[nd - 2] != Kd) {
    nb_throw(env, K, "inner dims differ: a is (..., %lld, %lld), b is (..., %lld, %lld)", (long long)M, (long long)Kd,
             (long long)lb.shape[nd - 2], (long long)N);
    return NULL;
  }
  for (int d = 0; d < nd - 2; d++) {
    if (la.shape[d] != lb.shape[d]) {
      nb_throw(env, K, "batch dim %d differs: %lld vs %lld", d, (long long)la.shape[d], (long long)lb.shape[d]);
      return NULL;
    }
    batch *= la.shape[d];
  }
  __int128 need = (__int128)batch * M * N;
  if (need > NB_LIMIT) {
    nb_throw(env, K, "output too large");
    return NULL;
  }
  CHECK(nb_out(env, K, "c", a[0].len, (int64_t)need));
  if (need == 0) return nb_undefined(env);
  int64_t *off = (int64_t *)malloc((size_t)batch * 2 * sizeof(int64_t));
  if (!off) {
    nb_throw(env, K, "out of memory for %lld batch offsets", (long long)batch);
    return NULL;
  }
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
  nb_sgemm_batched(c, A, off, la.strides[nd - 2], la.strides[nd - 1], B, off + batch, lb.strides[nd - 2],
                   lb.strides[nd - 1], batch, M, N, Kd);
  free(off);
  return nb_undefined(env);
}

// linear(c, a, la, b, lb, bias, act): c (M,N) contiguous = act(a (M,K) @ b (K,N) + bias (N)); 2-D
// layouts of any strides, bias a Float32Array or null, act an op of NB_OPSET(linear) or -1.
napi_value nbk_linear(napi_env env, const char *K, nb_arg *a) {
  float *c = a[0].data, *A = a[1].data, *B = a[3].data, *bias = nb_f32p(&a[5]);
  const nb_layout la = a[2].layout, lb = a[4].layout;
  if (la.ndim != 2 || lb.ndim != 2) {
    nb_throw(env, K, "a and b must be 2-D (got %d and %d dims)", la.ndim, lb.ndim);
    return NULL;
  }
  const int64_t M = la.shape[0], Kd = la.shape[1], N = lb.shape[1];
  if (lb.shape[0] != Kd) {
    nb_throw(env, K, "inner dims differ: a is (%lld, %lld), b is (%lld, %lld)", (long long)M, (long long)Kd,
             (long long)lb.shape[0], (long long)N);
    return NULL;
  }
  CHECK(nb_out(env, K, "c", a[0].len, M * N));
  CHECK(nb_need(env, K, &a[5], N));
  if (M * N > 0)
    nb_linear_f32(c, A + la.offset, la.strides[0], la.strides[1], B + lb.offset, lb.strides[0], lb.strides[1], M, N, Kd,
                  bias, (int)a[6].i);
  return nb_undefined(env);
}

// unary(op, y, x, lx, p0, p1): y contiguous (numel of lx) = op(x)
napi_value nbk_unary(napi_env env, const char *K, nb_arg *a) {
  const nb_layout *lx = &a[3].layout;
  CHECK(nb_out(env, K, "y", a[1].len, nb_numel(lx)));
  if (nb_numel(lx) > 0) nb_unary_f32((int)a[0].i, a[1].data, a[2].data, lx, (float)a[4].num, (float)a[5].num);
  return nb_undefined(env);
}

/* Two operands a (a[i], a[i+1]) and b (a[i+2], a[i+3]) of one shape; y must hold that many elements. */
static int operands(napi_env env, const char *K, const nb_arg *a, int64_t ylen) {
  return nb_same_shape(env, K, &a[1].layout, "a", &a[3].layout, "b") &&
         nb_out(env, K, "y", ylen, nb_numel(&a[1].layout));
}

// binary(op, y, a, la, b, lb): y contiguous = a op b; la and lb have y's shape (stride 0 = broadcast)
napi_value nbk_binary(napi_env env, const char *K, nb_arg *a) {
  CHECK(operands(env, K, a + 2, a[1].len));
  if (nb_numel(&a[3].layout) > 0)
    nb_binary_f32((int)a[0].i, a[1].data, a[2].data, &a[3].layout, a[4].data, &a[5].layout);
  return nb_undefined(env);
}

// reduce(op, y, x, lx, axes): y contiguous = x reduced over axes (sorted, unique)
napi_value nbk_reduce(napi_env env, const char *K, nb_arg *a) {
  const nb_layout *lx = &a[3].layout;
  int64_t axes[NB_MAX_INTS];
  int na = 0;
  if (a[4].nints > NB_MAX_DIMS) {
    nb_throw(env, K, "axes has %d entries, at most %d supported", a[4].nints, NB_MAX_DIMS);
    return NULL;
  }
  CHECK(nb_ints(env, K, &a[4], 0, lx->ndim > 0 ? lx->ndim - 1 : 0, axes, &na));
  unsigned mask = 0;
  for (int i = 0; i < na; i++) {
    if (lx->ndim == 0 || (mask >> axes[i]) & 1) {
      nb_throw(env, K, "axes must be unique dims of x");
      return NULL;
    }
    mask |= 1u << axes[i];
  }
  int64_t nout = 1;
  for (int d = 0; d < lx->ndim; d++)
    if (!((mask >> d) & 1)) nout *= lx->shape[d];
  CHECK(nb_out(env, K, "y", a[1].len, nout));
  nb_reduce_f32((int)a[0].i, a[1].data, a[2].data, lx, mask);
  return nb_undefined(env);
}

// copy(y, ly, x, lx): y at ly = x at lx (same shape; both strided). Also serves assign.
napi_value nbk_copy(napi_env env, const char *K, nb_arg *a) {
  CHECK(nb_same_shape(env, K, &a[1].layout, "y", &a[3].layout, "x"));
  if (nb_numel(&a[3].layout) > 0) nb_copy_f32(a[0].data, &a[1].layout, a[2].data, &a[3].layout);
  return nb_undefined(env);
}

// softmax(y, x, lx, axis, log): y contiguous
napi_value nbk_softmax(napi_env env, const char *K, nb_arg *a) {
  const nb_layout *lx = &a[2].layout;
  int64_t axis = 0;
  CHECK(nb_int(env, K, &a[3], 0, lx->ndim > 0 ? lx->ndim - 1 : 0, &axis));
  if (lx->ndim == 0) {
    nb_throw(env, K, "x must have at least one dim");
    return NULL;
  }
  CHECK(nb_out(env, K, "y", a[0].len, nb_numel(lx)));
  if (nb_numel(lx) > 0) nb_softmax_f32(a[0].data, a[1].data, lx, (int)axis, a[4].num != 0);
  return nb_undefined(env);
}

// compare(op, y, a, la, b, lb): y bool (Uint8Array, contiguous) = a op b for op EQ..GE, float32 inputs
napi_value nbk_compare(napi_env env, const char *K, nb_arg *a) {
  CHECK(operands(env, K, a + 2, a[1].len));
  if (nb_numel(&a[3].layout) > 0)
    nb_compare_f32((int)a[0].i, a[1].data, a[2].data, &a[3].layout, a[4].data, &a[5].layout);
  return nb_undefined(env);
}

// where(y, c, lc, a, la, b, lb): y float32 contiguous = c (Uint8Array) ? a : b, all of y's shape
napi_value nbk_where(napi_env env, const char *K, nb_arg *a) {
  const nb_layout *lc = &a[2].layout;
  CHECK(nb_same_shape(env, K, lc, "cond", &a[4].layout, "a"));
  CHECK(nb_same_shape(env, K, lc, "cond", &a[6].layout, "b"));
  CHECK(nb_out(env, K, "y", a[0].len, nb_numel(lc)));
  if (nb_numel(lc) > 0) nb_where_f32(a[0].data, a[1].data, lc, a[3].data, &a[4].layout, a[5].data, &a[6].layout);
  return nb_undefined(env);
}

// castToF32(y, x, lx): y float32 contiguous = x (Uint8Array bool or Int32Array), any layout
napi_value nbk_castToF32(napi_env env, const char *K, nb_arg *a) {
  const nb_layout *lx = &a[2].layout;
  CHECK(nb_out(env, K, "y", a[0].len, nb_numel(lx)));
  if (nb_numel(lx) > 0) nb_cast_to_f32(a[0].data, a[1].data, lx, a[1].type == napi_int32_array);
  return nb_undefined(env);
}
