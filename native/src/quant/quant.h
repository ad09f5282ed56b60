// Quantized and reduced-precision matrix products: u8 x s8 -> s32 GEMM with a dequantizing or
// requantizing epilogue (dynamic and static int8 linear layers), bf16 GEMM with f32 accumulation,
// and weight-only int8 / int4 products for LLM decoding (the weights dequantized in registers).
//
// Glossary: M rows of x, K inputs, N outputs (rows of the (N,K) weight, as torch's Linear); a panel
// is 16 output columns; a k-group is the 4 bytes one 32-bit lane multiplies at once (4 int8 or 2 bf16).
//
// Packed weights (both kinds): panel p of 16 columns holds, for each k-group g, 16 columns x 4 bytes:
//   int8: bp[p*pstride + g*64 + j*4 + r] = w[(16p + j)*K + 4g + r]        (pstride = KP*16 bytes)
//   bf16: bp[p*pstride + g*32 + j*2 + r] = w[(16p + j)*K + 2g + r]        (pstride = KP*16 halves)
// with zeros past N and K. KP (K padded) is a multiple of 64 (int8) or 32 (bf16): one AMX tile's
// depth, so an AMX B tile is 16 consecutive k-groups of one panel read in place (row stride 64 B).
#ifndef NB_QUANT_H
#define NB_QUANT_H
#include <stdint.h>
#include <stddef.h>

/* Padded depths and packed sizes (in elements of int8 / uint16). */
static inline int64_t nb_q8_kp(int64_t K) { return (K + 63) / 64 * 64; }
static inline int64_t nb_bf16_kp(int64_t K) { return (K + 31) / 32 * 32; }
static inline int64_t nb_q_panels(int64_t N) { return (N + 15) / 16; }

/* The epilogue of one int8 product: acc (i,n) = sum_k xq[i,k] * w[n,k] (s32), then
 *   v = (acc - xz * colsum[n]) * (xs * ws[n]) + bias[n]   (bias NULL: none; ws per column)
 * stored as float y[i*ldy + n], or, when yq is set, requantized yq[i*ldy + n] = clamp(yz + rint(v * inv_ys), 0, 255).
 */
typedef struct {
  int32_t xz;
  float xs;
  const float *ws;
  const int32_t *colsum;
  const float *bias;
  float *y;
  uint8_t *yq;
  int64_t ldy;
  float inv_ys;
  int32_t yz;
} nb_q8_epi;

/* xq (M rows, row stride ldx bytes, read up to 4*ceil(K/4) bytes per row) @ packed panels -> columns
 * [n0, n1) of the output (n0 a multiple of 16), through the epilogue. */
typedef void (*nb_q8_gemm_fn)(const uint8_t *xq, int64_t ldx, int64_t M, const int8_t *bp, int64_t K, int64_t n0,
                              int64_t n1, int64_t N, const nb_q8_epi *e);
/* xb (M rows of bf16, row stride ldx halves, read up to 2*ceil(K/2) per row) @ packed bf16 panels
 * -> y[i*ldy + n] = acc + bias[n] for columns [n0, n1). */
typedef void (*nb_bf16_gemm_fn)(const uint16_t *xb, int64_t ldx, int64_t M, const uint16_t *bp, int64_t K, int64_t n0,
                                int64_t n1, int64_t N, const float *bias, float *y, int64_t ldy);
/* Weight-only int8: y[i*ldy + n] = sum_k x[i*ldx + k] * q[n,k] * scales[n] + bias[n] for rows n in
 * [n0, n1) of q (N,K) s8 row-major (bits, G: unused, int4 has nb_q4_fn). int4 weights: per row
 * ceil(K/G) groups of G/2 bytes; byte j of a group holds element j (low nibble) and j + G/2 (high
 * nibble), value (code - 8) * scales[n*ngroups + g]; G a multiple of 32. */
typedef void (*nb_woq_fn)(const float *x, int64_t ldx, int64_t M, const uint8_t *q, const float *scales, int bits,
                          int64_t G, int64_t K, int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy);

/* int4 weights times activations quantized to int8 per group of G (llama.cpp's Q4_0 x Q8_0): for row i
 * of x and group g, d = max|x| over the group / 127, c[k] = rint(x[k] / d) in [-127, 127] (a NaN: 0),
 *   y[i,n] = sum over g, in order, of (float)(sum_k c[k] * (code[n,k] - 8)) * (scales[n,g] * d)  + bias[n]
 * (the integer sums exact; SIMD paths split them over lanes, so they match to float rounding).
 * The activations are prepared once per product, laid out as the weight's bytes (rowb = ceil(K/G)*G/2,
 * each row padded with zeros to ld, a multiple of 64 bytes):
 *   lo[p], hi[p]: the codes of the elements in the low / high nibble of weight byte p;
 *   corr[p/4] = -8 * (the 4 lo and 4 hi codes of bytes p..p+3): codes 0..15 then count as -8..7;
 *   dl[p/4] = d of the group holding byte p (one float per 32-bit lane). */
typedef struct {
  const int8_t *lo, *hi;
  const int32_t *corr;
  const float *dl;
  int64_t ld; /* bytes between rows of lo, hi; ld/4 between rows of corr, dl */
} nb_q4_act;
/* y[i*ldy + n] for rows n in [n0, n1) of the int4 weight, every row of the prepared activations. */
typedef void (*nb_q4_fn)(const nb_q4_act *a, int64_t M, const uint8_t *q, const float *scales, int64_t G, int64_t K,
                         int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy);

