// Portable build of ew_impl.h (baseline x86-64 / any architecture).
#define NB_ISA_TABLE nb_ew_scalar
#include "ew_impl.h"
