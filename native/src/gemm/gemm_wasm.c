// WebAssembly SIMD128 SGEMM microkernel and GEMV (the WASM backend; compiled only for wasm32 with
// -msimd128, and picked at compile time by nb_gemm_select). SIMD128 has no fused multiply-add, and V8
// maps v128 values onto x86's 16 xmm registers, one of them its scratch: a 4x8 tile (8 accumulators,
// two B vectors, one broadcast A element) ran 1024^3 about 30% faster than 6x8 (12 accumulators),
// which V8 spills.
#if defined(__wasm_simd128__)
#include <stddef.h>
#include <string.h>
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

// x (K) stride incx, B (K,N) [rsb,csb] -> y[j0..j1). Contiguous columns (csb == 1): y is taken in
// tiles of GEMV_JT columns (256 KB, in L2) while B streams through four rows at a time, each row of
// the tile one contiguous run (768 x 50257, bench:browser's GEMV: the whole 200 KB row, which the
// prefetchers follow; 16 KB tiles, in L1, cut each row into runs of 4 pages and ran 1.4-1.6x slower on
// one thread in Node). Contiguous rows (rsb == 1, incx == 1): a dot product per column.
#define GEMV_JT 65536
static void gemv_wasm(float *y, const float *x, int64_t incx, const float *b, int64_t rsb, int64_t csb, int64_t K,
                      int64_t j0, int64_t j1) {
  const long sk = (long)rsb, sx = (long)incx, nk = (long)K;
  if (csb == 1) {
    for (long jt = (long)j0; jt < (long)j1; jt += GEMV_JT) {
      const long je = jt + GEMV_JT < (long)j1 ? jt + GEMV_JT : (long)j1;
      memset(y + jt, 0, (size_t)(je - jt) * sizeof(float));
      long k = 0;
      for (; k + 4 <= nk; k += 4) {
        const float *b0 = b + k * sk, *b1 = b0 + sk, *b2 = b1 + sk, *b3 = b2 + sk;
        const float s0 = x[k * sx], s1 = x[(k + 1) * sx], s2 = x[(k + 2) * sx], s3 = x[(k + 3) * sx];
        const v128_t x0 = wasm_f32x4_splat(s0), x1 = wasm_f32x4_splat(s1), x2 = wasm_f32x4_splat(s2),
                     x3 = wasm_f32x4_splat(s3);
        long j = jt;
        for (; j + 8 <= je; j += 8) {
          v128_t lo =
              wasm_f32x4_add(wasm_f32x4_mul(x0, wasm_v128_load(b0 + j)), wasm_f32x4_mul(x1, wasm_v128_load(b1 + j)));
          v128_t hi = wasm_f32x4_add(wasm_f32x4_mul(x0, wasm_v128_load(b0 + j + 4)),
                                     wasm_f32x4_mul(x1, wasm_v128_load(b1 + j + 4)));
          lo = wasm_f32x4_add(lo, wasm_f32x4_add(wasm_f32x4_mul(x2, wasm_v128_load(b2 + j)),
                                                 wasm_f32x4_mul(x3, wasm_v128_load(b3 + j))));
          hi = wasm_f32x4_add(hi, wasm_f32x4_add(wasm_f32x4_mul(x2, wasm_v128_load(b2 + j + 4)),
                                                 wasm_f32x4_mul(x3, wasm_v128_load(b3 + j + 4))));
          wasm_v128_store(y + j, wasm_f32x4_add(wasm_v128_load(y + j), lo));
          wasm_v128_store(y + j + 4, wasm_f32x4_add(wasm_v128_load(y + j + 4), hi));
        }
        for (; j < je; j++) y[j] += (s0 * b0[j] + s1 * b1[j]) + (s2 * b2[j] + s3 * b3[j]);
      }
      for (; k < nk; k++) {
        const float *bk = b + k * sk, s = x[k * sx];
        for (long j = jt; j < je; j++) y[j] += s * bk[j];
      }
    }
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
