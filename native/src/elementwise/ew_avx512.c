// AVX-512 build of ew_impl.h (compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma).
#define NB_ISA_TABLE nb_ew_avx512
#include "ew_impl.h"
