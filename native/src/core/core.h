// Helpers every kernel family shares: strided-layout iteration (layout.c), the parallel range loop
// (threadpool.c), the per-ISA table pick, and two branch-free float selects.
#ifndef NB_CORE_H
#define NB_CORE_H
#include <stdint.h>
#include <string.h>
#include "nabla.h"

/* Merges adjacent dims that are contiguous in every one of the `nt` layouts (same shape) and drops
 * size-1 dims; the result has at least one dim. Returns the new ndim. */
int nb_coalesce(nb_layout *ls, int nt);
/* Offsets of element `idx` (row-major over dims [0, nd)) in each of the nt layouts. */
void nb_offsets(const nb_layout *ls, int nt, int nd, int64_t idx, int64_t *off);
/* Contiguous row-major strides for a shape. */
void nb_contig_strides(nb_layout *l);

/* Runs fn(ctx, lo, hi) over [0, n) split across the pool when n * cost_per_item is large. */
typedef void (*nb_range_fn)(void *ctx, int64_t lo, int64_t hi);
void nb_parallel_for(int64_t n, double cost_per_item, nb_range_fn fn, void *ctx);

/* Defines `const type *fn(void)`, the active ISA's table of a family whose per-ISA source is
 * compiled three times (scalar, avx2 and avx512 tables; the wide ones exist on x86-64 only). */
#if defined(__x86_64__)
#define NB_ISA_SELECT(type, fn, scalar, avx2, avx512)                                                                  \
  const type *fn(void) {                                                                                               \
    int isa = nb_active_isa();                                                                                         \
    if (isa >= NB_ISA_AVX512) return &avx512;                                                                          \
    if (isa >= NB_ISA_AVX2) return &avx2;                                                                              \
    return &scalar;                                                                                                    \
  }
#else
#define NB_ISA_SELECT(type, fn, scalar, avx2, avx512)                                                                  \
  const type *fn(void) { return &scalar; }
#endif

/* v where y > 0 or y is NaN, else 0: relu(v) = nb_keep_positive(v, v), its gradient from the output y
 * nb_keep_positive(g, y) (torch's threshold_backward). A bit mask rather than a select: on activations
 * about half the elements are negative, and a compare-and-branch per element mispredicts half the time. */
static inline float nb_keep_positive(float v, float y) {
  uint32_t b, m = (uint32_t)0 - (uint32_t) !(y <= 0.f);
  memcpy(&b, &v, sizeof b);
  b &= m;
  memcpy(&v, &b, sizeof v);
  return v;
}

/* max(a, b) with NaN winning (as torch's max pooling), as two selects: one combined condition
 * compiled to slow code. */
static inline float nb_max_nan(float a, float b) {
  const float m = b > a ? b : a;
  return b != b ? b : m;
}
#endif
