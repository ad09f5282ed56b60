// Portable build of qconv_impl.h (baseline x86-64 / any architecture, WASM).
#define NB_ISA_TABLE nb_qconv_scalar
#include "qconv_impl.h"
