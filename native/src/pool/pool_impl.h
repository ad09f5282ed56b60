// Max pooling's row loops, compiled three times (pool_scalar.c, pool_avx2.c, pool_avx512.c) with that
// ISA's flags; the driver (pool.c) picks one table at runtime. NB_ISA_TABLE names the table this
// compilation defines.
#include "pool.h"

static void max_merge(float *restrict rm, const float *restrict row, int64_t n) {
  for (int64_t i = 0; i < n; i++) rm[i] = nb_max_nan(rm[i], row[i]);
}

// The 3-wide stride-2 windows of ResNet's stem pool with a constant stride (whole-vector permutes).
static void max_windows(float *restrict y, const float *restrict rm, int64_t n, int64_t sw, int64_t kw, int64_t dw) {
  if (sw == 2 && kw == 3 && dw == 1) {
    for (int64_t o = 0; o < n; o++) y[o] = nb_max_nan(nb_max_nan(rm[2 * o], rm[2 * o + 1]), rm[2 * o + 2]);
    return;
  }
  for (int64_t o = 0; o < n; o++) {
    float best = rm[o * sw];
    for (int64_t k = 1; k < kw; k++) best = nb_max_nan(best, rm[o * sw + k * dw]);
    y[o] = best;
  }
}

const nb_pool_impl NB_ISA_TABLE = {
    .max_merge = max_merge,
    .max_windows = max_windows,
};
