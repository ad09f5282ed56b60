// Contiguous elementwise, row-reduction and row-normalisation loops. This file is compiled three
// times (ew_scalar.c, ew_avx2.c, ew_avx512.c) with that ISA's flags so the compiler vectorises the
// same source for each; the strided drivers (unary.c, binary.c, reduce.c, softmax.c, ...) pick one
// table at runtime. NB_EW_TABLE names the table this compilation defines.
#include "ew.h"
#include "vmath.h"
#include "winograd_tf.h"

// y (n) = op(x (n))
static void unary_contig(int op, float *y, const float *x, int64_t n, float p0, float p1) { // may run in place
#define LOOP(expr) for (int64_t i = 0; i < n; i++) { float v = x[i]; y[i] = (expr); } break;
  switch (op) {
    case NB_NEG: LOOP(-v)
    case NB_ABS: LOOP(fabsf(v))
    case NB_EXP: LOOP(nb_expf(v))
    case NB_LOG: LOOP(nb_logf(v))
    case NB_LOG1P: LOOP(nb_log1pf(v))
    case NB_EXPM1: LOOP(nb_expm1f(v))
    case NB_SQRT: LOOP(sqrtf(v))
    case NB_RSQRT: LOOP(1.0f / sqrtf(v))
    case NB_TANH: LOOP(nb_tanhf(v))
    case NB_SIGMOID: LOOP(nb_sigmoidf(v))
    case NB_RELU: LOOP(v > 0.0f || v != v ? v : 0.0f)
    case NB_GELU: LOOP(nb_geluf(v))
    case NB_GELU_TANH: LOOP(nb_gelu_tanhf(v))
    case NB_SILU: LOOP(nb_siluf(v))
    case NB_SOFTPLUS: LOOP(nb_softplusf(v, 1.0f, 20.0f))
    case NB_SOFTPLUS_BETA: LOOP(nb_softplusf(v, p0, p1))
    case NB_RECIPROCAL: LOOP(1.0f / v)
    case NB_SQUARE: LOOP(v * v)
    case NB_ERF: LOOP(nb_erff(v))
    case NB_LEAKY_RELU: LOOP(v > 0.0f ? v : v * p0)
    case NB_ELU: LOOP(v > 0.0f ? v : p0 * nb_expm1f(v))
    case NB_CLAMP: LOOP(v < p0 ? p0 : (v > p1 ? p1 : v))
    case NB_FLOOR: LOOP(floorf(v))
    case NB_CEIL: LOOP(ceilf(v))
    case NB_TRUNC: LOOP(truncf(v))
    case NB_ROUND: LOOP(rintf(v))
    default: LOOP(v + NAN) /* unreachable: the addon rejects other ops */
  }
#undef LOOP
}

// y (n) = a (n, stride sa in {0,1}) op b (n, stride sb in {0,1})
static void binary_contig(int op, float *restrict y, const float *restrict a, int64_t sa,
                          const float *restrict b, int64_t sb, int64_t n) {
#define OPS(A, B)                                                                 \
  switch (op) {                                                                   \
    case NB_ADD: for (int64_t i = 0; i < n; i++) y[i] = A + B; break;            \
    case NB_SUB: for (int64_t i = 0; i < n; i++) y[i] = A - B; break;            \
    case NB_MUL: for (int64_t i = 0; i < n; i++) y[i] = A * B; break;            \
    case NB_DIV: for (int64_t i = 0; i < n; i++) y[i] = A / B; break;            \
    case NB_MAXIMUM: for (int64_t i = 0; i < n; i++) { float u = A, v = B; y[i] = u != u || v != v ? u + v : (u > v ? u : v); } break; \
    case NB_MINIMUM: for (int64_t i = 0; i < n; i++) { float u = A, v = B; y[i] = u != u || v != v ? u + v : (u < v ? u : v); } break; \
    case NB_POW: for (int64_t i = 0; i < n; i++) y[i] = powf(A, B); break;       \
    case NB_THRESHOLD_BACKWARD: for (int64_t i = 0; i < n; i++) y[i] = B <= 0.f ? 0.f : A; break; \
    default: for (int64_t i = 0; i < n; i++) y[i] = NAN; break;                   \
  }
  if (sa && sb) { OPS(a[i], b[i]) }
  else if (sa) { const float bv = b[0]; OPS(a[i], bv) }
  else if (sb) { const float av = a[0]; OPS(av, b[i]) }
  else { const float av = a[0], bv = b[0]; OPS(av, bv) }
#undef OPS
}

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
  for (; i < n; i++) { float v = x[i]; r = (is_max ? v > r : v < r) || v != v ? v : r; }
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

