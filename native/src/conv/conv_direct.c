// Convolutions that read their input taps in place, with no im2col: forward (with an epilogue),
// input gradient (stride 1, as a forward pass) and weight gradient, on the AVX-512 or AVX2
// microkernels; each entry point returns 0 when it does not apply (the scalar path, say) or memory
// ran out, and conv.c's im2col path runs instead.
// Glossary as in conv.c: N batch, C in channels, H,W in size, OC out channels, KH,KW kernel, OH,OW
// out size, G groups, Cg = C/G, OCg = OC/G, L = OH*OW, Kc = Cg*KH*KW; MR,NR the microkernel tile.
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "nabla.h"
#include "conv_common.h"
#include "gemm.h"
#include "conv_direct.h"
/* ---- convolutions read their input taps in place: no im2col ----
 * The zero-padded input (Hp = H + 2ph, Wp = W + 2pw) is split into sh*sw phase planes,
 * xq[a][b][c][i][j] = xpad[c][i*sh + a][j*sw + b], each (Hq, Wq) = (ceil(Hp/sh), ceil(Wp/sw)); for
 * stride 1 that is just the padded input. Output (oh, ow) is computed at l' = oh*Wq + ow of a
 * (OH, Wq) grid (Lp = OH*Wq positions; columns ow >= OW are computed but never stored), and its tap
 * k = (c, kh, kw) is xpad[c][oh*sh + kh*dh][ow*sw + kw*dw] = xq[boff[k] + l'], with
 * boff[k] = ((a*sw + b)*C + c)*Hq*Wq + (kh*dh / sh)*Wq + kw*dw / sw, a = kh*dh % sh, b = kw*dw % sw.
 * So y_g (OCg, Lp) = w_g (OCg, Kc) @ B (Kc, Lp) where row k of B is a contiguous run of xq: the
 * row-gather microkernel reads it, and the weights, in place. (Packing the weights cost a full
 * extra pass over them per call: at batch 1 that is as much time as the arithmetic in layer4.) */
typedef struct {
  const nb_conv *g;
  const nb_gemm_impl *im;
  const nb_conv_impl *isa; /* strided phase rows, the epilogue's rows */
  const nb_conv_epi *e;
  float *y, *xq;
  const float *x, *w;
  int64_t *boff;
  int64_t Hq, Wq, Lp, xstride, npan, rp;
  int check_finite;     /* direct_phases notes any Inf/NaN in x in `nonfinite` */
  uint64_t phases_used; /* bit a*sw + b: some tap reads phase plane (a, b); the others are not built */
  atomic_int nonfinite;
} direct_job;

// Phase planes of channels (n, c) in [lo, hi); each image's slack is zeroed with its last channel.
static void direct_phases(void *p, int64_t lo, int64_t hi) {
  direct_job *j = (direct_job *)p;
  const nb_conv *g = j->g;
  const int64_t Q = j->Hq * j->Wq;
  for (int64_t q = lo; q < hi; q++) {
    int64_t n = q / g->C, c = q % g->C;
    const float *src = j->x + q * g->H * g->W;
    if (j->check_finite) {
      float z = 0.f; /* NaN exactly when the plane holds an Inf or a NaN */
      for (int64_t i = 0; i < g->H * g->W; i++) z += src[i] * 0.f;
      if (z != z) atomic_store(&j->nonfinite, 1);
    }
    for (int64_t a = 0; a < g->sh; a++)
      for (int64_t b = 0; b < g->sw; b++) {
        if (!(j->phases_used >> (a * g->sw + b) & 1)) continue; /* no tap reads it (1x1 stride 2) */
        float *d = j->xq + n * j->xstride + ((a * g->sw + b) * g->C + c) * Q;
        // columns j with 0 <= j*sw + b - pw < W: [j0, j1)
        int64_t j0 = g->pw - b > 0 ? (g->pw - b + g->sw - 1) / g->sw : 0;
        int64_t j1 = g->W + g->pw - b > 0 ? (g->W + g->pw - b + g->sw - 1) / g->sw : 0;
        if (j1 > j->Wq) j1 = j->Wq;
        if (j0 > j1) j0 = j1;
        for (int64_t i = 0; i < j->Hq; i++) {
          float *row = d + i * j->Wq;
          int64_t r = i * g->sh + a - g->ph;
          if (r < 0 || r >= g->H) {
            memset(row, 0, (size_t)j->Wq * sizeof(float));
            continue;
          }
          const float *sr = src + r * g->W + b - g->pw;
          for (int64_t jj = 0; jj < j0; jj++) row[jj] = 0.f;
          if (g->sw == 1)
            memcpy(row + j0, sr + j0, (size_t)(j1 - j0) * sizeof(float));
          else
            j->isa->strided_row(row + j0, sr + j0 * g->sw, j1 - j0, g->sw);
          for (int64_t jj = j1; jj < j->Wq; jj++) row[jj] = 0.f;
        }
      }
    if (c == g->C - 1) {
      int64_t used = g->sh * g->sw * g->C * Q;
      memset(j->xq + n * j->xstride + used, 0, (size_t)(j->xstride - used) * sizeof(float));
    }
  }
}

