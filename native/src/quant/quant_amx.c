// AMX tile products (Intel Sapphire Rapids and later): int8 by tdpbusd and bf16 by tdpbf16ps on a 2x2 block
// of 16x16 accumulator tiles (32 rows x 32 columns). A B tile is 16 consecutive k-groups of one packed
// panel read in place (64-byte rows, quant.h), an A tile 16 rows of the padded activations. Compiled with
// -mamx-tile -mamx-int8 -mamx-bf16 (target nabla_quant_amx) and called only when nb_amx_usable() says the
// kernel granted the tile state.
#include <immintrin.h>
#include <string.h>
#include "quant.h"

typedef struct {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} __attribute__((packed)) tilecfg;

// Tiles 0-3: C (rows ra/rb x 64 bytes), 4-5: A (ra, rb rows x 64 bytes), 6-7: B (16 rows x 64 bytes).
static void configure(int ra, int rb) {
  tilecfg c;
  memset(&c, 0, sizeof c);
  c.palette = 1;
  const int rows[8] = {ra, ra, rb, rb, ra, rb, 16, 16};
  for (int t = 0; t < 8; t++) {
    c.rows[t] = (uint8_t)(rows[t] > 0 ? rows[t] : 1);
    c.colsb[t] = 64;
  }
  _tile_loadconfig(&c);
}

void nb_q8_gemm_amx(const uint8_t *xq, int64_t ldx, int64_t M, const int8_t *bp, int64_t K, int64_t n0, int64_t n1,
                    int64_t N, const nb_q8_epi *e) {
  (void)N;
  const int64_t KP = nb_q8_kp(K);
  int32_t cbuf[32 * 32];
  int cfg_a = -1, cfg_b = -1;
  for (int64_t i = 0; i < M; i += 32) {
    const int ra = M - i >= 16 ? 16 : (int)(M - i), rb = M - i - 16 >= 16 ? 16 : (int)(M - i - 16 > 0 ? M - i - 16 : 0);
    if (ra != cfg_a || rb != cfg_b) configure(ra, rb), cfg_a = ra, cfg_b = rb;
    for (int64_t n = n0; n < n1; n += 32) {
      const int two = n1 - n > 16;
      const int8_t *b0 = bp + (n / 16) * KP * 16, *b1 = b0 + KP * 16;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int64_t k = 0; k < KP; k += 64) {
        _tile_loadd(4, xq + i * ldx + k, ldx);
        _tile_loadd(6, b0 + k * 16, 64);
        _tile_dpbusd(0, 4, 6);
        if (two) {
          _tile_loadd(7, b1 + k * 16, 64);
          _tile_dpbusd(1, 4, 7);
        }
        if (rb) {
          _tile_loadd(5, xq + (i + 16) * ldx + k, ldx);
          _tile_dpbusd(2, 5, 6);
          if (two) _tile_dpbusd(3, 5, 7);
        }
      }
      _tile_stored(0, cbuf, 128);
      _tile_stored(1, cbuf + 16, 128);
      _tile_stored(2, cbuf + 16 * 32, 128);
      _tile_stored(3, cbuf + 16 * 32 + 16, 128);
      const int64_t nc = n1 - n < 32 ? n1 - n : 32;
      for (int r = 0; r < ra + rb; r++)
        for (int64_t j = 0; j < nc; j++) nb_q8_store(e, i + r, n + j, cbuf[r * 32 + j]);
    }
  }
  _tile_release();
}

void nb_bf16_gemm_amx(const uint16_t *xb, int64_t ldx, int64_t M, const uint16_t *bp, int64_t K, int64_t n0, int64_t n1,
                      int64_t N, const float *bias, float *y, int64_t ldy) {
  (void)N;
  const int64_t KP = nb_bf16_kp(K);
  float cbuf[32 * 32];
  int cfg_a = -1, cfg_b = -1;
  for (int64_t i = 0; i < M; i += 32) {
    const int ra = M - i >= 16 ? 16 : (int)(M - i), rb = M - i - 16 >= 16 ? 16 : (int)(M - i - 16 > 0 ? M - i - 16 : 0);
    if (ra != cfg_a || rb != cfg_b) configure(ra, rb), cfg_a = ra, cfg_b = rb;
    for (int64_t n = n0; n < n1; n += 32) {
      const int two = n1 - n > 16;
      const uint16_t *b0 = bp + (n / 16) * KP * 16, *b1 = b0 + KP * 16;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int64_t k = 0; k < KP; k += 32) {
        _tile_loadd(4, xb + i * ldx + k, ldx * 2);
        _tile_loadd(6, b0 + k * 16, 64);
        _tile_dpbf16ps(0, 4, 6);
        if (two) {
          _tile_loadd(7, b1 + k * 16, 64);
          _tile_dpbf16ps(1, 4, 7);
        }
        if (rb) {
          _tile_loadd(5, xb + (i + 16) * ldx + k, ldx * 2);
          _tile_dpbf16ps(2, 5, 6);
          if (two) _tile_dpbf16ps(3, 5, 7);
        }
      }
      _tile_stored(0, cbuf, 128);
      _tile_stored(1, cbuf + 16, 128);
      _tile_stored(2, cbuf + 16 * 32, 128);
      _tile_stored(3, cbuf + 16 * 32 + 16, 128);
      const int64_t nc = n1 - n < 32 ? n1 - n : 32;
      for (int r = 0; r < ra + rb; r++)
        for (int64_t j = 0; j < nc; j++) y[(i + r) * ldy + n + j] = cbuf[r * 32 + j] + (bias ? bias[n + j] : 0.f);
    }
  }
  _tile_release();
}
