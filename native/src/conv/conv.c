// 2-D convolution by im2col + batched SGEMM, forward and both backward passes, NCHW contiguous.
// Glossary: N batch, C in channels, H,W in size, OC out channels, KH,KW kernel, OH,OW out size,
// G groups, Cg = C/G, OCg = OC/G, L = OH*OW, Kc = Cg*KH*KW. col for image n, group g is (Kc, L):
// col[(c,kh,kw)][(oh,ow)] = x[n, g*Cg+c, oh*sh-ph+kh*dh, ow*sw-pw+kw*dw] (0 in the padding).
// The forward and weight-gradient passes work on column tiles of col (Kc, LC) sized for L2, one
// (image, tile) per task, so col never goes to DRAM; the input-gradient pass does one image per
// task. A 1x1/stride-1/unpadded conv skips im2col (col is x itself). With fewer images than
// threads the input gradient falls back to whole-image col buffers and a threaded GEMM.
// With AVX-512 or AVX2 the passes first try Winograd (conv_winograd*.c) where it applies, then
// conv_direct.c, which needs no im2col; this file is the general path (every ISA, every geometry) and
// the one that picks between paths.
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include "nabla.h"
#include "gemm.h"
#include "conv_direct.h"
#include "conv_winograd.h"

#define COL_BYTES ((int64_t)32 << 20)

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Output positions o in [0, n_out) with 0 <= o*s - p + off < n_in form the range [lo, hi).
static void valid_range(int64_t n_out, int64_t n_in, int64_t s, int64_t p, int64_t off, int64_t *lo, int64_t *hi) {
  int64_t l = -floor_div(-(p - off), s), h = floor_div(n_in - 1 + p - off, s) + 1;
  *lo = l < 0 ? 0 : l > n_out ? n_out : l;
  *hi = h > n_out ? n_out : h < *lo ? *lo : h;
}