// Units u in [lo, hi) of (image n, group, column panel pn, row panel r), r fastest: one microkernel
// tile each, y_g rows [r*mr, +mr) x grid columns [pn*nr, +nr). A thread takes a contiguous run, so
// the split is even to a tile (groups of whole panels split a 7x7 map's 17 column panels 9 to 8);
// consecutive units share the B panel (Kc x nr taps, in L2) and walk the weights' row panels.
static void direct_tasks(void *p, int64_t lo, int64_t hi) {
  const direct_job *j = (const direct_job *)p;
  const nb_conv *g = j->g;
  const nb_gemm_impl *im = j->im;
  const int64_t OCg = g->OC / g->G, Cg = g->C / g->G, Kc = Cg * g->KH * g->KW, L = g->OH * g->OW;
  const int64_t mr = im->mr, nr = im->nr;
  float tile[14 * 48] __attribute__((aligned(64)));
  for (int64_t u = lo; u < hi; u++) {
    const int64_t r = u % j->rp, pn = u / j->rp % j->npan, grp = u / (j->rp * j->npan) % g->G,
                  n = u / (j->rp * j->npan * g->G);
    const float *xb = j->xq + n * j->xstride + grp * Cg * j->Hq * j->Wq;
    float *yg = j->y + (n * g->OC + grp * OCg) * L;
    const float *arow = j->w + (grp * OCg + r * mr) * Kc;
    const int64_t m = OCg - r * mr < mr ? OCg - r * mr : mr;
    im->ukernel_rows(Kc, arow, Kc, (int)m, xb + pn * nr, j->boff, tile, nr);
    // store the valid columns: l' = pn*nr + jj -> (oh, ow), kept when ow < OW and oh < OH
    int64_t l = pn * nr, oh = l / j->Wq, ow = l - oh * j->Wq;
    for (int64_t jj = 0; jj < nr && oh < g->OH;) {
      int64_t room = nr - jj, run = g->OW - ow;
      if (run > room) run = room;
      float *dst = yg + r * mr * L + oh * g->OW + ow;
      if (run > 0 && j->e) {
        const nb_conv_epi *e = j->e;
        const int64_t oc = grp * OCg + r * mr;
        j->isa->conv_epilogue_tile(dst, L, tile + jj, nr, m, run, e->scale ? e->scale + oc : NULL,
                                   e->shift ? e->shift + oc : NULL, e->res ? e->res + (dst - j->y) : NULL, e->relu);
      } else
        for (int64_t i = 0; run > 0 && i < m; i++) memcpy(dst + i * L, tile + i * nr + jj, (size_t)run * sizeof(float));
      int64_t step = j->Wq - ow < room ? j->Wq - ow : room; /* to the next grid row */
      jj += step;
      ow += step;
      if (ow >= j->Wq) {
        ow = 0;
        oh++;
      }
    }
  }
}

// The (Hq, Wq) phase grid of g; 0 when the grid cannot hold the output (never for valid geometry).
// NOTE: with stride 1 along W, consecutive padded rows share their zero columns: a row is pw zeros
// then W values (Wq = W + pw), and a tap past a row's end reads the next row's leading zeros (or the
// next plane's, or the slack). A 3x3 "same" grid then has one column that is not an output instead
// of two (7x7 maps: 1 of 8 rather than 2 of 9).
static int direct_grid(direct_job *j, const nb_conv *g) {
  const int64_t Hp = g->H + 2 * g->ph, Wp = g->W + 2 * g->pw;
  j->g = g;
  j->Hq = (Hp + g->sh - 1) / g->sh;
  j->Wq = g->sw == 1 ? g->W + g->pw : (Wp + g->sw - 1) / g->sw;
  j->Lp = g->OH * j->Wq;
  const int64_t reach = g->sw == 1 ? j->Wq + g->pw : j->Wq; /* the columns a row's taps may read */
  return g->OH + (g->KH - 1) * g->dh / g->sh <= j->Hq && g->OW + (g->KW - 1) * g->dw / g->sw <= reach;
}

