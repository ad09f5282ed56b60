// AVX2 build of qconv_impl.h (in nabla_quant_avx2: -mavx2 -mfma -ffp-contract=off).
#define NB_ISA_TABLE nb_qconv_avx2
#include "qconv_impl.h"
