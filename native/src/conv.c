// 2-D convolution by im2col + batched SGEMM, forward and both backward passes, NCHW contiguous.
// Glossary: N batch, C in channels, H,W in size, OC out channels, KH,KW kernel, OH,OW out size,
// G groups, Cg = C/G, OCg = OC/G, L = OH*OW, Kc = Cg*KH*KW. col for image n, group g is (Kc, L):
// col[(c,kh,kw)][(oh,ow)] = x[n, g*Cg+c, oh*sh-ph+kh*dh, ow*sw-pw+kw*dw] (0 in the padding).
// Images are processed in chunks whose col buffer stays under COL_BYTES; a 1x1/stride-1/unpadded
// conv skips im2col (col is x itself).
#include <stdlib.h>
#include <string.h>
#include "../include/nabla.h"
#include "ew.h"

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

typedef struct { const nb_conv *g; float *col; const float *x; float *dx; int64_t n0; } plane_job;

// One (image, channel) plane x (H,W) -> its KH*KW rows of col, each (L).
static void im2col_planes(void *p, int64_t lo, int64_t hi) {
  const plane_job *j = (const plane_job *)p;
  const nb_conv *g = j->g;
  const int64_t L = g->OH * g->OW;
  for (int64_t pc = lo; pc < hi; pc++) {
    const float *xp = j->x + (j->n0 * g->C + pc) * g->H * g->W;
    float *rows = j->col + pc * g->KH * g->KW * L;
    for (int64_t kh = 0; kh < g->KH; kh++)
      for (int64_t kw = 0; kw < g->KW; kw++) {
        float *d = rows + (kh * g->KW + kw) * L;
        int64_t ow0, ow1;
        valid_range(g->OW, g->W, g->sw, g->pw, kw * g->dw, &ow0, &ow1);
        for (int64_t oh = 0; oh < g->OH; oh++, d += g->OW) {
          int64_t ih = oh * g->sh - g->ph + kh * g->dh;
          if (ih < 0 || ih >= g->H) { memset(d, 0, (size_t)g->OW * sizeof(float)); continue; }
          const float *src = xp + ih * g->W - g->pw + kw * g->dw;
          for (int64_t ow = 0; ow < ow0; ow++) d[ow] = 0.f;
          if (g->sw == 1) memcpy(d + ow0, src + ow0, (size_t)(ow1 - ow0) * sizeof(float));
          else for (int64_t ow = ow0; ow < ow1; ow++) d[ow] = src[ow * g->sw];
          for (int64_t ow = ow1; ow < g->OW; ow++) d[ow] = 0.f;
        }
      }
  }
}

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

static int64_t chunk_images(const nb_conv *g) {
  int64_t per = g->C * g->KH * g->KW * g->OH * g->OW * (int64_t)sizeof(float);
  int64_t c = per > 0 ? COL_BYTES / per : g->N;
  return c < 1 ? 1 : c > g->N ? g->N : c;
}

// Shared setup: a col buffer for one chunk (NULL for pointwise convs) and offset arrays.
typedef struct { float *col; int64_t *aoff, *boff; int64_t chunk; } conv_scratch;

static int scratch_init(conv_scratch *s, const nb_conv *g, int need_col) {
  s->chunk = chunk_images(g);
  int64_t batch = s->chunk * g->G;
  s->col = need_col ? (float *)malloc((size_t)(s->chunk * g->C * g->KH * g->KW * g->OH * g->OW) * sizeof(float) + 64) : NULL;
  s->aoff = (int64_t *)malloc((size_t)batch * 2 * sizeof(int64_t));
  s->boff = s->aoff ? s->aoff + batch : NULL;
  if ((need_col && !s->col) || !s->aoff) { free(s->col); free(s->aoff); return 0; }
  return 1;
}

static void scratch_free(conv_scratch *s) { free(s->col); free(s->aoff); }

