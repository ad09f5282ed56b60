// Driver of the quantized network ops (qconv.h): the int8 convolution as im2col + the u8 x s8 GEMM of the
// path in use (quant.c), split over the thread pool by rows (pixels) or, when there are few, by output
// channels; each thread builds its im2col rows a block at a time in a buffer of its own, sized to stay in
// L2 while the packed weights pass over it. Pooling, the residual addition and the input quantization
// run the active ISA's row loops (qconv_impl.h).
#include <stdlib.h>
#include <string.h>
#include "qconv.h"
#include "quant.h"

NB_ISA_SELECT(nb_qconv_impl, nb_qconv_select, nb_qconv_scalar, nb_qconv_avx2, nb_qconv_avx512)

/* ---- convolution ---- */
typedef struct {
  const uint8_t *x;
  int64_t B, H, W, C, OC, OH, OW, M, K, KP, rows; /* rows: im2col rows per block */
  nb_qwin g;
  int32_t xz;
  const int8_t *bp;
  nb_q8_epi e; /* yq = y, ldy = OC */
  nb_q8_gemm_fn gemm;
  int nr, nc; /* the thread grid: row ranges x column ranges (of 32 columns) */
  int relu;
  int failed;
} qconv_job;

/* n bytes from src to dst; a short run in whole 16-byte moves where both buffers have the room (the bytes
 * past n are overwritten by the next tap, or zeroed past K), as a call to memcpy per 3-channel tap of a
 * network's first layer costs more than its products. */
static inline void copy_run(uint8_t *dst, const uint8_t *src, int64_t n, int64_t dst_room, int64_t src_room) {
  const int64_t n16 = (n + 15) & ~(int64_t)15;
  if (n <= 64 && n16 <= dst_room && n16 <= src_room) {
    for (int64_t i = 0; i < n16; i += 16) memcpy(dst + i, src + i, 16);
  } else {
    memcpy(dst, src, (size_t)n);
  }
}

/* Rows [m0, m1) of the im2col matrix into a (rows KP bytes apart): the (kh, kw, c) taps of each output
 * pixel, the zero point where a tap falls in the padding. The bytes past K are left as they are: the
 * packed weights are zero there, so whatever codes they hold add nothing. */
static void im2col(const qconv_job *j, uint8_t *a, int64_t m0, int64_t m1) {
  const nb_qwin *g = &j->g;
  const int64_t C = j->C, P = j->OH * j->OW;
  const uint8_t *xend = j->x + j->B * j->H * j->W * C;
  // NOTE: with dilation 1, a kernel row's KW taps are KW*C consecutive bytes of NHWC, one copy.
  const int64_t run = g->dw == 1 ? g->kw : 1;
  int64_t b = m0 / P, oh = (m0 % P) / j->OW, ow = m0 % j->OW - 1;
  for (int64_t m = m0; m < m1; m++) {
    if (++ow == j->OW) { // the next output pixel, without a division per row
      ow = 0;
      if (++oh == j->OH) oh = 0, b++;
    }
    uint8_t *row = a + (m - m0) * j->KP;
    const uint8_t *img = j->x + b * j->H * j->W * C;
    for (int64_t kh = 0; kh < g->kh; kh++) {
      const int64_t ih = oh * g->sh - g->ph + kh * g->dh;
      uint8_t *dst = row + kh * g->kw * C;
      if (ih < 0 || ih >= j->H) {
        memset(dst, j->xz, (size_t)(g->kw * C));
        continue;
      }
      const uint8_t *src = img + ih * j->W * C;
      for (int64_t kw = 0; kw < g->kw; kw += run) {
        const int64_t iw = ow * g->sw - g->pw + kw * g->dw;
        if (iw >= 0 && iw + (run - 1) < j->W) {
          uint8_t *d = dst + kw * C;
          copy_run(d, src + iw * C, run * C, row + j->KP - d, xend - (src + iw * C));
          continue;
        }
        for (int64_t t = 0; t < run; t++) { // the window's edge: tap by tap
          const int64_t w = iw + t * g->dw;
          if (w >= 0 && w < j->W)
            memcpy(dst + (kw + t) * C, src + w * C, (size_t)C);
          else
            memset(dst + (kw + t) * C, j->xz, (size_t)C);
        }
      }
    }
  }
}

