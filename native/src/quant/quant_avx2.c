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

// Weight-only int8 rows [n0,n1) x every row of x (int4 runs nb_q4_avx2); the scalar loop takes K % 8.
void nb_woq_avx2(const float *x, int64_t ldx, int64_t M, const uint8_t *q, const float *scales, int bits, int64_t G,
                 int64_t K, int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy) {
  (void)bits, (void)G;
  const int64_t K8 = K / 8 * 8;
  for (int64_t n = n0; n < n1; n++) {
    const uint8_t *r = q + n * K;
    for (int64_t i = 0; i < M; i++) {
      const float *a = x + i * ldx;
      __m256 s0 = _mm256_setzero_ps(), s1 = s0;
      int64_t k = 0;
      for (; k + 16 <= K8; k += 16) {
        s0 = _mm256_fmadd_ps(load8_s8(r + k), _mm256_loadu_ps(a + k), s0);
        s1 = _mm256_fmadd_ps(load8_s8(r + k + 8), _mm256_loadu_ps(a + k + 8), s1);
      }
      for (; k < K8; k += 8) s0 = _mm256_fmadd_ps(load8_s8(r + k), _mm256_loadu_ps(a + k), s0);
      float acc = hsum8(_mm256_add_ps(s0, s1));
      for (; k < K; k++) acc += a[k] * (float)(int8_t)r[k];
      y[i * ldy + n] = acc * scales[n] + (bias ? bias[n] : 0.f);
    }
  }
}

// int4 (nb_q4_fn in quant.h), one 32-byte vector (8 lanes of 4 bytes) of a weight row at a time, as
// nb_q4_avx512: vpmaddubsw (no saturation: 2 * 15 * 127 a pair), vpmaddwd, plus corr. G = 32 (2 groups
// a vector) or a multiple of 64 (one group over G/64 vectors); a last half vector is read as 16 bytes.
void nb_q4_avx2(const nb_q4_act *a, int64_t M, const uint8_t *q, const float *scales, int64_t G, int64_t K, int64_t n0,
                int64_t n1, const float *bias, float *y, int64_t ldy) {
  const int64_t ng = (K + G - 1) / G, rowb = ng * G / 2, nv = (rowb + 31) / 32;
  const __m256i m4 = _mm256_set1_epi8(15), one = _mm256_set1_epi16(1);
  const __m256i lanes = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
  for (int64_t n = n0; n < n1; n++) {
    const uint8_t *r = q + n * rowb;
    const float *sc = scales + n * ng;
    for (int64_t i = 0; i < M; i++) {
      const int8_t *lo = a->lo + i * a->ld, *hi = a->hi + i * a->ld;
      const int32_t *corr = a->corr + i * a->ld / 4;
      const float *dl = a->dl + i * a->ld / 4;
      __m256 acc = _mm256_setzero_ps();
      for (int64_t v = 0; v < nv; v++) {
        const __m256i w = rowb - 32 * v >= 32 ? _mm256_loadu_si256((const __m256i *)(r + 32 * v))
                                              : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)(r + 32 * v)));
        const __m256i wl = _mm256_and_si256(w, m4), wh = _mm256_and_si256(_mm256_srli_epi16(w, 4), m4);
        const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(wl, _mm256_load_si256((const __m256i *)(lo + 32 * v))),
                                           _mm256_maddubs_epi16(wh, _mm256_load_si256((const __m256i *)(hi + 32 * v))));
        const __m256i s =
            _mm256_add_epi32(_mm256_madd_epi16(p, one), _mm256_load_si256((const __m256i *)(corr + 8 * v)));
        __m256 ws;
        if (G == 32) {
          const int64_t g0 = 2 * v;
          const __m128 two = g0 + 1 < ng ? _mm_castpd_ps(_mm_load_sd((const double *)(sc + g0))) : _mm_load_ss(sc + g0);
          ws = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(two), lanes);
        } else {
          ws = _mm256_set1_ps(sc[v * 64 / G]);
        }
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(ws, _mm256_load_ps(dl + 8 * v)), acc);
      }
      y[i * ldy + n] = hsum8(acc) + (bias ? bias[n] : 0.f);
    }
  }
}
