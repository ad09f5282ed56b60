// 3x3 stride-1 convolutions by Winograd's minimal filtering, F(4x4, 3x3): each 4x4 output tile is
// A^T [ sum_c (G g_kc G^T) ⊙ (B^T d_c B) ] A, 36 products per tile and channel pair instead of 144.
// The sum over channels is, for each of the 36 transform points xi, a GEMM
//     M[xi] (K, tiles) = U[xi] (K, C) @ V[xi] (C, tiles),
// run on the SGEMM microkernels. onnxruntime's and oneDNN's direct convolutions reach ~90% of the
// FMA peak; at 4x fewer multiplies this path does the same work in about half their time.
// Glossary as in conv.c, plus: K = OC; TH, TW tiles down and across an image (ceil(OH/4), ceil(OW/4));
// NT = N*TH*TW tiles in all, numbered image by image, row by row; a panel is NR consecutive tiles
// (the microkernel's width); xi = 6*r + s a transform point.
//
// Forward work: U (36, Kp, C, MR) is the packed transformed weights (Kp panels of MR output channels).
// - Many tile panels: a task owns one panel; it transforms the panel's input for every channel into
//   V (36, C, NR + VL) in its own scratch, then for each group of KG channel panels runs the 36 GEMMs
//   into M (KG, 36, MR, NR) and transforms M back into output rows, applying the epilogue as it
//   stores them. V and M stay in the core's L2 (for C <= 128; for 256 and 512 they stream from L3).
// - Few tile panels (fewer than two a thread: a 7x7 map at batch 8): V of every panel first, then
//   (channel panel, tile panel) items over it, so that both threads have work.
// - Few tiles (at most 16, or up to 64 where 32-tile panels would waste more: batch 1 on 14x14 and
//   28x28 maps), in eval-mode inference on AVX-512 or AVX2: the products run transposed, output
//   channels across the microkernel, on an input transform gathered straight from x (see "few tiles"
//   below); tiny maps (batch 1 at 7x7) use F(2x2,3x3) the same way (conv_winograd_f2.c).
// U comes from a cache across calls in eval-mode inference (exact: see conv_winograd_common.c), else
// is transformed per call. The input gradient is this forward on flipped weights (conv.c); the weight
// gradient (conv_winograd_grad.c) runs the adjoint transforms.
//
// Numerics: the weights are transformed in float (one rounding per operation, ~1e-7 relative). The
// transforms mix a tile's 36 inputs with weights up to 5, so the rounding error of an output is
// relative to the largest values of its 6x6 patch rather than of its own 3x3 window: ~4e-6 of the
// output's scale at C = 512 (direct summation: ~1e-7). An Inf or NaN anywhere in a patch would reach
// all 16 outputs of the tile, so inputs or weights (or output gradients) that are not all finite
// take the direct path, as does everything when NABLA_WINOGRAD=0 is set.
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "nabla.h"
#include "conv_common.h"
#include "gemm.h"
#include "conv_winograd.h"
#include "conv_winograd_common.h"

#define WC 64 /* input channels per item of the input transform (few panels) */
#define KG 4  /* output-channel panels per group: M (KG*36*MR*NR floats) stays in L2 */
// The xi stride of U (36, Kp, C, MR): a cache line past a multiple of 4 KB (see j.vx)
#define UX(j) ((j)->Kp * (j)->g->C * (j)->im->mr + 16)