static int is_pointwise(const nb_conv *g) {
  return g->KH == 1 && g->KW == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

typedef struct {
  const nb_conv *g;
  float *col;
  const float *x;
  float *dx;
  int64_t n0;
} plane_job;

// The adjoint: dx plane (H,W) = sum over its KH*KW col rows (dx zeroed here first).
static void col2im_planes(void *p, int64_t lo, int64_t hi) {
  const plane_job *j = (const plane_job *)p;
  const nb_conv *g = j->g;
  const int64_t L = g->OH * g->OW;
  for (int64_t pc = lo; pc < hi; pc++) {
    float *xp = j->dx + (j->n0 * g->C + pc) * g->H * g->W;
    const float *rows = j->col + pc * g->KH * g->KW * L;
    memset(xp, 0, (size_t)(g->H * g->W) * sizeof(float));
    for (int64_t kh = 0; kh < g->KH; kh++)
      for (int64_t kw = 0; kw < g->KW; kw++) {
        const float *s = rows + (kh * g->KW + kw) * L;
        int64_t ow0, ow1;
        valid_range(g->OW, g->W, g->sw, g->pw, kw * g->dw, &ow0, &ow1);
        for (int64_t oh = 0; oh < g->OH; oh++, s += g->OW) {
          int64_t ih = oh * g->sh - g->ph + kh * g->dh;
          if (ih < 0 || ih >= g->H) continue;
          float *dst = xp + ih * g->W - g->pw + kw * g->dw;
          for (int64_t ow = ow0; ow < ow1; ow++) dst[ow * g->sw] += s[ow];
        }
      }
  }
}

// col tile (Kc_all = C*KH*KW rows, columns [l0, l1) of L) of image n, row stride ld.
static void im2col_tile(float *col, int64_t ld, const float *x, const nb_conv *g, int64_t n, int64_t l0, int64_t l1) {
  const float *xn = x + n * g->C * g->H * g->W;
  for (int64_t c = 0; c < g->C; c++)
    for (int64_t kh = 0; kh < g->KH; kh++)
      for (int64_t kw = 0; kw < g->KW; kw++) {
        float *d = col + ((c * g->KH + kh) * g->KW + kw) * ld - l0;
        int64_t ow0, ow1;
        valid_range(g->OW, g->W, g->sw, g->pw, kw * g->dw, &ow0, &ow1);
        for (int64_t oh = l0 / g->OW; oh * g->OW < l1; oh++) {
          int64_t a = oh * g->OW, s0 = a > l0 ? a : l0, s1 = a + g->OW < l1 ? a + g->OW : l1; /* l in [s0,s1) */
          int64_t ih = oh * g->sh - g->ph + kh * g->dh;
          if (ih < 0 || ih >= g->H) {
            for (int64_t l = s0; l < s1; l++) d[l] = 0.f;
            continue;
          }
          const float *src = xn + (c * g->H + ih) * g->W - g->pw + kw * g->dw;
          int64_t v0 = a + ow0 > s0 ? a + ow0 : s0, v1 = a + ow1 < s1 ? a + ow1 : s1; /* valid l */
          if (v1 < v0) v1 = v0;
          for (int64_t l = s0; l < v0; l++) d[l] = 0.f;
          if (g->sw == 1)
            memcpy(d + v0, src + (v0 - a), (size_t)(v1 - v0) * sizeof(float));
          else
            for (int64_t l = v0; l < v1; l++) d[l] = src[(l - a) * g->sw];
          for (int64_t l = v1 < s0 ? s0 : v1; l < s1; l++) d[l] = 0.f;
        }
      }
}

static int64_t tile_cols(const nb_conv *g) {
  int64_t kc = g->C * g->KH * g->KW, lc = ((int64_t)(128 << 10) / (kc > 0 ? kc : 1)) / 48 * 48;
  int64_t L = g->OH * g->OW;
  return lc < 48 ? 48 : lc > L ? L : lc;
}

typedef struct {
  const nb_conv *g;
  float *y, *dw;
  const float *x, *w, *dy;
  int64_t lc, ntile;
  int nparts;
  atomic_int failed;
} tile_job;

// The adjoint of im2col_tile: dx[n] += col tile (C*KH*KW, columns [l0, l1)), row stride ld.
static void col2im_tile(float *dx, const float *col, int64_t ld, const nb_conv *g, int64_t n, int64_t l0, int64_t l1) {
  float *xn = dx + n * g->C * g->H * g->W;
  for (int64_t c = 0; c < g->C; c++)
    for (int64_t kh = 0; kh < g->KH; kh++)
      for (int64_t kw = 0; kw < g->KW; kw++) {
        const float *d = col + ((c * g->KH + kh) * g->KW + kw) * ld - l0;
        int64_t ow0, ow1;
        valid_range(g->OW, g->W, g->sw, g->pw, kw * g->dw, &ow0, &ow1);
        for (int64_t oh = l0 / g->OW; oh * g->OW < l1; oh++) {
          int64_t a = oh * g->OW, s0 = a > l0 ? a : l0, s1 = a + g->OW < l1 ? a + g->OW : l1;
          int64_t ih = oh * g->sh - g->ph + kh * g->dh;
          if (ih < 0 || ih >= g->H) continue;
          float *dst = xn + (c * g->H + ih) * g->W - g->pw + kw * g->dw;
          int64_t v0 = a + ow0 > s0 ? a + ow0 : s0, v1 = a + ow1 < s1 ? a + ow1 : s1;
          for (int64_t l = v0; l < v1; l++) dst[(l - a) * g->sw] += d[l];
        }
      }
}

// One image per task: dx[n] = sum over column tiles of col2im(w_g^T (Kc, OCg) @ dy_g (OCg, lc)).
static void bwd_input_images(void *p, int64_t lo, int64_t hi) {
  tile_job *j = (tile_job *)p;
  const nb_conv *g = j->g;
  const int64_t L = g->OH * g->OW, Cg = g->C / g->G, OCg = g->OC / g->G, Kc = Cg * g->KH * g->KW;
  float *col = (float *)malloc((size_t)(g->C * g->KH * g->KW * j->lc) * sizeof(float) + 64);
  if (!col) {
    atomic_store(&j->failed, 1);
    return;
  }
  for (int64_t n = lo; n < hi; n++) {
    memset(j->y + n * g->C * g->H * g->W, 0, (size_t)(g->C * g->H * g->W) * sizeof(float));
    for (int64_t l0 = 0; l0 < L; l0 += j->lc) {
      int64_t l1 = l0 + j->lc < L ? l0 + j->lc : L, lc = l1 - l0;
      for (int64_t grp = 0; grp < g->G; grp++)
        nb_gemm_blocked(nb_gemm_pick(Kc, lc), col + grp * Kc * lc, lc, j->w + grp * OCg * Kc, 1, Kc,
                        j->dy + (n * g->OC + grp * OCg) * L + l0, L, 1, Kc, lc, OCg);
      col2im_tile(j->y, col, lc, g, n, l0, l1);
    }
  }
  free(col);
}

// One (image, column tile): y[n, g*OCg.., l0:l1] = w_g (OCg, Kc) @ col_g (Kc, lc) for every group.
static void fwd_tiles(void *p, int64_t lo, int64_t hi) {
  tile_job *j = (tile_job *)p;
  const nb_conv *g = j->g;
  const int64_t L = g->OH * g->OW, Cg = g->C / g->G, OCg = g->OC / g->G, Kc = Cg * g->KH * g->KW;
  float *col = (float *)malloc((size_t)(g->C * g->KH * g->KW * j->lc) * sizeof(float) + 64);
  if (!col) {
    atomic_store(&j->failed, 1);
    return;
  }
  for (int64_t t = lo; t < hi; t++) {
    int64_t n = t / j->ntile, l0 = (t % j->ntile) * j->lc, l1 = l0 + j->lc < L ? l0 + j->lc : L, lc = l1 - l0;
    im2col_tile(col, lc, j->x, g, n, l0, l1);
    const nb_gemm_impl *im = nb_gemm_pick(OCg, lc);
    for (int64_t grp = 0; grp < g->G; grp++)
      nb_gemm_blocked(im, j->y + (n * g->OC + grp * OCg) * L + l0, L, j->w + grp * OCg * Kc, Kc, 1, col + grp * Kc * lc,
                      lc, 1, OCg, lc, Kc);
  }
  free(col);
}

// Part t of nparts: images n = t, t + nparts, ... accumulate into their own transposed dW copy:
// dW_g^T (Kc, OCg) += col_g (Kc, lc) @ dy_g^T (lc, OCg). col is packed as A (contiguous rows, a
// cheap pack) and dy^T is the small B, so nothing large is transposed.
static void bwd_weight_part(void *p, int t, int nparts) {
  tile_job *j = (tile_job *)p;
  const nb_conv *g = j->g;
  const int64_t L = g->OH * g->OW, Cg = g->C / g->G, OCg = g->OC / g->G, Kc = Cg * g->KH * g->KW;
  float *col = (float *)malloc((size_t)(g->C * g->KH * g->KW * j->lc) * sizeof(float) + 64);
  if (!col) {
    atomic_store(&j->failed, 1);
    return;
  }
  float *dwT = j->dw + (int64_t)t * g->OC * Kc; /* (G, Kc, OCg) */
  const nb_gemm_impl *im = nb_gemm_pick(Kc, OCg);
  for (int64_t n = t; n < g->N; n += nparts)
    for (int64_t l0 = 0; l0 < L; l0 += j->lc) {
      int64_t l1 = l0 + j->lc < L ? l0 + j->lc : L, lc = l1 - l0;
      im2col_tile(col, lc, j->x, g, n, l0, l1);
      for (int64_t grp = 0; grp < g->G; grp++)
        nb_gemm_blocked_acc(im, dwT + grp * Kc * OCg, OCg, col + grp * Kc * lc, lc, 1,
                            j->dy + (n * g->OC + grp * OCg) * L + l0, 1, L, Kc, OCg, lc, 1);
    }
  free(col);
}

static int64_t chunk_images(const nb_conv *g) {
  int64_t per = g->C * g->KH * g->KW * g->OH * g->OW * (int64_t)sizeof(float);
  int64_t c = per > 0 ? COL_BYTES / per : g->N;
  return c < 1 ? 1 : c > g->N ? g->N : c;
}

// Shared setup: a col buffer for one chunk (NULL for pointwise convs) and offset arrays.
typedef struct {
  float *col;
  int64_t *aoff, *boff;
  int64_t chunk;
} conv_scratch;

static int scratch_init(conv_scratch *s, const nb_conv *g, int need_col) {
  s->chunk = chunk_images(g);
  int64_t batch = s->chunk * g->G;
  s->col =
      need_col ? (float *)malloc((size_t)(s->chunk * g->C * g->KH * g->KW * g->OH * g->OW) * sizeof(float) + 64) : NULL;
  s->aoff = (int64_t *)malloc((size_t)batch * 2 * sizeof(int64_t));
  s->boff = s->aoff ? s->aoff + batch : NULL;
  if ((need_col && !s->col) || !s->aoff) {
    free(s->col);
    free(s->aoff);
    return 0;
  }
  return 1;
}

static void scratch_free(conv_scratch *s) {
  free(s->col);
  free(s->aoff);
}

// x (N,C,H,W), w (OC,Cg,KH,KW) -> y (N,OC,OH,OW): per (n, tile, g), y (OCg, lc) = w_g (OCg, Kc) @ col (Kc, lc)
static int conv2d_im2col(float *y, const float *x, const float *w, const nb_conv *g);

int nb_conv2d_f32(float *y, const float *x, const float *w, const nb_conv *g, const nb_conv_epi *e) {
  return nb_conv2d_opts_f32(y, x, w, g, e, NULL);
}

int nb_conv2d_opts_f32(float *y, const float *x, const float *w, const nb_conv *g, const nb_conv_epi *e,
                       const nb_conv_opts *o) {
  if (e && !e->scale && !e->shift && !e->res && !e->relu) e = NULL;
  int done = nb_conv_winograd_fwd(y, x, w, g, e, o) || nb_conv_direct_fwd(y, x, w, g, e);
  nb_conv_scratch_trim();
  if (done) return 1;
  if (!conv2d_im2col(y, x, w, g)) return 0;
  if (e) nb_conv_epilogue(y, g, e);
  return 1;
}

static int conv2d_im2col(float *y, const float *x, const float *w, const nb_conv *g) {
  tile_job j = {.g = g, .y = y, .x = x, .w = w, .lc = tile_cols(g)};
  j.ntile = (g->OH * g->OW + j.lc - 1) / j.lc;
  if (g->N * j.ntile < nb_num_threads()) {
    // NOTE: too few (image, tile) tasks to feed every thread (batch 1 on a small feature map, as in
    // ResNet's last stages). im2col each image whole, then let the threaded gemm split the product,
    // computed transposed — y^T (L, OCg) = col^T (L, Kc) @ w_g^T (Kc, OCg) — so that its wide dim is
    // the channels (512) rather than the few output pixels (49), then transposed into place.
    const int64_t L = g->OH * g->OW, Cg = g->C / g->G, OCg = g->OC / g->G, Kc = Cg * g->KH * g->KW;
    float *col = (float *)malloc((size_t)(g->C * g->KH * g->KW * L) * sizeof(float) + 64);
    float *yt = (float *)malloc((size_t)(g->G * L * OCg) * sizeof(float) + 64);
    int64_t *off = (int64_t *)malloc((size_t)(2 * g->G) * sizeof(int64_t));
    if (!col || !yt || !off) {
      free(col);
      free(yt);
      free(off);
      return 0;
    }
    for (int64_t grp = 0; grp < g->G; grp++) {
      off[grp] = grp * Kc * L;
      off[g->G + grp] = grp * OCg * Kc;
    }
    for (int64_t n = 0; n < g->N; n++) {
      im2col_tile(col, L, x, g, n, 0, L);
      nb_sgemm_batched(yt, col, off, 1, L, w, off + g->G, 1, Kc, g->G, L, OCg, Kc);
      float *yn = y + n * g->OC * L;
      for (int64_t grp = 0; grp < g->G; grp++)
        for (int64_t l = 0; l < L; l++)
          for (int64_t oc = 0; oc < OCg; oc++) yn[(grp * OCg + oc) * L + l] = yt[(grp * L + l) * OCg + oc];
    }
    free(col);
    free(yt);
    free(off);
    return 1;
  }
  nb_parallel_for(g->N * j.ntile, (double)(g->OC * g->C * g->KH * g->KW * j.lc), fwd_tiles, &j);
  return !atomic_load(&j.failed);
}

// Stride 1: dx is the convolution of dy, padded by d*(K-1) - p, with the weights flipped in space and
// transposed in channels, w'[g][c][oc][kh][kw] = w[g][oc][c][KH-1-kh][KW-1-kw]: a forward pass by
// Winograd or the direct path does it. Returns 0 when that does not apply (stride > 1, padding beyond
// the kernel reach, or neither forward path takes it) or memory ran out.
static int bwd_input_as_fwd(float *dx, const float *dy, const float *w, const nb_conv *g) {
  if (g->sh != 1 || g->sw != 1) return 0;
  const int64_t th = g->dh * (g->KH - 1) - g->ph, tw = g->dw * (g->KW - 1) - g->pw;
  if (th < 0 || tw < 0) return 0;
  const int64_t Cg = g->C / g->G, OCg = g->OC / g->G, KK = g->KH * g->KW;
  float *wt = nb_conv_scratch(NB_SLOT_FLIPPED_W, (size_t)(g->OC * Cg * KK));
  if (!wt) return 0;
  for (int64_t grp = 0; grp < g->G; grp++)
    for (int64_t oc = 0; oc < OCg; oc++)
      for (int64_t c = 0; c < Cg; c++) {
        const float *src = w + ((grp * OCg + oc) * Cg + c) * KK;
        float *dst = wt + ((grp * Cg + c) * OCg + oc) * KK;
        for (int64_t t = 0; t < KK; t++) dst[t] = src[KK - 1 - t];
      }
  nb_conv t = {.N = g->N,
               .C = g->OC,
               .H = g->OH,
               .W = g->OW,
               .OC = g->C,
               .KH = g->KH,
               .KW = g->KW,
               .OH = g->H,
               .OW = g->W,
               .G = g->G,
               .sh = 1,
               .sw = 1,
               .ph = th,
               .pw = tw,
               .dh = g->dh,
               .dw = g->dw};
  return nb_conv_winograd_fwd(dx, dy, wt, &t, NULL, NULL) || nb_conv_direct_fwd(dx, dy, wt, &t, NULL);
}

// dy (N,OC,OH,OW), w -> dx: per (n,g), dcol (Kc, L) = w_g^T (Kc, OCg) @ dy_g (OCg, L), then col2im.
int nb_conv2d_bwd_input_f32(float *dx, const float *dy, const float *w, const nb_conv *g) {
  int done = bwd_input_as_fwd(dx, dy, w, g);
  nb_conv_scratch_trim();
  if (done) return 1;
  if (g->N >= nb_num_threads()) {
    tile_job j = {.g = g, .y = dx, .w = w, .dy = dy, .lc = tile_cols(g)};
    nb_parallel_for(g->N, 1e9, bwd_input_images, &j);
    return !atomic_load(&j.failed);
  }
  const int64_t L = g->OH * g->OW, Cg = g->C / g->G, OCg = g->OC / g->G, Kc = Cg * g->KH * g->KW;
  const int pw = is_pointwise(g);
  conv_scratch s;
  if (!scratch_init(&s, g, !pw)) return 0;
  for (int64_t n0 = 0; n0 < g->N; n0 += s.chunk) {
    int64_t nc = g->N - n0 < s.chunk ? g->N - n0 : s.chunk;
    for (int64_t p = 0; p < nc * g->G; p++) {
      s.aoff[p] = (p % g->G) * OCg * Kc;
      s.boff[p] = p * OCg * L;
    }
    float *out = pw ? dx + n0 * g->C * L : s.col;
    nb_sgemm_batched(out, w, s.aoff, 1, Kc, dy + n0 * g->OC * L, s.boff, L, 1, nc * g->G, Kc, L, OCg);
    if (!pw) {
      plane_job j = {g, s.col, NULL, dx, n0};
      nb_parallel_for(nc * g->C, (double)(g->KH * g->KW * L), col2im_planes, &j);
    }
  }
  scratch_free(&s);
  return 1;
}

// dy (N,OC,OH,OW), x -> dw (OC,Cg,KH,KW): dw_g (OCg, Kc) = sum_n sum_tiles dy_g (OCg, lc) @ col^T (lc, Kc)
int nb_conv2d_bwd_weight_f32(float *dw, const float *dy, const float *x, const nb_conv *g) {
  int done = nb_conv_winograd_bwd_weight(dw, dy, x, g) || nb_conv_direct_bwd_weight(dw, dy, x, g);
  nb_conv_scratch_trim();
  if (done) return 1;
  const int64_t Kc = g->C / g->G * g->KH * g->KW, nw = g->OC * Kc;
  int parts = nb_num_threads() < g->N ? nb_num_threads() : (int)g->N;
  if (parts < 1) parts = 1;
  tile_job j = {.g = g, .dy = dy, .x = x, .lc = tile_cols(g), .nparts = parts};
  j.dw = (float *)calloc((size_t)(parts * nw), sizeof(float));
  if (!j.dw) return 0;
  nb_parallel(bwd_weight_part, &j, parts);
  const int64_t OCg = g->OC / g->G;
  for (int64_t grp = 0; grp < g->G; grp++) /* parts hold (G, Kc, OCg); dw is (G, OCg, Kc) */
    for (int64_t oc = 0; oc < OCg; oc++)
      for (int64_t k = 0; k < Kc; k++) {
        float s = 0;
        for (int t = 0; t < parts; t++) s += j.dw[t * nw + (grp * Kc + k) * OCg + oc];
        dw[(grp * OCg + oc) * Kc + k] = s;
      }
  free(j.dw);
  return !atomic_load(&j.failed);
}