// x (N,C,H,W), w (OC,Cg,KH,KW) -> y (N,OC,OH,OW): per (n,g), y (OCg, L) = w_g (OCg, Kc) @ col (Kc, L)
int nb_conv2d_f32(float *y, const float *x, const float *w, const nb_conv *g) {
  const int64_t L = g->OH * g->OW, Cg = g->C / g->G, OCg = g->OC / g->G, Kc = Cg * g->KH * g->KW;
  const int pw = is_pointwise(g);
  conv_scratch s;
  if (!scratch_init(&s, g, !pw)) return 0;
  for (int64_t n0 = 0; n0 < g->N; n0 += s.chunk) {
    int64_t nc = g->N - n0 < s.chunk ? g->N - n0 : s.chunk;
    const float *b = pw ? x + n0 * g->C * L : s.col;
    if (!pw) {
      plane_job j = { g, s.col, x, NULL, n0 };
      nb_parallel_for(nc * g->C, (double)(g->KH * g->KW * L), im2col_planes, &j);
    }
    for (int64_t p = 0; p < nc * g->G; p++) { s.aoff[p] = (p % g->G) * OCg * Kc; s.boff[p] = p * Kc * L; }
    nb_sgemm_batched(y + n0 * g->OC * L, w, s.aoff, Kc, 1, b, s.boff, L, 1, nc * g->G, OCg, L, Kc);
  }
  scratch_free(&s);
  return 1;
}

// dy (N,OC,OH,OW), w -> dx: per (n,g), dcol (Kc, L) = w_g^T (Kc, OCg) @ dy_g (OCg, L), then col2im.
int nb_conv2d_bwd_input_f32(float *dx, const float *dy, const float *w, const nb_conv *g) {
  const int64_t L = g->OH * g->OW, Cg = g->C / g->G, OCg = g->OC / g->G, Kc = Cg * g->KH * g->KW;
  const int pw = is_pointwise(g);
  conv_scratch s;
  if (!scratch_init(&s, g, !pw)) return 0;
  for (int64_t n0 = 0; n0 < g->N; n0 += s.chunk) {
    int64_t nc = g->N - n0 < s.chunk ? g->N - n0 : s.chunk;
    for (int64_t p = 0; p < nc * g->G; p++) { s.aoff[p] = (p % g->G) * OCg * Kc; s.boff[p] = p * OCg * L; }
    float *out = pw ? dx + n0 * g->C * L : s.col;
    nb_sgemm_batched(out, w, s.aoff, 1, Kc, dy + n0 * g->OC * L, s.boff, L, 1, nc * g->G, Kc, L, OCg);
    if (!pw) {
      plane_job j = { g, s.col, NULL, dx, n0 };
      nb_parallel_for(nc * g->C, (double)(g->KH * g->KW * L), col2im_planes, &j);
    }
  }
  scratch_free(&s);
  return 1;
}

// dy (N,OC,OH,OW), x -> dw (OC,Cg,KH,KW): dw_g (OCg, Kc) = sum_n dy_g (OCg, L) @ col^T (L, Kc)
int nb_conv2d_bwd_weight_f32(float *dw, const float *dy, const float *x, const nb_conv *g) {
  const int64_t L = g->OH * g->OW, Cg = g->C / g->G, OCg = g->OC / g->G, Kc = Cg * g->KH * g->KW;
  const int pw = is_pointwise(g);
  conv_scratch s;
  if (!scratch_init(&s, g, !pw)) return 0;
  float *part = (float *)malloc((size_t)(s.chunk * g->G * OCg * Kc) * sizeof(float) + 64);
  if (!part) { scratch_free(&s); return 0; }
  memset(dw, 0, (size_t)(g->OC * Kc) * sizeof(float));
  for (int64_t n0 = 0; n0 < g->N; n0 += s.chunk) {
    int64_t nc = g->N - n0 < s.chunk ? g->N - n0 : s.chunk;
    const float *b = pw ? x + n0 * g->C * L : s.col;
    if (!pw) {
      plane_job j = { g, s.col, x, NULL, n0 };
      nb_parallel_for(nc * g->C, (double)(g->KH * g->KW * L), im2col_planes, &j);
    }
    for (int64_t p = 0; p < nc * g->G; p++) { s.aoff[p] = p * OCg * L; s.boff[p] = p * Kc * L; }
    nb_sgemm_batched(part, dy + n0 * g->OC * L, s.aoff, L, 1, b, s.boff, 1, L, nc * g->G, OCg, Kc, L);
    for (int64_t p = 0; p < nc * g->G; p++) {
      float *d = dw + (p % g->G) * OCg * Kc;
      const float *q = part + p * OCg * Kc;
      for (int64_t i = 0; i < OCg * Kc; i++) d[i] += q[i];
    }
  }
  free(part);
  scratch_free(&s);
  return 1;
}
