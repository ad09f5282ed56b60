// The row loops of the quantized network ops (qconv.h), compiled three times (qconv_scalar.c,
// qconv_avx2.c, qconv_avx512.c) with that ISA's flags and no float contraction, so every build rounds
// alike (and as the JS reference, src/backend/js/qconv.ts); the compiler vectorizes them. NB_ISA_TABLE
// names the table this compilation defines.
#include "qconv.h"

// NOTE: adding and subtracting 1.5 * 2^23 rounds half to even (|v| < 2^22 after the clamp) without the
// libm call a baseline x86-64 build would make for rintf; NaN becomes code 0 (as in JS).
static inline float q_round(float v) {
  v = v < -4e6f ? -4e6f : v > 4e6f ? 4e6f : v;
  return (v + 12582912.f) - 12582912.f;
}

static inline uint8_t q_clamp(float q, float lo) { return (uint8_t)(q >= lo ? (q > 255.f ? 255.f : q) : lo); }

static void maxpool_row(uint8_t *restrict y, const uint8_t *restrict img, int64_t H, int64_t W, int64_t C,
                        const nb_qwin *g, int64_t oh, int64_t OW) {
  for (int64_t ow = 0; ow < OW; ow++) {
    uint8_t *restrict out = y + ow * C;
    // NOTE: 0 is every code's lower bound, so a start at 0 is the max over the taps inside the input
    // (a window wholly in the padding, which the callers' size checks prevent, gives 0).
    memset(out, 0, (size_t)C);
    for (int64_t kh = 0; kh < g->kh; kh++) {
      const int64_t ih = oh * g->sh - g->ph + kh * g->dh;
      if (ih < 0 || ih >= H) continue;
      for (int64_t kw = 0; kw < g->kw; kw++) {
        const int64_t iw = ow * g->sw - g->pw + kw * g->dw;
        if (iw < 0 || iw >= W) continue;
        const uint8_t *restrict src = img + (ih * W + iw) * C;
        for (int64_t c = 0; c < C; c++) out[c] = out[c] > src[c] ? out[c] : src[c];
      }
    }
  }
}

static void sum_merge(uint32_t *restrict acc, const uint8_t *restrict row, int64_t n) {
  for (int64_t i = 0; i < n; i++) acc[i] += row[i];
}

static void add(uint8_t *restrict y, const uint8_t *restrict a, float as, int32_t az, const uint8_t *restrict b,
                float bs, int32_t bz, int64_t n, float inv_ys, int32_t yz, int32_t lo) {
  const float fz = (float)yz, flo = (float)lo;
  for (int64_t i = 0; i < n; i++) {
    const float v = (float)((int32_t)a[i] - az) * as + (float)((int32_t)b[i] - bz) * bs;
    y[i] = q_clamp(q_round(v * inv_ys) + fz, flo);
  }
}

static void quantize(uint8_t *restrict y, int64_t ldy, const float *restrict x, int64_t n, float inv, int32_t z) {
  const float fz = (float)z;
  if (ldy == 1) {
    for (int64_t i = 0; i < n; i++) y[i] = q_clamp(q_round(x[i] * inv) + fz, 0.f);
    return;
  }
  for (int64_t i = 0; i < n; i++) y[i * ldy] = q_clamp(q_round(x[i] * inv) + fz, 0.f);
}

static void clamp_low(uint8_t *restrict y, int64_t n, uint8_t lo) {
  for (int64_t i = 0; i < n; i++) y[i] = y[i] > lo ? y[i] : lo;
}

const nb_qconv_impl NB_ISA_TABLE = {
    .maxpool_row = maxpool_row,
    .sum_merge = sum_merge,
    .add = add,
    .quantize = quantize,
    .clamp_low = clamp_low,
};
