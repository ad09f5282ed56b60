// Portable build of optim_impl.h (baseline x86-64 / any architecture).
#define NB_ISA_TABLE nb_optim_scalar
#include "optim_impl.h"