// Phase planes of x (with `slack` zero floats after each image, for panels that run past Lp) and the
// tap offsets boff (Kc). Returns 0 when out of memory (nothing left allocated).
static int direct_planes(direct_job *j, const float *x, int64_t slack) {
  const nb_conv *g = j->g;
  const int64_t Cg = g->C / g->G, Kc = Cg * g->KH * g->KW, Q = j->Hq * j->Wq;
  j->x = x;
  j->isa = nb_conv_select(); /* strided rows; the forward's epilogue rows */
  j->xstride = (g->sh * g->sw * g->C * Q + (g->KW - 1) * g->dw / g->sw + slack + 15) / 16 * 16;
  j->xq = nb_conv_scratch(NB_SLOT_DIRECT_INPUT, (size_t)(g->N * j->xstride));
  j->boff = (int64_t *)malloc((size_t)Kc * sizeof(int64_t));
  if (!j->xq || !j->boff) {
    free(j->boff);
    return 0;
  }
  j->phases_used = 0;
  for (int64_t c = 0, k = 0; c < Cg; c++)
    for (int64_t kh = 0; kh < g->KH; kh++)
      for (int64_t kw = 0; kw < g->KW; kw++) {
        int64_t th = kh * g->dh, tw = kw * g->dw, ph = (th % g->sh) * g->sw + tw % g->sw;
        j->boff[k++] = (ph * g->C + c) * Q + (th / g->sh) * j->Wq + tw / g->sw;
        j->phases_used |= ph < 64 ? (uint64_t)1 << ph : ~(uint64_t)0;
      }
  nb_parallel_for(g->N * g->C, (double)((g->H + 2 * g->ph) * (g->W + 2 * g->pw)), direct_phases, j);
  return 1;
}

// The microkernels of the active ISA with row-gather entry points: AVX-512's 14x32 and 8x48, or
// AVX2's 6x16 (as both); 0 on the scalar path, which keeps to conv.c's im2col.
static int direct_impls(const nb_gemm_impl **a, const nb_gemm_impl **b) {
#if defined(__x86_64__) || defined(_M_X64)
  int isa = nb_active_isa();
  if (isa >= NB_ISA_AVX512) {
    *a = &nb_gemm_avx512;
    *b = &nb_gemm_avx512_8x48;
    return 1;
  }
  if (isa >= NB_ISA_AVX2) {
    *a = &nb_gemm_avx2;
    *b = &nb_gemm_avx2;
    return 1;
  }
#endif
  (void)a;
  (void)b;
  return 0;
}

int nb_conv_direct_fwd(float *y, const float *x, const float *w, const nb_conv *g, const nb_conv_epi *e) {
  const nb_gemm_impl *a = NULL, *b = NULL;
  if (!direct_impls(&a, &b) || !a->ukernel_rows || !b->ukernel_rows) return 0;
  const int64_t OCg = g->OC / g->G, Kc = g->C / g->G * g->KH * g->KW;
  direct_job j = {.e = e, .y = y, .w = w};
  if (!direct_grid(&j, g)) return 0;
  // the microkernel wasting less of its tiles on (OCg, Lp)
  double ua = (double)OCg / (double)((OCg + a->mr - 1) / a->mr * a->mr) * (double)j.Lp /
              (double)((j.Lp + a->nr - 1) / a->nr * a->nr);
  double ub = (double)OCg / (double)((OCg + b->mr - 1) / b->mr * b->mr) * (double)j.Lp /
              (double)((j.Lp + b->nr - 1) / b->nr * b->nr);
  j.im = ub > ua + 0.02 ? b : a;
  const int64_t mr = j.im->mr, nr = j.im->nr;
  j.rp = (OCg + mr - 1) / mr;
  j.npan = (j.Lp + nr - 1) / nr;
  // the last panel reads up to nr - 1 floats past Lp
  if (!direct_planes(&j, x, nr)) return 0;
  nb_parallel_for(g->N * g->G * j.npan * j.rp, (double)(nr * mr * Kc), direct_tasks, &j);
  free(j.boff);
  return 1;
}