// Phase planes of channels (n, c) in [lo, hi): xp[(n*C + c)*4 + m][row][u] = xpad[row][4u + m] for
// padded rows [0, Hp) and u in [0, TW + 1), zero outside x; notes any Inf or NaN of x.
static void wino_phases(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  const nb_conv *g = j->g;
  // NOTE: rows are padded into `rows` a block at a time and de-interleaved as one run: a phase plane's
  // rows are contiguous, and one row at a time (ld = 15 at 56x56) never filled a vector
  enum { RB = 16 };
  const int64_t w4 = 4 * j->ld;
  float rows[RB * 4 * (NB_WINO_MAXR + 1)];
  for (int64_t q = lo; q < hi; q++) {
    const float *src = j->x + q * g->H * g->W;
    float *dst = j->xp + q * 4 * j->plane;
    float z[16] = {0}; /* a NaN lane exactly when the plane holds an Inf or a NaN */
    for (int64_t r0 = 0; r0 < j->Hp; r0 += RB) {
      const int64_t nr = j->Hp - r0 < RB ? j->Hp - r0 : RB;
      for (int64_t r = r0; r < r0 + nr; r++) {
        // column c of the padded row is x column c - pw (zero outside x)
        float *row = rows + (r - r0) * w4;
        const int64_t ih = r - g->ph;
        if (ih < 0 || ih >= g->H) {
          memset(row, 0, (size_t)w4 * sizeof(float));
          continue;
        }
        const int64_t ncopy = g->W < w4 - g->pw ? g->W : w4 - g->pw;
        for (int64_t i = 0; i < g->pw && i < w4; i++) row[i] = 0.f;
        memcpy(row + g->pw, src + ih * g->W, (size_t)ncopy * sizeof(float));
        for (int64_t i = g->pw + ncopy; i < w4; i++) row[i] = 0.f;
      }
      j->isa->wino_phase_row(rows, nr * j->ld, dst + r0 * j->ld, j->plane, z);
    }
    float t = 0.f;
    for (int l = 0; l < 16; l++) t += z[l];
    if (t != t) atomic_store(&j->nonfinite, 1);
  }
}

// U rows of output-channel panel kp (channels >= K zero): dst[xi*xs + c*MR + i] = (G w_kc G^T)[xi]
// for k = kp*MR + i. Returns NaN when a weight is Inf or NaN, else 0.
static float weights_panel(const wino_job *j, int64_t kp, float *dst, int64_t xs) {
  const int64_t C = j->g->C, mr = j->im->mr, m = j->g->OC - kp * mr < mr ? j->g->OC - kp * mr : mr;
  return j->isa->wino_weights(j->w + kp * mr * C * 9, C * 9, m, C, dst, xs, mr);
}

// All of U, panels [lo, hi): U (36, Kp, C, MR).
static void wino_weights(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  const int64_t C = j->g->C, mr = j->im->mr;
  float z = 0.f;
  for (int64_t kp = lo; kp < hi; kp++) z += weights_panel(j, kp, j->u + kp * C * mr, UX(j));
  if (z != z) atomic_store(&j->nonfinite, 1);
}

// The runs of a panel: tiles [t, t + R) of one tile row, R <= TW.
typedef struct {
  int64_t n, ti, tj, R, lane;
} wino_run;

static int panel_runs(const wino_job *j, int64_t p, wino_run *runs) {
  const int64_t nr = j->im->nr, t1 = (p + 1) * nr < j->NT ? (p + 1) * nr : j->NT;
  int count = 0;
  for (int64_t t = p * nr; t < t1;) {
    const int64_t n = t / j->T, r = t % j->T, ti = r / j->TW, tj = r % j->TW;
    const int64_t R = j->TW - tj < t1 - t ? j->TW - tj : t1 - t;
    runs[count++] = (wino_run){n, ti, tj, R, t - p * nr};
    t += R;
  }
  return count;
}