typedef struct {
  const char *name;
  nb_q8_gemm_fn q8;
  nb_bf16_gemm_fn bf16; /* NULL: none on this path (bf16 then runs on the scalar one) */
  nb_woq_fn woq;
} nb_quant_impl;

extern const nb_quant_impl nb_quant_scalar, nb_quant_avx2, nb_quant_avxvnni, nb_quant_avx512vnni, nb_quant_amx;

/* Scalar kernels, also the fallback of every other path for what it lacks. */
void nb_q8_gemm_scalar(const uint8_t *xq, int64_t ldx, int64_t M, const int8_t *bp, int64_t K, int64_t n0, int64_t n1,
                       int64_t N, const nb_q8_epi *e);
void nb_bf16_gemm_scalar(const uint16_t *xb, int64_t ldx, int64_t M, const uint16_t *bp, int64_t K, int64_t n0,
                         int64_t n1, int64_t N, const float *bias, float *y, int64_t ldy);
void nb_woq_scalar(const float *x, int64_t ldx, int64_t M, const uint8_t *q, const float *scales, int bits, int64_t G,
                   int64_t K, int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy);
void nb_q4_scalar(const nb_q4_act *a, int64_t M, const uint8_t *q, const float *scales, int64_t G, int64_t K,
                  int64_t n0, int64_t n1, const float *bias, float *y, int64_t ldy);

/* One output element of the int8 epilogue, exactly as every path computes it. */
static inline void nb_q8_store(const nb_q8_epi *e, int64_t i, int64_t n, int32_t acc) {
  float v = (float)(acc - e->xz * e->colsum[n]) * (e->xs * e->ws[n]);
  if (e->bias) v += e->bias[n];
  if (e->yq) {
    float r = __builtin_rintf(v * e->inv_ys) + (float)e->yz;
    e->yq[i * e->ldy + n] = (uint8_t)(r < 0.f ? 0.f : r > 255.f ? 255.f : r);
  } else {
    e->y[i * e->ldy + n] = v;
  }
}

/* f32 -> bf16 bits, rounding to nearest even (NaN kept quiet), as torch's c10::BFloat16. */
static inline uint16_t nb_f32_to_bf16(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static inline float nb_bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

/* ---- the entry points (quant.c); each returns 0 when out of memory ---- */
/* bp (npanels * KP * 16) and colsum (N) from w (N,K) s8 row-major. */
void nb_q8_pack(int8_t *bp, int32_t *colsum, const int8_t *w, int64_t N, int64_t K);
/* bp (npanels * KP * 16) from w (N,K) bf16 bits row-major. */
void nb_bf16_pack(uint16_t *bp, const uint16_t *w, int64_t N, int64_t K);
/* QNNPACK's dynamic activation parameters for the range [mn, mx]. */
void nb_q8_choose_qparams(float mn, float mx, int reduce_range, float *scale, int32_t *zp);
/* y (M,N) f32 (or yq u8, requantized by ys, yz) = xq (M,K) u8 contiguous, zero point xz, scale xs @ packed w. */
int nb_q8_gemm(float *y, uint8_t *yq, float ys, int32_t yz, const uint8_t *xq, int32_t xz, float xs, const int8_t *bp,
               const int32_t *colsum, const float *ws, const float *bias, int64_t M, int64_t N, int64_t K);
/* The dynamic linear layer: x (M,K) [rsx,csx] f32 quantized per tensor here, then nb_q8_gemm to f32. */
int nb_q8_linear_dynamic(float *y, const float *x, int64_t rsx, int64_t csx, int64_t M, int64_t K, const int8_t *bp,
                         const int32_t *colsum, const float *ws, const float *bias, int64_t N, int reduce_range);
/* y (M,N) = bf16(x (M,K) [rsx,csx]) @ packed bf16 w + bias. */
int nb_bf16_linear(float *y, const float *x, int64_t rsx, int64_t csx, int64_t M, int64_t K, const uint16_t *bp,
                   const float *bias, int64_t N);
/* y (M,N) = x (M,K) rows ldx apart @ deq(q)^T + bias (layouts of nb_woq_fn; int4 as nb_q4_fn). 0 when
 * out of memory. */
int nb_woq_linear(float *y, const float *x, int64_t ldx, int64_t M, int64_t K, const uint8_t *q, const float *scales,
                  int bits, int64_t G, const float *bias, int64_t N);
/* Forces a path ("scalar", "avx2", "avxvnni", "avx512", "amx", or "auto"); 0 when this machine lacks it. */
int nb_quant_set_path(const char *name);
/* The paths in use, and a bit mask of the available ones (bit p: PATH_NAMES[p] in quant.c). */
void nb_quant_paths(const char **int8, const char **bf16, const char **woq, int *avail);
/* The int8 GEMM of the path in use (the convolutions of qconv.c call it on their im2col rows). */
nb_q8_gemm_fn nb_q8_active(void);

/* AMX (quant.c): 1 when the tiles are usable in this process (cpuid, then the kernel's permission, asked
 * once); a refusal is reported on stderr once and the next path is used. */
int nb_amx_usable(void);
const char *nb_amx_status(void);
#endif
