// AVX512-VNNI u8 x s8 -> s32 GEMM (vpdpbusd: 64 multiply-adds per instruction) and the AVX512-BF16
// GEMM (vdpbf16ps: 32 per instruction, f32 accumulation). Both walk the same packed panels (quant.h):
// a register tile of up to 8 rows x 2 panels (16 accumulators), one 32-bit broadcast of x per row and
// k-group. Compiled with -mavx512vnni -mavx512bf16 (target nabla_quant_vnni512); called only after
// cpuid says so.
#include <immintrin.h>
#include "quant.h"

#define MR 8

// The epilogue's per-column terms of 16 columns starting at column n (nc valid), computed once per
// panel rather than per row: the mask, xz * colsum, xs * ws and the bias.
typedef struct {
  __mmask16 m;
  __m512i xzc;
  __m512 comb, bias;
} q8_cols;

static inline q8_cols q8_cols16(const nb_q8_epi *e, int64_t n, int64_t nc) {
  q8_cols c;
  c.m = nc >= 16 ? 0xffff : nc <= 0 ? 0 : (__mmask16)((1u << nc) - 1);
  c.xzc = _mm512_mullo_epi32(_mm512_set1_epi32(e->xz), _mm512_maskz_loadu_epi32(c.m, e->colsum + n));
  c.comb = _mm512_mul_ps(_mm512_set1_ps(e->xs), _mm512_maskz_loadu_ps(c.m, e->ws + n));
  c.bias = e->bias ? _mm512_maskz_loadu_ps(c.m, e->bias + n) : _mm512_setzero_ps();
  return c;
}

// Epilogue of one row of 16 columns starting at column n: the same float operations, in the same
// order, as nb_q8_store.
static inline void q8_epi16(const nb_q8_epi *e, const q8_cols *c, int64_t i, int64_t n, __m512i acc) {
  __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc, c->xzc)), c->comb);
  if (e->bias) v = _mm512_add_ps(v, c->bias);
  if (e->yq) {
    __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(v, _mm512_set1_ps(e->inv_ys)), _MM_FROUND_TO_NEAREST_INT);
    r = _mm512_add_ps(r, _mm512_set1_ps((float)e->yz));
    r = _mm512_min_ps(_mm512_max_ps(r, _mm512_setzero_ps()), _mm512_set1_ps(255.f));
    _mm_mask_storeu_epi8(e->yq + i * e->ldy + n, c->m, _mm512_cvtusepi32_epi8(_mm512_cvtps_epi32(r)));
  } else {
    _mm512_mask_storeu_ps(e->y + i * e->ldy + n, c->m, v);
  }
}

// acc += u8 a . s8 w by groups of 4. NOTE: through inline assembly, as GCC (12) copies the accumulator
// to a new register around every _mm512_dpbusd_epi32 in a loop, which costs a third of the throughput.
static inline __attribute__((always_inline)) __m512i q8_dp(__m512i acc, __m512i a, __m512i w) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(w));
  return acc;
}

