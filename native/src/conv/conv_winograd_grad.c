// The weight gradient of 3x3 stride-1 convolutions by Winograd F(4x4,3x3): the adjoint of
// conv_winograd.c's forward (see there for the glossary and the numerics).
#include <stdlib.h>
#include <string.h>
#include "conv_winograd.h"
#include "conv_winograd_common.h"

// The xi strides of V^T (36, NT, Cp) and dM (36, K, NTp), and below of dU (36, K or MR, Cp): each a
// cache line past its natural size, which is often a multiple of 4 KB (see conv_winograd.c's j.vx).
#define VX(j) ((j)->NT * (j)->Cp + 16)
#define MX(j) ((j)->g->OC * ((j)->NT + VL) + 16)

/* ---- weight gradient ----
 * dU[xi] (K, C) = sum over tiles dM[xi] (K, NT) @ V[xi]^T (NT, C), with dM = A dY A^T per tile (the
 * adjoint of the output transform) and V the forward's input transform; then dw = G^T dU G per
 * (k, c) (the adjoint of the weight transform). This is the exact gradient of the F(4x4,3x3)
 * forward, which is the convolution itself; the output rows and columns past OH, OW that the tiles
 * cover have a zero gradient.
 * The product reduces over tiles, so one operand must have its channels contiguous: x is first laid
 * out channels-last and zero-padded, xt (N, Hp, Wp, Cp), where a tile's patch element (r, s) for 16
 * consecutive channels is one vector, and V^T (36, NT, Cp) comes out of the same transform vectorised
 * over channels. dM (36, K, NTp) keeps tiles contiguous (runs of tiles, as in the forward), and the
 * pointer-row microkernel multiplies its rows in place against rows of V^T. */

// xt rows (n, r) in [lo, hi) of the padded image: xt[n][r][col][c] = x[n][c][r - ph][col - pw], zero
// outside x and for channels C <= c < Cp; notes any Inf or NaN.
static void wgrad_channels_last(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  const nb_conv *g = j->g;
  const int64_t Cp = j->Cp, Wp = j->Wp;
  float z = 0.f;
  for (int64_t q = lo; q < hi; q++) {
    const int64_t n = q / j->Hp, r = q % j->Hp, ih = r - g->ph;
    float *d = j->xp + q * Wp * Cp;
    memset(d, 0, (size_t)(Wp * Cp) * sizeof(float));
    if (ih < 0 || ih >= g->H) continue;
    for (int64_t c = 0; c < g->C; c++) {
      const float *src = j->x + ((n * g->C + c) * g->H + ih) * g->W;
      float *dc = d + g->pw * Cp + c;
      for (int64_t i = 0; i < g->W; i++) {
        dc[i * Cp] = src[i];
        z += src[i] * 0.f;
      }
    }
  }
  if (z != z) atomic_store(&j->nonfinite, 1);
}

// V^T rows t in [lo, hi): 16 channels at a time, one transform per tile and channel block.
static void wgrad_inputs(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  const int64_t Cp = j->Cp, Wp = j->Wp, off[6] = {0, Cp, 2 * Cp, 3 * Cp, 4 * Cp, 5 * Cp};
  for (int64_t t = lo; t < hi; t++) {
    const int64_t n = t / j->T, ti = t % j->T / j->TW, tj = t % j->TW;
    const float *base = j->xp + ((n * j->Hp + 4 * ti) * Wp + 4 * tj) * Cp;
    for (int64_t c0 = 0; c0 < Cp; c0 += VL)
      j->isa->wino_input(base + c0, Wp * Cp, off, VL, j->vall + t * Cp + c0, VX(j));
  }
}

