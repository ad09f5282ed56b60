// AVX-512 weight-only products for LLM decoding: the int8 / int4 weights are read once, widened and
// scaled in registers, never written out as floats; four int4 weight rows share each load of x. Compiled
// with the AVX-512 foundation flags only (target nabla_avx512). Layouts in quant.h.
#include <immintrin.h>
#include "quant.h"

static inline __m512 load16_s8(const uint8_t *p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)));
}
static inline __m512 load16_s8_masked(const uint8_t *p, __mmask16 m) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p)));
}

// int8: one row of q against x row a. NOTE: one row at a time: four rows sharing each load of x (as int4
// does) measured 5x slower on Zen 4 for K = 768, for no reason found in the code GCC makes.
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

// int4: the full groups of rows n..n+nr (each row rowb bytes, ng groups of scales).
static inline __attribute__((always_inline)) void dot4(const float *a, const uint8_t *q, const float *sc, int64_t rowb,
                                                       int64_t ng, int64_t gfull, int64_t G, const int nr,
                                                       float out[4]) {
  const __m512i lo4 = _mm512_set1_epi32(15), eight = _mm512_set1_epi32(8);
  __m512 tot[4];
  for (int r = 0; r < nr; r++) tot[r] = _mm512_setzero_ps();
  for (int64_t g = 0; g < gfull; g++) {
    const float *ag = a + g * G;
    __m512 s[4];
    for (int r = 0; r < nr; r++) s[r] = _mm512_setzero_ps();
    for (int64_t j = 0; j < G / 2; j += 16) {
      const __m512 xl = _mm512_loadu_ps(ag + j), xh = _mm512_loadu_ps(ag + G / 2 + j);
      for (int r = 0; r < nr; r++) {
        const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(q + r * rowb + g * G / 2 + j)));
        const __m512 wl = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_and_si512(v, lo4), eight));
        const __m512 wh = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(v, 4), eight));
        s[r] = _mm512_fmadd_ps(wh, xh, _mm512_fmadd_ps(wl, xl, s[r]));
      }
    }
    for (int r = 0; r < nr; r++) tot[r] = _mm512_fmadd_ps(s[r], _mm512_set1_ps(sc[r * ng + g]), tot[r]);
  }
  for (int r = 0; r < nr; r++) out[r] = _mm512_reduce_add_ps(tot[r]);
}

void nb_woq_avx512(const float *x, int64_t ldx, int64_t M, const uint8_t *q, const float *scales, int bits, int64_t G,
                   int64_t K, int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy) {
  const int64_t ng = bits == 4 ? (K + G - 1) / G : 1, rowb = bits == 4 ? ng * G / 2 : K;
  const int64_t gfull = bits == 4 ? K / G : 0;
  float out[4];
  for (int64_t n = n0; n < n1; n += 4) {
    const int nr = n1 - n < 4 ? (int)(n1 - n) : 4;
    const uint8_t *r = q + n * rowb;
    for (int64_t i = 0; i < M; i++) {
      const float *a = x + i * ldx;
      if (bits == 8) {
        for (int t = 0; t < nr; t++) out[t] = dot8x1(a, r + t * K, K);
        for (int t = 0; t < nr; t++) out[t] *= scales[n + t];
      } else {
        if (nr == 4)
          dot4(a, r, scales + n * ng, rowb, ng, gfull, G, 4, out);
        else
          for (int t = 0; t < nr; t++) dot4(a, r + t * rowb, scales + (n + t) * ng, rowb, ng, gfull, G, 1, out + t);
        if (gfull < ng)
          for (int t = 0; t < nr; t++) {
            float tail;
            nb_woq_scalar(a + gfull * G, 0, 1, r + t * rowb + gfull * G / 2, scales + (n + t) * ng + gfull, 4, G,
                          K - gfull * G, 0, 1, NULL, &tail, 1);
            out[t] += tail;
          }
      }
      for (int t = 0; t < nr; t++) y[i * ldy + n + t] = out[t] + (bias ? bias[n + t] : 0.f);
    }
  }
}