// V (36, C, vs) of a panel's tiles, channels [c0, c1), at v; lanes past its last tile are zero.
// Wide maps transform each run in place on the phase planes; narrow ones (a run of a 7x7 map is 2
// tiles) first gather the panel's 6x6 patches into d, so that one transform covers all its tiles.
static void panel_input(const wino_job *j, const wino_run *runs, int nrun, int64_t c0, int64_t c1, float *v) {
  const int64_t C = j->g->C, nr = j->im->nr, vs = j->vs, used = runs[nrun - 1].lane + runs[nrun - 1].R;
  if (j->TW >= VL / 2) {
    const int64_t off[6] = {0, j->plane, 2 * j->plane, 3 * j->plane, 1, j->plane + 1};
    for (int64_t c = c0; c < c1; c++) {
      for (int q = 0; q < nrun; q++) {
        const wino_run *rn = &runs[q];
        const float *xp = j->xp + (rn->n * C + c) * 4 * j->plane + 4 * rn->ti * j->ld + rn->tj;
        j->isa->wino_input(xp, j->ld, off, ROUND_VL(rn->R), v + c * vs + rn->lane, j->vx);
      }
      if (used < nr)
        for (int xi = 0; xi < 36; xi++) memset(v + xi * j->vx + c * vs + used, 0, (size_t)(nr - used) * sizeof(float));
    }
    return;
  }
  float d[36][NB_WINO_MAXR];
  const int64_t M = NB_WINO_MAXR, off[6] = {0, M, 2 * M, 3 * M, 4 * M, 5 * M};
  memset(d, 0, sizeof d);
  for (int64_t c = c0; c < c1; c++) {
    for (int q = 0; q < nrun; q++) {
      const wino_run *rn = &runs[q];
      const float *xp = j->xp + (rn->n * C + c) * 4 * j->plane + 4 * rn->ti * j->ld + rn->tj;
      for (int64_t l = 0; l < rn->R; l++)
        for (int r = 0; r < 6; r++)
          for (int s = 0; s < 6; s++) d[6 * r + s][rn->lane + l] = xp[r * j->ld + (s & 3) * j->plane + (s >> 2) + l];
    }
    j->isa->wino_input(&d[0][0], 6 * M, off, ROUND_VL(used), v + c * vs, j->vx);
    if (ROUND_VL(used) < nr)
      for (int xi = 0; xi < 36; xi++)
        memset(v + xi * j->vx + c * vs + ROUND_VL(used), 0, (size_t)(nr - ROUND_VL(used)) * sizeof(float));
  }
}

// Outputs of channels [kb, kb + MR) from their products m (36, MR, NR) over a panel's tiles: one
// transform over every tile of the panel per channel, then each run's rows stored with the epilogue.
static void panel_output(const wino_job *j, const wino_run *runs, int nrun, const float *m, int64_t kb) {
  const nb_conv *g = j->g;
  const int64_t K = g->OC, mr = j->im->mr, nr = j->im->nr, L = g->OH * g->OW;
  const int64_t Rv = ROUND_VL(runs[nrun - 1].lane + runs[nrun - 1].R);
  float o[4 * 4 * NB_WINO_MAXR];
  for (int64_t i = 0; i < mr && kb + i < K; i++) {
    const int64_t k = kb + i;
    j->isa->wino_output(m + i * nr, mr * nr, Rv, NULL, NULL, o);
    for (int r = 0; r < nrun; r++) {
      const wino_run *rn = &runs[r];
      const int64_t ow0 = 4 * rn->tj, cols = g->OW - ow0 < 4 * rn->R ? g->OW - ow0 : 4 * rn->R;
      for (int a = 0; a < 4 && 4 * rn->ti + a < g->OH; a++) {
        float *dst = j->y + (rn->n * K + k) * L + (4 * rn->ti + a) * g->OW + ow0;
        const float *src = o + a * 4 * Rv + 4 * rn->lane;
        if (j->e)
          nb_conv_epilogue_run(j->isa, dst, src, cols, j->e, k, dst - j->y);
        else
          memcpy(dst, src, (size_t)cols * sizeof(float));
      }
    }
  }
}

// Many panels: task t owns tile panel t. It transforms the panel's input into its own V, then for
// each group of KG output-channel panels runs the 36 GEMMs against the shared U and transforms the
// products back.
static void wino_tasks(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  const int64_t C = j->g->C, mr = j->im->mr, nr = j->im->nr, vs = j->vs;
  float *v = nb_conv_scratch(NB_SLOT_WINO_V, (size_t)(36 * j->vx));
  float *m = nb_conv_scratch(NB_SLOT_WINO_M, (size_t)(KG * 36 * mr * nr));
  if (!v || !m) {
    atomic_store(&j->failed, 1);
    return;
  }
  wino_run runs[NB_WINO_MAXR + 1];
  for (int64_t t = lo; t < hi; t++) {
    const int nrun = panel_runs(j, t, runs);
    panel_input(j, runs, nrun, 0, C, v);
    for (int64_t kg = 0; kg < j->Kp; kg += KG) {
      const int64_t kn = j->Kp - kg < KG ? j->Kp - kg : KG;
      for (int xi = 0; xi < 36; xi++)
        for (int64_t q = 0; q < kn; q++)
          j->im->ukernel(C, j->u + xi * UX(j) + (kg + q) * C * mr, v + xi * j->vx, vs, m + (q * 36 + xi) * mr * nr, nr,
                         0);
      for (int64_t q = 0; q < kn; q++) panel_output(j, runs, nrun, m + q * 36 * mr * nr, (kg + q) * mr);
    }
  }
}