// Phase planes of dy for (n, k) in [lo, hi): dq[(n*K + k)*4 + b][row][u] = dy[row][4u + b], zero past
// (OH, OW), 4*TH rows of TW + 1; notes any Inf or NaN.
static void wgrad_dy_phases(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  const nb_conv *g = j->g;
  const int64_t rows = 4 * j->TH, qp = rows * j->ld, w4 = 4 * j->ld;
  enum { RB = 16 }; /* rows a block, de-interleaved as one run (as wino_phases) */
  float blk[RB * 4 * (NB_WINO_MAXR + 1)];
  for (int64_t q = lo; q < hi; q++) {
    const float *src = j->dy + q * g->OH * g->OW;
    float *dst = j->dq + q * 4 * qp, z[16] = {0};
    for (int64_t r0 = 0; r0 < rows; r0 += RB) {
      const int64_t nr = rows - r0 < RB ? rows - r0 : RB;
      for (int64_t r = r0; r < r0 + nr; r++) {
        float *row = blk + (r - r0) * w4;
        if (r < g->OH) memcpy(row, src + r * g->OW, (size_t)g->OW * sizeof(float));
        memset(row + (r < g->OH ? g->OW : 0), 0, (size_t)(w4 - (r < g->OH ? g->OW : 0)) * sizeof(float));
      }
      j->isa->wino_phase_row(blk, nr * j->ld, dst + r0 * j->ld, qp, z);
    }
    float t = 0.f;
    for (int l = 0; l < 16; l++) t += z[l];
    if (t != t) atomic_store(&j->nonfinite, 1);
  }
}

// dM rows k in [lo, hi): every image's tile rows in order (a run's spill lands on tiles written next;
// rows are NTp = NT + VL apart).
static void wgrad_dys(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  const int64_t K = j->g->OC, NTp = j->NT + VL, qp = 4 * j->TH * j->ld;
  for (int64_t k = lo; k < hi; k++)
    for (int64_t n = 0; n < j->g->N; n++)
      for (int64_t ti = 0; ti < j->TH; ti++)
        j->isa->wino_dy(j->dq + (n * K + k) * 4 * qp + 4 * ti * j->ld, j->ld, qp, ROUND_VL(j->TW),
                        j->dm + k * NTp + n * j->T + ti * j->TW, MX(j));
}

// dU for items (xi, output-channel panel) in [lo, hi): dU[xi][k][c] = sum_t dM[xi][k][t] V^T[xi][t][c].
static void wgrad_products(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  const int64_t K = j->g->OC, Cp = j->Cp, NTp = j->NT + VL, mr = j->im->mr, nr = j->im->nr;
  float tile[14 * 32] __attribute__((aligned(64))); /* mr x nr <= 14 x 32 */
  const float *arows[14];
  for (int64_t q = lo; q < hi; q++) {
    const int64_t xi = q / j->Kp, k0 = q % j->Kp * mr, m = K - k0 < mr ? K - k0 : mr;
    for (int64_t i = 0; i < mr; i++) arows[i] = j->dm + xi * MX(j) + (k0 + (i < m ? i : m - 1)) * NTp;
    const float *vt = j->vall + xi * VX(j);
    for (int64_t c0 = 0; c0 < Cp; c0 += nr) {
      j->im->ukernel_ptrs(j->NT, arows, vt + c0, Cp, tile, nr);
      for (int64_t i = 0; i < m; i++)
        memcpy(j->du + xi * (K * Cp + 16) + (k0 + i) * Cp + c0, tile + i * nr, (size_t)nr * sizeof(float));
    }
  }
}

// Output-channel panels [lo, hi), whole: dU of the panel for every xi into this thread's scratch,
// then dw of its rows from it. For many channels, where dU (36 K C) would not stay in cache.
static void wgrad_panels(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  const int64_t K = j->g->OC, C = j->g->C, Cp = j->Cp, NTp = j->NT + VL, mr = j->im->mr, nr = j->im->nr;
  float *du = nb_conv_scratch(NB_SLOT_WINO_DU, (size_t)(36 * (mr * Cp + 16)));
  if (!du) {
    atomic_store(&j->failed, 1);
    return;
  }
  float tile[14 * 32] __attribute__((aligned(64))); /* mr x nr <= 14 x 32 */
  const float *arows[14];
  for (int64_t kp = lo; kp < hi; kp++) {
    const int64_t k0 = kp * mr, m = K - k0 < mr ? K - k0 : mr;
    for (int xi = 0; xi < 36; xi++) {
      for (int64_t i = 0; i < mr; i++) arows[i] = j->dm + xi * MX(j) + (k0 + (i < m ? i : m - 1)) * NTp;
      const float *vt = j->vall + xi * VX(j);
      for (int64_t c0 = 0; c0 < Cp; c0 += nr) {
        j->im->ukernel_ptrs(j->NT, arows, vt + c0, Cp, tile, nr);
        for (int64_t i = 0; i < m; i++)
          memcpy(du + xi * (mr * Cp + 16) + i * Cp + c0, tile + i * nr, (size_t)nr * sizeof(float));
      }
    }
    for (int64_t i = 0; i < m; i++) j->isa->wino_dw(du + i * Cp, mr * Cp + 16, C, j->dw + (k0 + i) * C * 9);
  }
}

