// The strided drivers for unary, binary and copy. Each coalesces dims (core/layout.c), then walks output
// rows (the innermost dim) and hands each row, or a gathered copy of it when its stride is not 0/1, to
// the per-ISA contiguous loop (ew_impl.h).
#include <string.h>
#include "ew.h"

#define CH 2048 /* elements gathered per chunk */

NB_ISA_SELECT(nb_ew_impl, nb_ew_select, nb_ew_scalar, nb_ew_avx2, nb_ew_avx512)

static const float *row_chunk(float *tmp, const float *p, int64_t s, int64_t len, int64_t *unit) {
  if (s == 0 || s == 1) {
    *unit = s;
    return p;
  }
  for (int64_t i = 0; i < len; i++) tmp[i] = p[i * s];
  *unit = 1;
  return tmp;
}

/* ---- unary: y (shape of lx) contiguous = op(x) ---- */
typedef struct {
  const nb_ew_impl *ew;
  int op;
  float *y;
  const float *x;
  nb_layout l[2];
  float p0, p1;
} unary_job;

// Work items are (row, piece) pairs: a row longer than PIECE elements is split so that even one
// long contiguous row (a coalesced elementwise op) spreads over the pool.
#define PIECE ((int64_t)1 << 15)

static void unary_rows(void *p, int64_t lo, int64_t hi) {
  const unary_job *j = (const unary_job *)p;
  int nd = j->l[0].ndim;
  int64_t n0 = j->l[0].shape[nd - 1], sx = j->l[1].strides[nd - 1], pieces = (n0 + PIECE - 1) / PIECE;
  float tmp[CH];
  for (int64_t it = lo; it < hi; it++) {
    int64_t r = it / pieces, p0 = it % pieces * PIECE, p1 = p0 + PIECE < n0 ? p0 + PIECE : n0;
    int64_t off[2];
    nb_offsets(j->l, 2, nd - 1, r, off);
    for (int64_t c = p0; c < p1; c += CH) {
      int64_t len = p1 - c < CH ? p1 - c : CH, u;
      const float *xs = row_chunk(tmp, j->x + off[1] + c * sx, sx, len, &u);
      if (u == 0) {
        float v = xs[0];
        j->ew->unary(j->op, j->y + off[0] + c, &v, 1, j->p0, j->p1);
        for (int64_t i = 1; i < len; i++) j->y[off[0] + c + i] = j->y[off[0] + c];
      } else
        j->ew->unary(j->op, j->y + off[0] + c, xs, len, j->p0, j->p1);
    }
  }
}

// x (any layout) -> y contiguous, same shape
void nb_unary_f32(int op, float *y, const float *x, const nb_layout *lx, float p0, float p1) {
  unary_job j = {nb_ew_select(), op, y, x, {*lx, *lx}, p0, p1};
  nb_contig_strides(&j.l[0]);
  j.l[0].offset = 0;
  int nd = nb_coalesce(j.l, 2);
  int64_t n0 = j.l[0].shape[nd - 1], rows = nb_numel(&j.l[0]) / n0, pieces = (n0 + PIECE - 1) / PIECE;
  nb_parallel_for(rows * pieces, (double)(n0 < PIECE ? n0 : PIECE) * 4, unary_rows, &j);
}

/* ---- binary: y contiguous = a op b, la and lb already broadcast to y's shape ---- */
typedef struct {
  const nb_ew_impl *ew;
  int op;
  float *y;
  const float *a, *b;
  nb_layout l[3];
} binary_job;

static void binary_rows(void *p, int64_t lo, int64_t hi) {
  const binary_job *j = (const binary_job *)p;
  int nd = j->l[0].ndim;
  int64_t n0 = j->l[0].shape[nd - 1], sa = j->l[1].strides[nd - 1], sb = j->l[2].strides[nd - 1];
  int64_t pieces = (n0 + PIECE - 1) / PIECE;
  float ta[CH], tb[CH];
  for (int64_t it = lo; it < hi; it++) {
    int64_t r = it / pieces, p0 = it % pieces * PIECE, p1 = p0 + PIECE < n0 ? p0 + PIECE : n0;
    int64_t off[3];
    nb_offsets(j->l, 3, nd - 1, r, off);
    for (int64_t c = p0; c < p1; c += CH) {
      int64_t len = p1 - c < CH ? p1 - c : CH, ua, ub;
      const float *as = row_chunk(ta, j->a + off[1] + c * sa, sa, len, &ua);
      const float *bs = row_chunk(tb, j->b + off[2] + c * sb, sb, len, &ub);
      j->ew->binary(j->op, j->y + off[0] + c, as, ua, bs, ub, len);
    }
  }
}

void nb_binary_f32(int op, float *y, const float *a, const nb_layout *la, const float *b, const nb_layout *lb) {
  binary_job j = {nb_ew_select(), op, y, a, b, {*la, *la, *lb}};
  nb_contig_strides(&j.l[0]);
  j.l[0].offset = 0;
  int nd = nb_coalesce(j.l, 3);
  int64_t n0 = j.l[0].shape[nd - 1], rows = nb_numel(&j.l[0]) / n0, pieces = (n0 + PIECE - 1) / PIECE;
  nb_parallel_for(rows * pieces, (double)(n0 < PIECE ? n0 : PIECE) * 2, binary_rows, &j);
}

/* ---- copy: y (ly) = x (lx), same shape, both strided ---- */
typedef struct {
  float *y;
  const float *x;
  nb_layout l[2];
} copy_job;

static void copy_rows(void *p, int64_t lo, int64_t hi) {
  const copy_job *j = (const copy_job *)p;
  int nd = j->l[0].ndim;
  int64_t n0 = j->l[0].shape[nd - 1], sy = j->l[0].strides[nd - 1], sx = j->l[1].strides[nd - 1];
  int64_t pieces = (n0 + PIECE - 1) / PIECE;
  for (int64_t it = lo; it < hi; it++) {
    int64_t r = it / pieces, p0 = it % pieces * PIECE, len = (p0 + PIECE < n0 ? p0 + PIECE : n0) - p0;
    int64_t off[2];
    nb_offsets(j->l, 2, nd - 1, r, off);
    float *yr = j->y + off[0] + p0 * sy;
    const float *xr = j->x + off[1] + p0 * sx;
    if (sy == 1 && sx == 1)
      memmove(yr, xr, (size_t)len * sizeof(float));
    else
      for (int64_t i = 0; i < len; i++) yr[i * sy] = xr[i * sx];
  }
}

void nb_copy_f32(float *y, const nb_layout *ly, const float *x, const nb_layout *lx) {
  copy_job j = {y, x, {*ly, *lx}};
  int nd = nb_coalesce(j.l, 2);
  int64_t n0 = j.l[0].shape[nd - 1], rows = nb_numel(&j.l[0]) / n0, pieces = (n0 + PIECE - 1) / PIECE;
  nb_parallel_for(rows * pieces, (double)(n0 < PIECE ? n0 : PIECE), copy_rows, &j);
}
