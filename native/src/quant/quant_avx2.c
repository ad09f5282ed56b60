// AVX2 int8 GEMM and weight-only products. The u8 x s8 products are widened to 16 bits and summed in
// pairs by vpmaddwd, which is exact: vpmaddubsw would be one instruction less but saturates the pair
// sum at 32767 (255*127*2 = 64770), the reason onednn keeps activations to 7 bits (reduce_range); here
// they keep QNNPACK's full 8. Compiled with -mavx2 -mfma (target nabla_avx2).
#include <immintrin.h>
#include <string.h>
#include "quant.h"

// acc[0..3] hold columns 4q..4q+3 of a panel as pairs of partial sums (j, k-pair); the 16 sums of the panel.
static inline void q8_finish(const __m256i acc[4], int32_t out[16]) {
  const __m256i h01 = _mm256_hadd_epi32(acc[0], acc[1]), h23 = _mm256_hadd_epi32(acc[2], acc[3]);
  _mm256_storeu_si256((__m256i *)out, _mm256_permute4x64_epi64(h01, 0xd8));
  _mm256_storeu_si256((__m256i *)(out + 8), _mm256_permute4x64_epi64(h23, 0xd8));
}

static inline __attribute__((always_inline)) void q8_rows(const uint8_t *xq, int64_t ldx, const int8_t *panel,
                                                          int64_t KG, const int mr, __m256i acc[2][4]) {
  for (int r = 0; r < mr; r++)
    for (int q = 0; q < 4; q++) acc[r][q] = _mm256_setzero_si256();
  for (int64_t g = 0; g < KG; g++) {
    __m256i w[4];
    for (int q = 0; q < 4; q++)
      w[q] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(panel + g * 64 + 16 * q)));
    for (int r = 0; r < mr; r++) {
      int32_t a4;
      memcpy(&a4, xq + r * ldx + 4 * g, 4);
      const __m256i a = _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(a4)));
      for (int q = 0; q < 4; q++) acc[r][q] = _mm256_add_epi32(acc[r][q], _mm256_madd_epi16(a, w[q]));
    }
  }
}

void nb_q8_gemm_avx2(const uint8_t *xq, int64_t ldx, int64_t M, const int8_t *bp, int64_t K, int64_t n0, int64_t n1,
                     int64_t N, const nb_q8_epi *e) {
  (void)N;
  const int64_t KP = nb_q8_kp(K), KG = (K + 3) / 4;
  int32_t out[16];
  for (int64_t ib = 0; ib < M; ib += 192) {
    const int64_t ie = ib + 192 < M ? ib + 192 : M;
    for (int64_t n = n0; n < n1; n += 16) {
      const int8_t *panel = bp + (n / 16) * KP * 16;
      const int64_t nc = n1 - n < 16 ? n1 - n : 16;
      for (int64_t i = ib; i < ie; i += 2) {
        __m256i acc[2][4];
        const int m = ie - i >= 2 ? 2 : 1;
        if (m == 2)
          q8_rows(xq + i * ldx, ldx, panel, KG, 2, acc);
        else
          q8_rows(xq + i * ldx, ldx, panel, KG, 1, acc);
        for (int r = 0; r < m; r++) {
          q8_finish(acc[r], out);
          for (int64_t j = 0; j < nc; j++) nb_q8_store(e, i + r, n + j, out[j]);
        }
      }
    }
  }
}

static inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline __m256 load8_s8(const uint8_t *p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

// Weight-only rows [n0,n1) x every row of x; int8 per row or int4 in groups (quant.h). The scalar
// kernel takes the K % 8 tail (int8) and ragged last groups (int4).
void nb_woq_avx2(const float *x, int64_t ldx, int64_t M, const uint8_t *q, const float *scales, int bits, int64_t G,
                 int64_t K, int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy) {
  const int64_t ng = bits == 4 ? (K + G - 1) / G : 1, rowb = bits == 4 ? ng * G / 2 : K;
  const int64_t K8 = K / 8 * 8, gfull = bits == 4 ? K / G : 0;
  for (int64_t n = n0; n < n1; n++) {
    const uint8_t *r = q + n * rowb;
    for (int64_t i = 0; i < M; i++) {
      const float *a = x + i * ldx;
      float acc = 0.f;
      if (bits == 8) {
        __m256 s0 = _mm256_setzero_ps(), s1 = s0;
        int64_t k = 0;
        for (; k + 16 <= K8; k += 16) {
          s0 = _mm256_fmadd_ps(load8_s8(r + k), _mm256_loadu_ps(a + k), s0);
          s1 = _mm256_fmadd_ps(load8_s8(r + k + 8), _mm256_loadu_ps(a + k + 8), s1);
        }
        for (; k < K8; k += 8) s0 = _mm256_fmadd_ps(load8_s8(r + k), _mm256_loadu_ps(a + k), s0);
        acc = hsum8(_mm256_add_ps(s0, s1));
        for (; k < K; k++) acc += a[k] * (float)(int8_t)r[k];
        acc *= scales[n];
      } else {
        const __m256i lo4 = _mm256_set1_epi32(15), eight = _mm256_set1_epi32(8);
        __m256 tot = _mm256_setzero_ps();
        for (int64_t g = 0; g < gfull; g++) {
          const uint8_t *b = r + g * G / 2;
          const float *ag = a + g * G;
          __m256 s = _mm256_setzero_ps();
          for (int64_t j = 0; j < G / 2; j += 8) {
            const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(b + j)));
            const __m256 wl = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(v, lo4), eight));
            const __m256 wh = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(v, 4), eight));
            s = _mm256_fmadd_ps(wl, _mm256_loadu_ps(ag + j), s);
            s = _mm256_fmadd_ps(wh, _mm256_loadu_ps(ag + G / 2 + j), s);
          }
          tot = _mm256_fmadd_ps(s, _mm256_set1_ps(scales[n * ng + g]), tot);
        }
        acc = hsum8(tot);
        if (gfull < ng) {
          // the ragged last group
          float t;
          nb_woq_scalar(a + gfull * G, 0, 1, r + gfull * G / 2, scales + n * ng + gfull, 4, G, K - gfull * G, 0, 1,
                        NULL, &t, 1);
          acc += t;
        }
      }
      y[i * ldy + n] = acc + (bias ? bias[n] : 0.f);
    }
  }
}
