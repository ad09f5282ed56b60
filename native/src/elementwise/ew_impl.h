// Contiguous unary and binary loops. This file is compiled three times (ew_scalar.c, ew_avx2.c,
// ew_avx512.c) with that ISA's flags so the compiler vectorises the same source for each; the strided
// drivers (elementwise.c) pick one table at runtime. NB_ISA_TABLE names the table this compilation defines.
#include "ew.h"
#include "vmath.h"

// y (n) = op(x (n))
static void unary_contig(int op, float *y, const float *x, int64_t n, float p0, float p1) { // may run in place
#define LOOP(expr)                                                                                                     \
  for (int64_t i = 0; i < n; i++) {                                                                                    \
    float v = x[i];                                                                                                    \
    y[i] = (expr);                                                                                                     \
  }                                                                                                                    \
  break;
  switch (op) {
  case NB_NEG:
    LOOP(-v)
  case NB_ABS:
    LOOP(fabsf(v))
  case NB_EXP:
    LOOP(nb_expf(v))
  case NB_LOG:
    LOOP(nb_logf(v))
  case NB_LOG1P:
    LOOP(nb_log1pf(v))
  case NB_EXPM1:
    LOOP(nb_expm1f(v))
  case NB_SQRT:
    LOOP(sqrtf(v))
  case NB_RSQRT:
    LOOP(1.0f / sqrtf(v))
  case NB_TANH:
    LOOP(nb_tanhf(v))
  case NB_SIGMOID:
    LOOP(nb_sigmoidf(v))
  case NB_RELU:
    LOOP(v > 0.0f || v != v ? v : 0.0f)
  case NB_GELU:
    LOOP(nb_geluf(v))
  case NB_GELU_TANH:
    LOOP(nb_gelu_tanhf(v))
  case NB_SILU:
    LOOP(nb_siluf(v))
  case NB_SOFTPLUS:
    LOOP(nb_softplusf(v, 1.0f, 20.0f))
  case NB_SOFTPLUS_BETA:
    LOOP(nb_softplusf(v, p0, p1))
  case NB_RECIPROCAL:
    LOOP(1.0f / v)
  case NB_SQUARE:
    LOOP(v * v)
  case NB_ERF:
    LOOP(nb_erff(v))
  case NB_LEAKY_RELU:
    LOOP(v > 0.0f ? v : v * p0)
  case NB_ELU:
    LOOP(v > 0.0f ? v : p0 * nb_expm1f(v))
  case NB_CLAMP:
    LOOP(v < p0 ? p0 : (v > p1 ? p1 : v))
  case NB_FLOOR:
    LOOP(floorf(v))
  case NB_CEIL:
    LOOP(ceilf(v))
  case NB_TRUNC:
    LOOP(truncf(v))
  case NB_ROUND:
    LOOP(rintf(v))
  case NB_HARDSWISH:
    LOOP(v * (v + 3.0f < 0.0f ? 0.0f : (v + 3.0f > 6.0f ? 6.0f : v + 3.0f)) / 6.0f)
  case NB_MISH:
    LOOP(v * nb_tanhf(nb_log1pf(nb_expf(v))))
  default:
    LOOP(v + NAN) /* unreachable: the addon rejects other ops */
  }
#undef LOOP
}

// y (n) = a (n, stride sa in {0,1}) op b (n, stride sb in {0,1})
static void binary_contig(int op, float *restrict y, const float *restrict a, int64_t sa, const float *restrict b,
                          int64_t sb, int64_t n) {
#define OPS(A, B)                                                                                                      \
  switch (op) {                                                                                                        \
  case NB_ADD:                                                                                                         \
    for (int64_t i = 0; i < n; i++) y[i] = A + B;                                                                      \
    break;                                                                                                             \
  case NB_SUB:                                                                                                         \
    for (int64_t i = 0; i < n; i++) y[i] = A - B;                                                                      \
    break;                                                                                                             \
  case NB_MUL:                                                                                                         \
    for (int64_t i = 0; i < n; i++) y[i] = A * B;                                                                      \
    break;                                                                                                             \
  case NB_DIV:                                                                                                         \
    for (int64_t i = 0; i < n; i++) y[i] = A / B;                                                                      \
    break;                                                                                                             \
  case NB_MAXIMUM:                                                                                                     \
    for (int64_t i = 0; i < n; i++) {                                                                                  \
      float u = A, v = B;                                                                                              \
      y[i] = u != u || v != v ? u + v : (u > v ? u : v);                                                               \
    }                                                                                                                  \
    break;                                                                                                             \
  case NB_MINIMUM:                                                                                                     \
    for (int64_t i = 0; i < n; i++) {                                                                                  \
      float u = A, v = B;                                                                                              \
      y[i] = u != u || v != v ? u + v : (u < v ? u : v);                                                               \
    }                                                                                                                  \
    break;                                                                                                             \
  case NB_POW:                                                                                                         \
    for (int64_t i = 0; i < n; i++) y[i] = powf(A, B);                                                                 \
    break;                                                                                                             \
  case NB_THRESHOLD_BACKWARD:                                                                                          \
    for (int64_t i = 0; i < n; i++) y[i] = B <= 0.f ? 0.f : A;                                                         \
    break;                                                                                                             \
  default:                                                                                                             \
    for (int64_t i = 0; i < n; i++) y[i] = NAN;                                                                        \
    break;                                                                                                             \
  }
  if (sa && sb) {
    OPS(a[i], b[i])
  } else if (sa) {
    const float bv = b[0];
    OPS(a[i], bv)
  } else if (sb) {
    const float av = a[0];
    OPS(av, b[i])
  } else {
    const float av = a[0], bv = b[0];
    OPS(av, bv)
  }
#undef OPS
}

const nb_ew_impl NB_ISA_TABLE = {
    .unary = unary_contig,
    .binary = binary_contig,
};
