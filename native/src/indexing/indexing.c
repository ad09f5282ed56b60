// Embedding-style indexing along one dim: indexSelect (forward) and indexAdd (its backward).
// Glossary: outer, len, inner split x around `dim`; m indices.
#include <stdint.h>
#include <string.h>
#include "core.h"

typedef struct {
  float *y;
  const float *x;
  const int32_t *idx;
  int64_t outer, len, inner, m;
} index_job;

static void select_rows(void *p, int64_t lo, int64_t hi) {
  const index_job *j = (const index_job *)p;
  for (int64_t r = lo; r < hi; r++) {
    int64_t o = r / j->m, k = r % j->m;
    memcpy(j->y + r * j->inner, j->x + (o * j->len + j->idx[k]) * j->inner, (size_t)j->inner * sizeof(float));
  }
}

// x (outer, len, inner) -> y (outer, m, inner) with y[o,k,:] = x[o, idx[k], :]; idx already in range
void nb_index_select_f32(float *y, const float *x, const int32_t *idx, int64_t outer, int64_t len, int64_t inner,
                         int64_t m) {
  index_job j = {y, x, idx, outer, len, inner, m};
  nb_parallel_for(outer * m, (double)inner, select_rows, &j);
}

// Threads own disjoint column ranges of inner, so repeated indices never race.
static void add_cols(void *p, int64_t lo, int64_t hi) {
  const index_job *j = (const index_job *)p;
  for (int64_t o = 0; o < j->outer; o++)
    for (int64_t k = 0; k < j->m; k++) {
      float *d = j->y + (o * j->len + j->idx[k]) * j->inner;
      const float *s = j->x + (o * j->m + k) * j->inner;
      for (int64_t i = lo; i < hi; i++) d[i] += s[i];
    }
}

// dst (outer, len, inner)[o, idx[k], :] += src (outer, m, inner)[o, k, :]; idx already in range
void nb_index_add_f32(float *dst, const float *src, const int32_t *idx, int64_t outer, int64_t len, int64_t inner,
                      int64_t m) {
  index_job j = {dst, src, idx, outer, len, inner, m};
  nb_parallel_for(inner, (double)(outer * m), add_cols, &j);
}
