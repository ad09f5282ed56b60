// Masks and casts: float32 comparisons producing bool (uint8 0/1), where(cond, a, b), and casts of
// bool / int32 storage to float32. All strided (broadcast inputs have stride 0); memory-bound, so
// one portable build serves every ISA.
#include "core.h"

typedef struct {
  int op;
  void *y;
  const void *c, *a, *b;
  nb_layout l[4];
  int nt, src;
} mask_job;

static void compare_rows(void *p, int64_t lo, int64_t hi) {
  const mask_job *j = (const mask_job *)p;
  int nd = j->l[0].ndim;
  int64_t n0 = j->l[0].shape[nd - 1], sa = j->l[1].strides[nd - 1], sb = j->l[2].strides[nd - 1];
  for (int64_t r = lo; r < hi; r++) {
    int64_t off[3];
    nb_offsets(j->l, 3, nd - 1, r, off);
    uint8_t *y = (uint8_t *)j->y + off[0];
    const float *a = (const float *)j->a + off[1], *b = (const float *)j->b + off[2];
#define CMP(expr)                                                                                                      \
  for (int64_t i = 0; i < n0; i++) {                                                                                   \
    float u = a[i * sa], v = b[i * sb];                                                                                \
    y[i] = (expr);                                                                                                     \
  }                                                                                                                    \
  break;
    switch (j->op) {
    case NB_EQ:
      CMP(u == v)
    case NB_NE:
      CMP(u != v)
    case NB_LT:
      CMP(u < v)
    case NB_LE:
      CMP(u <= v)
    case NB_GT:
      CMP(u > v)
    default:
      CMP(u >= v)
    }
#undef CMP
  }
}

// y (bool, contiguous) = a (op) b for op in EQ..GE; la and lb have y's shape.
void nb_compare_f32(int op, uint8_t *y, const float *a, const nb_layout *la, const float *b, const nb_layout *lb) {
  mask_job j = {.op = op, .y = y, .a = a, .b = b, .l = {*la, *la, *lb}};
  nb_contig_strides(&j.l[0]);
  j.l[0].offset = 0;
  int nd = nb_coalesce(j.l, 3);
  int64_t rows = nb_numel(&j.l[0]) / j.l[0].shape[nd - 1];
  nb_parallel_for(rows, (double)j.l[0].shape[nd - 1], compare_rows, &j);
}

static void where_rows(void *p, int64_t lo, int64_t hi) {
  const mask_job *j = (const mask_job *)p;
  int nd = j->l[0].ndim;
  int64_t n0 = j->l[0].shape[nd - 1], sc = j->l[1].strides[nd - 1], sa = j->l[2].strides[nd - 1],
          sb = j->l[3].strides[nd - 1];
  for (int64_t r = lo; r < hi; r++) {
    int64_t off[4];
    nb_offsets(j->l, 4, nd - 1, r, off);
    float *y = (float *)j->y + off[0];
    const uint8_t *c = (const uint8_t *)j->c + off[1];
    const float *a = (const float *)j->a + off[2], *b = (const float *)j->b + off[3];
    for (int64_t i = 0; i < n0; i++) y[i] = c[i * sc] ? a[i * sa] : b[i * sb];
  }
}

// y (contiguous) = cond ? a : b; all three already broadcast to y's shape.
void nb_where_f32(float *y, const uint8_t *c, const nb_layout *lc, const float *a, const nb_layout *la, const float *b,
                  const nb_layout *lb) {
  mask_job j = {.y = y, .c = c, .a = a, .b = b, .l = {*lc, *lc, *la, *lb}};
  nb_contig_strides(&j.l[0]);
  j.l[0].offset = 0;
  int nd = nb_coalesce(j.l, 4);
  int64_t rows = nb_numel(&j.l[0]) / j.l[0].shape[nd - 1];
  nb_parallel_for(rows, (double)j.l[0].shape[nd - 1], where_rows, &j);
}

static void cast_rows(void *p, int64_t lo, int64_t hi) {
  const mask_job *j = (const mask_job *)p;
  int nd = j->l[0].ndim;
  int64_t n0 = j->l[0].shape[nd - 1], sx = j->l[1].strides[nd - 1];
  for (int64_t r = lo; r < hi; r++) {
    int64_t off[2];
    nb_offsets(j->l, 2, nd - 1, r, off);
    float *y = (float *)j->y + off[0];
    if (j->src == 0) {
      const uint8_t *x = (const uint8_t *)j->a + off[1];
      for (int64_t i = 0; i < n0; i++) y[i] = (float)x[i * sx];
    } else {
      const int32_t *x = (const int32_t *)j->a + off[1];
      for (int64_t i = 0; i < n0; i++) y[i] = (float)x[i * sx];
    }
  }
}

// y (float32, contiguous) = x (bool if src == 0, int32 if src == 1), any layout.
void nb_cast_to_f32(float *y, const void *x, const nb_layout *lx, int src) {
  mask_job j = {.y = y, .a = x, .src = src, .l = {*lx, *lx}};
  nb_contig_strides(&j.l[0]);
  j.l[0].offset = 0;
  int nd = nb_coalesce(j.l, 2);
  int64_t rows = nb_numel(&j.l[0]) / j.l[0].shape[nd - 1];
  nb_parallel_for(rows, (double)j.l[0].shape[nd - 1], cast_rows, &j);
}
