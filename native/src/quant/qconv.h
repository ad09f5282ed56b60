// Quantized convolutional networks on uint8 NHWC activations (ResNet-style inference that never leaves
// the integer grid between layers): the int8 convolution (im2col in C into the u8 x s8 GEMM of quant.h,
// with its requantizing epilogue), the quantized residual addition, max and average pooling on codes,
// and the float32 NCHW -> uint8 NHWC quantization of a network's input.
//
// Glossary: B batch, H,W input size, C input channels, OC output channels, KH,KW kernel, OH,OW output
// size, P = OH*OW pixels; M = B*P rows of the im2col matrix, K = KH*KW*C its columns in (kh, kw, c)
// order, so the weight of a convolution is w (OC, KH, KW, C) (torch's (OC, C, KH, KW) permuted).
// An activation's codes q stand for s * (q - z) (uint8, per-tensor affine).
#ifndef NB_QCONV_H
#define NB_QCONV_H
#include <stdint.h>
#include "core.h"

/* Row loops compiled once per ISA (qconv_impl.h as qconv_scalar.c, qconv_avx2.c, qconv_avx512.c). */
/* Geometry of a convolution or pooling window: kernel, stride, padding, dilation (rows then columns). */
typedef struct {
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
} nb_qwin;

typedef struct {
  /* y (OW, C) = output row oh of the max pooling of img (H, W, C) (padding ignored) */
  void (*maxpool_row)(uint8_t *y, const uint8_t *img, int64_t H, int64_t W, int64_t C, const nb_qwin *g, int64_t oh,
                      int64_t OW);
  /* acc[i] += row[i], i < n */
  void (*sum_merge)(uint32_t *acc, const uint8_t *row, int64_t n);
  /* y[i] = clamp(yz + rint((as*(a[i]-az) + bs*(b[i]-bz)) * inv_ys), lo, 255), i < n (float32 steps) */
  void (*add)(uint8_t *y, const uint8_t *a, float as, int32_t az, const uint8_t *b, float bs, int32_t bz, int64_t n,
              float inv_ys, int32_t yz, int32_t lo);
  /* y[i*ldy] = clamp(z + rint(x[i] * inv), 0, 255), i < n */
  void (*quantize)(uint8_t *y, int64_t ldy, const float *x, int64_t n, float inv, int32_t z);
  /* y[i] = max(y[i], lo), i < n */
  void (*clamp_low)(uint8_t *y, int64_t n, uint8_t lo);
} nb_qconv_impl;

extern const nb_qconv_impl nb_qconv_scalar, nb_qconv_avx2, nb_qconv_avx512;
const nb_qconv_impl *nb_qconv_select(void);

/* y (B,OH,OW,OC) u8 = clamp(yz + rint((acc - xz*colsum[n]) * xs*ws[n] + bias[n]) / ys), relu ? yz : 0, 255)
 * with acc the s32 sums of x (B,H,W,C) u8 (padding reads the zero point xz) against the packed weights
 * (nb_q8_pack of w (OC, KH*KW*C)). 0 when out of memory. */
int nb_q8_conv2d(uint8_t *y, const uint8_t *x, int64_t B, int64_t H, int64_t W, int64_t C, int32_t xz, float xs,
                 const int8_t *bp, const int32_t *colsum, const float *ws, const float *bias, int64_t OC,
                 const nb_qwin *g, int64_t OH, int64_t OW, float ys, int32_t yz, int relu);
/* y (B,H,W,C) u8 NHWC = clamp(z + rint(x * (1/s)), 0, 255) of x (B,C,H,W) f32 contiguous. */
void nb_q8_quantize_nhwc(uint8_t *y, const float *x, int64_t B, int64_t C, int64_t HW, float s, int32_t z);
/* y (n) = the quantized sum of a and b (each with its scale and zero point), optionally ReLU'd. */
void nb_q8_add(uint8_t *y, const uint8_t *a, float as, int32_t az, const uint8_t *b, float bs, int32_t bz, int64_t n,
               float ys, int32_t yz, int relu);
/* y (B,OH,OW,C) = max of each window of x (B,H,W,C) (padding ignored; dilation as g). */
void nb_q8_maxpool2d(uint8_t *y, const uint8_t *x, int64_t B, int64_t H, int64_t W, int64_t C, const nb_qwin *g,
                     int64_t OH, int64_t OW);
/* y (B,OH,OW,C) = (2*sum + n) / (2n) (the mean rounded half up) of each window of n = KH*KW codes of x
 * (B,H,W,C), no padding; the codes keep x's scale and zero point (torch's quantized avg_pool2d). 0 when
 * out of memory. */
int nb_q8_avgpool2d(uint8_t *y, const uint8_t *x, int64_t B, int64_t H, int64_t W, int64_t C, const nb_qwin *g,
                    int64_t OH, int64_t OW);
#endif
