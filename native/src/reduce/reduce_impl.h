// Contiguous row reductions and the softmax row, compiled three times (reduce_scalar.c,
// reduce_avx2.c, reduce_avx512.c) with that ISA's flags; the drivers (reduce.c, attention.c) pick one
// table at runtime. NB_ISA_TABLE names the table this compilation defines.
#include "reduce.h"
#include "vmath.h"

// Reduction of x (n) contiguous, accumulated in double across 16 independent lanes (SUM, PROD) or
// in float with NaN propagation (MAX, MIN). Returns the combined value; `acc` is the identity-free
// running value the caller folds in (so rows can be reduced in pieces).
static double reduce_contig(int op, const float *restrict x, int64_t n, double acc) {
  int64_t i = 0;
  if (op == NB_SUM) {
    double l[16] = {0};
    for (; i + 16 <= n; i += 16)
      for (int k = 0; k < 16; k++) l[k] += (double)x[i + k];
    for (; i < n; i++) l[0] += (double)x[i];
    double s = 0;
    for (int k = 0; k < 16; k++) s += l[k];
    return acc + s;
  }
  if (op == NB_PROD) {
    double p = acc;
    for (; i < n; i++) p *= (double)x[i];
    return p;
  }
  // NOTE: GCC does not vectorise a float max reduction without -ffast-math, so the 16 lanes are a
  // vector-extension value (lowered to zmm, ymm or xmm per build). NaN is sticky through the
  // bitwise select: v > NaN and NaN != NaN are both false.
  typedef float v16f __attribute__((vector_size(64)));
  typedef int32_t v16i __attribute__((vector_size(64)));
  v16f m;
  for (int k = 0; k < 16; k++) m[k] = (float)acc;
  const int is_max = op == NB_MAX;
  for (; i + 16 <= n; i += 16) {
    v16f v;
    memcpy(&v, x + i, sizeof v);
    v16i c = ((is_max ? v > m : v < m) | (v != v));
    m = (v16f)(((v16i)v & c) | ((v16i)m & ~c));
  }
  float r = m[0];
  for (int k = 1; k < 16; k++) r = (is_max ? m[k] > r : m[k] < r) || m[k] != m[k] ? m[k] : r;
  for (; i < n; i++) {
    float v = x[i];
    r = (is_max ? v > r : v < r) || v != v ? v : r;
  }
  return r;
}

// softmax / log-softmax of one contiguous row x (n) -> y (n). NaN anywhere makes the row NaN.
// Separate passes (max; y = exp(x - max); sum; scale) keep every loop simple enough to vectorise.
static void softmax_row(float *restrict y, const float *restrict x, int64_t n, int log) {
  float mx = (float)reduce_contig(NB_MAX, x, n, -INFINITY);
  double s = 0;
  // exp and sum block by block while the block is in L1; the terms are positive, so float lanes
  // within a 256-element block lose nothing measurable and blocks add up in double.
  for (int64_t i0 = 0; i0 < n; i0 += 256) {
    int64_t i1 = i0 + 256 < n ? i0 + 256 : n, i = i0;
    for (int64_t k = i0; k < i1; k++) y[k] = nb_expf(x[k] - mx);
    float l[16] = {0};
    for (; i + 16 <= i1; i += 16)
      for (int k = 0; k < 16; k++) l[k] += y[i + k];
    for (; i < i1; i++) l[0] += y[i];
    float b = 0;
    for (int k = 0; k < 16; k++) b += l[k];
    s += b;
  }
  if (log) {
    // NOTE: (x - max) - log(sum), not x - (max + log(sum)): the latter rounds at max's magnitude.
    float ls = (float)__builtin_log(s);
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mx) - ls;
  } else {
    float inv = (float)(1.0 / s);
    for (int64_t i = 0; i < n; i++) y[i] *= inv;
  }
}

const nb_reduce_impl NB_ISA_TABLE = {
    .reduce = reduce_contig,
    .softmax_row = softmax_row,
};
