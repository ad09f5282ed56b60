// Portable build of reduce_impl.h (baseline x86-64 / any architecture).
#define NB_ISA_TABLE nb_reduce_scalar
#include "reduce_impl.h"
