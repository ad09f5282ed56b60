// Portable build of pool_impl.h (baseline x86-64 / any architecture).
#define NB_ISA_TABLE nb_pool_scalar
#include "pool_impl.h"
