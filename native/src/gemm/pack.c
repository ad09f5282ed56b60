// Packing: copies a strided block of A or B into the panel order the microkernels stream.
#include <string.h>
#include "gemm.h"

// A block (mc,kc) [rsa,csa] -> ap: panels of mr rows, each kc x mr k-major; the last panel zero-padded.
void nb_pack_a(float *ap, const float *a, int64_t rsa, int64_t csa, int64_t mc, int64_t kc, int mr) {
  for (int64_t i0 = 0; i0 < mc; i0 += mr) {
    int64_t m = mc - i0 < mr ? mc - i0 : mr;
    const float *ai = a + i0 * rsa;
    if (csa == 1) {
      for (int64_t k = 0; k < kc; k++) {
        for (int64_t i = 0; i < m; i++) ap[k * mr + i] = ai[i * rsa + k];
        for (int64_t i = m; i < mr; i++) ap[k * mr + i] = 0.f;
      }
    } else {
      for (int64_t k = 0; k < kc; k++) {
        const float *ak = ai + k * csa;
        if (rsa == 1)
          memcpy(ap + k * mr, ak, (size_t)m * sizeof(float));
        else
          for (int64_t i = 0; i < m; i++) ap[k * mr + i] = ak[i * rsa];
        for (int64_t i = m; i < mr; i++) ap[k * mr + i] = 0.f;
      }
    }
    ap += kc * mr;
  }
}

// B block (kc,nc) [rsb,csb] -> bp: panels of nr columns, each kc x nr row-major; last panel zero-padded.
void nb_pack_b(float *bp, const float *b, int64_t rsb, int64_t csb, int64_t kc, int64_t nc, int nr) {
  for (int64_t j0 = 0; j0 < nc; j0 += nr) {
    int64_t n = nc - j0 < nr ? nc - j0 : nr;
    const float *bj = b + j0 * csb;
    if (csb == 1) {
      for (int64_t k = 0; k < kc; k++) {
        memcpy(bp + k * nr, bj + k * rsb, (size_t)n * sizeof(float));
        for (int64_t j = n; j < nr; j++) bp[k * nr + j] = 0.f;
      }
    } else {
      // NOTE: transposed B (rsb == 1): walk each source column contiguously, scatter into the panel.
      for (int64_t j = 0; j < n; j++) {
        const float *col = bj + j * csb;
        for (int64_t k = 0; k < kc; k++) bp[k * nr + j] = col[k * rsb];
      }
      for (int64_t k = 0; k < kc; k++)
        for (int64_t j = n; j < nr; j++) bp[k * nr + j] = 0.f;
    }
    bp += kc * nr;
  }
}