static void qconv_task(void *ctx, int t, int nt) {
  (void)nt;
  qconv_job *j = (qconv_job *)ctx;
  const int r = t / j->nc, c = t % j->nc;
  const int64_t m0 = j->M * r / j->nr, m1 = j->M * (r + 1) / j->nr;
  const int64_t units = (j->OC + 31) / 32;
  const int64_t n0 = units * c / j->nc * 32, n1u = units * (c + 1) / j->nc * 32, n1 = n1u < j->OC ? n1u : j->OC;
  if (m0 >= m1 || n0 >= n1) return;
  const int64_t rows = j->rows < m1 - m0 ? j->rows : m1 - m0;
  const size_t bytes = (size_t)((rows * j->KP + 63) / 64 * 64);
  uint8_t *a = (uint8_t *)aligned_alloc(64, bytes);
  if (!a) {
    j->failed = 1;
    return;
  }
  memset(a, 0, bytes); // the bytes past K of each row: defined, though they multiply zero weights
  const nb_qconv_impl *im = nb_qconv_select();
  for (int64_t i0 = m0; i0 < m1; i0 += rows) {
    const int64_t i1 = i0 + rows < m1 ? i0 + rows : m1;
    im2col(j, a, i0, i1);
    nb_q8_epi e = j->e;
    e.yq += i0 * j->OC;
    j->gemm(a, j->KP, i1 - i0, j->bp, j->K, n0, n1, j->OC, &e);
    // NOTE: the epilogue clamps at code 0; a fused ReLU clamps at the zero point (0.0) instead, which
    // only differs when the output range reaches below 0.
    if (j->relu && j->e.yz > 0)
      for (int64_t i = i0; i < i1; i++) im->clamp_low(j->e.yq + i * j->OC + n0, n1 - n0, (uint8_t)j->e.yz);
  }
  free(a);
}

int nb_q8_conv2d(uint8_t *y, const uint8_t *x, int64_t B, int64_t H, int64_t W, int64_t C, int32_t xz, float xs,
                 const int8_t *bp, const int32_t *colsum, const float *ws, const float *bias, int64_t OC,
                 const nb_qwin *g, int64_t OH, int64_t OW, float ys, int32_t yz, int relu) {
  qconv_job j = {.x = x, .B = B, .H = H, .W = W, .C = C, .OC = OC, .OH = OH, .OW = OW, .g = *g, .xz = xz, .bp = bp};
  j.M = B * OH * OW;
  j.K = g->kh * g->kw * C;
  j.KP = nb_q8_kp(j.K);
  j.e = (nb_q8_epi){xz, xs, ws, colsum, bias, NULL, y, OC, 1.f / ys, yz};
  j.gemm = nb_q8_active();
  j.relu = relu;
  // a block of rows of about 256 KB (a multiple of the 8-row register tile)
  j.rows = 262144 / j.KP / 8 * 8;
  if (j.rows < 8) j.rows = 8;
  int nt = nb_num_threads();
  const int64_t units = (OC + 31) / 32;
  if ((double)j.M * OC * j.K < (1 << 17)) nt = 1;
  if (j.M >= 32 * (int64_t)nt || units < nt) {
    j.nr = nt, j.nc = 1;
    if (j.nr > j.M) j.nr = (int)j.M;
  } else {
    j.nr = 1, j.nc = nt;
  }
  if (j.nr * j.nc <= 1) {
    j.nr = j.nc = 1;
    qconv_task(&j, 0, 1);
  } else {
    nb_parallel(qconv_task, &j, j.nr * j.nc);
  }
  return !j.failed;
}

/* ---- the input's quantization: NCHW float -> NHWC codes ---- */
typedef struct {
  uint8_t *y;
  const float *x;
  int64_t C, HW;
  float inv;
  int32_t z;
} quant_job;

static void quant_range(void *ctx, int64_t lo, int64_t hi) {
  const quant_job *j = (const quant_job *)ctx;
  const nb_qconv_impl *im = nb_qconv_select();
  for (int64_t bc = lo; bc < hi; bc++) {
    const int64_t b = bc / j->C, c = bc % j->C;
    im->quantize(j->y + b * j->HW * j->C + c, j->C, j->x + bc * j->HW, j->HW, j->inv, j->z);
  }
}