// Few panels (fewer than two a thread): first V of every panel, (panel, 64-channel block) items ...
static void wino_inputs(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  const int64_t C = j->g->C, cb = (C + WC - 1) / WC;
  wino_run runs[NB_WINO_MAXR + 1];
  for (int64_t t = lo; t < hi; t++) {
    const int64_t pn = t / cb, c0 = (t % cb) * WC, c1 = c0 + WC < C ? c0 + WC : C;
    panel_input(j, runs, panel_runs(j, pn, runs), c0, c1, j->vall + pn * 36 * j->vx);
  }
}

// ... then item t takes output-channel panel t / P against tile panel t % P, with U's panel from the
// cache or the whole U transformed up front, or (a single tile panel, U not cached: 7x7 maps in
// training) transformed by the item itself, so that U never makes the round trip through memory
// (38 MB for 512 x 512 channels).
static void wino_channel_tasks(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  const int64_t C = j->g->C, mr = j->im->mr, nr = j->im->nr, vs = j->vs;
  float *u = j->u ? NULL : nb_conv_scratch(NB_SLOT_WINO_U, (size_t)(36 * (C * mr + 16)));
  float *m = nb_conv_scratch(NB_SLOT_WINO_M, (size_t)(36 * mr * nr));
  if ((!j->u && !u) || !m) {
    atomic_store(&j->failed, 1);
    return;
  }
  wino_run runs[NB_WINO_MAXR + 1];
  float z = 0.f;
  for (int64_t t = lo; t < hi; t++) {
    const int64_t kp = t / j->P, pn = t % j->P;
    const float *up = u;
    int64_t uxs = C * mr + 16; /* one panel's U, xi rows off 4 KB multiples as UX */
    if (j->u) {
      up = j->u + kp * C * mr;
      uxs = UX(j);
    } else
      z += weights_panel(j, kp, u, uxs);
    const int nrun = panel_runs(j, pn, runs);
    const float *v = j->vall + pn * 36 * j->vx;
    for (int xi = 0; xi < 36; xi++) j->im->ukernel(C, up + xi * uxs, v + xi * j->vx, vs, m + xi * mr * nr, nr, 0);
    panel_output(j, runs, nrun, m, kp * mr);
  }
  if (z != z) atomic_store(&j->nonfinite, 1);
}

/* ---- few tiles (batch 1 on 14x14 and 28x28 maps): output channels across the microkernel ----
 * (the input transform and the products are conv_winograd_common.c's, shared with F(2x2,3x3))
 * With 16 or 4 tiles an image, a panel of 32 tiles is mostly empty. Transposed, the products are
 * M^T[xi] (tiles, K) = V^T[xi] (tiles, C) @ U^T[xi] (C, K): an 8x48 microkernel takes TR tiles down
 * and TC output channels across, U^T (36, K48, C, TC) comes from the cache, and the output transform
 * runs over the TC channels of one tile. AVX-512 or AVX2 (nb_wino_transposed_impl), in eval-mode
 * inference (U^T cached) only. */

// U^T panels [lo, hi): U^T[xi][kp][c][i] = U[xi] of k = kp*TC + i, i < tw = ut_width(kp) (0 past K).
static void wino_weights_t(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  const nb_conv *g = j->g;
  const int64_t C = g->C, xs = UTX(g);
  float z = 0.f;
  for (int64_t kp = lo; kp < hi; kp++)
    for (int64_t q = 0, tw = ut_width(g, kp); q < tw; q += 16) { /* wino_weights does 16 channels a call */
      const int64_t k0 = kp * TC + q, m = g->OC - k0 < 16 ? (g->OC > k0 ? g->OC - k0 : 0) : 16;
      z += j->isa->wino_weights(j->w + (m > 0 ? k0 : 0) * C * 9, C * 9, m, C, j->u + kp * C * TC + q, xs, tw);
    }
  if (z != z) atomic_store(&j->nonfinite, 1);
}