// dw rows k in [lo, hi) from dU.
static void wgrad_out(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  const int64_t C = j->g->C, K = j->g->OC;
  for (int64_t k = lo; k < hi; k++) j->isa->wino_dw(j->du + k * j->Cp, K * j->Cp + 16, C, j->dw + k * C * 9);
}

// Whether the weight gradient by F(4x4,3x3) beats the direct path: as worth_it, with dU (36 K C,
// written and read once) in place of the weight transform.
static int wgrad_worth_it(const nb_conv *g) {
  const double NT = g->N * (double)((g->OH + 3) / 4) * (double)((g->OW + 3) / 4);
  const double direct = 9.0 * g->C * g->OC * g->N * g->OH * g->OW / 0.7;
  const double io = (double)g->N * (g->C * g->H * g->W + g->OC * g->OH * g->OW);
  const double wino =
      36.0 * g->OC * g->C * NT / 0.85 + 30.0 * 36.0 * NT * (g->C + g->OC) + 30.0 * io + 30.0 * 36.0 * g->OC * g->C;
  return wino < 0.8 * direct;
}

int nb_conv_winograd_bwd_weight(float *dw, const float *dy, const float *x, const nb_conv *g) {
  const nb_gemm_impl *im = nb_wino_applies(g);
  if (!im || !im->ukernel_ptrs || (nb_wino_mode() == 1 && !wgrad_worth_it(g))) return 0;
  wino_job j = {.g = g, .im = im, .isa = nb_conv_select(), .x = x, .dy = dy, .dw = dw};
  j.TH = (g->OH + 3) / 4;
  j.TW = (g->OW + 3) / 4;
  j.T = j.TH * j.TW;
  j.NT = g->N * j.T;
  if (j.TW > NB_WINO_MAXR) return 0;
  j.Hp = 4 * j.TH + 2;
  j.Wp = 4 * j.TW + 2;
  j.ld = j.TW + 1;
  j.Cp = (g->C + im->nr - 1) / im->nr * im->nr;
  j.Kp = (g->OC + im->mr - 1) / im->mr;
  const int64_t C = g->C, K = g->OC, NTp = j.NT + VL, qp = 4 * j.TH * j.ld;
  j.xp = nb_conv_scratch(NB_SLOT_WINO_PHASES, (size_t)(g->N * j.Hp * j.Wp * j.Cp));
  j.vall = nb_conv_scratch(NB_SLOT_WINO_V, (size_t)(36 * VX(&j)));
  j.dq = nb_conv_scratch(NB_SLOT_WINO_M, (size_t)(g->N * K * 4 * qp + 2 * VL));
  j.dm = nb_conv_scratch(NB_SLOT_WINO_U, (size_t)(36 * MX(&j)));
  // dU whole (few channels: V^T of one xi serves every channel panel from cache) or per panel
  const int whole = 36.0 * K * j.Cp * sizeof(float) <= (double)(2 << 20);
  j.du = whole ? nb_conv_scratch(NB_SLOT_WINO_DU, (size_t)(36 * (K * j.Cp + 16))) : NULL;
  if (!j.xp || !j.vall || !j.dq || !j.dm || (whole && !j.du)) return 0;
  nb_parallel_for(g->N * j.Hp, (double)(j.Wp * j.Cp), wgrad_channels_last, &j);
  nb_parallel_for(g->N * K, (double)(4 * qp), wgrad_dy_phases, &j);
  memset(j.dq + g->N * K * 4 * qp, 0, 2 * VL * sizeof(float));
  if (atomic_load(&j.nonfinite)) return 0;
  nb_parallel_for(j.NT, 36.0 * 8 * j.Cp, wgrad_inputs, &j);
  nb_parallel_for(K, 36.0 * 8 * NTp, wgrad_dys, &j);
  if (whole) {
    nb_parallel_for(36 * j.Kp, (double)(j.NT * im->mr * j.Cp), wgrad_products, &j);
    nb_parallel_for(K, 36.0 * 4 * C, wgrad_out, &j);
  } else {
    nb_parallel_for(j.Kp, 36.0 * j.NT * im->mr * j.Cp, wgrad_panels, &j);
  }
  return !atomic_load(&j.failed);
}
