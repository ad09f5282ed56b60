// AVX2/FMA build of pool_impl.h (compiled with -mavx2 -mfma).
#define NB_ISA_TABLE nb_pool_avx2
#include "pool_impl.h"