// Sum and sum of squared deviations of a row, in double across 16 lanes.
static void row_moments(const float *restrict x, int64_t n, double *mean, double *m2) {
  double l[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; k++) l[k] += (double)x[i + k];
  for (; i < n; i++) l[0] += (double)x[i];
  double s = 0;
  for (int k = 0; k < 16; k++) { s += l[k]; l[k] = 0; }
  double mu = s / (double)n;
  for (i = 0; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; k++) { double d = (double)x[i + k] - mu; l[k] += d * d; }
  for (; i < n; i++) { double d = (double)x[i] - mu; l[0] += d * d; }
  double q = 0;
  for (int k = 0; k < 16; k++) q += l[k];
  *mean = mu;
  *m2 = q;
}

// layer norm of one row: y (n) = (x - mean) * rstd * w + b (w, b may be NULL); biased variance.
static void layernorm_row(float *restrict y, const float *restrict x, const float *restrict w, const float *restrict b,
                          int64_t n, float eps, float *mean_out, float *rstd_out) {
  double mu, m2;
  row_moments(x, n, &mu, &m2);
  float rstd = (float)(1.0 / __builtin_sqrt(m2 / (double)n + (double)eps)), m = (float)mu;
  if (w && b) for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) * rstd * w[i] + b[i];
  else if (w) for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) * rstd * w[i];
  else if (b) for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) * rstd + b[i];
  else for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) * rstd;
  *mean_out = m;
  *rstd_out = rstd;
}

// dx of one row: xhat = (x - mean) rstd, g = dy * w; dx = rstd (g - mean(g) - xhat mean(g xhat)).
static void layernorm_bwd_row(float *restrict dx, const float *restrict dy, const float *restrict x, const float *restrict w,
                              int64_t n, float mean, float rstd) {
  double l1[16] = {0}, l2[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; k++) {
      float g = w ? dy[i + k] * w[i + k] : dy[i + k], xh = (x[i + k] - mean) * rstd;
      l1[k] += g; l2[k] += g * xh;
    }
  for (; i < n; i++) { float g = w ? dy[i] * w[i] : dy[i], xh = (x[i] - mean) * rstd; l1[0] += g; l2[0] += g * xh; }
  double s1 = 0, s2 = 0;
  for (int k = 0; k < 16; k++) { s1 += l1[k]; s2 += l2[k]; }
  float a = (float)(s1 / (double)n), c = (float)(s2 / (double)n);
  for (i = 0; i < n; i++) {
    float g = w ? dy[i] * w[i] : dy[i], xh = (x[i] - mean) * rstd;
    dx[i] = rstd * (g - a - xh * c);
  }
}

// Adam / AdamW on n contiguous parameters, in place (nb_adam_args in ew.h holds the scalars).
static void adam_contig(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, int64_t n,
                        const nb_adam_args *a) {
  const float d = a->decoupled ? 1.0f - a->lr * a->wd : 1.0f, wg = a->decoupled ? 0.0f : a->wd;
  const float b1 = a->b1, b2 = a->b2, omb1 = a->omb1, omb2 = a->omb2, s = a->s, c2 = a->c2, eps = a->eps;
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i] + wg * p[i];
    float mi = b1 * m[i] + omb1 * gi;
    float vi = b2 * v[i] + omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * d - s * mi / (sqrtf(vi) * c2 + eps);
  }
}

// Batch norm (nn.c), over one run of n values of a channel. Sums in double, eight independent lanes so
// that the compiler vectorises them without reassociating: acc[0] += sum (x - c), acc[1] += sum (x - c)^2.
static void bn_moments(const float *restrict x, int64_t n, double c, double *acc) {
  double s1[8] = { 0 }, s2[8] = { 0 };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) { const double u = (double)x[i + l] - c; s1[l] += u; s2[l] += u * u; }
  for (; i < n; i++) { const double u = (double)x[i] - c; s1[0] += u; s2[0] += u * u; }
  for (int l = 0; l < 8; l++) { acc[0] += s1[l]; acc[1] += s2[l]; }
}

// y = act(((x - muf) - dmu) * scale + shift + res): the normalisation with the mean as muf + dmu.
static void bn_apply(float *restrict y, const float *restrict x, const float *restrict res, int64_t n, float muf, float dmu,
                     float scale, float shift, int relu) {
  if (res) for (int64_t i = 0; i < n; i++) y[i] = ((x[i] - muf) - dmu) * scale + shift + res[i];
  else for (int64_t i = 0; i < n; i++) y[i] = ((x[i] - muf) - dmu) * scale + shift;
  if (relu) for (int64_t i = 0; i < n; i++) y[i] = nb_keep_positive(y[i], y[i]);
}

