// The WebAssembly build's own exports and imports (everything else it runs is the addon's C).
#ifndef NB_WASM_NBW_H
#define NB_WASM_NBW_H
#include <stdint.h>
#include "node_api.h"

#define NBW_EXPORT(name) __attribute__((export_name(#name)))
#define NBW_IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

/* napi/register.c's init, through NAPI_MODULE (include/node_api.h). */
napi_value nbw_module_init(napi_env env, napi_value exports);
#endif
