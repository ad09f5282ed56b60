// AVX512-VNNI u8 x s8 -> s32 GEMM (vpdpbusd: 64 multiply-adds per instruction) and the AVX512-BF16
// GEMM (vdpbf16ps: 32 per instruction, f32 accumulation). Both walk the same packed panels (quant.h):
// a register tile of up to 8 rows x 2 panels (16 accumulators), one 32-bit broadcast of x per row and
// k-group. Also the int4 weight-only product (vpdpbusd on the unpacked nibbles, nb_q4_vnni512).
// Compiled with -mavx512vnni -mavx512bf16 (target nabla_quant_vnni512); called only after cpuid says so.
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

// ---- int4 weights x int8 activations (nb_q4_fn in quant.h) ----

#ifndef Q4_NR
#define Q4_NR 4 /* weight rows sharing each load of the activations */
#endif

// The weight scales of vector v's 16 lanes (4 bytes each) for G = 32 (4 groups a vector), 64 (2) or a
// multiple of 128 (one group over G/128 vectors); `lanes` maps lane -> group in the vector; the masked
// read stops at ng.
static inline __m512 q4_scales(const float *sc, int64_t v, int64_t G, int64_t ng, __m512i lanes) {
  const int64_t g0 = v * 128 / G;
  if (G >= 128) return _mm512_set1_ps(sc[g0]);
  const int64_t per = 128 / G, left = ng - g0 < per ? ng - g0 : per;
  return _mm512_permutexvar_ps(lanes,
                               _mm512_castps128_ps512(_mm_maskz_loadu_ps((__mmask8)((1u << left) - 1), sc + g0)));
}

// Weight rows r[0..nr) (rowb bytes apart) against one prepared activation row: per 64-byte vector, the
// low and high nibbles (codes 0..15) times the activation codes by vpdpbusd, starting from corr (the -8
// offset), then scaled per lane into float accumulators. nr a constant where inlined.
static inline __attribute__((always_inline)) void q4_rows(const uint8_t *r, int64_t rowb, const float *sc, int64_t ng,
                                                          const int8_t *lo, const int8_t *hi, const int32_t *corr,
                                                          const float *dl, int64_t G, __m512i lanes, const int nr,
                                                          float out[4]) {
  const int64_t nv = (rowb + 63) / 64;
  const __mmask64 last = rowb % 64 ? ((__mmask64)1 << (rowb % 64)) - 1 : ~(__mmask64)0;
  const __m512i m4 = _mm512_set1_epi8(15);
  const int64_t pf = 16 * rowb < 8192 ? 16 * rowb : 8192;
  __m512 acc[4];
  for (int t = 0; t < nr; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t v = 0; v < nv; v++) {
    const __mmask64 m = v == nv - 1 ? last : ~(__mmask64)0;
    const __m512i xl = _mm512_load_si512(lo + 64 * v), xh = _mm512_load_si512(hi + 64 * v);
    const __m512i c = _mm512_load_si512(corr + 16 * v);
    const __m512 d = _mm512_load_ps(dl + 16 * v);
    for (int t = 0; t < nr; t++) {
      // NOTE: the rows of a block are read side by side, which the hardware's stream prefetcher does not
      // follow (the LM head ran at the int8 kernel's time): ask for the bytes pf ahead, 16 rows or 8 KB
      // (a prefetch past the end does not fault)
      _mm_prefetch((const char *)(r + t * rowb + 64 * v + pf), _MM_HINT_T0);
      const __m512i w = _mm512_maskz_loadu_epi8(m, r + t * rowb + 64 * v);
      const __m512i wl = _mm512_and_si512(w, m4), wh = _mm512_and_si512(_mm512_srli_epi16(w, 4), m4);
      const __m512i s = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(c, wl, xl), wh, xh);
      const __m512 ws = _mm512_mul_ps(q4_scales(sc + t * ng, v, G, ng, lanes), d);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), ws, acc[t]);
    }
  }
  for (int t = 0; t < nr; t++) out[t] = _mm512_reduce_add_ps(acc[t]);
}

// Weight rows [n, n + nr) against every activation row.
static inline __attribute__((always_inline)) void q4_block(const nb_q4_act *a, int64_t M, const uint8_t *q,
                                                           const float *scales, int64_t G, int64_t ng, int64_t rowb,
                                                           __m512i lanes, int64_t n, const int nr, const float *bias,
                                                           float *y, int64_t ldy) {
  float out[4];
  for (int64_t i = 0; i < M; i++) {
    q4_rows(q + n * rowb, rowb, scales + n * ng, ng, a->lo + i * a->ld, a->hi + i * a->ld, a->corr + i * a->ld / 4,
            a->dl + i * a->ld / 4, G, lanes, nr, out);
    for (int t = 0; t < nr; t++) y[i * ldy + n + t] = out[t] + (bias ? bias[n + t] : 0.f);
  }
}

void nb_q4_vnni512(const nb_q4_act *a, int64_t M, const uint8_t *q, const float *scales, int64_t G, int64_t K,
                   int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy) {
  const int64_t ng = (K + G - 1) / G, rowb = ng * G / 2;
  const int shift = G == 32 ? 2 : G == 64 ? 3 : 4; /* lane -> group in its vector */
  const __m512i lanes =
      _mm512_srli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), shift);
  int64_t n = n0;
  for (; n + Q4_NR <= n1; n += Q4_NR) q4_block(a, M, q, scales, G, ng, rowb, lanes, n, Q4_NR, bias, y, ldy);
  for (; n < n1; n++) q4_block(a, M, q, scales, G, ng, rowb, lanes, n, 1, bias, y, ldy);
}
