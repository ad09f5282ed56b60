// AVX-VNNI (VEX-encoded vpdpbusd on 256-bit registers: Alder Lake and later Intel, Zen 5) u8 x s8 GEMM:
// a tile of up to 6 rows x one panel of 16 columns (two registers) = 12 accumulators. Compiled with
// -mavx2 -mavxvnni (target nabla_quant_avxvnni); called only after cpuid says so.
#include <immintrin.h>
#include <string.h>
#include "quant.h"

#define MR 6

static inline __attribute__((always_inline)) void tile(const uint8_t *xq, int64_t ldx, const int8_t *panel, int64_t KG,
                                                       const int mr, __m256i acc[MR][2]) {
  for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (int64_t g = 0; g < KG; g++) {
    const __m256i w0 = _mm256_loadu_si256((const __m256i *)(panel + g * 64));
    const __m256i w1 = _mm256_loadu_si256((const __m256i *)(panel + g * 64 + 32));
    for (int r = 0; r < mr; r++) {
      int32_t a4;
      memcpy(&a4, xq + r * ldx + 4 * g, 4);
      const __m256i a = _mm256_set1_epi32(a4);
      acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], a, w0);
      acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], a, w1);
    }
  }
}

#define CASE(m)                                                                                                        \
  case m:                                                                                                              \
    tile(xq + i * ldx, ldx, panel, KG, m, acc);                                                                        \
    break;

void nb_q8_gemm_avxvnni(const uint8_t *xq, int64_t ldx, int64_t M, const int8_t *bp, int64_t K, int64_t n0, int64_t n1,
                        int64_t N, const nb_q8_epi *e) {
  (void)N;
  const int64_t KP = nb_q8_kp(K), KG = (K + 3) / 4;
  int32_t out[16];
  for (int64_t ib = 0; ib < M; ib += 192) {
    const int64_t ie = ib + 192 < M ? ib + 192 : M;
    for (int64_t n = n0; n < n1; n += 16) {
      const int8_t *panel = bp + (n / 16) * KP * 16;
      const int64_t nc = n1 - n < 16 ? n1 - n : 16;
      for (int64_t i = ib; i < ie; i += MR) {
        const int m = ie - i < MR ? (int)(ie - i) : MR;
        __m256i acc[MR][2];
        switch (m) {
          CASE(1)
          CASE(2)
          CASE(3)
          CASE(4)
          CASE(5)
          CASE(6)
        }
        for (int r = 0; r < m; r++) {
          _mm256_storeu_si256((__m256i *)out, acc[r][0]);
          _mm256_storeu_si256((__m256i *)(out + 8), acc[r][1]);
          for (int64_t j = 0; j < nc; j++) nb_q8_store(e, i + r, n + j, out[j]);
        }
      }
    }
  }
}
