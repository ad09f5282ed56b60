// Infrastructure every convolution path shares (conv_common.h).
#include "conv_common.h"

NB_ISA_SELECT(nb_conv_impl, nb_conv_select, nb_conv_scalar, nb_conv_avx2, nb_conv_avx512)
