// N-API wrappers for the neural-network kernels (conv, pooling, indexing, fused steps). Same rules
// as addon.c: validate every argument, then call the kernel.
#include "napi_util.h"

void nb_register_nn(napi_env env, napi_value exports) {
  (void)env; (void)exports;
}
