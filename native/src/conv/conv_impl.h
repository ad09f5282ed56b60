// A convolution's per-ISA loops: the Winograd tile transforms (winograd_tf.h), the epilogue over
// output rows and tiles, and the strided phase rows. Compiled three times (conv_scalar.c,
// conv_avx2.c, conv_avx512.c) with that ISA's flags; the conv paths pick one table at runtime
// (nb_conv_select). NB_ISA_TABLE names the table this compilation defines.
#include "conv_common.h"
#include "winograd_tf.h"

// A convolution's epilogue over one output row: dst = act(src * sc + sh + res) (res NULL: 0; relu
// keeps NaN, as nb_keep_positive), in one pass. src may be dst.
static void conv_epilogue_row(float *dst, const float *src, int64_t n, float sc, float sh, const float *res, int relu) {
  if (res && relu)
    for (int64_t i = 0; i < n; i++) {
      const float v = src[i] * sc + sh + res[i];
      dst[i] = nb_keep_positive(v, v);
    }
  else if (res)
    for (int64_t i = 0; i < n; i++) dst[i] = src[i] * sc + sh + res[i];
  else if (relu)
    for (int64_t i = 0; i < n; i++) {
      const float v = src[i] * sc + sh;
      dst[i] = nb_keep_positive(v, v);
    }
  else
    for (int64_t i = 0; i < n; i++) dst[i] = src[i] * sc + sh;
}

// The epilogue over a microkernel tile's m rows of n outputs: row i from src + i*lds to dst + i*ldd,
// with scale and shift sc[i], sh[i] (NULL: 1, 0) and the residual at res + i*ldd (NULL: none). One call
// a tile rather than a row: the direct path stores ~25k row pieces in ResNet's stem alone.
static void conv_epilogue_tile(float *dst, int64_t ldd, const float *src, int64_t lds, int64_t m, int64_t n,
                               const float *sc, const float *sh, const float *res, int relu) {
  for (int64_t i = 0; i < m; i++)
    conv_epilogue_row(dst + i * ldd, src + i * lds, n, sc ? sc[i] : 1.f, sh ? sh[i] : 0.f, res ? res + i * ldd : NULL,
                      relu);
}

// dst[j] = src[j * stride], j < n. Stride 2 (every strided ResNet convolution) with a constant
// stride, which the compiler turns into whole-vector loads and permutes.
static void strided_row(float *restrict dst, const float *restrict src, int64_t n, int64_t stride) {
  if (stride == 2)
    for (int64_t j = 0; j < n; j++) dst[j] = src[2 * j];
  else
    for (int64_t j = 0; j < n; j++) dst[j] = src[j * stride];
}

const nb_conv_impl NB_ISA_TABLE = {
    .wino_phase_row = wino_phase_row,
    .wino_input = wino_input,
    .wino_output = wino_output,
    .wino_weights = wino_weights,
    .wino_dy = wino_dy,
    .wino_dw = wino_dw,
    .wino_input_few = wino_input_few,
    .conv_epilogue_row = conv_epilogue_row,
    .conv_epilogue_tile = conv_epilogue_tile,
    .strided_row = strided_row,
};