// Tile tg's outputs for channels [k0, k0 + kn) from its products mt (36 rows TR*TC apart).
static void few_tile(void *p, const float *mt, int64_t tg, int64_t k0, int64_t kn, const float *sc, const float *sh) {
  const wino_job *j = (const wino_job *)p;
  const nb_conv *g = j->g;
  const nb_conv_epi *e = j->e;
  const int64_t K = g->OC, L = g->OH * g->OW, n = tg / j->T, ti = tg % j->T / j->TW, tj = tg % j->TW;
  const int64_t cols = g->OW - 4 * tj < 4 ? g->OW - 4 * tj : 4;
  float o[4 * 4 * TC];
  j->isa->wino_output(mt, TR * TC, TC, sc, sh, o);
  for (int64_t l = 0; l < kn; l++)
    for (int a = 0; a < 4 && 4 * ti + a < g->OH; a++) {
      float *dst = j->y + (n * K + k0 + l) * L + (4 * ti + a) * g->OW + 4 * tj;
      const float *src = o + a * 4 * TC + 4 * l, *res = e && e->res ? e->res + (dst - j->y) : NULL;
      for (int64_t b = 0; b < cols; b++) {
        float v = src[b] + (res ? res[b] : 0.f);
        dst[b] = e && e->relu ? nb_keep_positive(v, v) : v;
      }
    }
}

// Items t in [lo, hi): output-channel panel t / PR against tile row panel t % PR.
static void few_tasks(void *p, int64_t lo, int64_t hi) {
  wino_job *j = (wino_job *)p;
  if (!nb_wino_transposed_tasks(j->im, 36, j->g, j->e, j->vt, j->u, j->NT, lo, hi, few_tile, j))
    atomic_store(&j->failed, 1);
}

// Fill functions for nb_wino_cached: U (36, Kp, C, MR) of a job, or U^T (36, K48, C, tw).
static int fill_u(void *p, float *u) {
  wino_job *j = (wino_job *)p;
  j->u = u;
  nb_parallel_for(j->Kp, 200.0 * j->im->mr * j->g->C, wino_weights, j);
  return !atomic_load(&j->nonfinite);
}

static int fill_ut(void *p, float *u) {
  wino_job *j = (wino_job *)p;
  j->u = u;
  nb_parallel_for((j->g->OC + TC - 1) / TC, 200.0 * TC * j->g->C, wino_weights_t, j);
  return !atomic_load(&j->nonfinite);
}

// U of j's weights from the cache (layout as fill_u, or fill_ut when transposed).
static float *uc_get(wino_job *j, int transposed, double stamp) {
  const nb_conv *g = j->g;
  if (transposed) return nb_wino_cached(j->w, g->OC, g->C, -TC, stamp, 36 * UTX(g), fill_ut, j);
  return nb_wino_cached(j->w, g->OC, g->C, j->im->mr, stamp, 36 * UX(j), fill_u, j);
}

// The few-tile forward with the cache locked: 1 when done, 0 to fall back.
static int few_fwd(wino_job *j, double stamp) {
  const nb_conv *g = j->g;
  const int64_t PR = (j->NT + TR - 1) / TR, K48 = (g->OC + TC - 1) / TC;
  j->u = uc_get(j, 1, stamp);
  if (!j->u) return 0;
  j->vt = nb_conv_scratch(NB_SLOT_WINO_U, (size_t)(PR * 36 * VTX(g->C)));
  if (!j->vt || !nb_wino_few_inputs(g, j->x, 4, j->NT, j->vt)) return 0;
  nb_parallel_for(K48 * PR, 36.0 * TR * TC * g->C, few_tasks, j);
  return !atomic_load(&j->failed);
}

