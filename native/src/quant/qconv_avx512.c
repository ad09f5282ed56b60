// AVX-512 build of qconv_impl.h (in nabla_quant_avx512: -mavx512f/bw/dq/vl -ffp-contract=off).
#define NB_ISA_TABLE nb_qconv_avx512
#include "qconv_impl.h"
