// AVX-512 build of norm_impl.h (compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma).
#define NB_ISA_TABLE nb_norm_avx512
#include "norm_impl.h"
