// AVX2/FMA build of optim_impl.h (compiled with -mavx2 -mfma).
#define NB_ISA_TABLE nb_optim_avx2
#include "optim_impl.h"
