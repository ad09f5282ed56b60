// Reductions (sum, prod, max, min) of float32 over any set of axes, and softmax / log-softmax along
// one axis. Sums and products accumulate in double.
// x (any layout) reduced over the axes in `mask` -> y contiguous, lx's shape with those axes set to 1.
#include <math.h>
#include <stdlib.h>
#include "reduce.h"

NB_ISA_SELECT(nb_reduce_impl, nb_reduce_select, nb_reduce_scalar, nb_reduce_avx2, nb_reduce_avx512)

typedef struct {
  const nb_reduce_impl *isa;
  int op;
  float *y;
  const float *x;
  nb_layout kept; /* kept dims of x (strides of x), output is row-major over them */
  nb_layout red;  /* reduced dims of x, coalesced */
} reduce_job;

static double identity(int op) {
  return op == NB_SUM ? 0.0 : op == NB_PROD ? 1.0 : op == NB_MAX ? -INFINITY : INFINITY;
}

// One output element: fold every reduced run of x starting at base.
static float reduce_one(const reduce_job *j, int64_t base) {
  int nd = j->red.ndim;
  int64_t n0 = j->red.shape[nd - 1], s0 = j->red.strides[nd - 1];
  int64_t runs = nb_numel(&j->red) / n0;
  double acc = identity(j->op);
  float tmp[2048];
  for (int64_t r = 0; r < runs; r++) {
    int64_t off;
    nb_offsets(&j->red, 1, nd - 1, r, &off);
    const float *p = j->x + base + off;
    for (int64_t c = 0; c < n0; c += 2048) {
      int64_t len = n0 - c < 2048 ? n0 - c : 2048;
      const float *q = p + c * s0;
      if (s0 != 1) {
        for (int64_t i = 0; i < len; i++) tmp[i] = q[i * s0];
        q = tmp;
      }
      acc = j->isa->reduce(j->op, q, len, acc);
    }
  }
  return (float)acc;
}

static void reduce_rows(void *p, int64_t lo, int64_t hi) {
  const reduce_job *j = (const reduce_job *)p;
  for (int64_t o = lo; o < hi; o++) {
    int64_t base;
    nb_offsets(&j->kept, 1, j->kept.ndim, o, &base);
    j->y[o] = reduce_one(j, base);
  }
}

// Column reduction: x coalesced to (R, C) contiguous, reduce R -> y (C). Streams rows once.
typedef struct {
  int op;
  float *y;
  const float *x;
  int64_t R, C;
} col_job;

static void reduce_cols(void *p, int64_t lo, int64_t hi) {
  const col_job *j = (const col_job *)p;
  for (int64_t c0 = lo; c0 < hi; c0 += 512) {
    int64_t c1 = c0 + 512 < hi ? c0 + 512 : hi;
    double acc[512];
    for (int64_t c = c0; c < c1; c++) acc[c - c0] = identity(j->op);
    for (int64_t r = 0; r < j->R; r++) {
      const float *row = j->x + r * j->C;
      switch (j->op) {
      case NB_SUM:
        for (int64_t c = c0; c < c1; c++) acc[c - c0] += row[c];
        break;
      case NB_PROD:
        for (int64_t c = c0; c < c1; c++) acc[c - c0] *= row[c];
        break;
      case NB_MAX:
        for (int64_t c = c0; c < c1; c++) {
          double v = row[c];
          acc[c - c0] = v > acc[c - c0] || v != v ? v : acc[c - c0];
        }
        break;
      default:
        for (int64_t c = c0; c < c1; c++) {
          double v = row[c];
          acc[c - c0] = v < acc[c - c0] || v != v ? v : acc[c - c0];
        }
        break;
      }
      if (j->op == NB_MAX || j->op == NB_MIN) /* keep NaN sticky: comparisons with NaN acc are false */
        for (int64_t c = c0; c < c1; c++)
          if (row[c] != row[c]) acc[c - c0] = NAN;
    }
    for (int64_t c = c0; c < c1; c++) j->y[c] = (float)acc[c - c0];
  }
}