// Whether F(4x4,3x3) beats the direct path on g, in multiply-equivalents: the GEMMs' multiplies
// (panels padded to NR tiles, channels to MR), plus ~30 per element of U (transformed per call) and of
// the input and output (the phase planes and the two tile transforms), against the direct path's
// multiplies at its lower efficiency (~0.78 of the GEMMs' on this work, measured on ResNet layers).
// Measured on ResNet-18's layers it keeps batch 1's 14x14 and 7x7 maps (16 and 4 tiles an image,
// against 256 x 256 and 512 x 512 transformed weights) on the direct path and takes everything else.
static int worth_it(const nb_conv *g, const nb_gemm_impl *im) {
  const double TH = (double)((g->OH + 3) / 4), TW = (double)((g->OW + 3) / 4);
  const double NT = g->N * TH * TW, panels = (double)(((int64_t)NT + im->nr - 1) / im->nr);
  const double Kpad = (double)((g->OC + im->mr - 1) / im->mr * im->mr);
  const double direct = 9.0 * g->C * g->OC * g->N * g->OH * g->OW / 0.78;
  const double io = (double)g->N * (g->C * g->H * g->W + g->OC * g->OH * g->OW);
  const double wino = 36.0 * Kpad * g->C * panels * im->nr + 30.0 * 36.0 * Kpad * g->C + 30.0 * io;
  return wino < 0.8 * direct;
}

// The tile grid of j's geometry: TH x TW tiles of 4x4 outputs an image, NT in all.
static void job_grid(wino_job *j) {
  const nb_conv *g = j->g;
  j->TH = (g->OH + 3) / 4;
  j->TW = (g->OW + 3) / 4;
  j->T = j->TH * j->TW;
  j->NT = g->N * j->T;
}

// The phase planes of j's input (its grid set). 0 when the grid is too wide, memory ran out, or the
// input holds an Inf or a NaN.
static int job_phases(wino_job *j) {
  const nb_conv *g = j->g;
  if (j->TW > NB_WINO_MAXR) return 0;
  j->Hp = 4 * j->TH + 2;
  j->ld = j->TW + 1;
  j->plane = j->Hp * j->ld;
  // the transforms read whole vectors of tiles: up to VL columns past the last plane's end
  j->xp = nb_conv_scratch(NB_SLOT_WINO_PHASES, (size_t)(g->N * g->C * 4 * j->plane + 2 * VL));
  if (!j->xp) return 0;
  nb_parallel_for(g->N * g->C, 16.0 * j->plane, wino_phases, j);
  memset(j->xp + g->N * g->C * 4 * j->plane, 0, 2 * VL * sizeof(float));
  return !atomic_load(&j->nonfinite);
}

// Whether the transposed products suit NT tiles: at most 16 (a 32-tile panel would be mostly empty),
// or up to FEW_MAX where they waste less of the microkernel's tiles than the panel path does by a
// tenth (batch 1 at 28x28: 49 tiles, 56 rows of 8 against 64 columns of 32, and 128 channels exact
// against 140 rows of 14; 0.555 -> 0.483 ms). At 56x56 (196 tiles) it was slower, 0.53 -> 0.75 ms,
// and still 0.69 with a thread's row panels taken four at a time (its products' scratch in L2).
static int few_fits(const nb_conv *g, int64_t NT, const nb_gemm_impl *im) {
  if (NT <= 16) return 1;
  const double few = (double)((NT + TR - 1) / TR * TR) * (double)((g->OC + 15) / 16 * 16);
  const double panel = (double)((NT + im->nr - 1) / im->nr * im->nr) * (double)((g->OC + im->mr - 1) / im->mr * im->mr);
  return NT <= FEW_MAX && few < 0.9 * panel;
}

