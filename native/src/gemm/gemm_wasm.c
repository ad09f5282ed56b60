// WebAssembly SIMD128 SGEMM microkernel and GEMV (the WASM backend; compiled only for wasm32 with
// -msimd128, and picked at compile time by nb_gemm_select). SIMD128 has no fused multiply-add, and V8
// maps v128 values onto x86's 16 xmm registers, one of them its scratch: a 4x8 tile (8 accumulators,
// two B vectors, one broadcast A element) ran 1024^3 about 30% faster than 6x8 (12 accumulators),
// which V8 spills.
#if defined(__wasm_simd128__)
#include <stddef.h>
#include <wasm_simd128.h>
#include "gemm.h"

// C (4,8) row stride ldc (=|+=) Ap (4 x kc, k-major) @ Bp (kc x 8, row stride ldb).
static void ukernel_4x8(int64_t kc, const float *ap, const float *bp, int64_t ldb, float *c, int64_t ldc,
                        int accumulate) {
  v128_t c00 = wasm_f32x4_const_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const long sb = (long)ldb;
  for (long k = 0; k < (long)kc; k++, ap += 4, bp += sb) {
    const v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
    v128_t a = wasm_v128_load32_splat(ap);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(a, b0));
    c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(a, b1));
    a = wasm_v128_load32_splat(ap + 1);
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(a, b0));
    c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(a, b1));
    a = wasm_v128_load32_splat(ap + 2);
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(a, b0));
    c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(a, b1));
    a = wasm_v128_load32_splat(ap + 3);
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(a, b0));
    c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(a, b1));
  }
  const v128_t acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  for (int i = 0; i < 4; i++) {
    float *ci = c + i * (long)ldc;
    v128_t r0 = acc[i][0], r1 = acc[i][1];
    if (accumulate) {
      r0 = wasm_f32x4_add(r0, wasm_v128_load(ci));
      r1 = wasm_f32x4_add(r1, wasm_v128_load(ci + 4));
    }
    wasm_v128_store(ci, r0);
    wasm_v128_store(ci + 4, r1);
  }
}

// x (K) stride incx, B (K,N) [rsb,csb] -> y[j0..j1): rows of B added into 32 columns at a time when
// they are contiguous (csb == 1), a dot product per column when the columns are (rsb == 1, incx == 1).
static void gemv_wasm(float *y, const float *x, int64_t incx, const float *b, int64_t rsb, int64_t csb, int64_t K,
                      int64_t j0, int64_t j1) {
  const long sk = (long)rsb, sx = (long)incx, nk = (long)K;
  if (csb == 1) {
    long j = (long)j0;
    for (; j + 32 <= (long)j1; j += 32) {
      v128_t s[8];
      for (int v = 0; v < 8; v++) s[v] = wasm_f32x4_const_splat(0);
      const float *bk = b + j;
      for (long k = 0; k < nk; k++, bk += sk) {
        const v128_t xk = wasm_f32x4_splat(x[k * sx]);
        for (int v = 0; v < 8; v++) s[v] = wasm_f32x4_add(s[v], wasm_f32x4_mul(xk, wasm_v128_load(bk + 4 * v)));
      }
      for (int v = 0; v < 8; v++) wasm_v128_store(y + j + 4 * v, s[v]);
    }
    for (; j + 4 <= (long)j1; j += 4) {
      v128_t s = wasm_f32x4_const_splat(0);
      const float *bk = b + j;
      for (long k = 0; k < nk; k++, bk += sk)
        s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_f32x4_splat(x[k * sx]), wasm_v128_load(bk)));
      wasm_v128_store(y + j, s);
    }
    if (j < (long)j1) nb_gemv_scalar(y, x, incx, b, rsb, csb, K, j, j1);
    return;
  }
  if (rsb == 1 && incx == 1) {
    for (long j = (long)j0; j < (long)j1; j++) {
      const float *bj = b + j * (long)csb;
      v128_t s0 = wasm_f32x4_const_splat(0), s1 = s0, s2 = s0, s3 = s0;
      long k = 0;
      for (; k + 16 <= nk; k += 16) {
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(x + k), wasm_v128_load(bj + k)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(x + k + 4), wasm_v128_load(bj + k + 4)));
        s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(wasm_v128_load(x + k + 8), wasm_v128_load(bj + k + 8)));
        s3 = wasm_f32x4_add(s3, wasm_f32x4_mul(wasm_v128_load(x + k + 12), wasm_v128_load(bj + k + 12)));
      }
      const v128_t s = wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3));
      float t = wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) + wasm_f32x4_extract_lane(s, 2) +
                wasm_f32x4_extract_lane(s, 3);
      for (; k < nk; k++) t += x[k] * bj[k];
      y[j] = t;
    }
    return;
  }
  nb_gemv_scalar(y, x, incx, b, rsb, csb, K, j0, j1);
}

// The A block (128 x 256) stays in L2, the B panel (256 x 2048) in L3.
const nb_gemm_impl nb_gemm_wasm = {4, 8, 128, 256, 2048, ukernel_4x8, gemv_wasm, "wasm-simd128", NULL, NULL, NULL};
#endif
