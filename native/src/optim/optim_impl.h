// The contiguous Adam / AdamW update, compiled three times (optim_scalar.c, optim_avx2.c,
// optim_avx512.c) with that ISA's flags; the driver (optim.c) picks one table at runtime.
// NB_ISA_TABLE names the table this compilation defines.
#include <math.h>
#include "optim.h"

// Adam / AdamW on n contiguous parameters, in place (nb_adam_args in optim.h holds the scalars).
static void adam_contig(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, int64_t n,
                        const nb_adam_args *a) {
  const float d = a->decoupled ? 1.0f - a->lr * a->wd : 1.0f, wg = a->decoupled ? 0.0f : a->wd;
  const float b1 = a->b1, b2 = a->b2, omb1 = a->omb1, omb2 = a->omb2, s = a->s, c2 = a->c2, eps = a->eps;
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i] + wg * p[i];
    float mi = b1 * m[i] + omb1 * gi;
    float vi = b2 * v[i] + omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * d - s * mi / (sqrtf(vi) * c2 + eps);
  }
}

const nb_optim_impl NB_ISA_TABLE = {
    .adam = adam_contig,
};