int nb_conv_winograd_fwd(float *y, const float *x, const float *w, const nb_conv *g, const nb_conv_epi *e,
                         const nb_conv_opts *o) {
  const nb_gemm_impl *im = nb_wino_applies(g);
  // NOTE: the choice ignores the cache: at batch 1 on 14x14 maps a cached U makes the products about
  // as fast as the direct path (half of each 32-tile panel is empty), not faster, as measured; the
  // few-tile path does better there
  const int cache = o && o->reuse_w && nb_wino_cache_on();
  const double stamp = cache ? o->w_stamp : 0;
  // few tiles: the transposed products (its own job: a fallback starts the panel path afresh)
  wino_job f = {.g = g, .e = e, .im = nb_wino_transposed_impl(im), .isa = nb_conv_select(), .y = y, .x = x, .w = w};
  job_grid(&f);
  if (cache && f.NT <= 4 && nb_conv_winograd_f2_fwd(y, x, w, g, e, stamp)) return 1; /* tiny maps: F(2x2,3x3) */
  if (f.im && cache && few_fits(g, f.NT, im) &&
      (nb_wino_mode() == 2 || nb_wino_transposed_worth_it(g, f.NT, 36, 12.0))) {
    nb_wino_cache_lock();
    const int done = few_fwd(&f, stamp);
    nb_wino_cache_unlock();
    if (done && !atomic_load(&f.nonfinite)) return 1;
  }
  if (!im || (nb_wino_mode() == 1 && !worth_it(g, im))) return 0;
  wino_job j = {.g = g, .e = e, .im = im, .isa = nb_conv_select(), .y = y, .x = x, .w = w};
  job_grid(&j);
  if (!job_phases(&j)) return 0;
  const int64_t mr = im->mr, nr = im->nr, C = g->C;
  j.P = (j.NT + nr - 1) / nr;
  j.vs = nr + VL;
  j.Kp = (g->OC + mr - 1) / mr;
  // NOTE: V's transform points one cache line off a multiple of 4 KB apart (C*vs floats is one): the
  // transforms write all 36 at once, and 36 rows in one L1 set (8 ways) evicted each other
  j.vx = C * j.vs + 16;
  // U from the cache (locked until the products are done), else transformed for this call: all of
  // it up front with many tile panels, or one channel panel per task with few
  int locked = 0;
  if (cache) {
    nb_wino_cache_lock();
    locked = 1;
    j.u = uc_get(&j, 0, stamp);
    atomic_store(&j.nonfinite, 0); /* non-finite weights: found again below, and declined */
    if (!j.u) {
      nb_wino_cache_unlock();
      locked = 0;
    }
  }
  // a thread without scratch leaves its tiles unwritten (failed): the caller's direct path redoes y
  // few tile panels (fewer than two a thread): (channel panel, tile panel) items over a shared V.
  // NOTE: from two a thread each task keeps its panel's V to itself: the shared V of all panels (3.1 MB
  // at batch 1 on 56x56) goes out to L3 and back, and while the machine's other tenants pressed on the
  // caches that took 56x56 from 0.48 to 1.36 ms, against 0.52 to 0.78 with a V per task (7 panels split
  // 4 to 3 cost that 8% when it was quiet).
  const int few = j.P < 2 * (int64_t)nb_num_threads();
  int ok = 1;
  if (few) {
    j.vall = nb_conv_scratch(NB_SLOT_WINO_V, (size_t)(j.P * 36 * j.vx));
    ok = j.vall != NULL;
  }
  if (ok && !j.u && (!few || j.P > 1)) { /* a single panel's tasks each transform their own U panel */
    j.u = nb_conv_scratch(NB_SLOT_WINO_U, (size_t)(36 * UX(&j)));
    ok = j.u != NULL;
    if (ok) nb_parallel_for(j.Kp, 200.0 * mr * C, wino_weights, &j);
  }
  if (ok && !atomic_load(&j.nonfinite)) {
    if (few) {
      nb_parallel_for(j.P * ((C + WC - 1) / WC), 36.0 * 8 * WC * nr, wino_inputs, &j);
      nb_parallel_for(j.Kp * j.P, 36.0 * mr * C * nr, wino_channel_tasks, &j);
    } else
      nb_parallel_for(j.P, 36.0 * j.Kp * mr * C * nr, wino_tasks, &j);
  }
  if (locked) nb_wino_cache_unlock();
  return ok && !atomic_load(&j.failed) && !atomic_load(&j.nonfinite);
}