/* ---- weight gradient on the same phase planes, or on batched columns for small maps ----
 * dw_g^T (Kc, OCg) = sum_n sum_l' xq_n[boff[k] + l'] * dyq_n[l'][oc], where dyq_n (Lp, OCp) is dy_g on
 * the (OH, Wq) grid, transposed, and zero at the columns ow >= OW (whose taps are not real) and at
 * oc >= OCg. Row k of A is then a contiguous run of xq (the pointer-row microkernel) and a row of B
 * is a row of dyq. A task owns whole 14-row k panels of dw^T, so no two tasks write one element.
 * Small maps (7x7: 14 of the 63 grid positions are not real, and 63 positions make a short
 * reduction) instead materialise the columns of the whole batch, col (G, Kc, N*L), and reduce over
 * all N*L positions at once: the same loop with one "image" whose rows are col's. */
#define WG_LC 192 /* grid positions per microkernel call: A rows 14 x 192 and a B panel 192 x 32 in L1/L2 */

typedef struct {
  direct_job d;
  const nb_gemm_impl *im;
  const float *dy;
  float *dyq, *dwt;            /* dyq (nimg, G, Lr, OCp); dwt (G, Kcp, OCp) */
  float *dw, *col;             /* col (G, Kc, N*L) for batched columns, else NULL */
  int64_t OCr, OCp, Kcp, kpan; /* OCr: OCg rounded up to 32; OCp: row stride of dyq and dwt */
  /* the rows of A: image n (of nimg), group grp, tap k at src + n*xstride + grp*gstride + boff[k],
   * Lr positions each; B rows at dyq + ((n*G + grp)*Lr + l)*OCp */
  const float *src;
  const int64_t *boff;
  int64_t nimg, Lr, xstride, gstride;
} wgrad_job;

// dyq for (n, group) pairs [lo, hi): dy_g transposed onto the grid, zeros elsewhere.
static void wgrad_dyq(void *p, int64_t lo, int64_t hi) {
  const wgrad_job *j = (const wgrad_job *)p;
  const nb_conv *g = j->d.g;
  const int64_t OCg = g->OC / g->G, L = g->OH * g->OW, Wq = j->d.Wq;
  for (int64_t q = lo; q < hi; q++) {
    float *d = j->dyq + q * j->d.Lp * j->OCp;
    memset(d, 0, (size_t)(j->d.Lp * j->OCp) * sizeof(float));
    const float *src = j->dy + q * OCg * L; /* (n, grp) pairs are contiguous OCg-channel blocks */
    // NOTE: in 16 x 16 blocks: one element per cache line either way round cost more than the
    // weight gradient's arithmetic for the stem (6.4M values at batch 8)
    for (int64_t oc0 = 0; oc0 < OCg; oc0 += 16)
      for (int64_t oh = 0; oh < g->OH; oh++)
        for (int64_t ow0 = 0; ow0 < g->OW; ow0 += 16) {
          const int64_t oc1 = oc0 + 16 < OCg ? oc0 + 16 : OCg, ow1 = ow0 + 16 < g->OW ? ow0 + 16 : g->OW;
          for (int64_t ow = ow0; ow < ow1; ow++)
            for (int64_t oc = oc0; oc < oc1; oc++)
              d[(oh * Wq + ow) * j->OCp + oc] = src[(oc * g->OH + oh) * g->OW + ow];
        }
  }
}

// col rows r = (c, kh, kw) in [lo, hi) over all channels: col[r][n*L + oh*OW + ow] = x tap (0 in the padding).
static void wgrad_col(void *p, int64_t lo, int64_t hi) {
  const wgrad_job *j = (const wgrad_job *)p;
  const nb_conv *g = j->d.g;
  const int64_t KK = g->KH * g->KW, L = g->OH * g->OW, HW = g->H * g->W;
  for (int64_t r = lo; r < hi; r++) {
    const int64_t c = r / KK, kh = r % KK / g->KW, kw = r % g->KW;
    const int64_t off = kw * g->dw - g->pw;
    // columns with 0 <= ow*sw + off < W: [o0, o1)
    int64_t o0 = off >= 0 ? 0 : (-off + g->sw - 1) / g->sw, o1 = g->W - off > 0 ? (g->W - off + g->sw - 1) / g->sw : 0;
    if (o1 > g->OW) o1 = g->OW;
    if (o0 > o1) o0 = o1;
    float *d = j->col + r * g->N * L;
    for (int64_t n = 0; n < g->N; n++) {
      const float *xc = j->d.x + (n * g->C + c) * HW;
      for (int64_t oh = 0; oh < g->OH; oh++, d += g->OW) {
        const int64_t ih = oh * g->sh - g->ph + kh * g->dh;
        if (ih < 0 || ih >= g->H) {
          memset(d, 0, (size_t)g->OW * sizeof(float));
          continue;
        }
        const float *row = xc + ih * g->W + off;
        for (int64_t ow = 0; ow < o0; ow++) d[ow] = 0.f;
        for (int64_t ow = o0; ow < o1; ow++) d[ow] = row[ow * g->sw];
        for (int64_t ow = o1; ow < g->OW; ow++) d[ow] = 0.f;
      }
    }
  }
}

