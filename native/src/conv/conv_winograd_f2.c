// 3x3 stride-1 convolutions on tiny maps in eval-mode inference (batch 1 at 7x7: ResNet's layer4),
// by Winograd F(2x2,3x3): 16 products per 2x2 output tile and channel pair instead of 36. There a
// 7x7 map is 4 F(4x4,3x3) tiles, and the direct path streams 9.4 MB of weights for 115M multiplies;
// F(2x2,3x3) makes it 16 tiles against U (16, K, C): 2.25x fewer multiplies, and a transformed U
// 1.8x the weights rather than F(4x4,3x3)'s 4x. As conv_winograd.c's few-tile path, the products run
// transposed, M^T[xi] (tiles, K) = V^T[xi] (tiles, C) @ U^T[xi] (C, K), on an 8x48 microkernel:
// TR tiles down, TC output channels across, U^T (16, K48, C, tw) from the cache of transformed weights.
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
// Numerics: the transforms' coefficients are 0, ±1/2 and ±1; the error is that of direct summation.
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "conv_winograd.h"
#include "conv_winograd_common.h"

#define F2_TAG 1002 /* the cache's layout tag for U^T of F(2x2,3x3) */

typedef struct {
  const nb_conv *g;
  const nb_conv_epi *e;
  const nb_gemm_impl *im;
  float *y, *vt, *u;
  const float *x, *w;
  int64_t TH, TW, T, NT, K48, PR;
  atomic_int nonfinite, failed;
} f2_job;

// U^T panels [lo, hi) of tw = ut_width(kp) output channels: u[xi*UTX + kp*C*TC + c*tw + i] =
// (G w_kc G^T)[xi] for k = kp*TC + i (0 past K), xi = 4r + s.
static void f2_weights(void *p, int64_t lo, int64_t hi) {
  f2_job *j = (f2_job *)p;
  const nb_conv *g = j->g;
  const int64_t C = g->C;
  float z = 0.f;
  for (int64_t kp = lo; kp < hi; kp++)
    for (int64_t c = 0, tw = ut_width(g, kp); c < C; c++)
      for (int64_t i = 0; i < tw; i++) {
        const int64_t k = kp * TC + i;
        float u[16] = {0};
        if (k < g->OC) {
          const float *w = j->w + (k * C + c) * 9;
          float t[4][3];
          for (int b = 0; b < 3; b++) { /* t = G w */
            const float g0 = w[b], g1 = w[3 + b], g2 = w[6 + b];
            z += (g0 + g1 + g2) * 0.f;
            t[0][b] = g0;
            t[1][b] = (g0 + g1 + g2) * 0.5f;
            t[2][b] = (g0 - g1 + g2) * 0.5f;
            t[3][b] = g2;
          }
          for (int a = 0; a < 4; a++) { /* u = t G^T */
            const float g0 = t[a][0], g1 = t[a][1], g2 = t[a][2];
            u[4 * a] = g0;
            u[4 * a + 1] = (g0 + g1 + g2) * 0.5f;
            u[4 * a + 2] = (g0 - g1 + g2) * 0.5f;
            u[4 * a + 3] = g2;
          }
        }
        for (int xi = 0; xi < 16; xi++) j->u[xi * UTX(g) + kp * C * TC + c * tw + i] = u[xi];
      }
  if (z != z) atomic_store(&j->nonfinite, 1);
}

static int f2_fill(void *p, float *u) {
  f2_job *j = (f2_job *)p;
  j->u = u;
  nb_parallel_for(j->K48, 64.0 * TC * j->g->C, f2_weights, j);
  return !atomic_load(&j->nonfinite);
}

// Tile tg's outputs for channels [k0, k0 + kn) from its products mt (16 rows TR*TC apart): the output
// transform over the panel's TC channels, scale and shift applied there.
static void f2_tile(void *p, const float *mt, int64_t tg, int64_t k0, int64_t kn, const float *sc, const float *sh) {
  const f2_job *j = (const f2_job *)p;
  const nb_conv *g = j->g;
  const nb_conv_epi *e = j->e;
  const int64_t K = g->OC, L = g->OH * g->OW, n = tg / j->T, ti = tg % j->T / j->TW, tj = tg % j->TW;
  float o[2][2][TC];
  for (int64_t l = 0; l < TC; l++) { /* Y = A^T M A per channel l */
    float q[2][4];
    for (int s = 0; s < 4; s++) {
      const float m0 = mt[s * TR * TC + l], m1 = mt[(4 + s) * TR * TC + l], m2 = mt[(8 + s) * TR * TC + l],
                  m3 = mt[(12 + s) * TR * TC + l];
      q[0][s] = m0 + m1 + m2;
      q[1][s] = m1 - m2 - m3;
    }
    for (int a = 0; a < 2; a++) {
      o[a][0][l] = (q[a][0] + q[a][1] + q[a][2]) * sc[l] + sh[l];
      o[a][1][l] = (q[a][1] - q[a][2] - q[a][3]) * sc[l] + sh[l];
    }
  }
  for (int64_t l = 0; l < kn; l++)
    for (int a = 0; a < 2 && 2 * ti + a < g->OH; a++)
      for (int b = 0; b < 2 && 2 * tj + b < g->OW; b++) {
        const int64_t at = (n * K + k0 + l) * L + (2 * ti + a) * g->OW + 2 * tj + b;
        float v = o[a][b][l] + (e && e->res ? e->res[at] : 0.f);
        j->y[at] = e && e->relu ? nb_keep_positive(v, v) : v;
      }
}

// Items t in [lo, hi): output-channel panel t / PR against tile row panel t % PR.
static void f2_tasks(void *p, int64_t lo, int64_t hi) {
  f2_job *j = (f2_job *)p;
  if (!nb_wino_transposed_tasks(j->im, 16, j->g, j->e, j->vt, j->u, j->NT, lo, hi, f2_tile, j))
    atomic_store(&j->failed, 1);
}

int nb_conv_winograd_f2_fwd(float *y, const float *x, const float *w, const nb_conv *g, const nb_conv_epi *e,
                            double stamp) {
  const nb_gemm_impl *im = nb_wino_applies(g);
  if (!nb_wino_transposed_impl(im)) return 0;
  f2_job j = {.g = g, .e = e, .im = nb_wino_transposed_impl(im), .y = y, .x = x, .w = w};
  j.TH = (g->OH + 1) / 2;
  j.TW = (g->OW + 1) / 2;
  j.T = j.TH * j.TW;
  j.NT = g->N * j.T;
  j.K48 = (g->OC + TC - 1) / TC;
  j.PR = (j.NT + TR - 1) / TR;
  if (j.PR > 4 || (nb_wino_mode() == 1 && !nb_wino_transposed_worth_it(g, j.NT, 16, 8.0))) return 0;
  j.vt = nb_conv_scratch(NB_SLOT_WINO_V, (size_t)(j.PR * 16 * VTX(g->C)));
  if (!j.vt || !nb_wino_few_inputs(g, x, 2, j.NT, j.vt)) return 0;
  nb_wino_cache_lock();
  j.u = nb_wino_cached(w, g->OC, g->C, F2_TAG, stamp, 16 * UTX(g), f2_fill, &j);
  if (j.u) nb_parallel_for(j.K48 * j.PR, 16.0 * TR * TC * g->C, f2_tasks, &j);
  nb_wino_cache_unlock();
  return j.u && !atomic_load(&j.failed);
}
