// Portable build of norm_impl.h (baseline x86-64 / any architecture).
#define NB_ISA_TABLE nb_norm_scalar
#include "norm_impl.h"
