// Infrastructure every convolution path shares (conv_common.h): the per-ISA table's pick, huge-page
// allocation, the per-thread scratch slots, the epilogue for paths that store plain products, and the
// weight stamps.
#include <stdatomic.h>
#include <stdlib.h>
#include "conv_common.h"
#if defined(__linux__)
#include <sys/mman.h>
#endif

NB_ISA_SELECT(nb_conv_impl, nb_conv_select, nb_conv_scalar, nb_conv_avx2, nb_conv_avx512)

/* Per-thread, grow-only scratch for the convolution paths, one buffer per named slot (nb_conv_slot in
 * conv_common.h). Reused across calls: mapped fresh each time, tens of MB of scratch per training step
 * cost as much in page faults as some of the convolutions. Buffers up to 128 MB are kept between calls
 * (the high-water mark is ~35 MB for ResNet-18 training at batch 8); larger ones are freed after the
 * call that needed them. */
static _Thread_local struct {
  float *p;
  size_t cap;
} slots[NB_CONV_SLOTS];

float *nb_alloc_huge(size_t bytes) {
  float *p = (float *)aligned_alloc(NB_HUGE_PAGE, bytes);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p) madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

static float *scratch(int slot, size_t floats) {
  if (floats > slots[slot].cap) {
    const size_t bytes = (floats * sizeof(float) + NB_HUGE_PAGE - 1) & ~(NB_HUGE_PAGE - 1);
    free(slots[slot].p);
    slots[slot].p = nb_alloc_huge(bytes);
    slots[slot].cap = slots[slot].p ? bytes / sizeof(float) : 0;
  }
  return slots[slot].p;
}

float *nb_conv_scratch(enum nb_conv_slot slot, size_t floats) { return scratch(slot, floats); }

#define SCRATCH_KEEP (((size_t)128 << 20) / sizeof(float))

void nb_conv_scratch_trim(void) {
  for (int s = 0; s < NB_CONV_SLOTS; s++)
    if (slots[s].cap > SCRATCH_KEEP) {
      free(slots[s].p);
      slots[s].p = NULL;
      slots[s].cap = 0;
    }
}

// dst[0, n) = act(src * scale[oc] + shift[oc] + res[at + i]) (src may be dst: the post pass).
void nb_conv_epilogue_run(const nb_conv_impl *isa, float *dst, const float *src, int64_t n, const nb_conv_epi *e,
                          int64_t oc, int64_t at) {
  isa->conv_epilogue_row(dst, src, n, e->scale ? e->scale[oc] : 1.f, e->shift ? e->shift[oc] : 0.f,
                         e->res ? e->res + at : NULL, e->relu);
}

typedef struct {
  float *y;
  const nb_conv *g;
  const nb_conv_epi *e;
  const nb_conv_impl *isa;
} epi_job;

// The epilogue over output planes (n, oc) in [lo, hi), in place (paths that store plain products).
static void epilogue_planes(void *p, int64_t lo, int64_t hi) {
  const epi_job *j = (const epi_job *)p;
  const int64_t L = j->g->OH * j->g->OW;
  for (int64_t q = lo; q < hi; q++)
    nb_conv_epilogue_run(j->isa, j->y + q * L, j->y + q * L, L, j->e, q % j->g->OC, q * L);
}

void nb_conv_epilogue(float *y, const nb_conv *g, const nb_conv_epi *e) {
  epi_job j = {y, g, e, nb_conv_select()};
  nb_parallel_for(g->N * g->OC, (double)(g->OH * g->OW), epilogue_planes, &j);
}

static _Atomic uint64_t stamps;

double nb_next_stamp(void) { return (double)(atomic_fetch_add(&stamps, 1) + 1); }