void nb_q8_quantize_nhwc(uint8_t *y, const float *x, int64_t B, int64_t C, int64_t HW, float s, int32_t z) {
  quant_job j = {y, x, C, HW, 1.f / s, z};
  nb_parallel_for(B * C, (double)HW, quant_range, &j);
}

/* ---- residual addition ---- */
typedef struct {
  uint8_t *y;
  const uint8_t *a, *b;
  float as, bs, inv_ys;
  int32_t az, bz, yz, lo;
} add_job;

static void add_range(void *ctx, int64_t lo, int64_t hi) {
  const add_job *j = (const add_job *)ctx;
  nb_qconv_select()->add(j->y + lo, j->a + lo, j->as, j->az, j->b + lo, j->bs, j->bz, hi - lo, j->inv_ys, j->yz, j->lo);
}

void nb_q8_add(uint8_t *y, const uint8_t *a, float as, int32_t az, const uint8_t *b, float bs, int32_t bz, int64_t n,
               float ys, int32_t yz, int relu) {
  add_job j = {y, a, b, as, bs, 1.f / ys, az, bz, yz, relu ? yz : 0};
  nb_parallel_for(n, 2.0, add_range, &j);
}

/* ---- pooling: one output row (b, oh) per item ---- */
typedef struct {
  uint8_t *y;
  const uint8_t *x;
  int64_t H, W, C, OH, OW;
  nb_qwin g;
  int failed;
} pool_job;

static void maxpool_range(void *ctx, int64_t lo, int64_t hi) {
  const pool_job *j = (const pool_job *)ctx;
  const nb_qconv_impl *im = nb_qconv_select();
  for (int64_t r = lo; r < hi; r++) {
    const int64_t b = r / j->OH, oh = r % j->OH;
    im->maxpool_row(j->y + r * j->OW * j->C, j->x + b * j->H * j->W * j->C, j->H, j->W, j->C, &j->g, oh, j->OW);
  }
}

void nb_q8_maxpool2d(uint8_t *y, const uint8_t *x, int64_t B, int64_t H, int64_t W, int64_t C, const nb_qwin *g,
                     int64_t OH, int64_t OW) {
  pool_job j = {y, x, H, W, C, OH, OW, *g, 0};
  nb_parallel_for(B * OH, (double)(OW * C * g->kh * g->kw), maxpool_range, &j);
}

static void avgpool_range(void *ctx, int64_t lo, int64_t hi) {
  pool_job *j = (pool_job *)ctx;
  const nb_qwin *g = &j->g;
  const nb_qconv_impl *im = nb_qconv_select();
  const int64_t C = j->C, n = g->kh * g->kw;
  uint32_t *acc = (uint32_t *)malloc((size_t)C * sizeof(uint32_t));
  if (!acc) {
    j->failed = 1;
    return;
  }
  for (int64_t r = lo; r < hi; r++) {
    const int64_t b = r / j->OH, oh = r % j->OH;
    const uint8_t *img = j->x + b * j->H * j->W * C;
    for (int64_t ow = 0; ow < j->OW; ow++) {
      memset(acc, 0, (size_t)C * sizeof(uint32_t));
      for (int64_t kh = 0; kh < g->kh; kh++)
        for (int64_t kw = 0; kw < g->kw; kw++)
          im->sum_merge(acc, img + ((oh * g->sh + kh) * j->W + ow * g->sw + kw) * C, C);
      uint8_t *out = j->y + (r * j->OW + ow) * C;
      for (int64_t c = 0; c < C; c++) out[c] = (uint8_t)((2 * (uint64_t)acc[c] + (uint64_t)n) / (2 * (uint64_t)n));
    }
  }
  free(acc);
}

int nb_q8_avgpool2d(uint8_t *y, const uint8_t *x, int64_t B, int64_t H, int64_t W, int64_t C, const nb_qwin *g,
                    int64_t OH, int64_t OW) {
  pool_job j = {y, x, H, W, C, OH, OW, *g, 0};
  nb_parallel_for(B * OH, (double)(OW * C * g->kh * g->kw), avgpool_range, &j);
  return !j.failed;
}