// dyq for groups [lo, hi) in batched-column order: dyq[grp][n*L + p][oc] = dy[n][grp*OCg + oc][p].
static void wgrad_dyq_batched(void *p, int64_t lo, int64_t hi) {
  const wgrad_job *j = (const wgrad_job *)p;
  const nb_conv *g = j->d.g;
  const int64_t OCg = g->OC / g->G, L = g->OH * g->OW;
  for (int64_t grp = lo; grp < hi; grp++) {
    float *d = j->dyq + grp * j->Lr * j->OCp;
    memset(d, 0, (size_t)(j->Lr * j->OCp) * sizeof(float));
    for (int64_t n = 0; n < g->N; n++)
      for (int64_t oc0 = 0; oc0 < OCg; oc0 += 16)
        for (int64_t q0 = 0; q0 < L; q0 += 16) { /* 16 x 16 blocks, as in wgrad_dyq */
          const int64_t oc1 = oc0 + 16 < OCg ? oc0 + 16 : OCg, q1 = q0 + 16 < L ? q0 + 16 : L;
          for (int64_t q = q0; q < q1; q++)
            for (int64_t oc = oc0; oc < oc1; oc++)
              d[(n * L + q) * j->OCp + oc] = j->dy[(n * g->OC + grp * OCg + oc) * L + q];
        }
  }
}

// k panels t in [lo, hi) (over all groups): dwt rows [14 t, 14 t + 14) of their group.
static void wgrad_tasks(void *p, int64_t lo, int64_t hi) {
  const wgrad_job *j = (const wgrad_job *)p;
  const nb_conv *g = j->d.g;
  const int64_t Kc = g->C / g->G * g->KH * g->KW, Lp = j->Lr;
  const int mr = j->im->mr, nr = j->im->nr;
  float tile[14 * 32] __attribute__((aligned(64))); /* mr x nr <= 14 x 32 */
  const float *arows[14];
  for (int64_t t = lo; t < hi; t++) memset(j->dwt + t * mr * j->OCp, 0, (size_t)(mr * j->OCp) * sizeof(float));
  for (int64_t n = 0; n < j->nimg; n++)
    for (int64_t l0 = 0; l0 < Lp; l0 += WG_LC) {
      int64_t lc = Lp - l0 < WG_LC ? Lp - l0 : WG_LC;
      for (int64_t oc0 = 0; oc0 < j->OCr; oc0 += nr)
        for (int64_t t = lo; t < hi; t++) {
          int64_t grp = t / j->kpan, k0 = (t % j->kpan) * mr, m = Kc - k0 < mr ? Kc - k0 : mr;
          const float *xb = j->src + n * j->xstride + grp * j->gstride + l0;
          for (int i = 0; i < mr; i++) arows[i] = xb + j->boff[k0 + (i < m ? i : m - 1)];
          j->im->ukernel_ptrs(lc, arows, j->dyq + ((n * g->G + grp) * Lp + l0) * j->OCp + oc0, j->OCp, tile, nr);
          float *acc = j->dwt + t * mr * j->OCp + oc0;
          for (int64_t i = 0; i < m; i++)
            for (int jj = 0; jj < nr; jj++) acc[i * j->OCp + jj] += tile[i * nr + jj];
        }
    }
}

