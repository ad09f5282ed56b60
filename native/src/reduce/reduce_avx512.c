// AVX-512 build of reduce_impl.h (compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma).
#define NB_ISA_TABLE nb_reduce_avx512
#include "reduce_impl.h"