// Backward sums with g = dy, or dy where the relu output ya > 0 (ya NULL: no relu):
// acc[0] += sum (x - mf), acc[1] += sum g, acc[2] += sum g (x - mf).
static void bn_bwd_sums(const float *restrict x, const float *restrict dy, const float *restrict ya, int64_t n, float mf, double *acc) {
  double sx[8] = { 0 }, sd[8] = { 0 }, sp[8] = { 0 };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) {
      const double u = (double)x[i + l] - mf, g = ya ? nb_keep_positive(dy[i + l], ya[i + l]) : dy[i + l];
      sx[l] += u; sd[l] += g; sp[l] += g * u;
    }
  for (; i < n; i++) {
    const double u = (double)x[i] - mf, g = ya ? nb_keep_positive(dy[i], ya[i]) : dy[i];
    sx[0] += u; sd[0] += g; sp[0] += g * u;
  }
  for (int l = 0; l < 8; l++) { acc[0] += sx[l]; acc[1] += sd[l]; acc[2] += sp[l]; }
}

// dx = a g - bq ((x - muf) - dmu) + c0, and the residual's gradient dr = g when dr is non-NULL.
static void bn_bwd_apply(float *restrict dx, float *restrict dr, const float *restrict x, const float *restrict dy,
                         const float *restrict ya, int64_t n, float a, float bq, float c0, float muf, float dmu) {
  if (ya) {
    if (dr) for (int64_t i = 0; i < n; i++) dr[i] = nb_keep_positive(dy[i], ya[i]);
    for (int64_t i = 0; i < n; i++) dx[i] = a * nb_keep_positive(dy[i], ya[i]) - bq * ((x[i] - muf) - dmu) + c0;
  } else {
    if (dr) memcpy(dr, dy, (size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) dx[i] = a * dy[i] - bq * ((x[i] - muf) - dmu) + c0;
  }
}

// A convolution's epilogue over one output row: dst = act(src * sc + sh + res) (res NULL: 0; relu
// keeps NaN, as nb_keep_positive), in one pass. src may be dst.
static void conv_epilogue_row(float *dst, const float *src, int64_t n, float sc, float sh, const float *res, int relu) {
  if (res && relu) for (int64_t i = 0; i < n; i++) { const float v = src[i] * sc + sh + res[i]; dst[i] = nb_keep_positive(v, v); }
  else if (res) for (int64_t i = 0; i < n; i++) dst[i] = src[i] * sc + sh + res[i];
  else if (relu) for (int64_t i = 0; i < n; i++) { const float v = src[i] * sc + sh; dst[i] = nb_keep_positive(v, v); }
  else for (int64_t i = 0; i < n; i++) dst[i] = src[i] * sc + sh;
}

// The epilogue over a microkernel tile's m rows of n outputs: row i from src + i*lds to dst + i*ldd,
// with scale and shift sc[i], sh[i] (NULL: 1, 0) and the residual at res + i*ldd (NULL: none). One call
// a tile rather than a row: the direct path stores ~25k row pieces in ResNet's stem alone.
static void conv_epilogue_tile(float *dst, int64_t ldd, const float *src, int64_t lds, int64_t m, int64_t n,
                               const float *sc, const float *sh, const float *res, int relu) {
  for (int64_t i = 0; i < m; i++)
    conv_epilogue_row(dst + i * ldd, src + i * lds, n, sc ? sc[i] : 1.f, sh ? sh[i] : 0.f, res ? res + i * ldd : NULL, relu);
}

// dst[j] = src[j * stride], j < n. Stride 2 (every strided ResNet convolution) with a constant
// stride, which the compiler turns into whole-vector loads and permutes.
static void strided_row(float *restrict dst, const float *restrict src, int64_t n, int64_t stride) {
  if (stride == 2) for (int64_t j = 0; j < n; j++) dst[j] = src[2 * j];
  else for (int64_t j = 0; j < n; j++) dst[j] = src[j * stride];
}

static void max_merge(float *restrict rm, const float *restrict row, int64_t n) {
  for (int64_t i = 0; i < n; i++) rm[i] = nb_max_nan(rm[i], row[i]);
}

// The 3-wide stride-2 windows of ResNet's stem pool with a constant stride (whole-vector permutes).
static void max_windows(float *restrict y, const float *restrict rm, int64_t n, int64_t sw, int64_t kw, int64_t dw) {
  if (sw == 2 && kw == 3 && dw == 1) {
    for (int64_t o = 0; o < n; o++) y[o] = nb_max_nan(nb_max_nan(rm[2 * o], rm[2 * o + 1]), rm[2 * o + 2]);
    return;
  }
  for (int64_t o = 0; o < n; o++) {
    float best = rm[o * sw];
    for (int64_t k = 1; k < kw; k++) best = nb_max_nan(best, rm[o * sw + k * dw]);
    y[o] = best;
  }
}

const nb_ew_impl NB_EW_TABLE = { unary_contig, binary_contig, reduce_contig, softmax_row, layernorm_row, layernorm_bwd_row, adam_contig,
                                  wino_phase_row, wino_input, wino_output, wino_weights, wino_dy, wino_dw,
                                  wino_input_few,
                                  conv_epilogue_row, conv_epilogue_tile, strided_row, max_merge, max_windows, bn_moments, bn_apply, bn_bwd_sums, bn_bwd_apply };
