// Branch-free float32 math the compiler vectorises inside the per-ISA loops (ew_impl.h, reduce_impl.h).
// Each function handles NaN/inf explicitly with selects; accuracy vs a double reference, measured by
// test/native/unary.test.ts: exp/log/tanh/sigmoid/silu ~1-2 ulp (max rel err < 1e-6 over normal
// ranges); erf/gelu use a rational erfc with relative error < 1.2e-7 plus the exp error (< 2e-6).
#ifndef NB_VMATH_H
#define NB_VMATH_H
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float nb_asf(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline uint32_t nb_asu(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

// exp(x): x = n ln2 + r, |r| <= ln2/2 (ln2 split hi/lo), Cephes degree-5 polynomial for e^r,
// then 2^n applied in two halves so results down to the subnormal range come out right.
static inline float nb_expf(float x) {
  float xc = x > 88.72283f ? 88.72283f : x;
  xc = xc < -104.0f ? -104.0f : xc;
  xc = x != x ? 0.0f : xc;
  float n = (xc * 1.44269504089f + 12582912.0f) - 12582912.0f; /* round to nearest */
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  int32_t ni = (int32_t)n, n1 = ni / 2, n2 = ni - n1;
  y = y * nb_asf((uint32_t)(n1 + 127) << 23) * nb_asf((uint32_t)(n2 + 127) << 23);
  y = x > 88.72283f ? INFINITY : y;
  return x != x ? x : y;
}

// log(x): x = m 2^e with m in [sqrt(1/2), sqrt(2)), Cephes degree-8 polynomial on m-1.
static inline float nb_logf(float x) {
  int sub = x < 1.17549435e-38f;
  float xs = sub ? x * 8388608.0f : x;
  uint32_t u = nb_asu(xs);
  int32_t e = (int32_t)((u >> 23) & 0xff) - 126 - (sub ? 23 : 0);
  float m = nb_asf((u & 0x007fffffu) | 0x3f000000u);
  int lo = m < 0.707106781186547524f;
  e -= lo;
  m = lo ? m + m - 1.0f : m - 1.0f;
  float z = m * m;
  float y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  float fe = (float)e;
  y += -2.12194440e-4f * fe;
  y += -0.5f * z;
  float r = m + y + 0.693359375f * fe;
  r = x == 0.0f ? -INFINITY : r;
  r = x < 0.0f ? NAN : r;
  r = x == INFINITY ? x : r;
  return x != x ? x : r;
}

// log1p(y) = log(u) * y / (u - 1) with u = 1 + y (Goldberg's trick: exact to a few ulp).
static inline float nb_log1pf(float x) {
  float u = 1.0f + x, d = u - 1.0f;
  float r = d == 0.0f ? x : nb_logf(u) * (x / d);
  r = x == INFINITY ? x : r;
  return x == -1.0f ? -INFINITY : r;
}

// expm1(x) = (u - 1) * x / log(u) with u = e^x (Kahan).
static inline float nb_expm1f(float x) {
  float u = nb_expf(x), d = u - 1.0f;
  float r = d == 0.0f ? x : d * (x / nb_logf(u));
  r = d == -1.0f ? -1.0f : r;
  return u == INFINITY ? u : r;
}

// tanh: odd polynomial below 0.625 (Cephes), 1 - 2/(e^{2|x|} + 1) above.
static inline float nb_tanhf(float x) {
  float ax = fabsf(x), z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  float small = p * z * x + x;
  float big = 1.0f - 2.0f / (nb_expf(2.0f * ax) + 1.0f);
  big = x < 0.0f ? -big : big;
  return ax < 0.625f ? small : big;
}

// sigmoid from e = e^-|x| <= 1, so neither side overflows and tiny results keep their digits.
static inline float nb_sigmoidf(float x) {
  float e = nb_expf(-fabsf(x)), s = 1.0f / (1.0f + e);
  return x < 0.0f ? e * s : s;
}

// erfc(z) for z >= 0: Numerical Recipes' erfcc, relative error < 1.2e-7 everywhere.
static inline float nb_erfc_pos(float z) {
  float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  return t * nb_expf(p - z * z);
}

// erf: Taylor series below 0.5 (keeps relative accuracy near 0), 1 - erfc above.
static inline float nb_erff(float x) {
  float ax = fabsf(x), z = x * x;
  float s = -1.0f / 1320.0f;
  s = s * z + 1.0f / 216.0f;
  s = s * z - 1.0f / 42.0f;
  s = s * z + 1.0f / 10.0f;
  s = s * z - 1.0f / 3.0f;
  s = s * z + 1.0f;
  float small = 1.12837916709551257f * x * s;
  float big = 1.0f - nb_erfc_pos(ax);
  big = x < 0.0f ? -big : big;
  return ax < 0.5f ? small : big;
}

// gelu(x) = x/2 * erfc(-x/sqrt 2): no cancellation for negative x.
static inline float nb_geluf(float x) {
  float z = -x * 0.70710678118654752f;
  float e = nb_erfc_pos(fabsf(z));
  e = z < 0.0f ? 2.0f - e : e;
  return 0.5f * x * e;
}

// tanh-approximated gelu: x/2 (1 + tanh u) = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3).
static inline float nb_gelu_tanhf(float x) {
  float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
  return x * nb_sigmoidf(2.0f * u);
}

static inline float nb_siluf(float x) { return x * nb_sigmoidf(x); }

// softplus(x) = log1p(e^(beta x)) / beta, linear above threshold (PyTorch semantics).
static inline float nb_softplusf(float x, float beta, float threshold) {
  float bx = beta * x;
  float r = nb_log1pf(nb_expf(bx)) / beta;
  return bx > threshold ? x : r;
}
#endif