// Rows [i, i+mr) x panels at b0 (and b1 when nv = 2), then their epilogue: mr and nv constants where
// inlined. The accumulators are named variables that never leave registers.
static inline __attribute__((always_inline)) void q8_tile(const uint8_t *xq, int64_t ldx, const int8_t *b0,
                                                          const int8_t *b1, int64_t KG, const int mr, const int nv,
                                                          const nb_q8_epi *e, const q8_cols *c0, const q8_cols *c1,
                                                          int64_t i, int64_t n) {
#define Q8_ACC(r) __m512i p##r = _mm512_setzero_si512(), q##r = _mm512_setzero_si512()
  Q8_ACC(0);
  Q8_ACC(1);
  Q8_ACC(2);
  Q8_ACC(3);
  Q8_ACC(4);
  Q8_ACC(5);
  Q8_ACC(6);
  Q8_ACC(7);
#undef Q8_ACC
  for (int64_t g = 0; g < KG; g++) {
    const __m512i w0 = _mm512_loadu_si512(b0 + g * 64);
    const __m512i w1 = nv > 1 ? _mm512_loadu_si512(b1 + g * 64) : w0;
#define Q8_STEP(r)                                                                                                     \
  do {                                                                                                                 \
    if (mr <= r) break;                                                                                                \
    int32_t a4;                                                                                                        \
    __builtin_memcpy(&a4, xq + r * ldx + 4 * g, 4);                                                                    \
    const __m512i a = _mm512_set1_epi32(a4);                                                                           \
    p##r = q8_dp(p##r, a, w0);                                                                                         \
    if (nv > 1) q##r = q8_dp(q##r, a, w1);                                                                             \
  } while (0)
    Q8_STEP(0);
    Q8_STEP(1);
    Q8_STEP(2);
    Q8_STEP(3);
    Q8_STEP(4);
    Q8_STEP(5);
    Q8_STEP(6);
    Q8_STEP(7);
#undef Q8_STEP
  }
#define Q8_OUT(r)                                                                                                      \
  do {                                                                                                                 \
    if (mr <= r) break;                                                                                                \
    q8_epi16(e, c0, i + r, n, p##r);                                                                                   \
    if (nv > 1) q8_epi16(e, c1, i + r, n + 16, q##r);                                                                  \
  } while (0)
  Q8_OUT(0);
  Q8_OUT(1);
  Q8_OUT(2);
  Q8_OUT(3);
  Q8_OUT(4);
  Q8_OUT(5);
  Q8_OUT(6);
  Q8_OUT(7);
#undef Q8_OUT
}

#define Q8_CASE(m)                                                                                                     \
  case m:                                                                                                              \
    if (nv == 2)                                                                                                       \
      q8_tile(xq + i * ldx, ldx, b0, b1, KG, m, 2, e, &c0, &c1, i, n);                                                 \
    else                                                                                                               \
      q8_tile(xq + i * ldx, ldx, b0, b1, KG, m, 1, e, &c0, &c1, i, n);                                                 \
    break;

void nb_q8_gemm_vnni512(const uint8_t *xq, int64_t ldx, int64_t M, const int8_t *bp, int64_t K, int64_t n0, int64_t n1,
                        int64_t N, const nb_q8_epi *e) {
  (void)N;
  const int64_t KP = nb_q8_kp(K), KG = (K + 3) / 4;
  // NOTE: rows in blocks of 192 so that a block of x (192 x K bytes) stays in L2 while every panel pair
  // of this thread's columns passes over it.
  for (int64_t ib = 0; ib < M; ib += 192) {
    const int64_t ie = ib + 192 < M ? ib + 192 : M;
    for (int64_t n = n0; n < n1; n += 32) {
      const int nv = n1 - n > 16 ? 2 : 1;
      const int8_t *b0 = bp + (n / 16) * KP * 16, *b1 = b0 + KP * 16;
      const q8_cols c0 = q8_cols16(e, n, n1 - n), c1 = q8_cols16(e, n + 16, n1 - n - 16);
      for (int64_t i = ib; i < ie; i += MR) {
        switch (ie - i < MR ? (int)(ie - i) : MR) {
          Q8_CASE(1)
          Q8_CASE(2)
          Q8_CASE(3)
          Q8_CASE(4)
          Q8_CASE(5)
          Q8_CASE(6)
          Q8_CASE(7)
          Q8_CASE(8)
        }
      }
    }
  }
}

static inline __attribute__((always_inline)) void bf16_tile(const uint16_t *xb, int64_t ldx, const uint16_t *b0,
                                                            const uint16_t *b1, int64_t KG, const int mr, const int nv,
                                                            __m512 acc[MR][2]) {
  for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t g = 0; g < KG; g++) {
    const __m512bh w0 = (__m512bh)_mm512_loadu_si512(b0 + g * 32);
    const __m512bh w1 = nv > 1 ? (__m512bh)_mm512_loadu_si512(b1 + g * 32) : w0;
    for (int r = 0; r < mr; r++) {
      int32_t a2;
      __builtin_memcpy(&a2, xb + r * ldx + 2 * g, 4);
      const __m512bh a = (__m512bh)_mm512_set1_epi32(a2);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, w0);
      if (nv > 1) acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, w1);
    }
  }
}

#define BF_CASE(m)                                                                                                     \
  case m:                                                                                                              \
    if (nv == 2)                                                                                                       \
      bf16_tile(xb + i * ldx, ldx, b0, b1, KG, m, 2, acc);                                                             \
    else                                                                                                               \
      bf16_tile(xb + i * ldx, ldx, b0, b1, KG, m, 1, acc);                                                             \
    break;

static inline void bf16_store(float *y, const float *bias, int64_t nc, __m512 v) {
  const __mmask16 m = nc >= 16 ? 0xffff : (__mmask16)((1u << nc) - 1);
  if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias));
  _mm512_mask_storeu_ps(y, m, v);
}

void nb_bf16_gemm_avx512bf16(const uint16_t *xb, int64_t ldx, int64_t M, const uint16_t *bp, int64_t K, int64_t n0,
                             int64_t n1, int64_t N, const float *bias, float *y, int64_t ldy) {
  (void)N;
  const int64_t KP = nb_bf16_kp(K), KG = (K + 1) / 2;
  for (int64_t ib = 0; ib < M; ib += 128) {
    const int64_t ie = ib + 128 < M ? ib + 128 : M;
    for (int64_t n = n0; n < n1; n += 32) {
      const int nv = n1 - n > 16 ? 2 : 1;
      const uint16_t *b0 = bp + (n / 16) * KP * 16, *b1 = b0 + KP * 16;
      for (int64_t i = ib; i < ie; i += MR) {
        const int m = ie - i < MR ? (int)(ie - i) : MR;
        __m512 acc[MR][2];
        switch (m) {
          BF_CASE(1)
          BF_CASE(2)
          BF_CASE(3)
          BF_CASE(4)
          BF_CASE(5)
          BF_CASE(6)
          BF_CASE(7)
          BF_CASE(8)
        }
        for (int r = 0; r < m; r++) {
          bf16_store(y + (i + r) * ldy + n, bias ? bias + n : NULL, n1 - n, acc[r][0]);
          if (nv > 1) bf16_store(y + (i + r) * ldy + n + 16, bias ? bias + n + 16 : NULL, n1 - n - 16, acc[r][1]);
        }
      }
    }
  }
}