// dw (G, OCg, Kc) from dwt (G, Kcp, OCp), for blocks of 32 output channels [lo, hi) over the groups,
// transposed 32 x 32 at a time so that neither side is walked with a large stride.
static void wgrad_store(void *p, int64_t lo, int64_t hi) {
  const wgrad_job *j = (const wgrad_job *)p;
  const nb_conv *g = j->d.g;
  const int64_t OCg = g->OC / g->G, Kc = g->C / g->G * g->KH * g->KW, ob = (OCg + 31) / 32;
  for (int64_t q = lo; q < hi; q++) {
    int64_t grp = q / ob, oc0 = (q % ob) * 32, oc1 = oc0 + 32 < OCg ? oc0 + 32 : OCg;
    for (int64_t k0 = 0; k0 < Kc; k0 += 32) {
      int64_t k1 = k0 + 32 < Kc ? k0 + 32 : Kc;
      for (int64_t oc = oc0; oc < oc1; oc++)
        for (int64_t k = k0; k < k1; k++) j->dw[(grp * OCg + oc) * Kc + k] = j->dwt[(grp * j->Kcp + k) * j->OCp + oc];
    }
  }
}

int nb_conv_direct_bwd_weight(float *dw, const float *dy, const float *x, const nb_conv *g) {
  wgrad_job j = {.dy = dy};
  const nb_gemm_impl *b = NULL;
  if (!direct_impls(&j.im, &b) || !j.im->ukernel_ptrs || !direct_grid(&j.d, g)) return 0;
  const int64_t OCg = g->OC / g->G, Kc = g->C / g->G * g->KH * g->KW, L = g->OH * g->OW;
  // NOTE: rows of dyq a multiple of 1 KB apart (OCg = 256, 512) all map to a few L1 sets, and a
  // 32-column panel of them no longer stays in L1: pad the row stride off the power of two.
  const int mr = j.im->mr, nr = j.im->nr;
  j.OCr = (OCg + nr - 1) / nr * nr;
  j.OCp = j.OCr % 256 == 0 ? j.OCr + 16 : j.OCr;
  j.kpan = (Kc + mr - 1) / mr;
  j.Kcp = j.kpan * mr;
  j.dwt = nb_conv_scratch(NB_SLOT_DIRECT_DW, (size_t)(g->G * j.Kcp * j.OCp));
  const int batched = j.d.Lp < 128 && (double)g->C * g->KH * g->KW * g->N * L * sizeof(float) <= (double)(64 << 20);
  if (batched) {
    j.nimg = 1;
    j.Lr = g->N * L;
    j.xstride = 0;
    j.gstride = Kc * j.Lr;
    j.d.x = x;
    j.col = nb_conv_scratch(NB_SLOT_DIRECT_INPUT, (size_t)(g->C * g->KH * g->KW * j.Lr));
    j.dyq = nb_conv_scratch(NB_SLOT_DIRECT_DY, (size_t)(g->G * j.Lr * j.OCp));
    int64_t *boff = (int64_t *)malloc((size_t)Kc * sizeof(int64_t));
    if (!j.dwt || !j.col || !j.dyq || !boff) {
      free(boff);
      return 0;
    }
    for (int64_t k = 0; k < Kc; k++) boff[k] = k * j.Lr;
    j.src = j.col;
    j.boff = boff;
    nb_parallel_for(g->C * g->KH * g->KW, (double)(g->N * L), wgrad_col, &j);
    nb_parallel_for(g->G, (double)(j.Lr * OCg), wgrad_dyq_batched, &j);
  } else {
    j.nimg = g->N;
    j.Lr = j.d.Lp;
    j.dyq = nb_conv_scratch(NB_SLOT_DIRECT_DY, (size_t)(g->N * g->G * j.d.Lp * j.OCp));
    // NOTE: the grid's columns ow >= OW pair real inputs with zero gradients; 0 * Inf would poison a
    // weight gradient the reference leaves finite, so inputs with an Inf or a NaN take the im2col path.
    j.d.check_finite = 1;
    if (!j.dyq || !j.dwt || !direct_planes(&j.d, x, 0)) return 0;
    if (atomic_load(&j.d.nonfinite)) {
      free(j.d.boff);
      return 0;
    }
    j.src = j.d.xq;
    j.boff = j.d.boff;
    j.xstride = j.d.xstride;
    j.gstride = g->C / g->G * j.d.Hq * j.d.Wq;
    nb_parallel_for(g->N * g->G, (double)(j.d.Lp * j.OCp), wgrad_dyq, &j);
  }
  nb_parallel_for(g->G * j.kpan, (double)(j.nimg * j.Lr) * (double)(mr * j.OCp), wgrad_tasks, &j);
  j.dw = dw;
  nb_parallel_for(g->G * ((OCg + 31) / 32), (double)(32 * Kc), wgrad_store, &j);
  free((void *)j.boff);
  return 1;
}
