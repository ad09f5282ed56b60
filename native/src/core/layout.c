// Strided layouts: element counts, contiguous strides, dim coalescing and per-element offsets, for
// every family's strided drivers (declared in core.h and nabla.h).
#include "core.h"

int64_t nb_numel(const nb_layout *l) {
  int64_t n = 1;
  for (int i = 0; i < l->ndim; i++) n *= l->shape[i];
  return n;
}

void nb_contig_strides(nb_layout *l) {
  int64_t s = 1;
  for (int i = l->ndim - 1; i >= 0; i--) {
    l->strides[i] = s;
    s *= l->shape[i];
  }
}

int nb_coalesce(nb_layout *ls, int nt) {
  int nd = ls[0].ndim, out = 0;
  int64_t shape[NB_MAX_DIMS], st[4][NB_MAX_DIMS];
  for (int d = 0; d < nd; d++) {
    if (ls[0].shape[d] == 1) continue;
    int merge = out > 0;
    for (int t = 0; t < nt && merge; t++) merge = st[t][out - 1] == ls[t].strides[d] * ls[t].shape[d];
    if (merge) {
      shape[out - 1] *= ls[0].shape[d];
      for (int t = 0; t < nt; t++) st[t][out - 1] = ls[t].strides[d];
    } else {
      shape[out] = ls[0].shape[d];
      for (int t = 0; t < nt; t++) st[t][out] = ls[t].strides[d];
      out++;
    }
  }
  if (out == 0) {
    shape[0] = 1;
    for (int t = 0; t < nt; t++) st[t][0] = 1;
    out = 1;
  }
  for (int t = 0; t < nt; t++) {
    ls[t].ndim = out;
    for (int d = 0; d < out; d++) {
      ls[t].shape[d] = shape[d];
      ls[t].strides[d] = st[t][d];
    }
  }
  return out;
}

void nb_offsets(const nb_layout *ls, int nt, int nd, int64_t idx, int64_t *off) {
  for (int t = 0; t < nt; t++) off[t] = ls[t].offset;
  for (int d = nd - 1; d >= 0; d--) {
    int64_t n = ls[0].shape[d], i = idx % n;
    idx /= n;
    for (int t = 0; t < nt; t++) off[t] += i * ls[t].strides[d];
  }
}
