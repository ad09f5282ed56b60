// AVX-512 build of optim_impl.h (compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma).
#define NB_ISA_TABLE nb_optim_avx512
#include "optim_impl.h"
