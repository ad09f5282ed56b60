// Max and average pooling over NCHW contiguous tensors; one (n,c) plane per task.
// Glossary: N,C,H,W input; OH,OW output; kh,kw window; sh,sw stride; ph,pw padding; dh,dw dilation.
#include <math.h>
#include <string.h>
#include "../include/nabla.h"
#include "ew.h"

typedef struct { const nb_pool *p; float *y; int32_t *idx; const float *x; float *dx; const float *dy; int cip; } pool_job;

// x plane (H,W) -> max of each window and its flat index; NaN wins, the first maximum wins ties.
static void max_planes(void *q, int64_t lo, int64_t hi) {
  const pool_job *j = (const pool_job *)q;
  const nb_pool *p = j->p;
  for (int64_t nc = lo; nc < hi; nc++) {
    const float *xp = j->x + nc * p->H * p->W;
    for (int64_t oh = 0; oh < p->OH; oh++)
      for (int64_t ow = 0; ow < p->OW; ow++) {
        float best = -INFINITY;
        int32_t bi = -1;
        for (int64_t kh = 0; kh < p->kh; kh++) {
          int64_t ih = oh * p->sh - p->ph + kh * p->dh;
          if (ih < 0 || ih >= p->H) continue;
          for (int64_t kw = 0; kw < p->kw; kw++) {
            int64_t iw = ow * p->sw - p->pw + kw * p->dw;
            if (iw < 0 || iw >= p->W) continue;
            float v = xp[ih * p->W + iw];
            if (bi < 0 || v > best || (v != v && best == best)) { best = v; bi = (int32_t)(ih * p->W + iw); }
          }
        }
        int64_t o = (nc * p->OH + oh) * p->OW + ow;
        j->y[o] = best;
        j->idx[o] = bi;
      }
  }
}

// The window of output (oh,ow) clipped to the input, and its divisor (PyTorch avg_pool2d rules).
static void avg_window(const nb_pool *p, int64_t oh, int64_t ow, int cip, int64_t *h0, int64_t *h1, int64_t *w0, int64_t *w1, float *div) {
  int64_t a = oh * p->sh - p->ph, b = ow * p->sw - p->pw;
  int64_t c = a + p->kh < p->H + p->ph ? a + p->kh : p->H + p->ph, d = b + p->kw < p->W + p->pw ? b + p->kw : p->W + p->pw;
  int64_t pool = (c - a) * (d - b);
  *h0 = a < 0 ? 0 : a; *w0 = b < 0 ? 0 : b;
  *h1 = c < p->H ? c : p->H; *w1 = d < p->W ? d : p->W;
  *div = (float)(cip ? pool : (*h1 - *h0) * (*w1 - *w0));
}

static void avg_planes(void *q, int64_t lo, int64_t hi) {
  const pool_job *j = (const pool_job *)q;
  const nb_pool *p = j->p;
  for (int64_t nc = lo; nc < hi; nc++) {
    const float *xp = j->x + nc * p->H * p->W;
    for (int64_t oh = 0; oh < p->OH; oh++)
      for (int64_t ow = 0; ow < p->OW; ow++) {
        int64_t h0, h1, w0, w1;
        float div;
        avg_window(p, oh, ow, j->cip, &h0, &h1, &w0, &w1, &div);
        double s = 0;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) s += xp[ih * p->W + iw];
        j->y[(nc * p->OH + oh) * p->OW + ow] = (float)(s / div);
      }
  }
}

static void avg_bwd_planes(void *q, int64_t lo, int64_t hi) {
  const pool_job *j = (const pool_job *)q;
  const nb_pool *p = j->p;
  for (int64_t nc = lo; nc < hi; nc++) {
    float *xp = j->dx + nc * p->H * p->W;
    memset(xp, 0, (size_t)(p->H * p->W) * sizeof(float));
    for (int64_t oh = 0; oh < p->OH; oh++)
      for (int64_t ow = 0; ow < p->OW; ow++) {
        int64_t h0, h1, w0, w1;
        float div;
        avg_window(p, oh, ow, j->cip, &h0, &h1, &w0, &w1, &div);
        float gv = j->dy[(nc * p->OH + oh) * p->OW + ow] / div;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) xp[ih * p->W + iw] += gv;
      }
  }
}

void nb_maxpool2d_f32(float *y, int32_t *idx, const float *x, const nb_pool *p) {
  pool_job j = { .p = p, .y = y, .idx = idx, .x = x };
  nb_parallel_for(p->N * p->C, (double)(p->OH * p->OW * p->kh * p->kw), max_planes, &j);
}

void nb_avgpool2d_f32(float *y, const float *x, const nb_pool *p, int cip) {
  pool_job j = { .p = p, .y = y, .x = x, .cip = cip };
  nb_parallel_for(p->N * p->C, (double)(p->OH * p->OW * p->kh * p->kw), avg_planes, &j);
}

void nb_avgpool2d_bwd_f32(float *dx, const float *dy, const nb_pool *p, int cip) {
  pool_job j = { .p = p, .dx = dx, .dy = dy, .cip = cip };
  nb_parallel_for(p->N * p->C, (double)(p->OH * p->OW * p->kh * p->kw), avg_bwd_planes, &j);
}