void nb_reduce_f32(int op, float *y, const float *x, const nb_layout *lx, unsigned mask) {
  reduce_job j = {.isa = nb_reduce_select(), .op = op, .y = y, .x = x};
  j.kept.ndim = 0;
  j.red.ndim = 0;
  j.kept.offset = lx->offset;
  j.red.offset = 0;
  for (int d = 0; d < lx->ndim; d++) {
    nb_layout *t = (mask >> d) & 1 ? &j.red : &j.kept;
    t->shape[t->ndim] = lx->shape[d];
    t->strides[t->ndim] = lx->strides[d];
    t->ndim++;
  }
  int64_t nout = nb_numel(&j.kept), nred = nb_numel(&j.red);
  if (nout == 0) return;
  if (nred == 0) {
    for (int64_t o = 0; o < nout; o++) y[o] = (float)identity(op);
    return;
  }
  /* Column case: reduced dims all lead, kept dims trail, whole x contiguous. */
  int lead = 1, seen_kept = 0;
  for (int d = 0; d < lx->ndim; d++) {
    if ((mask >> d) & 1) {
      if (seen_kept && lx->shape[d] != 1) lead = 0;
    } else if (lx->shape[d] != 1)
      seen_kept = 1;
  }
  nb_layout c = *lx;
  int64_t expect = 1, contig = 1;
  for (int d = c.ndim - 1; d >= 0; d--) {
    if (c.shape[d] != 1 && c.strides[d] != expect) contig = 0;
    expect *= c.shape[d];
  }
  if (lead && contig && nout > 1 && op <= NB_MIN) {
    col_job cj = {op, y, x + lx->offset, nred, nout};
    nb_parallel_for(nout, (double)nred, reduce_cols, &cj);
    return;
  }
  if (j.kept.ndim == 0) {
    j.kept.ndim = 1;
    j.kept.shape[0] = 1;
    j.kept.strides[0] = 0;
  }
  if (j.red.ndim == 0) {
    j.red.ndim = 1;
    j.red.shape[0] = 1;
    j.red.strides[0] = 1;
  }
  nb_coalesce(&j.red, 1);
  nb_parallel_for(nout, (double)nred, reduce_rows, &j);
}

/* ---- softmax / log-softmax along axis: x (any layout) -> y contiguous, same shape ---- */
typedef struct {
  const nb_reduce_impl *isa;
  float *y;
  const float *x;
  nb_layout outer[2];
  int64_t n, sx, sy;
  int log;
} softmax_job;

static void softmax_rows(void *p, int64_t lo, int64_t hi) {
  const softmax_job *j = (const softmax_job *)p;
  float tin[2048], tout[2048];
  for (int64_t r = lo; r < hi; r++) {
    int64_t off[2];
    nb_offsets(j->outer, 2, j->outer[0].ndim, r, off);
    const float *xr = j->x + off[1];
    float *yr = j->y + off[0];
    if (j->sx == 1 && j->sy == 1) {
      j->isa->softmax_row(yr, xr, j->n, j->log);
      continue;
    }
    if (j->n > 2048) { /* rare: long strided rows; gather into a heap row (never alias x and y) */
      float *row = (float *)malloc((size_t)j->n * 2 * sizeof(float));
      if (row) {
        for (int64_t i = 0; i < j->n; i++) row[i] = xr[i * j->sx];
        j->isa->softmax_row(row + j->n, row, j->n, j->log);
        for (int64_t i = 0; i < j->n; i++) yr[i * j->sy] = row[j->n + i];
        free(row);
        continue;
      }
      float m = -INFINITY;
      double s = 0; /* out of memory: a slow scalar pass in place */
      for (int64_t i = 0; i < j->n; i++) {
        float v = xr[i * j->sx];
        m = v > m || v != v ? v : m;
      }
      for (int64_t i = 0; i < j->n; i++) s += exp((double)xr[i * j->sx] - m);
      for (int64_t i = 0; i < j->n; i++) {
        double v = (double)xr[i * j->sx] - m; /* exact */
        yr[i * j->sy] = (float)(j->log ? v - log(s) : exp(v) / s);
      }
      continue;
    }
    for (int64_t i = 0; i < j->n; i++) tin[i] = xr[i * j->sx];
    j->isa->softmax_row(tout, tin, j->n, j->log);
    for (int64_t i = 0; i < j->n; i++) yr[i * j->sy] = tout[i];
  }
}

void nb_softmax_f32(float *y, const float *x, const nb_layout *lx, int axis, int log) {
  nb_layout ly = *lx;
  ly.offset = 0;
  nb_contig_strides(&ly);
  softmax_job j = {.isa = nb_reduce_select(), .y = y, .x = x};
  j.n = lx->shape[axis];
  j.sx = lx->strides[axis];
  j.sy = ly.strides[axis];
  j.log = log;
  nb_layout two[2] = {ly, *lx}; /* y then x, over the non-axis dims */
  for (int t = 0; t < 2; t++) {
    int o = 0;
    for (int d = 0; d < lx->ndim; d++)
      if (d != axis) {
        two[t].shape[o] = lx->shape[d];
        two[t].strides[o] = (t ? lx : &ly)->strides[d];
        o++;
      }
    two[t].ndim = o;
  }
  int64_t rows = nb_numel(&two[0]);
  if (rows == 0 || j.n == 0) return;
  if (two[0].ndim == 0) {
    for (int t = 0; t < 2; t++) {
      two[t].ndim = 1;
      two[t].shape[0] = 1;
      two[t].strides[0] = 0;
    }
  }
  j.outer[0] = two[0];
  j.outer[1] = two[1];
  nb_parallel_for(rows, (double)j.n * 8, softmax_rows, &j);
}
