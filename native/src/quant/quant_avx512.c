// AVX-512 weight-only int8 products for LLM decoding: the weights widened to float in registers, never
// written out. Compiled with the AVX-512 foundation flags only (target nabla_quant_avx512). Layouts in
// quant.h; int4 is in quant_vnni512.c.
#include <immintrin.h>
#include "quant.h"

static inline __m512 load16_s8(const uint8_t *p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)));
}
static inline __m512 load16_s8_masked(const uint8_t *p, __mmask16 m) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p)));
}

// int8: one row of q against x row a. NOTE: one row at a time: four rows sharing each load of x measured
// 5x slower on Zen 4 for K = 768, for no reason found in the code GCC makes.
static float dot8x1(const float *a, const uint8_t *q, int64_t K) {
  __m512 s0 = _mm512_setzero_ps(), t0 = s0;
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    s0 = _mm512_fmadd_ps(load16_s8(q + k), _mm512_loadu_ps(a + k), s0);
    t0 = _mm512_fmadd_ps(load16_s8(q + k + 16), _mm512_loadu_ps(a + k + 16), t0);
  }
  for (; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? 0xffff : (__mmask16)((1u << (K - k)) - 1);
    s0 = _mm512_fmadd_ps(load16_s8_masked(q + k, m), _mm512_maskz_loadu_ps(m, a + k), s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, t0));
}

// int8 only (int4 runs nb_q4_vnni512, or nb_q4_avx2 without VNNI).
void nb_woq_avx512(const float *x, int64_t ldx, int64_t M, const uint8_t *q, const float *scales, int bits, int64_t G,
                   int64_t K, int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy) {
  (void)bits, (void)G;
  for (int64_t n = n0; n < n1; n++)
    for (int64_t i = 0; i < M; i++)
      y[i * ldy + n] = dot8x1(x + i * ldx, q + n * K, K) * scales[n] + (bias ? bias[n] : 0.f);
}
