// AVX2/FMA build of ew_impl.h (compiled with -mavx2 -mfma).
#define NB_ISA_TABLE nb_ew_avx2
#include "ew_impl.h"
