// AVX2/FMA build of conv_impl.h (compiled with -mavx2 -mfma).
#define NB_ISA_TABLE nb_conv_avx2
#include "conv_impl.h"
