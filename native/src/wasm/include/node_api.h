// The few Node-API types and calls the N-API layer (src/napi) uses, for the WebAssembly build: there
// is no Node there, so napi/register.c, addon.c and addon_nn.c compile unchanged against this header
// and wasm/napi.c, which reads their arguments from values the JS loader writes into linear memory
// (src/backend/wasm/marshal.ts) and returns results the same way. The argument contract stays
// kernels.def, read by the same code, with the same checks and error messages as the addon.
#ifndef NB_WASM_NODE_API_H
#define NB_WASM_NODE_API_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAPI_AUTO_LENGTH SIZE_MAX

typedef struct nbw_env *napi_env;
typedef struct nbw_val *napi_value;
typedef struct nbw_cbinfo *napi_callback_info;
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

typedef enum {
  napi_ok,
  napi_invalid_arg,
  napi_object_expected,
  napi_string_expected,
  napi_name_expected,
  napi_function_expected,
  napi_number_expected,
  napi_boolean_expected,
  napi_array_expected,
  napi_generic_failure,
} napi_status;

typedef enum {
  napi_undefined,
  napi_null,
  napi_boolean,
  napi_number,
  napi_string,
  napi_symbol,
  napi_object,
  napi_function,
  napi_external,
  napi_bigint,
} napi_valuetype;

/* Node's numbering: marshal.ts writes these codes. */
typedef enum {
  napi_int8_array,
  napi_uint8_array,
  napi_uint8_clamped_array,
  napi_int16_array,
  napi_uint16_array,
  napi_int32_array,
  napi_uint32_array,
  napi_float32_array,
  napi_float64_array,
  napi_bigint64_array,
  napi_biguint64_array,
} napi_typedarray_type;

typedef enum {
  napi_default = 0,
  napi_writable = 1,
  napi_enumerable = 2,
  napi_configurable = 4
} napi_property_attributes;

typedef struct {
  const char *utf8name;
  napi_value name;
  napi_callback method;
  napi_callback getter;
  napi_callback setter;
  napi_value value;
  napi_property_attributes attributes;
  void *data;
} napi_property_descriptor;

napi_status napi_typeof(napi_env env, napi_value v, napi_valuetype *t);
napi_status napi_get_value_double(napi_env env, napi_value v, double *out);
napi_status napi_get_value_bool(napi_env env, napi_value v, bool *out);
napi_status napi_get_value_string_utf8(napi_env env, napi_value v, char *buf, size_t size, size_t *len);
napi_status napi_is_array(napi_env env, napi_value v, bool *out);
napi_status napi_get_array_length(napi_env env, napi_value v, uint32_t *out);
napi_status napi_get_element(napi_env env, napi_value v, uint32_t i, napi_value *out);
napi_status napi_get_named_property(napi_env env, napi_value v, const char *key, napi_value *out);
napi_status napi_is_typedarray(napi_env env, napi_value v, bool *out);
napi_status napi_get_typedarray_info(napi_env env, napi_value v, napi_typedarray_type *type, size_t *length,
                                     void **data, napi_value *arraybuffer, size_t *byte_offset);
napi_status napi_is_detached_arraybuffer(napi_env env, napi_value v, bool *out);
napi_status napi_get_cb_info(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, napi_value *self,
                             void **data);
napi_status napi_throw_error(napi_env env, const char *code, const char *msg);
napi_status napi_is_exception_pending(napi_env env, bool *out);
napi_status napi_get_undefined(napi_env env, napi_value *out);
napi_status napi_get_boolean(napi_env env, bool v, napi_value *out);
napi_status napi_create_double(napi_env env, double v, napi_value *out);
napi_status napi_create_string_utf8(napi_env env, const char *s, size_t len, napi_value *out);
napi_status napi_create_object(napi_env env, napi_value *out);
napi_status napi_create_array(napi_env env, napi_value *out);
napi_status napi_create_array_with_length(napi_env env, size_t n, napi_value *out);
napi_status napi_set_named_property(napi_env env, napi_value o, const char *key, napi_value v);
napi_status napi_set_element(napi_env env, napi_value o, uint32_t i, napi_value v);
napi_status napi_define_properties(napi_env env, napi_value o, size_t n, const napi_property_descriptor *props);

/* register.c's module entry, called once by wasm/napi.c when the instance starts. */
#define NAPI_MODULE(modname, fn)                                                                                       \
  napi_value nbw_module_init(napi_env env, napi_value exports) { return fn(env, exports); }
#endif
