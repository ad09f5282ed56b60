// AVX2/FMA build of norm_impl.h (compiled with -mavx2 -mfma).
#define NB_ISA_TABLE nb_norm_avx2
#include "norm_impl.h"
