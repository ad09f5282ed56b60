// AVX-512 build of conv_impl.h (compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma).
#define NB_ISA_TABLE nb_conv_avx512
#include "conv_impl.h"
