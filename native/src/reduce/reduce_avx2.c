// AVX2/FMA build of reduce_impl.h (compiled with -mavx2 -mfma).
#define NB_ISA_TABLE nb_reduce_avx2
#include "reduce_impl.h"
