// Portable build of conv_impl.h (baseline x86-64 / any architecture).
#define NB_ISA_TABLE nb_conv_scalar
#include "conv_impl.h"
