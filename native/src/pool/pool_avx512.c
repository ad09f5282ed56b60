// AVX-512 build of pool_impl.h (compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma).
#define NB_ISA_TABLE nb_pool_avx512
#include "pool_impl.h"
